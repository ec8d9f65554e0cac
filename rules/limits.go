package rules

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/vm/runtime"
)

// MaxExprString is the longest string an expression may build, in bytes: `repeat`,
// `replace`, `join`, `string`, `toJSON` and the string `+` fail with an error instead of allocating more.
// A WeCom text message holds at most 2,048 bytes, so no reply needs more.
//
// expr's own memory budget counts list elements, not string bytes, and checks after
// allocating: `repeat(msg.text, 900000)` on a 2,000-byte message allocated 1.8 GB
// before it fired. The checks here run before anything is allocated.
const MaxExprString = 64 << 10

// allocating are the functions whose result can be much larger than their arguments, or
// that allocate a new string or list on every call. Outside loops their string results
// are capped (see [MaxExprString]); inside the predicate of map, filter, reduce, … a
// call to one of them is refused at load, because a loop of up to a million iterations
// keeping a capped result each would still exhaust memory.
var allocating = map[string]bool{
	"repeat": true, "replace": true, "join": true, "split": true, "splitAfter": true,
	"upper": true, "lower": true, "trim": true, "trimPrefix": true, "trimSuffix": true,
	"toJSON": true, "fromJSON": true, "toBase64": true, "fromBase64": true,
	"keys": true, "values": true, "toPairs": true, "fromPairs": true, "concat": true,
	"flatten": true, "sort": true, "reverse": true, "uniq": true, "take": true,
	"string": true, "clock": true, "ymd": true, catName: true, addName: true,
}

// catName and addName are the functions the string `+` is rewritten into: catName when
// both sides are strings, addName when a side's type is known only at run time.
const (
	catName = "_kfbot_concat"
	addName = "_kfbot_add"
)

// errTooLong is the run-time error of a capped function.
func errTooLong(fn string) error {
	return fmt.Errorf("%s would build a string longer than the %d bytes an expression may build; shorten the expression",
		fn, MaxExprString)
}

// limitOptions cap the allocating builtins and the string `+`.
func limitOptions() []expr.Option {
	opts := []expr.Option{
		capped("repeat", func(a []any) int {
			n := runtime.ToInt(a[1])
			s := a[0].(string)
			if n > 0 && len(s) > 0 && n > MaxExprString/len(s)+1 {
				return MaxExprString + 1
			}
			return len(s) * max(n, 0)
		}),
		capped("replace", func(a []any) int {
			s, old, repl := a[0].(string), a[1].(string), a[2].(string)
			n := strings.Count(s, old)
			if len(a) == 4 {
				if m := runtime.ToInt(a[3]); m >= 0 && m < n {
					n = m
				}
			}
			if len(repl) > 0 && n > MaxExprString/len(repl)+1 {
				return MaxExprString + 1
			}
			return len(s) + n*len(repl)
		}),
		capped("join", func(a []any) int {
			glue := ""
			if len(a) == 2 {
				glue, _ = a[1].(string)
			}
			total := 0
			add := func(s string) { total += len(s) + len(glue) }
			switch l := a[0].(type) {
			case []string:
				for _, s := range l {
					add(s)
				}
			case []any:
				for _, s := range l {
					if s, ok := s.(string); ok {
						add(s)
					}
				}
			}
			return total
		}),
		capped("string", func(a []any) int { return printedSize(a[0], 1) }),
		capped("toJSON", func(a []any) int { return printedSize(a[0], 3) }),
		expr.Function(catName, func(p ...any) (any, error) {
			a, b := p[0].(string), p[1].(string)
			if n := len(a) + len(b); n > MaxExprString {
				return nil, errTooLong("+")
			}
			return a + b, nil
		}, new(func(string, string) string)),
		expr.Function(addName, func(p ...any) (any, error) {
			if a, ok := p[0].(string); ok {
				if b, ok := p[1].(string); ok && len(a)+len(b) > MaxExprString {
					return nil, errTooLong("+")
				}
			}
			return runtime.Add(p[0], p[1]), nil
		}, new(func(any, any) any)),
		expr.Operator("+", catName),
		func(c *conf.Config) { c.Visitors = append(c.Visitors, dynamicAdd{}) },
	}
	return opts
}

// capped replaces the builtin name by a function that first computes the length of its
// result with size and fails if it is over MaxExprString.
func capped(name string, size func([]any) int) expr.Option {
	b := *builtin.Builtins[builtin.Index[name]]
	orig := b.Func
	if orig == nil { // a one-argument builtin
		fast := b.Fast
		orig = func(args ...any) (any, error) { return fast(args[0]), nil }
	}
	return func(c *conf.Config) {
		c.Disabled[name] = true
		fn := b
		fn.Func = func(args ...any) (any, error) {
			if n := size(args); n > MaxExprString {
				return nil, errTooLong(name)
			}
			return orig(args...)
		}
		fn.Fast, fn.Safe = nil, nil
		c.Functions[name] = &fn
	}
}

// dynamicAdd rewrites a `+` whose operands' types are known only at run time (a
// session variable, say) into addName, which caps the strings it builds. A `+` of two
// known types is left to the checker and to the overload of string + string.
type dynamicAdd struct{}

func (dynamicAdd) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok || b.Operator != "+" {
		return
	}
	l, r := b.Left.Type(), b.Right.Type()
	dyn := func(t reflect.Type) bool { return t == nil || t.Kind() == reflect.Interface }
	str := func(t reflect.Type) bool { return t != nil && t.Kind() == reflect.String }
	if !(dyn(l) && dyn(r) || dyn(l) && str(r) || str(l) && dyn(r)) {
		return
	}
	call := &ast.CallNode{Callee: &ast.IdentifierNode{Value: addName}, Arguments: []ast.Node{b.Left, b.Right}}
	call.SetType(reflect.TypeFor[any]())
	ast.Patch(node, call)
}

// allocInLoop finds a call to an allocating function inside the predicate of a loop
// (map, filter, reduce, …) and returns its name and position.
func allocInLoop(tree ast.Node) (name string, at int, found bool) {
	ast.Find(tree, func(x ast.Node) bool {
		p, ok := x.(*ast.PredicateNode)
		if !ok || found {
			return false
		}
		ast.Find(p.Node, func(y ast.Node) bool {
			if found {
				return false
			}
			switch y := y.(type) {
			case *ast.CallNode:
				if id, ok := y.Callee.(*ast.IdentifierNode); ok && allocating[id.Value] {
					name, at, found = id.Value, startOf(y), true
				}
			case *ast.BuiltinNode:
				if allocating[y.Name] {
					name, at, found = y.Name, startOf(y), true
				}
			}
			return false
		})
		return false
	})
	return name, at, found
}

// printedSize estimates, from below, the length of v printed by fmt or encoding/json,
// with perItem bytes of punctuation per element; it stops counting past MaxExprString.
func printedSize(v any, perItem int) int {
	n := 0
	var walk func(v any)
	walk = func(v any) {
		if n > MaxExprString {
			return
		}
		switch v := v.(type) {
		case string:
			n += len(v) + perItem
		case []any:
			for _, x := range v {
				walk(x)
			}
		case []string:
			for _, x := range v {
				n += len(x) + perItem
			}
		case []int:
			n += len(v) * (1 + perItem)
		case map[string]any:
			for k, x := range v {
				n += len(k) + perItem
				walk(x)
			}
		default:
			n += 1 + perItem
		}
	}
	walk(v)
	return n
}
