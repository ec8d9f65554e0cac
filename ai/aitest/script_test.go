package aitest_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/ai/aitest"
)

func TestScriptsQueueAndDefault(t *testing.T) {
	srv := aitest.NewUnstartedServer()
	c := inProcess(srv, option.WithMaxRetries(0))
	srv.Script("alice", aitest.Text("a1"), aitest.Text("a2"))
	srv.Script("bob", aitest.Text("b1"))
	srv.Enqueue(aitest.Text("q1"))
	require.Equal(t, 4, srv.Pending())

	ask := func(safety, user, text string) string {
		t.Helper()
		p := params(text)
		if safety != "" {
			p.SafetyIdentifier = openai.String(safety)
		}
		if user != "" {
			p.User = openai.String(user)
		}
		resp, err := c.Chat.Completions.New(t.Context(), p)
		require.NoError(t, err)
		return resp.Choices[0].Message.Content
	}
	assert.Equal(t, "a1", ask("alice", "", "x"))
	assert.Equal(t, "b1", ask("", "bob", "x"), "user identifies the conversation without safety_identifier")
	assert.Equal(t, "q1", ask("bob", "", "x"), "bob's script is used up: the shared queue")
	assert.Equal(t, "a2", ask("alice", "someone-else", "x"), "safety_identifier wins")
	assert.Equal(t, "echo me", ask("alice", "", "echo me"), "the built-in default echoes")
	assert.Zero(t, srv.Pending())

	srv.SetDefault(func(r *aitest.Request) aitest.Reply {
		return aitest.Text(strings.ToUpper(r.LastUserText()) + "@" + r.Conversation)
	})
	assert.Equal(t, "HI@carol", ask("carol", "", "hi"))
	srv.SetDefault(nil)
	assert.Equal(t, "hi", ask("carol", "", "hi"))

	assert.Len(t, srv.RequestsFor("alice"), 3)
	assert.Len(t, srv.RequestsFor("bob"), 2)
	assert.Len(t, srv.Requests(), 7)
}

func TestFailNextConsumesNoScript(t *testing.T) {
	srv := aitest.NewUnstartedServer()
	c := inProcess(srv, option.WithMaxRetries(0))
	srv.Enqueue(aitest.Text("scripted"))
	srv.FailNext(2, http.StatusServiceUnavailable)
	for range 2 {
		_, err := c.Chat.Completions.New(t.Context(), params("q"))
		var apierr *openai.Error
		require.ErrorAs(t, err, &apierr)
		assert.Equal(t, http.StatusServiceUnavailable, apierr.StatusCode)
		assert.Equal(t, "server_error", apierr.Type)
	}
	assert.Equal(t, 1, srv.Pending())
	resp, err := c.Chat.Completions.New(t.Context(), params("q"))
	require.NoError(t, err)
	assert.Equal(t, "scripted", resp.Choices[0].Message.Content)
	var statuses []int
	for _, r := range srv.Requests() {
		statuses = append(statuses, r.Status)
	}
	assert.Equal(t, []int{503, 503, 200}, statuses)

	srv.FailNext(1, http.StatusBadGateway)
	p := params("q")
	p.Model = "no-such-model"
	_, err = c.Chat.Completions.New(t.Context(), p)
	var apierr *openai.Error
	require.ErrorAs(t, err, &apierr)
	assert.Equal(t, http.StatusBadGateway, apierr.StatusCode, "a fault answers before the model check")
}

func TestScriptedRepliesAreConsumedOnce(t *testing.T) {
	srv := aitest.NewUnstartedServer()
	const n = 50
	for i := range n {
		srv.Enqueue(aitest.Text(strings.Repeat("x", i+1)))
	}
	c := inProcess(srv)
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := c.Chat.Completions.New(t.Context(), params("q"))
			if !assert.NoError(t, err) {
				return
			}
			mu.Lock()
			seen[resp.Choices[0].Message.Content] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	assert.Len(t, seen, n)
	assert.Zero(t, srv.Pending())
}

