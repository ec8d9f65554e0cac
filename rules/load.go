package rules

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"go.yaml.in/yaml/v3"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/internal/strictyaml"
	"github.com/kfbot/kfbot/internal/suggest"
)

// The YAML nodes a load walks are bounded, counting aliases every time they are
// followed, so that an "alias bomb" (a few lines that expand to billions of nodes) fails
// fast instead of hanging the load: at most visitsPerNode times the document's own
// nodes, plus minVisits.
const (
	visitsPerNode = 4
	minVisits     = 10_000
)

// Load reads a rule file from r and compiles it. name is used in errors and logs and,
// unless [WithBaseDir] is given, its directory resolves relative paths in the file.
// Every problem is reported at once: the error is the errors.Join of one [*Error] per
// problem, each with file:line:col and the rule's name. The result is immutable and safe
// for concurrent use.
func Load(r io.Reader, name string, opts ...Option) (*Set, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("rules: read %s: %w", name, err)
	}
	return load(src, name, newOptions(opts))
}

// LoadFile reads and compiles the rule file at path; see [Load]. Relative paths inside
// the file are resolved against the file's directory.
func LoadFile(path string, opts ...Option) (*Set, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: load %s: %w", path, err)
	}
	return load(src, path, newOptions(opts))
}

func load(src []byte, name string, o options) (*Set, error) {
	if len(o.errs) > 0 {
		return nil, errors.Join(o.errs...)
	}
	l := newLoader(src, name, &o)
	doc := l.document()
	if doc == nil {
		return nil, l.err()
	}
	if doc.rules == nil {
		l.errAt(doc.root, ErrInvalid, "missing key rules (the list of rules)")
	}
	if doc.rulesFile != nil {
		l.errAt(doc.rulesFile, ErrUnknownKey, "rules_file belongs in a tests-only file, not next to rules")
	}
	rs := l.rules(doc.rules)
	tests := l.tests(doc.tests)
	handback := l.handback(doc.handback)
	sec := l.aiSection(doc.ai)
	if sec == nil {
		sec = &aiSection{}
	}
	asst := l.buildAssistant(rs, sec)
	if err := l.err(); err != nil {
		return nil, err
	}
	s := newSet(name, rs, tests, l.loc, l.clicks, o)
	s.servicers = l.servicers
	s.usesCustomer, s.usesContact = l.usesCustomer, l.usesContact
	s.handback = handback
	s.asst, s.aiSec = asst, sec
	s.warnings = sortErrors(l.warns)
	return s, nil
}

// loader walks one file's YAML nodes, compiles what it finds and collects every problem.
type loader struct {
	file      string
	src       []byte
	lines     []string
	opts      *options
	errs      []*Error
	warns     []*Error // see [Set.Warnings]
	textOnly  bool     // the rule being read only matches text messages
	callback  bool     // the rule being read is a callback rule
	rule      string   // the rule being read, for errors
	visits    int      // nodes walked, aliases counted each time
	maxVisits int
	overflow  bool // the walk went over maxVisits; later problems are not reported
	loc       *time.Location
	clicks    map[string]string // menu click id → item text, for conversation tests
	// servicers named by constant transfers, for conversation tests
	servicers []string

	boolOpts, anyOpts []expr.Option                // expr.Compile's options for a `when` and for a value
	compiled          map[compiledKey]compiledExpr // templates repeat expressions: compile each once
	usesCustomer      bool                         // some expression reads customer.*
	usesContact       bool                         // some expression reads contact.*
}

func newLoader(src []byte, name string, o *options) *loader {
	l := &loader{
		file:   name,
		src:    src,
		lines:  strings.Split(string(src), "\n"),
		opts:   o,
		loc:    o.loc,
		clicks: map[string]string{},
	}
	if l.loc == nil {
		l.loc = time.Local
	}
	if o.baseDir == "" {
		o.baseDir = filepath.Dir(name)
	}
	base := []expr.Option{expr.Env(Env{}), expr.MaxNodes(o.maxNodes)}
	base = append(base, helpers...)
	base = append(base, limitOptions()...)
	l.boolOpts = append(slices.Clip(base), expr.AsBool())
	l.anyOpts = append(slices.Clip(base), expr.AsAny())
	return l
}

