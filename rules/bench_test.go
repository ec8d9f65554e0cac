package rules

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// benchKeyword returns a distinct, word-like keyword for rule i: English syllables for
// even i, Chinese for odd i, 4–9 bytes.
func benchKeyword(i int) string {
	if i%2 == 0 {
		syl := []string{"ka", "lo", "mi", "ne", "po", "ru", "si", "ta", "vu", "ze"}
		return syl[i%10] + syl[(i/10)%10] + syl[(i/100)%10] + syl[(i/1000)%10] + "x"
	}
	han := []rune("退款营业时间发货快递订单地址优惠价格尺码颜色")
	return string([]rune{han[i%len(han)], han[(i/7)%len(han)], han[(i/49)%len(han)]}) + fmt.Sprint(i/343)
}

// keywordYAML is a rule file of n keyword rules and a fallback.
func keywordYAML(n int) string {
	var b strings.Builder
	b.WriteString("version: 1\nrules:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: faq-%d\n    when: msg.type == \"text\" && msg.text contains %q\n    then:\n      - reply: \"answer %d for {{ msg.external_userid }}\"\n",
			i, benchKeyword(i), i)
	}
	b.WriteString("  - name: fallback\n    when: msg.type == \"text\"\n    then:\n      - reply: \"sorry\"\n")
	return b.String()
}

func keywordSet(tb testing.TB, n int) *Set {
	s, err := Load(strings.NewReader(keywordYAML(n)), "bench.yaml", WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(tb, err)
	return s
}

// benchMessages are 64 customer texts: half name the keyword of a random rule, half
// match only the fallback.
func benchMessages(n int) []Env {
	r := rand.New(rand.NewPCG(7, 7))
	envs := make([]Env, 64)
	for i := range envs {
		text := "hello, could you tell me something about this please? 谢谢"
		if i%2 == 0 {
			text = "hello, I would like to ask about " + benchKeyword(r.IntN(n)) + " please, 谢谢"
		}
		envs[i] = Env{Msg: Msg{Type: "text", Text: text, ExternalUserID: "wmCustomer"}}
	}
	return envs
}

// BenchmarkMatch measures ns/message to find the rules to run, by a linear scan of every
// rule and through the index, for sets of n keyword rules plus a fallback.
func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		s := keywordSet(b, n)
		envs := benchMessages(n)
		for _, mode := range []string{"linear", "index"} {
			b.Run(fmt.Sprintf("rules=%d/%s", n, mode), func(b *testing.B) {
				b.ReportAllocs()
				var out []int
				i := 0
				for b.Loop() {
					out = s.picks(envs[i&63], mode == "linear", out[:0])
					i++
				}
			})
		}
	}
}

// BenchmarkLoad measures loading (parsing, compiling and indexing) a file of n rules.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{100, 1000} {
		src := keywordYAML(n)
		quiet := WithLogger(slog.New(slog.DiscardHandler))
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Load(strings.NewReader(src), "bench.yaml", quiet); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
