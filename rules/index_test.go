package rules

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/expr-lang/expr/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// altString renders alternatives: "*" for no condition, "never" for none.
func altString(as []alt) string {
	if isTrivial(as) {
		return "*"
	}
	if len(as) == 0 {
		return "never"
	}
	var parts []string
	for _, a := range as {
		var f []string
		if a.hasType {
			f = append(f, "type="+a.typ)
		}
		if a.hasEvent {
			f = append(f, "event="+a.event)
		}
		if a.hasMenu {
			f = append(f, "menu="+a.menu)
		}
		for _, k := range a.kws {
			if k.fold {
				f = append(f, "lower~"+k.s)
			} else {
				f = append(f, "~"+k.s)
			}
		}
		parts = append(parts, strings.Join(f, "&"))
	}
	return strings.Join(parts, " | ")
}

func TestAnalyze(t *testing.T) {
	tests := []struct {
		when, want string
	}{
		{`msg.type == "text"`, "type=text"},
		{`"text" == msg.type`, "type=text"},
		{`msg["type"] == "text"`, "type=text"},
		{`msg.event == "enter_session"`, "event=enter_session"},
		{`msg.menu_id == "hours"`, "menu=hours"},
		{`msg.type == "text" && msg.text contains "refund"`, "type=text&~refund"},
		{`msg.text startsWith "my name" and msg.text endsWith "."`, "~my name&~."},
		{`msg.text == "hi"`, "~hi"},
		{`msg.text in ["a", "b"]`, "~a | ~b"},
		{`msg.type in ["image", "voice"]`, "type=image | type=voice"},
		{`msg.menu_id == "hours" || (msg.type == "text" && msg.text matches "(?i)hours")`, "menu=hours | type=text"},
		{`lower(msg.text) contains "human"`, "lower~human"},
		{`lower(trim(msg.text)) in ["hi", "hello"]`, "lower~hi | lower~hello"},
		{`trimPrefix(msg.text, "x") == "y"`, "~y"},
		{`msg.type == "text" && (msg.text contains "a" || msg.text contains "b")`, "type=text&~a | type=text&~b"},
		{`msg.type == "text" && msg.type == "image"`, "never"},
		{`false`, "never"},
		{`false || msg.type == "text"`, "type=text"},
		// No usable fact: the rule is a candidate for every message.
		{`true`, "*"},
		{`session.messages > 3`, "*"},
		{`msg.type != "text"`, "*"},
		{`!(msg.type == "text")`, "*"},
		{`not (msg.text contains "a")`, "*"},
		{`msg.text contains ""`, "*"},
		{`msg.text == ""`, "*"},
		{`msg.text in ["a", ""]`, "*"},
		{`msg.type in ["text", msg.event]`, "*"},
		{`upper(msg.text) contains "A"`, "*"},
		{`msg.text matches "refund"`, "*"},
		{`msg.type == "text" || session.human`, "*"},
		{`(msg.text ?? "") == "x"`, "*"},
		{`msg.type == "text" ? msg.text contains "a" : false`, "*"},
		{`any(["a"], msg.text contains #)`, "*"},
	}
	for _, tt := range tests {
		t.Run(tt.when, func(t *testing.T) {
			tree, err := parser.Parse(tt.when)
			require.NoError(t, err)
			assert.Equal(t, tt.want, altString(analyze(tree.Node)))
		})
	}
}

func TestAnalyzeCapsAlternatives(t *testing.T) {
	var ors []string
	for i := range 100 {
		ors = append(ors, fmt.Sprintf(`msg.text contains "k%d"`, i))
	}
	tree, err := parser.Parse(strings.Join(ors, " || "))
	require.NoError(t, err)
	assert.Equal(t, "*", altString(analyze(tree.Node)), "more than maxAlts alternatives: give up, safely")

	// A product beyond maxAlts keeps one side, which is still a necessary condition.
	a := strings.Join(ors[:10], " || ")
	tree, err = parser.Parse("(" + a + ") && (" + a + ")")
	require.NoError(t, err)
	as := analyze(tree.Node)
	assert.Len(t, as, 10)
}

func TestACMatcherFindsEveryOccurrence(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "ab", "ba", "退", "款", "营业", "x"}
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	for round := range 200 {
		seen := map[string]bool{}
		var kws []string
		for range 1 + r.IntN(30) {
			w := word(1 + r.IntN(4))
			if !seen[w] {
				seen[w] = true
				kws = append(kws, w)
			}
		}
		m := newACMatcher(kws)
		for range 20 {
			text := word(r.IntN(15))
			got := map[int32]int{}
			for _, id := range m.search(text, nil) {
				got[id]++
			}
			want := map[int32]int{}
			for id, kw := range kws {
				if n := countOverlapping(text, kw); n > 0 {
					want[int32(id)] = n
				}
			}
			require.Equal(t, want, got, "round %d: keywords %q in %q", round, kws, text)
		}
	}
}

func countOverlapping(s, sub string) int {
	n := 0
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			n++
		}
	}
	return n
}

func TestACMatcherWideNodes(t *testing.T) {
	// A node with more than 8 edges uses binary search.
	var kws []string
	for c := byte('a'); c <= 'z'; c++ {
		kws = append(kws, "q"+string(c))
	}
	m := newACMatcher(kws)
	ids := m.search("qz qa qm q", nil)
	slices.Sort(ids)
	assert.Equal(t, []int32{0, 12, 25}, ids)
}