// err returns the problems found so far, sorted by position, joined.
func (l *loader) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	sortErrors(l.errs)
	errs := make([]error, len(l.errs))
	for i, e := range l.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// sortErrors sorts es by position, in place, and returns it.
func sortErrors(es []*Error) []*Error {
	slices.SortStableFunc(es, func(a, b *Error) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
	return es
}

// warnAt records a warning: something valid that is probably a mistake.
func (l *loader) warnAt(n *yaml.Node, format string, args ...any) {
	if l.overflow {
		return
	}
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	l.warns = append(l.warns, &Error{File: l.file, Line: line, Col: col, Rule: l.rule, Warning: true,
		Err: &problem{kind: ErrSuspicious, msg: fmt.Sprintf(format, args...)}})
}

func (l *loader) add(line, col int, kind error, cause error, msg string) {
	if l.overflow {
		return
	}
	l.errs = append(l.errs, &Error{File: l.file, Line: line, Col: col, Rule: l.rule,
		Err: &problem{kind: kind, msg: msg, cause: cause}})
}

func (l *loader) errAt(n *yaml.Node, kind error, format string, args ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	l.add(line, col, kind, nil, fmt.Sprintf(format, args...))
}

// document is the top level of a rule or tests file.
type document struct {
	root                            *yaml.Node
	version, timezone, rules, tests *yaml.Node
	rulesFile                       *yaml.Node
	handback                        *yaml.Node
	ai                              *yaml.Node
}

// document parses the YAML and reads the top-level keys. It returns nil when the file
// cannot be read at all.
func (l *loader) document() (doc *document) {
	root, err := strictyaml.Parse(l.src)
	if err != nil {
		var se *strictyaml.SyntaxError
		errors.As(err, &se)
		l.add(se.Line, 0, ErrSyntax, err, se.Msg)
		return nil
	}
	if root == nil {
		l.add(1, 1, ErrVersion, nil, "empty file: a rule file starts with version: 1")
		return nil
	}
	l.maxVisits = visitsPerNode*countNodes(root) + minVisits
	top := l.deref(root)
	if top == nil || top.Kind != yaml.MappingNode {
		l.errAt(top, ErrInvalid, "the file must be a mapping with version, rules and tests")
		return nil
	}
	doc = &document{root: top}
	for _, p := range l.checkKeys(l.rawPairs(top, "the file"), topKeys, ErrUnknownKey, "the file") {
		switch p.key {
		case "version":
			doc.version = p.v
		case "timezone":
			doc.timezone = p.v
		case "rules":
			doc.rules = p.v
		case "tests":
			doc.tests = p.v
		case "rules_file":
			doc.rulesFile = p.v
		case "handback":
			doc.handback = p.v
		case "ai":
			doc.ai = p.v
		}
	}
	switch {
	case doc.version == nil:
		l.add(top.Line, top.Column, ErrVersion, nil, "missing version: 1 (the first key of a rule file)")
	default:
		v := l.deref(doc.version)
		if v == nil || v.Kind != yaml.ScalarNode || v.Tag != "!!int" || v.Value != "1" {
			val := ""
			if v != nil {
				val = v.Value
			}
			l.errAt(v, ErrVersion, "unsupported version %q: this kfbot reads version 1", val)
		}
	}
	if doc.timezone != nil {
		if s, ok := l.str(doc.timezone, "timezone"); ok {
			loc, err := parseLocation(s)
			if err != nil {
				l.errAt(doc.timezone, ErrInvalid, "timezone %q: %v", s, err)
			} else {
				l.loc = loc
			}
		}
	}
	return doc
}

// parseLocation accepts an IANA zone name ("Asia/Shanghai", "UTC", "Local") or a fixed
// offset ("+08:00", "-05:30", "UTC+8").
func parseLocation(s string) (*time.Location, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "UTC"), "GMT")
	if t != "" && (t[0] == '+' || t[0] == '-') {
		sign := 1
		if t[0] == '-' {
			sign = -1
		}
		hh, mm, _ := strings.Cut(t[1:], ":")
		h, err1 := strconv.Atoi(hh)
		m := 0
		var err2 error
		if mm != "" {
			m, err2 = strconv.Atoi(mm)
		}
		if err1 != nil || err2 != nil || h > 14 || m > 59 || h < 0 || m < 0 {
			return nil, errors.New("want an offset like +08:00")
		}
		return time.FixedZone(s, sign*(h*3600+m*60)), nil
	}
	return time.LoadLocation(s)
}

