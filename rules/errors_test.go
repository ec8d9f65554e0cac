package rules_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/expr-lang/expr/file"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/rules"
)

// header is prepended to each case's rules, so a case's first line is line 3.
const header = "version: 1\nrules:\n"

func TestLoadReportsEachErrorKind(t *testing.T) {
	tests := []struct {
		name      string
		file      string // without header when rules is true
		noHeader  bool
		opts      []rules.Option
		kind      error
		line, col int
		rule      string
		msg       string
	}{
		{name: "unknown name", file: `
  - name: hours
    when: msg.type == "text" && foo > 1
    then: []`, kind: rules.ErrExpr, line: 4, col: 33, rule: "hours", msg: "unknown name foo"},
		{name: "unknown field", file: `
  - name: hours
    when: msg.txt == "a"
    then: []`, kind: rules.ErrExpr, line: 4, col: 15, rule: "hours", msg: "msg has no field txt"},
		{name: "type error", file: `
  - name: hours
    when: msg.type == 1
    then: []`, kind: rules.ErrExpr, line: 4, col: 20, rule: "hours", msg: "mismatched types string and int"},
		{name: "when is not a bool", file: `
  - name: hours
    when: msg.text
    then: []`, kind: rules.ErrExpr, line: 4, col: 11, rule: "hours", msg: "expected bool, but got string"},
		{name: "bad regex", file: `
  - name: hours
    when: 'msg.text matches "(?i"'
    then: []`, kind: rules.ErrExpr, line: 4, col: 21, rule: "hours", msg: "error parsing regexp"},
		{name: "regex is not a literal", file: `
  - name: hours
    when: |
      msg.type == "text" &&
        msg.text matches session.vars.pattern
    then: []`, kind: rules.ErrDynamicRegex, line: 6, col: 26, rule: "hours", msg: "must be a string literal"},
		{name: "expression too large", opts: []rules.Option{rules.WithMaxNodes(5)}, file: `
  - name: hours
    when: msg.type == "a" || msg.type == "b" || msg.type == "c"
    then: []`, kind: rules.ErrExpr, line: 4, rule: "hours", msg: "exceeds maximum allowed nodes"},
		{name: "syntax error in an expression", file: `
  - name: hours
    when: "msg.type == "
    then: []`, kind: rules.ErrExpr, line: 4, col: 23, rule: "hours", msg: "unexpected token EOF"},
		{name: "error in a template", file: `
  - name: hours
    then:
      - reply: "Hi {{ session.vars.name ?? msg.nmae }}!"`, kind: rules.ErrExpr, line: 5, col: 48, rule: "hours", msg: "msg has no field nmae"},
		{name: "unterminated template", file: `
  - name: hours
    then:
      - reply: "Hi {{ msg.text"`, kind: rules.ErrExpr, line: 5, col: 20, rule: "hours", msg: "without a closing }}"},
		{name: "error in a set value", file: `
  - name: count
    then:
      - set: {n: 'session.vars.n +* 1'}`, kind: rules.ErrExpr, line: 5, col: 35, rule: "count", msg: "unexpected token"},
		{name: "unknown key in a rule", file: `
  - name: hours
    whne: msg.type == "text"
    then: []`, kind: rules.ErrUnknownKey, line: 4, col: 5, rule: "hours", msg: "unknown key whne in a rule (did you mean when?)"},
		{name: "unknown key in a menu item", file: `
  - name: menu
    then:
      - reply:
          menu:
            items:
              - click: {id: a, txt: A}`, kind: rules.ErrUnknownKey, line: 8, col: 32, rule: "menu", msg: "unknown key txt in click (did you mean text?)"},
		{name: "unknown top-level key", noHeader: true, file: "version: 1\nrulez: []\nrules: []\n", kind: rules.ErrUnknownKey, line: 2, col: 1, msg: "unknown key rulez in the file (did you mean rules?)"},
		{name: "unknown action", file: `
  - name: hours
    then:
      - replly: "x"`, kind: rules.ErrUnknownAction, line: 5, col: 9, rule: "hours", msg: "unknown action replly (did you mean reply?)"},
		{name: "unknown handler", opts: []rules.Option{rules.WithHandler("create_ticket", func(*bot.Context) error { return nil })}, file: `
  - name: ticket
    then:
      - handler: create_tiket`, kind: rules.ErrUnknownHandler, line: 5, col: 18, rule: "ticket", msg: `no Go handler named "create_tiket" is registered (rules.WithHandler); did you mean create_ticket?`},
		{name: "duplicate rule names", file: `
  - name: hours
    then: []
  - name: hours
    then: []`, kind: rules.ErrDuplicateRule, line: 5, col: 11, rule: "hours", msg: "another rule has this name (line 3)"},
		{name: "rule without a name", file: `
  - when: msg.type == "text"
    then: []`, kind: rules.ErrInvalid, line: 3, col: 5, rule: "#1", msg: "a rule needs a name"},
		{name: "rule without then", file: `
  - name: hours
    when: msg.type == "text"`, kind: rules.ErrInvalid, line: 3, col: 5, rule: "hours", msg: "a rule needs then"},
		{name: "empty action", file: `
  - name: hours
    then: [{}]`, kind: rules.ErrUnknownAction, line: 4, col: 12, rule: "hours", msg: "an empty action"},
		{name: "action with two keys", file: `
  - name: hours
    then:
      - reply: "x"
        transfer: pool`, kind: rules.ErrInvalid, line: 6, col: 9, rule: "hours", msg: "an action has exactly one key"},
		{name: "bad transfer", file: `
  - name: hours
    then:
      - transfer: human`, kind: rules.ErrInvalid, line: 5, col: 19, rule: "hours", msg: `want pool, end or {servicer: userid}, got "human"`},
		{name: "welcome with an image", file: `
  - name: hi
    then:
      - welcome: {image: {media_id: x}}`, kind: rules.ErrInvalid, line: 5, col: 19, rule: "hi", msg: "welcome sends text or menu only"},
		{name: "menu with 11 items", file: `
  - name: big
    then:
      - reply: {menu: {items: [{text: a}, {text: a}, {text: a}, {text: a}, {text: a}, {text: a}, {text: a}, {text: a}, {text: a}, {text: a}, {text: a}]}}`,
			kind: rules.ErrInvalid, line: 5, col: 31, rule: "big", msg: "a menu has 1 to 10 items, this one has 11"},
		{name: "missing thumbnail file", file: `
  - name: link
    then:
      - reply: {link: {title: T, url: "https://x", thumb_file: no-such.png}}`, kind: rules.ErrFile, line: 5, col: 64, rule: "link", msg: "no such file"},
		{name: "continue is not a bool", file: `
  - name: hours
    continue: "yes"
    then: []`, kind: rules.ErrInvalid, line: 4, col: 15, rule: "hours", msg: "continue must be true or false"},
		{name: "bad set variable name", file: `
  - name: s
    then:
      - set: {"my-var": "1"}`, kind: rules.ErrInvalid, line: 5, col: 15, rule: "s", msg: `variable name "my-var"`},
		{name: "missing version", noHeader: true, file: "rules: []\n", kind: rules.ErrVersion, line: 1, col: 1, msg: "missing version: 1"},
		{name: "unsupported version", noHeader: true, file: "version: 2\nrules: []\n", kind: rules.ErrVersion, line: 1, col: 10, msg: `unsupported version "2"`},
		{name: "bad time zone", noHeader: true, file: "version: 1\ntimezone: Mars/Olympus\nrules: []\n", kind: rules.ErrInvalid, line: 2, col: 11, msg: `timezone "Mars/Olympus"`},
		{name: "yaml syntax", noHeader: true, file: "version: 1\nrules:\n  - name: [a\n", kind: rules.ErrSyntax, line: 2, msg: "did not find expected"},
		{name: "empty file", noHeader: true, file: "", kind: rules.ErrVersion, line: 1, col: 1, msg: "empty file"},
		{name: "rules is not a list", noHeader: true, file: "version: 1\nrules: {a: 1}\n", kind: rules.ErrInvalid, line: 2, col: 8, msg: "rules must be a list, got a mapping"},
		{name: "unknown key in a test step", file: `
  - name: hours
    then: []
tests:
  - name: t
    steps:
      - say: hi
        expct: {reply: x}`, kind: rules.ErrUnknownKey, line: 9, col: 9, msg: "unknown key expct in a step (did you mean expect?)"},
		{name: "step with two kinds", file: `
  - name: hours
    then: []
tests:
  - name: t
    steps:
      - {say: hi, click: a}`, kind: rules.ErrInvalid, line: 8, col: 9, msg: "a step has exactly one of enter, say, click, image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.file
			if !tt.noHeader {
				src = header + strings.TrimPrefix(src, "\n") + "\n"
			}
			_, err := rules.Load(strings.NewReader(src), "rules.yaml", tt.opts...)
			require.Error(t, err)
			errs := rules.Errors(err)
			require.Len(t, errs, 1, "%v", err)
			e := errs[0]
			assert.ErrorIs(t, err, tt.kind)
			assert.Equal(t, "rules.yaml", e.File)
			assert.Equal(t, tt.line, e.Line, "line: %v", e)
			if tt.col > 0 {
				assert.Equal(t, tt.col, e.Col, "column: %v", e)
			}
			assert.Equal(t, tt.rule, e.Rule)
			assert.Contains(t, e.Error(), tt.msg)
			prefix := fmt.Sprintf("rules.yaml:%d:", tt.line)
			if tt.rule != "" {
				assert.Contains(t, e.Error(), fmt.Sprintf(": rule %q: ", tt.rule))
			}
			assert.True(t, strings.HasPrefix(e.Error(), prefix), "%q should start with %q", e.Error(), prefix)
		})
	}
}

