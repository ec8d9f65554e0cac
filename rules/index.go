package rules

import (
	"maps"
	"math/bits"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
)

// The index lets a message evaluate only the rules that can match it. For every `when`
// it extracts, from the expression's syntax tree, a necessary condition in the form of
// alternatives: the expression can be true only if one alternative holds. An
// alternative is a conjunction of cheap facts — msg.type, msg.event and msg.menu_id
// equal to a literal, and literal keywords that msg.text (or lower(msg.text)) must
// contain, from ==, contains, startsWith, endsWith and in. Anything the analysis does not
// understand adds no fact, so the condition only ever over-approximates: a rule whose
// condition fails is certainly false, and skipping it changes nothing. Candidates are
// evaluated in file order, so first-match and `continue` behave exactly as in a linear
// scan (the property test checks this).

// alt is one alternative of a rule's necessary condition.
type alt struct {
	hasType, hasEvent, hasMenu bool
	typ, event, menu           string
	kws                        []keyword // every one must occur in the text
}

// keyword is a literal the text must contain; fold means in lower(msg.text).
type keyword struct {
	s    string
	fold bool
}

func (a alt) trivial() bool { return !a.hasType && !a.hasEvent && !a.hasMenu && len(a.kws) == 0 }

// maxAlts bounds the alternatives kept per expression; beyond it the analysis gives up
// (the rule becomes a candidate for every message), which is always safe.
const maxAlts = 64

var alwaysAlts = []alt{{}}

func isTrivial(as []alt) bool {
	for _, a := range as {
		if a.trivial() {
			return true
		}
	}
	return false
}

// analyze returns the alternatives of n's necessary condition. An empty result means
// that n is never true; a result holding a trivial alternative means "no condition".
func analyze(n ast.Node) []alt {
	switch n := n.(type) {
	case *ast.BoolNode:
		if !n.Value {
			return nil
		}
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "and":
			return andAlts(analyze(n.Left), analyze(n.Right))
		case "||", "or":
			return orAlts(analyze(n.Left), analyze(n.Right))
		case "==":
			if as, ok := eqFact(n.Left, n.Right); ok {
				return as
			}
			if as, ok := eqFact(n.Right, n.Left); ok {
				return as
			}
		case "contains", "startsWith", "endsWith":
			if fold, ok := textExpr(n.Left); ok {
				if s, lit := n.Right.(*ast.StringNode); lit && s.Value != "" {
					return []alt{{kws: []keyword{{s: s.Value, fold: fold}}}}
				}
			}
		case "in":
			var els []ast.Node
			switch r := n.Right.(type) {
			case *ast.ArrayNode:
				els = r.Nodes
			case *ast.ConstantNode: // expr's optimiser turns a list of string literals into a set
				set, ok := r.Value.(map[string]struct{})
				if !ok {
					return alwaysAlts
				}
				for _, k := range slices.Sorted(maps.Keys(set)) {
					els = append(els, &ast.StringNode{Value: k})
				}
			default:
				return alwaysAlts
			}
			var out []alt
			for _, el := range els {
				as, ok := eqFact(n.Left, el)
				if !ok {
					return alwaysAlts
				}
				out = orAlts(out, as)
			}
			return out
		}
	}
	return alwaysAlts
}

// eqFact reads `x == lit` for x one of msg.type, msg.event, msg.menu_id or a text
// expression.
func eqFact(x, lit ast.Node) ([]alt, bool) {
	s, ok := lit.(*ast.StringNode)
	if !ok {
		return nil, false
	}
	switch msgField(x) {
	case "type":
		return []alt{{hasType: true, typ: s.Value}}, true
	case "event":
		return []alt{{hasEvent: true, event: s.Value}}, true
	case "menu_id":
		return []alt{{hasMenu: true, menu: s.Value}}, true
	}
	if fold, ok := textExpr(x); ok && s.Value != "" {
		return []alt{{kws: []keyword{{s: s.Value, fold: fold}}}}, true
	}
	return nil, false
}