// pair is one key of a mapping.
type pair struct {
	key  string
	k, v *yaml.Node
}

var (
	topKeys    = []string{"version", "timezone", "handback", "ai", "rules", "tests", "rules_file"}
	ruleKeys   = []string{"name", "description", "callback", "when", "continue", "while_human", "then"}
	actionKeys = []string{"reply", "welcome", "transfer", "set", "handler", "ai", "webhook"}
)

// deref follows aliases, counting every node visit against the budget. Over budget it
// reports the problem once and returns an empty (null) node in place of n.
func (l *loader) deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil {
		return nil
	}
	l.visits++
	if l.visits > l.maxVisits {
		if !l.overflow {
			l.add(n.Line, n.Column, ErrInvalid, nil, "the file expands to too many YAML nodes (through aliases)")
			l.overflow = true
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
	}
	return n
}

// countNodes counts the nodes of a document, not following aliases.
func countNodes(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	c := 1
	for _, x := range n.Content {
		c += countNodes(x)
	}
	return c
}

// rawPairs returns the keys of a mapping node in order, reporting duplicate keys and
// non-string keys. It reports an error and returns nil when n is not a mapping.
func (l *loader) rawPairs(n *yaml.Node, what string) []pair {
	n = l.deref(n)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		l.errAt(n, ErrInvalid, "%s must be a mapping, got %s", what, describe(n))
		return nil
	}
	out := []pair{} // non-nil: an empty mapping is not "not a mapping"
	for _, p := range strictyaml.Pairs(n, func(k *yaml.Node, first int) {
		if first == 0 {
			l.errAt(k, ErrInvalid, "%s: keys must be plain strings", what)
		} else {
			l.errAt(k, ErrInvalid, "%s: key %s repeated (first at line %d)", what, k.Value, first)
		}
	}) {
		out = append(out, pair{key: p.Key.Value, k: p.Key, v: p.Value})
	}
	return out
}

// checkKeys reports every key of ps that is not in known. A misspelt key with a clear
// suggestion is kept under the key it was probably meant to be (unless that key is
// there too), so that its value is still checked and one typo gives one error.
func (l *loader) checkKeys(ps []pair, known []string, kind error, what string) []pair {
	out := ps[:0:0]
	have := map[string]bool{}
	for _, p := range ps {
		have[p.key] = true
	}
	for _, p := range ps {
		if slices.Contains(known, p.key) {
			out = append(out, p)
			continue
		}
		msg := fmt.Sprintf("unknown key %s in %s", p.key, what)
		if kind == ErrUnknownAction {
			msg = fmt.Sprintf("unknown action %s", p.key)
		}
		if s := suggest.Closest(p.key, known); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
			if !have[s] {
				have[s] = true
				out = append(out, pair{key: s, k: p.k, v: p.v})
			}
		} else {
			msg += fmt.Sprintf(" (known: %s)", strings.Join(known, ", "))
		}
		l.errAt(p.k, kind, "%s", msg)
	}
	return out
}

// fields reads a mapping whose keys must be among known, into a map by key.
func (l *loader) fields(n *yaml.Node, what string, known ...string) map[string]pair {
	ps := l.checkKeys(l.rawPairs(n, what), known, ErrUnknownKey, what)
	m := make(map[string]pair, len(ps))
	for _, p := range ps {
		m[p.key] = p
	}
	return m
}

