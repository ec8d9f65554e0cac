package rules

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kinds of load problems. Every problem a load reports is an [*Error] that wraps one of
// these, so callers can tell them apart with errors.Is.
var (
	// ErrSyntax: the file is not valid YAML.
	ErrSyntax = errors.New("rules: yaml syntax error")
	// ErrVersion: `version: 1` is missing or names a version this package does not read.
	ErrVersion = errors.New("rules: unsupported version")
	// ErrUnknownKey: a mapping has a key the format does not define (often a typo).
	ErrUnknownKey = errors.New("rules: unknown key")
	// ErrUnknownAction: an item of `then` names no known action.
	ErrUnknownAction = errors.New("rules: unknown action")
	// ErrUnknownHandler: a `handler` action names a handler that was not registered
	// with [WithHandler].
	ErrUnknownHandler = errors.New("rules: unknown handler")
	// ErrDuplicateRule: two rules share a name.
	ErrDuplicateRule = errors.New("rules: duplicate rule name")
	// ErrExpr: an expression (a `when`, a `set` value or a `{{ }}` template) does not
	// compile: an unknown name, a type error, a bad regular expression, a result of the
	// wrong type or an expression that is too large.
	ErrExpr = errors.New("rules: invalid expression")
	// ErrDynamicRegex: the pattern of `matches` is not a string literal. Patterns are
	// compiled once at load; a pattern computed per message would be compiled per
	// message.
	ErrDynamicRegex = errors.New("rules: regular expression is not a literal")
	// ErrInvalid: a value has the wrong type or shape, or a required key is missing.
	ErrInvalid = errors.New("rules: invalid value")
	// ErrFile: a file the rules name (an image, a thumbnail, a rules_file) cannot be read.
	ErrFile = errors.New("rules: file not readable")
	// ErrSuspicious is the kind of a warning (see [Set.Warnings]): the file is valid but
	// something in it is probably a mistake, such as a rule no message can reach.
	ErrSuspicious = errors.New("rules: suspicious")
)

// Error is one problem found while loading a rule file, with its position and the rule
// it belongs to. Its text reads like `rules.yaml:12:11: rule "hours": unknown name foo`.
// Load returns the errors.Join of every problem found, in file order; use errors.As to
// get at the first, or range over the joined errors (interface{ Unwrap() []error }).
type Error struct {
	// File is the file name given to [Load] (the path for [LoadFile]).
	File string
	// Line and Col are 1-based; Col counts characters (runes). Zero when unknown.
	Line, Col int
	// Rule is the name of the rule the problem belongs to, "" outside a rule (for
	// the rule's own missing name it is "#n", its 1-based position).
	Rule string
	// Err is the problem. It matches one of the Err* kinds with errors.Is, and the
	// underlying expr error (a *file.Error) with errors.As where there is one.
	Err error
	// Warning marks a problem that does not fail the load (see [Set.Warnings]). Its
	// text reads `rules.yaml:12:5: warning: rule "x": …`.
	Warning bool
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(':')
	}
	if e.Line > 0 {
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteByte(':')
		if e.Col > 0 {
			b.WriteString(strconv.Itoa(e.Col))
			b.WriteByte(':')
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	if e.Warning {
		b.WriteString("warning: ")
	}
	if e.Rule != "" {
		fmt.Fprintf(&b, "rule %q: ", e.Rule)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// problem is the Err of an *Error: a readable message that matches its kind (and the
// cause, if any) with errors.Is and errors.As, without repeating the kind's text.
type problem struct {
	kind  error
	msg   string
	cause error
}

func (p *problem) Error() string { return p.msg }

func (p *problem) Unwrap() []error {
	if p.cause != nil {
		return []error{p.kind, p.cause}
	}
	return []error{p.kind}
}

// Errors returns the individual problems inside an error returned by [Load], [LoadFile],
// [Open] or [LoadTests], in file order. It returns nil for nil and a one-element slice
// for an error that holds no [*Error].
func Errors(err error) []*Error {
	if err == nil {
		return nil
	}
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		var e *Error
		if errors.As(err, &e) && e == err {
			out = append(out, e)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if errors.As(err, &e) {
			out = append(out, e)
			return
		}
		out = append(out, &Error{Err: err})
	}
	walk(err)
	return out
}