// TestRequestValidation sends hand-made bodies and checks the OpenAI-shaped
// 400 (or 404) with its param.
func TestRequestValidation(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status int
		param  string
	}{
		{"not JSON", `{`, 400, ""},
		{"not an object", `[1]`, 400, ""},
		{"no model", `{"messages":[{"role":"user","content":"q"}]}`, 400, "model"},
		{"model not a string", `{"model":1,"messages":[{"role":"user","content":"q"}]}`, 400, "model"},
		{"unknown model", `{"model":"gpt-x","messages":[{"role":"user","content":"q"}]}`, 404, ""},
		{"no messages", `{"model":"aitest-model"}`, 400, "messages"},
		{"empty messages", `{"model":"aitest-model","messages":[]}`, 400, "messages"},
		{"bad role", `{"model":"aitest-model","messages":[{"role":"robot","content":"q"}]}`, 400, "messages[0].role"},
		{"user without content", `{"model":"aitest-model","messages":[{"role":"user"}]}`, 400, "messages[0].content"},
		{"content a number", `{"model":"aitest-model","messages":[{"role":"user","content":5}]}`, 400, "messages[0].content"},
		{"unknown part", `{"model":"aitest-model","messages":[{"role":"user","content":[{"type":"video"}]}]}`, 400, "messages[0].content[0].type"},
		{"text part without text", `{"model":"aitest-model","messages":[{"role":"user","content":[{"type":"text"}]}]}`, 400, "messages[0].content[0].text"},
		{"image in a system message", `{"model":"aitest-model","messages":[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`, 400, "messages[0].content[0].type"},
		{"image without url", `{"model":"aitest-model","messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}`, 400, "messages[0].content[0].image_url.url"},
		{"bad detail", `{"model":"aitest-model","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png","detail":"max"}}]}]}`, 400, "messages[0].content[0].image_url.detail"},
		{"tool without call", `{"model":"aitest-model","messages":[{"role":"user","content":"q"},{"role":"tool","tool_call_id":"c1","content":"r"}]}`, 400, "messages[1].role"},
		{"tool without id", `{"model":"aitest-model","messages":[{"role":"tool","content":"r"}]}`, 400, "messages[0].tool_call_id"},
		{"unanswered tool call", `{"model":"aitest-model","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]}]}`, 400, "messages[0]"},
		{"user between call and answer", `{"model":"aitest-model","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"user","content":"q"}]}`, 400, "messages"},
		{"tool call without name", `{"model":"aitest-model","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"arguments":"{}"}}]}]}`, 400, "messages[0].tool_calls[0].function.name"},
		{"temperature too high", `{"model":"aitest-model","messages":[{"role":"user","content":"q"}],"temperature":3}`, 400, "temperature"},
		{"top_p negative", `{"model":"aitest-model","messages":[{"role":"user","content":"q"}],"top_p":-1}`, 400, "top_p"},
		{"max_tokens zero", `{"model":"aitest-model","messages":[{"role":"user","content":"q"}],"max_tokens":0}`, 400, "max_tokens"},
		{"max_tokens a string", `{"model":"aitest-model","messages":[{"role":"user","content":"q"}],"max_tokens":"8"}`, 400, "max_tokens"},
		{"stream not a bool", `{"model":"aitest-model","messages":[{"role":"user","content":"q"}],"stream":"yes"}`, 400, "stream"},
		{"stream_options without stream", `{"model":"aitest-model","messages":[{"role":"user","content":"q"}],"stream_options":{"include_usage":true}}`, 400, "stream_options"},
		{"bad tool name", `{"model":"aitest-model","messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"a b"}}]}`, 400, "tools[0].function.name"},
		{"duplicate tool", `{"model":"aitest-model","messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"f"}}]}`, 400, "tools"},
		{"tool parameters not an object", `{"model":"aitest-model","messages":[{"role":"user","content":"q"}],"tools":[{"type":"function","function":{"name":"f","parameters":[]}}]}`, 400, "tools[0].function.parameters"},
		{"valid with extras", `{"model":"aitest-model","messages":[{"role":"user","content":"q"}],"enable_thinking":false,"thinking":{"type":"disabled"}}`, 200, ""},
		{"valid tool round", `{"model":"aitest-model","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"r"}]}`, 200, ""},
	}
	srv := aitest.NewUnstartedServer()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, srv, "/v1/chat/completions", []byte(tt.body))
			require.Equal(t, tt.status, r.Status, "%s", r.Body)
			if tt.status == 200 {
				return
			}
			_, typ, param, _ := openAIError(t, r.Body)
			assert.Equal(t, "invalid_request_error", typ)
			got := ""
			if param != nil {
				got = *param
			}
			assert.Equal(t, tt.param, got)
		})
	}
	last := srv.Requests()[len(srv.Requests())-1]
	assert.Equal(t, http.StatusOK, last.Status)
	extras := srv.Requests()[len(srv.Requests())-2].Extra
	assert.JSONEq(t, `false`, string(extras["enable_thinking"]))
	assert.JSONEq(t, `{"type":"disabled"}`, string(extras["thinking"]))
	assert.Equal(t, len(tests), srv.Calls("chat/completions"))
	assert.Len(t, srv.Requests(), len(tests), "refused requests are recorded too")
}

func TestUnknownPaths(t *testing.T) {
	srv := aitest.NewUnstartedServer()
	for _, p := range []string{"/v1/completions", "/v1/embeddings", "/"} {
		r := post(t, srv, p, []byte(`{}`))
		assert.Equal(t, http.StatusNotFound, r.Status, p)
		msg, _, _, _ := openAIError(t, r.Body)
		assert.Contains(t, msg, "Invalid URL (POST "+p+")")
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://x/v1/chat/completions", nil)
	require.NoError(t, err)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "GET on a POST endpoint")
}

func TestBodyLimit(t *testing.T) {
	srv := aitest.NewUnstartedServer(aitest.WithMaxBodyBytes(64))
	r := post(t, srv, "/v1/chat/completions", []byte(`{"model":"aitest-model","messages":[{"role":"user","content":"`+strings.Repeat("x", 100)+`"}]}`))
	assert.Equal(t, http.StatusRequestEntityTooLarge, r.Status)
	openAIError(t, r.Body)
}