// TestLoadReportsEveryProblemAtOnce: one file, many problems, all reported in file order.
func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	src := `version: 1
rules:
  - name: hours
    when: msg.type == "text" && foo > 1
    then:
      - reply: "x {{ msg.txt }}"
      - replly: "y"
  - name: hours
    whne: true
    when: msg.text matches "(?i"
    then:
      - transfer: somewhere
      - handler: crm
  - name: ok
    when: msg.type == "text"
    then: [{reply: fine}]
  - when: "1 +"
    then: [{set: {ok: "msg.type +"}}]
  - name: typo
    thne: [{replly: {txt: "{{ foo }}"}}]
`
	_, err := rules.Load(strings.NewReader(src), "rules.yaml")
	require.Error(t, err)
	want := []string{
		`rules.yaml:4:33: rule "hours": unknown name foo`,
		`rules.yaml:6:26: rule "hours": msg has no field txt`,
		`rules.yaml:7:9: rule "hours": unknown action replly (did you mean reply?)`,
		`rules.yaml:8:11: rule "hours": another rule has this name (line 3); names must be unique`,
		`rules.yaml:9:5: rule "hours": unknown key whne in a rule (did you mean when?)`,
		"rules.yaml:10:20: rule \"hours\": error parsing regexp: invalid or unsupported Perl syntax: `(?i`",
		`rules.yaml:12:19: rule "hours": transfer: want pool, end or {servicer: userid}, got "somewhere"`,
		`rules.yaml:13:18: rule "hours": no Go handler named "crm" is registered (rules.WithHandler)`,
		`rules.yaml:17:5: rule "#4": a rule needs a name`,
		`rules.yaml:17:14: rule "#4": unexpected token EOF`,
		`rules.yaml:18:33: rule "#4": unexpected token EOF`,
		// A misspelt key is still checked as the key it was meant to be.
		`rules.yaml:20:5: rule "typo": unknown key thne in a rule (did you mean then?)`,
		`rules.yaml:20:13: rule "typo": unknown action replly (did you mean reply?)`,
		`rules.yaml:20:22: rule "typo": unknown key txt in reply (did you mean text?)`,
		`rules.yaml:20:31: rule "typo": unknown name foo`,
	}
	assert.Equal(t, strings.Join(want, "\n"), err.Error())
	assert.Len(t, rules.Errors(err), len(want))

	// The expr error stays reachable for tools that want its details.
	var fe *file.Error
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "unknown name foo", fe.Message)
}

