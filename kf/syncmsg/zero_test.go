package syncmsg_test

import (
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/syncmsg"
)

// zeroFields returns the paths of the exported fields of v (recursively,
// through pointers, structs and slice elements) that hold a zero value, e.g.
// "Header.ServicerUserID" or "List[0].View".
func zeroFields(v any) []string {
	var out []string
	var walk func(path string, rv reflect.Value)
	walk = func(path string, rv reflect.Value) {
		if rv.Kind() == reflect.Interface || rv.Kind() == reflect.Pointer {
			if rv.IsNil() {
				out = append(out, path)
				return
			}
			walk(path, rv.Elem())
			return
		}
		if rv.IsZero() {
			out = append(out, path)
			return
		}
		switch rv.Kind() {
		case reflect.Struct:
			for i := range rv.NumField() {
				f := rv.Type().Field(i)
				if !f.IsExported() {
					continue
				}
				p := f.Name
				if path != "" {
					p = path + "." + f.Name
				}
				walk(p, rv.Field(i))
			}
		case reflect.Slice:
			if rv.Type().Elem().Kind() == reflect.Uint8 { // []byte, json.RawMessage
				return
			}
			for i := range rv.Len() {
				walk(fmt.Sprintf("%s[%d]", path, i), rv.Index(i))
			}
		}
	}
	walk("", reflect.ValueOf(v))
	return out
}

// assertNoZeroFields fails t if an exported field of v other than those in
// allowed is zero: a field the decoder forgot to fill, or a fixture that
// forgot to set it.
func assertNoZeroFields(t *testing.T, v any, allowed ...string) {
	t.Helper()
	for _, p := range zeroFields(v) {
		assert.Truef(t, slices.Contains(allowed, p), "%T: field %s is zero", v, p)
	}
}

func TestZeroFieldsFindsNestedZeros(t *testing.T) {
	type inner struct{ A, B string }
	type outer struct {
		X  int
		In *inner
		L  []inner
		N  *inner
		hi int //lint:ignore U1000 an unexported field, which zeroFields must skip
	}
	got := zeroFields(&outer{X: 1, In: &inner{A: "a"}, L: []inner{{A: "a", B: "b"}, {B: "b"}}})
	require.Equal(t, []string{"In.B", "L[1].A", "N"}, got)
}

// clone returns a shallow copy of the value m points to.
func clone(m syncmsg.Message) syncmsg.Message {
	v := reflect.ValueOf(m).Elem()
	c := reflect.New(v.Type())
	c.Elem().Set(v)
	return c.Interface().(syncmsg.Message)
}