// msgField returns X for the node msg.X (or msg["X"]), else "".
func msgField(n ast.Node) string {
	m, ok := n.(*ast.MemberNode)
	if !ok || m.Optional || m.Method {
		return ""
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok || id.Value != "msg" {
		return ""
	}
	p, ok := m.Property.(*ast.StringNode)
	if !ok {
		return ""
	}
	return p.Value
}

// textExpr reports whether n is msg.text or a substring-preserving transformation of it:
// trim, trimPrefix and trimSuffix return a substring; lower maps rune by rune, so
// lower(substring) is a substring of lower(msg.text). fold reports a lower somewhere.
func textExpr(n ast.Node) (fold, ok bool) {
	if msgField(n) == "text" {
		return false, true
	}
	b, isBuiltin := n.(*ast.BuiltinNode)
	if !isBuiltin || len(b.Arguments) == 0 {
		return false, false
	}
	switch b.Name {
	case "trim", "trimPrefix", "trimSuffix":
		return textExpr(b.Arguments[0])
	case "lower":
		if len(b.Arguments) != 1 {
			return false, false
		}
		_, ok := textExpr(b.Arguments[0])
		return true, ok
	}
	return false, false
}

func andAlts(a, b []alt) []alt {
	switch {
	case len(a) == 0 || len(b) == 0:
		return nil // one side is never true
	case isTrivial(a):
		return b
	case isTrivial(b):
		return a
	case len(a)*len(b) > maxAlts:
		if len(a) <= len(b) {
			return a // a is still a necessary condition
		}
		return b
	}
	var out []alt
	for _, x := range a {
		for _, y := range b {
			if m, ok := mergeAlt(x, y); ok {
				out = append(out, m)
			}
		}
	}
	return out
}

// mergeAlt is the conjunction of two alternatives; ok is false when they contradict
// (msg.type == "a" && msg.type == "b" is never true).
func mergeAlt(x, y alt) (alt, bool) {
	if x.hasType && y.hasType && x.typ != y.typ ||
		x.hasEvent && y.hasEvent && x.event != y.event ||
		x.hasMenu && y.hasMenu && x.menu != y.menu {
		return alt{}, false
	}
	if y.hasType {
		x.hasType, x.typ = true, y.typ
	}
	if y.hasEvent {
		x.hasEvent, x.event = true, y.event
	}
	if y.hasMenu {
		x.hasMenu, x.menu = true, y.menu
	}
	x.kws = append(x.kws[:len(x.kws):len(x.kws)], y.kws...)
	return x, true
}

func orAlts(a, b []alt) []alt {
	if isTrivial(a) || isTrivial(b) || len(a)+len(b) > maxAlts {
		return alwaysAlts
	}
	return append(a[:len(a):len(a)], b...)
}

// entry is one alternative of one rule in a bucket, with the facts to check before the
// rule is marked a candidate.
type entry struct {
	rule                       int32
	hasType, hasEvent, hasMenu bool
	typ, event, menu           string
}

func (e *entry) ok(m *Msg) bool {
	return (!e.hasType || e.typ == m.Type) && (!e.hasEvent || e.event == m.Event) &&
		(!e.hasMenu || e.menu == m.MenuID)
}

// index maps the facts of a message to the rules that may match it.
type index struct {
	words   int      // len of a candidate bitset
	always  []uint64 // rules that are candidates for every message
	byType  map[string][]entry
	byEvent map[string][]entry
	byMenu  map[string][]entry
	exact   *acMatcher // keywords of msg.text
	exactE  [][]entry  // entries per exact keyword id
	fold    *acMatcher // keywords of lower(msg.text)
	foldE   [][]entry
}

func newIndex(rules []*rule) *index {
	ix := &index{
		words:   (len(rules) + 63) / 64,
		byType:  map[string][]entry{},
		byEvent: map[string][]entry{},
		byMenu:  map[string][]entry{},
	}
	ix.always = make([]uint64, ix.words)
	var exactKW, foldKW []string
	exactID, foldID := map[string]int{}, map[string]int{}
	for ri, r := range rules {
		if isTrivial(r.alts) {
			ix.always[ri>>6] |= 1 << (ri & 63)
			continue
		}
		for _, a := range r.alts {
			e := entry{rule: int32(ri), hasType: a.hasType, hasEvent: a.hasEvent, hasMenu: a.hasMenu,
				typ: a.typ, event: a.event, menu: a.menu}
			switch {
			case a.hasMenu:
				ix.byMenu[a.menu] = append(ix.byMenu[a.menu], e)
			case len(a.kws) > 0:
				kw := a.kws[0]
				for _, k := range a.kws[1:] {
					if len(k.s) > len(kw.s) {
						kw = k // the longest keyword is the rarest, usually
					}
				}
				if kw.fold {
					id, ok := foldID[kw.s]
					if !ok {
						id = len(foldKW)
						foldID[kw.s] = id
						foldKW = append(foldKW, kw.s)
						ix.foldE = append(ix.foldE, nil)
					}
					ix.foldE[id] = append(ix.foldE[id], e)
				} else {
					id, ok := exactID[kw.s]
					if !ok {
						id = len(exactKW)
						exactID[kw.s] = id
						exactKW = append(exactKW, kw.s)
						ix.exactE = append(ix.exactE, nil)
					}
					ix.exactE[id] = append(ix.exactE[id], e)
				}
			case a.hasEvent:
				ix.byEvent[a.event] = append(ix.byEvent[a.event], e)
			default:
				ix.byType[a.typ] = append(ix.byType[a.typ], e)
			}
		}
	}
	if len(exactKW) > 0 {
		ix.exact = newACMatcher(exactKW)
	}
	if len(foldKW) > 0 {
		ix.fold = newACMatcher(foldKW)
	}
	return ix
}

// candidates fills sc.bits with the rules that may match m.
func (ix *index) candidates(m *Msg, sc *scratch) {
	b := sc.bits
	copy(b, ix.always)
	add := func(es []entry) {
		for i := range es {
			if e := &es[i]; e.ok(m) {
				b[e.rule>>6] |= 1 << (e.rule & 63)
			}
		}
	}
	add(ix.byType[m.Type])
	if len(ix.byEvent) > 0 {
		add(ix.byEvent[m.Event])
	}
	if len(ix.byMenu) > 0 {
		add(ix.byMenu[m.MenuID])
	}
	if m.Text == "" {
		return
	}
	if ix.exact != nil {
		sc.ids = ix.exact.search(m.Text, sc.ids[:0])
		for _, id := range sc.ids {
			add(ix.exactE[id])
		}
	}
	if ix.fold != nil {
		sc.ids = ix.fold.search(strings.ToLower(m.Text), sc.ids[:0])
		for _, id := range sc.ids {
			add(ix.foldE[id])
		}
	}
}

// next returns the first candidate rule at or after i, or -1. It clears the bits it
// passes.
func (sc *scratch) next() int {
	for w := sc.word; w < len(sc.bits); w++ {
		if x := sc.bits[w]; x != 0 {
			t := bits.TrailingZeros64(x)
			sc.bits[w] = x & (x - 1)
			sc.word = w
			return w<<6 | t
		}
	}
	sc.word = len(sc.bits)
	return -1
}