func TestErrorFormat(t *testing.T) {
	inner := errors.New("boom")
	tests := []struct {
		e    rules.Error
		want string
	}{
		{rules.Error{File: "r.yaml", Line: 3, Col: 7, Rule: "x", Err: inner}, `r.yaml:3:7: rule "x": boom`},
		{rules.Error{File: "r.yaml", Line: 3, Err: inner}, `r.yaml:3: boom`},
		{rules.Error{File: "r.yaml", Err: inner}, `r.yaml: boom`},
		{rules.Error{Err: inner}, `boom`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.e.Error())
		assert.ErrorIs(t, &tt.e, inner)
	}
	assert.Nil(t, rules.Errors(nil))
	plain := rules.Errors(inner)
	require.Len(t, plain, 1)
	assert.Equal(t, inner, plain[0].Err)
}

func TestOptionErrors(t *testing.T) {
	_, err := rules.Load(strings.NewReader(header+"  []\n"), "r.yaml", rules.WithHandler("", nil))
	assert.ErrorContains(t, err, "empty name or nil handler")
}

// TestAliasAmplificationIsBounded: a small file whose aliases expand to a huge rule set
// fails fast with one error instead of compiling every copy.
func TestAliasAmplificationIsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nrules:\n  - name: r0\n    then: &acts\n")
	for range 200 {
		b.WriteString(`      - reply: "{{ msg.text }}"` + "\n")
	}
	for i := 1; i < 300; i++ {
		fmt.Fprintf(&b, "  - {name: r%d, then: *acts}\n", i)
	}
	_, err := rules.Load(strings.NewReader(b.String()), "rules.yaml")
	require.Error(t, err)
	errs := rules.Errors(err)
	require.Len(t, errs, 1, "%v", err)
	assert.ErrorIs(t, err, rules.ErrInvalid)
	assert.ErrorContains(t, err, "too many YAML nodes")

	// Sharing a piece through an alias a few times is fine.
	_, err = rules.Load(strings.NewReader(`version: 1
rules:
  - name: a
    then: &menu [{reply: {menu: {head: Hi, items: [{click: {id: a, text: A}}]}}}]
  - {name: b, then: *menu}
  - {name: c, then: *menu}
`), "rules.yaml")
	assert.NoError(t, err)
}
