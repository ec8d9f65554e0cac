package aitest_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/ai/aitest"
)

// difyEvents parses a Dify SSE body into its data: JSON objects.
func difyEvents(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(data), &m), "frame %q", data)
		out = append(out, m)
	}
	require.NoError(t, sc.Err())
	require.True(t, bytes.HasSuffix(body, []byte("\n\n")), "the last frame ends with a blank line")
	return out
}

func difyBody(t *testing.T, fields map[string]any) []byte {
	t.Helper()
	base := map[string]any{"inputs": map[string]any{}, "query": "你好", "user": "kf:wk:wm"}
	for k, v := range fields {
		if v == nil {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	b, err := json.Marshal(base)
	require.NoError(t, err)
	return b
}

func TestDifyBlockingConversation(t *testing.T) {
	srv := aitest.NewUnstartedServer()
	srv.Script("kf:wk:wm", aitest.Text("第一"), aitest.Text("第二"))

	r := post(t, srv, "/v1/chat-messages", difyBody(t, map[string]any{"response_mode": "blocking"}))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var ans struct {
		Event          string `json:"event"`
		Answer         string `json:"answer"`
		ConversationID string `json:"conversation_id"`
		MessageID      string `json:"message_id"`
		Mode           string `json:"mode"`
		Metadata       struct {
			Usage struct {
				TotalTokens int64 `json:"total_tokens"`
			} `json:"usage"`
		} `json:"metadata"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &ans))
	assert.Positive(t, ans.Metadata.Usage.TotalTokens)
	assert.Equal(t, "message", ans.Event)
	assert.Equal(t, "第一", ans.Answer)
	assert.Equal(t, "chat", ans.Mode)
	require.NotEmpty(t, ans.ConversationID)
	assert.NotEmpty(t, ans.MessageID)
	assert.Equal(t, []string{ans.ConversationID}, srv.DifyConversations())

	r = post(t, srv, "/v1/chat-messages", difyBody(t, map[string]any{"conversation_id": ans.ConversationID}))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var second map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &second))
	assert.Equal(t, "第二", second["answer"])
	assert.Equal(t, ans.ConversationID, second["conversation_id"], "the conversation is remembered")

	tests := []struct {
		name   string
		fields map[string]any
		status int
		code   string
	}{
		{"unknown conversation", map[string]any{"conversation_id": "00000000-0000-4000-8000-999999999999"}, 404, "not_found"},
		{"another user's conversation", map[string]any{"conversation_id": ans.ConversationID, "user": "kf:wk:other"}, 404, "not_found"},
		{"empty conversation id", map[string]any{"conversation_id": ""}, 400, "invalid_param"},
		{"no query", map[string]any{"query": nil}, 400, "invalid_param"},
		{"no user", map[string]any{"user": nil}, 400, "invalid_param"},
		{"no inputs", map[string]any{"inputs": nil}, 400, "invalid_param"},
		{"bad mode", map[string]any{"response_mode": "fast"}, 400, "invalid_param"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, srv, "/v1/chat-messages", difyBody(t, tt.fields))
			require.Equal(t, tt.status, r.Status, "%s", r.Body)
			var e struct {
				Code    string `json:"code"`
				Message string `json:"message"`
				Status  int    `json:"status"`
			}
			require.NoError(t, json.Unmarshal(r.Body, &e))
			assert.Equal(t, tt.code, e.Code)
			assert.Equal(t, tt.status, e.Status)
			assert.NotEmpty(t, e.Message)
			if tt.code == "not_found" {
				assert.Equal(t, "Conversation Not Exists.", e.Message)
			}
		})
	}

	srv.ForgetDifyConversation(ans.ConversationID)
	r = post(t, srv, "/v1/chat-messages", difyBody(t, map[string]any{"conversation_id": ans.ConversationID}))
	assert.Equal(t, http.StatusNotFound, r.Status, "a forgotten conversation")

	r = postAs(t, srv, "app-wrong", "/v1/chat-messages", difyBody(t, nil))
	assert.Equal(t, http.StatusUnauthorized, r.Status)
	assert.JSONEq(t, `{"code":"unauthorized","message":"Access token is invalid","status":401}`, string(r.Body))

	reqs := srv.DifyRequests()
	require.Len(t, reqs, 2+len(tests)+2)
	assert.Equal(t, "blocking", reqs[0].ResponseMode)
	assert.Equal(t, "你好", reqs[0].Query)
	assert.Equal(t, "", reqs[0].ConversationID)
	assert.Equal(t, ans.ConversationID, reqs[0].Conversation)
	assert.Equal(t, ans.ConversationID, reqs[1].ConversationID)
	assert.Equal(t, 2+len(tests)+2, srv.Calls("chat-messages"))
	assert.Empty(t, srv.Requests(), "Dify requests are kept apart")
}

func TestDifyStreaming(t *testing.T) {
	tests := []struct {
		name   string
		opts   []aitest.Option
		reply  aitest.Reply
		events []string
	}{
		{"chat app", nil, aitest.Reply{Chunks: []string{"你好", "！"}}, []string{"message", "message", "message_end"}},
		{"agent app", []aitest.Option{aitest.WithDifyAgent()}, aitest.Text("好"), []string{"agent_message", "message_end"}},
		{"error event", nil, aitest.Reply{Text: "半", StreamErr: &aitest.APIError{Status: 400, Code: "provider_quota_exceeded", Message: "quota"}}, []string{"message", "error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := aitest.NewUnstartedServer(tt.opts...)
			srv.Enqueue(tt.reply)
			r := post(t, srv, "/v1/chat-messages", difyBody(t, map[string]any{"response_mode": "streaming"}))
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			assert.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "text/event-stream"))
			evs := difyEvents(t, r.Body)
			var names []string
			var answer strings.Builder
			for _, e := range evs {
				names = append(names, e["event"].(string))
				if a, ok := e["answer"].(string); ok {
					answer.WriteString(a)
				}
				assert.Equal(t, evs[0]["conversation_id"], e["conversation_id"], "one conversation id throughout")
				assert.NotEmpty(t, e["task_id"])
			}
			assert.Equal(t, tt.events, names)
			last := evs[len(evs)-1]
			switch last["event"] {
			case "message_end":
				assert.Equal(t, strings.Join(tt.reply.Chunks, "")+tt.reply.Text, answer.String())
				usage := last["metadata"].(map[string]any)["usage"].(map[string]any)
				assert.Positive(t, usage["total_tokens"])
			case "error":
				assert.Equal(t, "provider_quota_exceeded", last["code"])
				assert.EqualValues(t, 400, last["status"])
				assert.Equal(t, "quota", last["message"])
			}
		})
	}
}

func TestDifyAgentRefusesBlocking(t *testing.T) {
	srv := aitest.NewUnstartedServer(aitest.WithDifyAgent())
	r := post(t, srv, "/v1/chat-messages", difyBody(t, map[string]any{"response_mode": "blocking"}))
	assert.Equal(t, http.StatusBadRequest, r.Status)
	assert.Contains(t, string(r.Body), "app_unavailable")
}

func TestDifyFaults(t *testing.T) {
	srv := aitest.NewUnstartedServer()
	srv.FailNext(1, http.StatusTooManyRequests)
	r := post(t, srv, "/v1/chat-messages", difyBody(t, nil))
	assert.Equal(t, http.StatusTooManyRequests, r.Status)
	assert.Equal(t, "1", r.Header.Get("Retry-After"))
	assert.JSONEq(t, `{"code":"rate_limit_exceeded","message":"Rate limit reached for requests. Please try again in 1s.","status":429}`, string(r.Body))
	assert.Empty(t, srv.DifyConversations(), "a failed request creates no conversation")
	r = post(t, srv, "/v1/chat-messages", difyBody(t, nil))
	assert.Equal(t, http.StatusOK, r.Status)

	srv.FailNext(1, http.StatusInternalServerError)
	r = post(t, srv, "/v1/chat-messages", difyBody(t, map[string]any{"conversation_id": "unknown"}))
	assert.Equal(t, http.StatusInternalServerError, r.Status, "a fault answers before the conversation is looked up")
	r = post(t, srv, "/v1/chat-messages", difyBody(t, map[string]any{"conversation_id": "unknown"}))
	assert.Equal(t, http.StatusNotFound, r.Status)
}
