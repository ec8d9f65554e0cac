package jsonvalid

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValidAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range validSeeds() {
		assert.Equal(t, json.Valid([]byte(s)), Valid([]byte(s)), "%q", s)
	}
}

// FuzzValid: Valid is json.Valid.
func FuzzValid(f *testing.F) {
	for _, s := range validSeeds() {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want {
			t.Fatalf("Valid(%q) = %t, json.Valid says %t", b, got, want)
		}
	})
}

func validSeeds() []string {
	return []string{
		``, ` `, `{}`, ` {} `, `{`, `}`, `[]`, `[1,]`, `[,1]`, `{"a":1,}`, `{"a" 1}`, `{"a":}`, `{1:2}`,
		`{"a":[1,{"b":null}],"c":"d"}`, `"x"`, `"\u00e9\n\"\\\/"`, `"\u00g0"`, `"\x"`, "\"\x01\"", `"ab`,
		`"\`, `"\u12`, "\"\xff\"", `0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1E-7`, `-12.5e3`,
		`true`, `tru`, `truex`, `false`, `null`, `nul`, `nulll`, `{"a":1}{}`, `{"a":1} x`, "\t{\r\n}\n",
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	}
}
