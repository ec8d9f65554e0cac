package rules_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/rules"
)

// TestAllocatingExpressionsAreCapped: on a 2,000-byte message, expressions that would
// build gigabytes fail before allocating them; the rule counts as false and the next
// rule answers. Before the cap, repeat(msg.text, 900000) allocated 1.8 GB.
func TestAllocatingExpressionsAreCapped(t *testing.T) {
	tests := []struct{ name, when string }{
		{"repeat", `len(repeat(msg.text, 900000)) > 0`},
		{"replace", `len(replace(replace(msg.text, "", msg.text), "", msg.text)) > 0`},
		{"join", `len(join(split(msg.text, ""), repeat(msg.text, 30))) > 0`},
		{"concat doubling", `let a = msg.text + msg.text; let b = a + a; let c = b + b; let d = c + c; let e = d + d; let f = e + e; let g = f + f; let h = g + g; let i = h + h; let j = i + i; let k = j + j; let l = k + k; let m = l + l; len(m + m) > 0`},
		{"string of a big list", `len(string(map(1..40000, msg.text))) > 0`},
		{"toJSON of a big list", `len(toJSON(map(1..40000, msg.text))) > 0`},
		{"untyped concat", `let a = session.vars.x ?? msg.text; let b = a + a; let c = b + b; let d = c + c; let e = d + d; let f = e + e; let g = f + f; let h = g + g; let i = h + h; let j = i + i; let k = j + j; len(k + k) > 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := mustLoad(t, "version: 1\nrules:\n  - name: big\n    when: '"+tt.when+"'\n    then: [{reply: big}]\n  - name: fallback\n    then: [{reply: fallback}]\n")
			h := newHarness(t)
			require.NoError(t, h.b.Install(set))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got := h.say(t, strings.Repeat("x", 2000))
			runtime.ReadMemStats(&after)
			assert.Equal(t, []string{"fallback"}, got)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "bytes allocated handling the message")
		})
	}
}

func TestAllocatingInLoopsIsRefusedAtLoad(t *testing.T) {
	tests := []struct{ name, when, msg string }{
		{"repeat in map", `len(map(1..1000000, repeat(msg.text, 2))) > 0`, "repeat inside map"},
		{"concat in map", `len(map(1..1000000, msg.text + "x")) > 0`, "the string + inside map"},
		{"split in reduce", `reduce(1..1000, len(split(msg.text, "")), 0) > 0`, "split inside map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rules.Load(strings.NewReader("version: 1\nrules:\n  - name: big\n    when: '"+tt.when+"'\n    then: [{reply: big}]\n"), "rules.yaml", quiet)
			require.Error(t, err)
			require.ErrorIs(t, err, rules.ErrExpr)
			assert.Contains(t, err.Error(), `rule "big"`)
			assert.Contains(t, err.Error(), tt.msg)
		})
	}
	// A loop that only compares is fine.
	mustLoad(t, "version: 1\nrules:\n  - name: ok\n    when: 'any(split(msg.text, \" \"), # == \"hi\")'\n    then: [{reply: ok}]\n")
}