// seq returns the items of a sequence node, reporting anything else.
func (l *loader) seq(n *yaml.Node, what string) []*yaml.Node {
	n = l.deref(n)
	if n == nil {
		return nil
	}
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.errAt(n, ErrInvalid, "%s must be a list, got %s", what, describe(n))
		return nil
	}
	return n.Content
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// str reads a scalar as a string. Numbers and booleans are taken as written.
func (l *loader) str(n *yaml.Node, what string) (string, bool) {
	n = l.deref(n)
	if n == nil {
		return "", false
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		l.errAt(n, ErrInvalid, "%s must be a string, got %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

// nonEmpty reads a string that must not be empty.
func (l *loader) nonEmpty(n *yaml.Node, what string) (string, bool) {
	s, ok := l.str(n, what)
	if ok && strings.TrimSpace(s) == "" {
		l.errAt(n, ErrInvalid, "%s must not be empty", what)
		return "", false
	}
	return s, ok
}

func (l *loader) bool(n *yaml.Node, what string) bool {
	n = l.deref(n)
	if n == nil {
		return false
	}
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		l.errAt(n, ErrInvalid, "%s must be true or false, got %s", what, describe(n))
		return false
	}
	return n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
}

func (l *loader) float(n *yaml.Node, what string) (float64, bool) {
	n = l.deref(n)
	if n == nil {
		return 0, false
	}
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		var f float64
		if err := n.Decode(&f); err == nil {
			return f, true
		}
	}
	l.errAt(n, ErrInvalid, "%s must be a number, got %s", what, describe(n))
	return 0, false
}

// describe names a node's kind for error messages.
func describe(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "nothing"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return fmt.Sprintf("the string %q", n.Value)
	}
	return "an unsupported node"
}

// pos maps a rune offset inside the value of scalar n to a file line and column. It is
// exact for one-line scalars (plain or quoted) and for literal blocks (|), and close for
// folded and multi-line flow scalars.
func (l *loader) pos(n *yaml.Node, off int) (line, col int) {
	line, col = n.Line, n.Column
	block := n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
	indent := 0
	if block {
		found := false
		for ln := n.Line + 1; ln <= len(l.lines); ln++ {
			if strings.TrimSpace(l.lines[ln-1]) != "" {
				indent = leadingSpaces(l.lines[ln-1])
				line, col, found = ln, indent+1, true
				break
			}
		}
		if !found {
			return n.Line, n.Column
		}
	} else if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		col++
	}
	for {
		if line > len(l.lines) || line < 1 {
			return n.Line, n.Column
		}
		avail := max(len([]rune(l.lines[line-1]))-(col-1), 0)
		if off <= avail {
			return line, col + off
		}
		off -= avail + 1
		line++
		if line > len(l.lines) {
			return n.Line, n.Column
		}
		if block {
			col = indent + 1
		} else {
			col = leadingSpaces(l.lines[line-1]) + 1
		}
	}
}

func leadingSpaces(s string) int {
	return len(s) - len(strings.TrimLeft(s, " \t"))
}

// compile compiles src, which starts at rune offset off of the value of scalar n, as a
// boolean (asBool) or any-valued expression. It reports problems at their position in
// the file and returns nil then. For a boolean it also returns the index's facts.
func (l *loader) compile(n *yaml.Node, src string, off int, asBool bool) (*vm.Program, []alt) {
	opts := l.anyOpts
	if asBool {
		opts = l.boolOpts
	}
	key := compiledKey{src, asBool}
	if c, ok := l.compiled[key]; ok {
		return c.prog, c.alts
	}
	var as []alt
	prog, err := compileExpr(src, opts, func(tree ast.Node) error {
		if at, bad := dynamicRegex(tree); bad {
			line, col := l.pos(n, off+at)
			l.add(line, col, ErrDynamicRegex, nil,
				"the pattern of matches must be a string literal (patterns compile once, at load)")
			return errReported
		}
		if name, at, bad := allocInLoop(tree); bad {
			line, col := l.pos(n, off+at)
			if name == catName || name == addName {
				name = "the string +"
			}
			l.add(line, col, ErrExpr, nil, fmt.Sprintf(
				"%s inside map, filter, reduce or another loop could exhaust memory (each of up to a million iterations builds a new string or list); build it once, outside the loop", name))
			return errReported
		}
		if asBool {
			as = analyze(tree)
		}
		if ast.Find(tree, func(n ast.Node) bool {
			id, ok := n.(*ast.IdentifierNode)
			return ok && id.Value == "customer"
		}) != nil {
			l.usesCustomer = true
		}
		if ast.Find(tree, func(n ast.Node) bool {
			id, ok := n.(*ast.IdentifierNode)
			return ok && id.Value == "contact"
		}) != nil {
			l.usesContact = true
		}
		return nil
	})
	switch {
	case errors.Is(err, errReported):
		return nil, nil
	case err != nil:
		var fe *file.Error
		at := 0
		msg := err.Error()
		if errors.As(err, &fe) {
			at, msg = fe.From, fe.Message
		}
		if strings.TrimSpace(src) == "" {
			msg = "the expression is empty"
		}
		line, col := l.pos(n, off+at)
		l.add(line, col, ErrExpr, err, cleanExprMessage(msg))
		return nil, nil
	}
	if l.compiled == nil {
		l.compiled = map[compiledKey]compiledExpr{}
	}
	l.compiled[key] = compiledExpr{prog, as}
	return prog, as
}

