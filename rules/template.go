package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/vm"
	"go.yaml.in/yaml/v3"
)

// template is a text with `{{ expr }}` placeholders, compiled at load.
type template struct {
	parts []tplPart
}

type tplPart struct {
	lit  string
	prog *vm.Program // nil for a literal part
}

// constant reports the text of a template without placeholders.
func (t *template) constant() (string, bool) {
	if t == nil {
		return "", true
	}
	if len(t.parts) == 0 {
		return "", true
	}
	if len(t.parts) == 1 && t.parts[0].prog == nil {
		return t.parts[0].lit, true
	}
	return "", false
}

// render evaluates the placeholders and joins the parts.
func (t *template) render(x *run) (string, error) {
	if s, ok := t.constant(); ok {
		return s, nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.prog == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := x.eval(p.prog)
		if err != nil {
			return "", err
		}
		b.WriteString(formatValue(v))
	}
	return b.String(), nil
}

// formatValue renders an expression's value in text: nil as nothing, numbers without
// exponent or trailing zeros, times as "2006-01-02 15:04:05", everything else as fmt
// prints it.
func formatValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'f', -1, 32)
	case time.Time:
		return v.Format(time.DateTime)
	case []byte:
		return string(v)
	}
	return fmt.Sprint(v)
}

// template reads the scalar n as a template; what names it in errors. It returns nil
// after reporting a problem.
func (l *loader) template(n *yaml.Node, what string) *template {
	n = l.deref(n)
	s, ok := l.str(n, what)
	if !ok {
		return nil
	}
	return l.templateOf(n, s)
}

func (l *loader) templateOf(n *yaml.Node, s string) *template {
	t := &template{}
	ok := true
	rest, at := s, 0 // at: byte offset of rest in s
	for rest != "" {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.parts = append(t.parts, tplPart{lit: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, tplPart{lit: rest[:i]})
		}
		body := rest[i+2:]
		end := closing(body)
		start := at + i + 2
		if end < 0 {
			line, col := l.pos(n, utf8.RuneCountInString(s[:at+i]))
			l.add(line, col, ErrExpr, nil, "{{ without a closing }}")
			return nil
		}
		src := body[:end]
		prog, _ := l.compile(n, src, utf8.RuneCountInString(s[:start]), false)
		if prog == nil {
			ok = false
		}
		t.parts = append(t.parts, tplPart{prog: prog})
		rest = body[end+2:]
		at = start + end + 2
	}
	if !ok {
		return nil
	}
	return t
}

// closing returns the byte index of the "}}" that closes a placeholder whose body starts
// s, skipping string literals and balanced braces (map literals), or -1.
func closing(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\'', '`':
			for i++; i < len(s) && s[i] != c; i++ {
				if s[i] == '\\' && c != '`' {
					i++
				}
			}
		case '{':
			depth++
		case '}':
			if depth > 0 {
				depth--
			} else if i+1 < len(s) && s[i+1] == '}' {
				return i
			}
		}
	}
	return -1
}
