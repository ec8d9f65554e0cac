package rules

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fuzzEnvs are the messages a fuzzed rule set that loads is evaluated on.
var fuzzEnvs = []Env{
	{Msg: Msg{Type: "text", Text: "hello, hours? 营业时间 human"}},
	{Msg: Msg{Type: "text", Text: "HUMAN", MenuID: "hours"}, Session: Session{Vars: map[string]any{"misses": 2.0}, Messages: 3}},
	{Msg: Msg{Type: "event", Event: "enter_session", Scene: "ad"}},
	{Msg: Msg{Type: "image", MediaID: "m"}, Now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)},
}

// FuzzLoad: loading never panics, whatever the input; every problem formats; and a set
// that loads picks the same rules through the index as by trying every rule.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	seeds = append(seeds, "../examples/rules.yaml")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"",
		"version: 1\nrules: []\n",
		"version: 1\nrules:\n  - name: a\n    when: msg.text contains \"x\" || lower(msg.text) in [\"a\", \"b\"]\n    continue: true\n    then: []\n  - name: b\n    then: [{reply: \"{{ msg.text }}\"}]\n",
		"version: 1\nrules:\n  - name: a\n    when: msg.text matches msg.menu_id\n    then: []\n",
		"version: 1\nrules:\n  - &r {name: a, then: []}\n  - *r\n",
		"version: 1\nrules: [{name: a, then: [{reply: {menu: {items: [{click: {id: x, text: y}}]}}}]}]\n",
		"version: 1\nrules: [{name: a, when: '{{', then: [{set: {x: '{{ }}'}}]}]\n",
		"version: 1\na: &a [*a]\n",
	} {
		f.Add([]byte(s))
	}
	quiet := WithLogger(slog.New(slog.DiscardHandler))
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Load(bytes.NewReader(src), "fuzz.yaml", quiet)
		if err != nil {
			for _, e := range Errors(err) {
				_ = e.Error()
			}
			if s != nil {
				t.Fatal("a set and an error")
			}
			return
		}
		for _, env := range fuzzEnvs {
			linear := s.picks(env, true, nil)
			indexed := s.picks(env, false, nil)
			if len(linear) != len(indexed) {
				t.Fatalf("linear %v, indexed %v for %+v", linear, indexed, env.Msg)
			}
			for i := range linear {
				if linear[i] != indexed[i] {
					t.Fatalf("linear %v, indexed %v for %+v", linear, indexed, env.Msg)
				}
			}
		}
	})
}