// compiledKey and compiledExpr cache the expressions a load compiled without a problem
// (a program is safe for concurrent use, so rules may share one).
type (
	compiledKey struct {
		src    string
		asBool bool
	}
	compiledExpr struct {
		prog *vm.Program
		alts []alt
	}
)

var errReported = errors.New("reported")

// dynamicRegex finds a `matches` whose pattern is not a string literal.
func dynamicRegex(tree ast.Node) (at int, found bool) {
	ast.Find(tree, func(x ast.Node) bool {
		if b, isBin := x.(*ast.BinaryNode); isBin && b.Operator == "matches" && !found {
			if _, lit := b.Right.(*ast.StringNode); !lit {
				at, found = startOf(b.Right), true
			}
		}
		return false
	})
	return at, found
}

// compileExpr is expr.Compile, with a look at the program's tree (checked and optimised)
// before the program is used. A panic of the compiler on hostile input becomes an error.
func compileExpr(src string, opts []expr.Option, inspect func(ast.Node) error) (p *vm.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("expression compiler failed: %v", r)
		}
	}()
	p, err = expr.Compile(src, opts...)
	if err != nil {
		return nil, err
	}
	if err := inspect(p.Node()); err != nil {
		return nil, err
	}
	return p, nil
}

// startOf returns the rune offset where the source of n begins (expr locates a member
// access at its property, and a binary node at its operator).
func startOf(n ast.Node) int {
	from := n.Location().From
	ast.Find(n, func(x ast.Node) bool {
		if f := x.Location().From; f < from && (f > 0 || x.Location().To > 0) {
			from = f
		}
		return false
	})
	return from
}

var exprTypeNames = strings.NewReplacer(
	"type rules.Msg", "msg", "type rules.Session", "session", "type rules.Env", "the environment",
	"rules.Msg", "msg", "rules.Session", "session", "rules.Env", "the environment",
)

// cleanExprMessage rewrites Go type names in expr's messages into the names rules use.
func cleanExprMessage(msg string) string {
	return exprTypeNames.Replace(msg)
}

// handback reads the file's `handback` section: the policy that gives a person's
// conversation back to the bot (bot.Handback). nil when the file has none.
func (l *loader) handback(n *yaml.Node) *bot.Handback {
	if n == nil {
		return nil
	}
	v := l.deref(n)
	if v == nil {
		return nil
	}
	h := &bot.Handback{}
	fs := l.fields(v, "handback", "check_interval", "pool_timeout", "idle_timeout", "closing_text")
	durations := []struct {
		key string
		to  *time.Duration
	}{{"check_interval", &h.CheckInterval}, {"pool_timeout", &h.PoolTimeout}, {"idle_timeout", &h.IdleTimeout}}
	for _, d := range durations {
		p, has := fs[d.key]
		if !has {
			continue
		}
		src, ok := l.str(p.v, d.key)
		if !ok {
			continue
		}
		x, err := time.ParseDuration(src)
		if err != nil || x < 0 {
			l.errAt(l.deref(p.v), ErrInvalid, "handback: %s %q: want a duration such as 30s, 10m or 2h (0 turns it off)", d.key, src)
			continue
		}
		*d.to = x
	}
	if h.CheckInterval == 0 && fs["check_interval"].v != nil {
		h.CheckInterval = -1 // "check_interval: 0" means never ask, not the default
	}
	if p, has := fs["closing_text"]; has {
		if txt, ok := l.str(p.v, "closing_text"); ok {
			if len(txt) > bot.MaxTextBytes {
				l.errAt(l.deref(p.v), ErrInvalid, "handback: closing_text is %d bytes; WeCom takes at most %d", len(txt), bot.MaxTextBytes)
			}
			h.ClosingText = txt
		}
	}
	return h
}
