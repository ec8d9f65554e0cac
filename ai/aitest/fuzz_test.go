package aitest_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/kfbot/kfbot/ai/aitest"
)

// FuzzChatRequest feeds arbitrary bodies to /v1/chat/completions: the
// server never panics, answers 200 (a completion or an SSE stream), 404
// (unknown model) or 400, and every error is in OpenAI's shape.
func FuzzChatRequest(f *testing.F) {
	for _, s := range []string{
		``, `{`, `null`, `[]`, `"x"`, `{}`,
		`{"model":"aitest-model","messages":[{"role":"user","content":"q"}]}`,
		`{"model":"aitest-model","messages":[{"role":"user","content":"q"}],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"aitest-model","messages":[{"role":"user","content":[{"type":"text","text":"q"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}}]}]}`,
		`{"model":"aitest-model","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"r"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}`,
		`{"model":"aitest-model","messages":[{"role":"user","content":"q"}],"temperature":1e400}`,
		`{"model":"aitest-model","messages":[{"role":"user","content":"q"}],"max_tokens":99999999999999999999}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:,"}}]}]}`,
		`{"model":"aitest-model","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64"}}]}]}`,
	} {
		f.Add([]byte(s))
	}
	srv := aitest.NewUnstartedServer()
	srv.SetDefault(func(r *aitest.Request) aitest.Reply { return aitest.Text("ok") })
	f.Fuzz(func(t *testing.T, body []byte) {
		r := post(t, srv, "/v1/chat/completions", body)
		switch r.Status {
		case http.StatusOK:
			if json.Valid(r.Body) {
				var m map[string]json.RawMessage
				if err := json.Unmarshal(r.Body, &m); err != nil || m["choices"] == nil {
					t.Fatalf("a 200 JSON answer without choices: %s", r.Body)
				}
			}
		case http.StatusBadRequest, http.StatusNotFound:
			openAIError(t, r.Body)
		default:
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	})
}