// genWhen builds a random `when` from the forms the index understands and from forms it
// must treat as opaque.
func genWhen(r *rand.Rand, depth int) string {
	words := []string{"a", "ab", "b", "hello", "Hello", "退款", "营业时间", "x y", "ba"}
	w := func() string { return fmt.Sprintf("%q", words[r.IntN(len(words))]) }
	types := []string{`"text"`, `"image"`, `"event"`}
	if depth > 0 && r.IntN(3) == 0 {
		a, b := genWhen(r, depth-1), genWhen(r, depth-1)
		switch r.IntN(4) {
		case 0:
			return "(" + a + " || " + b + ")"
		case 1:
			return "!(" + a + ")"
		default:
			return "(" + a + " && " + b + ")"
		}
	}
	switch r.IntN(20) {
	case 0:
		return "msg.type == " + types[r.IntN(len(types))]
	case 1:
		return "msg.type in [" + types[r.IntN(3)] + ", " + types[r.IntN(3)] + "]"
	case 2:
		return `msg.event == "enter_session"`
	case 3:
		return fmt.Sprintf(`msg.menu_id == "m%d"`, r.IntN(3))
	case 4:
		return "msg.text contains " + w()
	case 5:
		return "msg.text startsWith " + w()
	case 6:
		return "msg.text endsWith " + w()
	case 7:
		return "msg.text == " + w()
	case 8:
		return "lower(msg.text) contains " + w()
	case 9:
		return "trim(msg.text) == " + w()
	case 10:
		return "lower(trim(msg.text)) in [" + w() + ", " + w() + "]"
	case 11:
		return "msg.text in [" + w() + ", " + w() + "]"
	case 12:
		return fmt.Sprintf("session.messages > %d", r.IntN(4))
	case 13:
		return "(session.vars.n ?? 0) >= 1"
	case 14:
		return `msg.text matches "a|b"`
	case 15:
		return fmt.Sprintf("len(msg.text) > %d", r.IntN(6))
	case 16:
		return []string{"true", "false"}[r.IntN(2)]
	case 17:
		return "msg.type != " + types[r.IntN(3)]
	case 18:
		return `msg.menu_id in ["m0", "m1"]`
	}
	return `msg.type == "text" && msg.text contains ` + w()
}

func genEnv(r *rand.Rand) Env {
	pieces := []string{"a", "b", "hello", "HELLO", "Hello", "退款", "营业时间", " ", "x", "y", "ab", "\xff"}
	var text strings.Builder
	for range r.IntN(5) {
		text.WriteString(pieces[r.IntN(len(pieces))])
	}
	env := Env{Now: time.Unix(0, 0)}
	switch r.IntN(4) {
	case 0:
		env.Msg.Type, env.Msg.Event = "event", "enter_session"
	case 1:
		env.Msg.Type = "image"
	default:
		env.Msg.Type, env.Msg.Text = "text", text.String()
		if r.IntN(3) == 0 {
			env.Msg.MenuID = fmt.Sprintf("m%d", r.IntN(3))
		}
	}
	env.Session.Messages = r.IntN(5)
	if r.IntN(2) == 0 {
		env.Session.Vars = map[string]any{"n": float64(r.IntN(3))}
	}
	return env
}

// TestIndexAgreesWithLinearScan is the property test: for random rule sets (with and
// without `continue`) and random messages, the indexed matcher picks exactly the rules a
// plain evaluation of every rule in order picks.
func TestIndexAgreesWithLinearScan(t *testing.T) {
	quiet := WithLogger(slog.New(slog.DiscardHandler))
	var evaluatedIndexed, evaluatedLinear int
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 42))
		var b strings.Builder
		b.WriteString("version: 1\nrules:\n")
		n := 1 + r.IntN(40)
		for i := range n {
			fmt.Fprintf(&b, "  - name: r%d\n", i)
			if r.IntN(10) > 0 {
				fmt.Fprintf(&b, "    when: %q\n", genWhen(r, 3))
			}
			if r.IntN(3) == 0 {
				b.WriteString("    continue: true\n")
			}
			b.WriteString("    then: []\n")
		}
		s, err := Load(strings.NewReader(b.String()), "prop.yaml", quiet)
		require.NoError(t, err, b.String())
		for range 100 {
			env := genEnv(r)
			want := s.picks(env, true, nil)
			got := s.picks(env, false, nil)
			require.Equal(t, want, got, "seed %d, message %+v\n%s", seed, env.Msg, b.String())
			evaluatedLinear += len(s.rules)
			evaluatedIndexed += s.countCandidates(env)
		}
	}
	t.Logf("rules evaluated: linear %d, indexed %d", evaluatedLinear, evaluatedIndexed)
	assert.Less(t, evaluatedIndexed, evaluatedLinear/2, "the index should skip most rules")
}

// countCandidates returns how many rules the index would evaluate for env (all of them,
// if none matches first).
func (s *Set) countCandidates(env Env) int {
	sc := s.getScratch()
	defer s.putScratch(sc)
	s.start(sc, &env.Msg, false)
	n := 0
	for i := sc.next(); i >= 0; i = sc.next() {
		n++
	}
	return n
}

// TestIndexIsSelective checks, without timing anything, what makes the index fast: among
// 1,000 keyword rules a message evaluates only the rules its keywords name.
func TestIndexIsSelective(t *testing.T) {
	s := keywordSet(t, 1000)
	env := Env{Msg: Msg{Type: "text", Text: "hello, I would like to ask about " + benchKeyword(500) + " please"}}
	assert.Equal(t, 2, s.countCandidates(env), "the rule with the keyword and the fallback")
	assert.Equal(t, []int{500}, s.picks(env, false, nil))
	env.Msg.Text = "nothing to see here"
	assert.Equal(t, 1, s.countCandidates(env), "only the fallback")
	assert.Equal(t, []int{1000}, s.picks(env, false, nil))
	env.Msg.Type, env.Msg.Text = "image", ""
	assert.Equal(t, 0, s.countCandidates(env))
}
