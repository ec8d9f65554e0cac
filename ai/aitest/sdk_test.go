package aitest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/ai/aitest"
)

func TestBlockingCompletionOverNetwork(t *testing.T) {
	srv := aitest.NewServer()
	defer srv.Close()
	srv.Enqueue(aitest.Reply{Text: "您好！有什么可以帮您？", Usage: &aitest.Usage{PromptTokens: 5, CompletionTokens: 2}})
	c := overNetwork(srv)

	resp, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: aitest.DefaultModel,
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.SystemMessage("你是客服"),
			openai.UserMessage("在吗"),
			openai.AssistantMessage("在的"),
			openai.UserMessage("你好"),
		},
		Temperature:      openai.Float(0.3),
		MaxTokens:        openai.Int(800),
		SafetyIdentifier: openai.String("kf:wk1:wm1"),
		User:             openai.String("legacy-user"),
	})
	require.NoError(t, err)
	require.Len(t, resp.Choices, 1)
	assert.Equal(t, "您好！有什么可以帮您？", resp.Choices[0].Message.Content)
	assert.Equal(t, "stop", resp.Choices[0].FinishReason)
	assert.Equal(t, int64(5), resp.Usage.PromptTokens)
	assert.Equal(t, int64(2), resp.Usage.CompletionTokens)
	assert.Equal(t, int64(7), resp.Usage.TotalTokens)
	assert.Equal(t, aitest.DefaultModel, resp.Model)
	assert.True(t, strings.HasPrefix(resp.ID, "chatcmpl-"), resp.ID)

	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "/v1/chat/completions", r.Path)
	assert.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, aitest.DefaultModel, r.Model)
	assert.False(t, r.Stream)
	require.NotNil(t, r.Temperature)
	assert.Equal(t, 0.3, *r.Temperature)
	require.NotNil(t, r.MaxTokens)
	assert.Equal(t, int64(800), *r.MaxTokens)
	assert.Nil(t, r.TopP)
	assert.Equal(t, "kf:wk1:wm1", r.Conversation, "safety_identifier wins over user")
	assert.Equal(t, "legacy-user", r.User)
	assert.Equal(t, "你是客服", r.System())
	assert.Equal(t, "你好", r.LastUserText())
	roles := make([]string, len(r.Messages))
	for i, m := range r.Messages {
		roles[i] = m.Role
	}
	assert.Equal(t, []string{"system", "user", "assistant", "user"}, roles)
	assert.Equal(t, "Bearer "+aitest.DefaultAPIKey, r.Header.Get("Authorization"))
	assert.Equal(t, 1, srv.Calls("chat/completions"))
	assert.Equal(t, 1, srv.Calls("/v1/chat/completions"))
}

func TestBaseURLWithoutV1(t *testing.T) {
	srv := aitest.NewServer()
	defer srv.Close()
	c := overNetwork(srv, option.WithBaseURL(srv.URL))
	resp, err := c.Chat.Completions.New(t.Context(), params("ping"))
	require.NoError(t, err)
	assert.Equal(t, "ping", resp.Choices[0].Message.Content, "the default answer echoes the last user message")
	require.Len(t, srv.Requests(), 1)
	assert.Equal(t, "/chat/completions", srv.Requests()[0].Path)
}

// stream runs a streaming request and returns the accumulated completion,
// the content deltas in order, and the stream's error.
func stream(t *testing.T, c *openai.Client, p openai.ChatCompletionNewParams) (openai.ChatCompletionAccumulator, []string, []openai.FinishedChatCompletionToolCall, error) {
	t.Helper()
	s := c.Chat.Completions.NewStreaming(t.Context(), p)
	defer s.Close()
	var acc openai.ChatCompletionAccumulator
	var deltas []string
	var calls []openai.FinishedChatCompletionToolCall
	for s.Next() {
		chunk := s.Current()
		require.True(t, acc.AddChunk(chunk), "the accumulator accepts every chunk (constant id)")
		if len(chunk.Choices) > 0 && chunk.Choices[0].Delta.Content != "" {
			deltas = append(deltas, chunk.Choices[0].Delta.Content)
		}
		if tc, ok := acc.JustFinishedToolCall(); ok {
			calls = append(calls, tc)
		}
	}
	return acc, deltas, calls, s.Err()
}

func TestStreamingContentAndUsage(t *testing.T) {
	for _, network := range []bool{false, true} {
		t.Run(map[bool]string{false: "transport", true: "network"}[network], func(t *testing.T) {
			srv := aitest.NewServer()
			defer srv.Close()
			c := inProcess(srv)
			if network {
				c = overNetwork(srv)
			}
			srv.Enqueue(aitest.Text("你好，世界"), aitest.Reply{Chunks: []string{"Hello", ", ", "world"}})

			p := params("hi")
			p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			acc, deltas, _, err := stream(t, c, p)
			require.NoError(t, err)
			assert.Equal(t, []string{"你", "好", "，", "世", "界"}, deltas, "one rune per chunk")
			assert.Equal(t, "你好，世界", acc.Choices[0].Message.Content)
			assert.Equal(t, "stop", acc.Choices[0].FinishReason)
			assert.Equal(t, int64(1), acc.Usage.PromptTokens, "2 bytes of prompt, rounded up to 1 token")
			assert.Equal(t, int64(4), acc.Usage.CompletionTokens, "15 bytes, 4 tokens")
			assert.Equal(t, int64(5), acc.Usage.TotalTokens)

			acc, deltas, _, err = stream(t, c, params("hi"))
			require.NoError(t, err)
			assert.Equal(t, []string{"Hello", ", ", "world"}, deltas)
			assert.Equal(t, "Hello, world", acc.Choices[0].Message.Content)
			assert.Zero(t, acc.Usage.TotalTokens, "no usage chunk without include_usage")

			reqs := srv.Requests()
			require.Len(t, reqs, 2)
			assert.True(t, reqs[0].Stream)
			assert.True(t, reqs[0].IncludeUsage)
			assert.True(t, reqs[1].Stream)
			assert.False(t, reqs[1].IncludeUsage)
		})
	}
}

var transferTool = openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
	Name:        "transfer_to_human",
	Description: openai.String("Hand the conversation to a human agent."),
	Parameters: openai.FunctionParameters{
		"type":       "object",
		"properties": map[string]any{"reason": map[string]any{"type": "string"}},
		"required":   []string{"reason"},
	},
})

func TestStreamedToolCalls(t *testing.T) {
	srv := aitest.NewServer()
	defer srv.Close()
	c := inProcess(srv)
	srv.Enqueue(aitest.Tools(
		aitest.ToolCall{ID: "call_a", Name: "transfer_to_human", Arguments: `{"reason":"客户要求转人工"}`},
		aitest.ToolCall{Name: "lookup_order", Arguments: `{"order_id":"A-1234567890"}`},
	))
	p := params("转人工")
	p.Tools = []openai.ChatCompletionToolUnionParam{transferTool}
	acc, deltas, finished, err := stream(t, c, p)
	require.NoError(t, err)
	assert.Empty(t, deltas)
	msg := acc.Choices[0].Message
	assert.Equal(t, "tool_calls", acc.Choices[0].FinishReason)
	require.Len(t, msg.ToolCalls, 2)
	assert.Equal(t, "call_a", msg.ToolCalls[0].ID)
	assert.Equal(t, "transfer_to_human", msg.ToolCalls[0].Function.Name)
	assert.Equal(t, `{"reason":"客户要求转人工"}`, msg.ToolCalls[0].Function.Arguments)
	assert.Equal(t, "lookup_order", msg.ToolCalls[1].Function.Name)
	assert.Equal(t, `{"order_id":"A-1234567890"}`, msg.ToolCalls[1].Function.Arguments)
	assert.True(t, strings.HasPrefix(msg.ToolCalls[1].ID, "call_"), "a generated id: %q", msg.ToolCalls[1].ID)
	require.Len(t, finished, 2, "JustFinishedToolCall fires once per call")
	assert.Equal(t, "transfer_to_human", finished[0].Name)
	assert.Equal(t, `{"reason":"客户要求转人工"}`, finished[0].Arguments)
	assert.Equal(t, 1, finished[1].Index)

	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	require.Len(t, reqs[0].Tools, 1)
	assert.Equal(t, "transfer_to_human", reqs[0].Tools[0].Name)
	assert.JSONEq(t, `{"type":"object","properties":{"reason":{"type":"string"}},"required":["reason"]}`, string(reqs[0].Tools[0].Parameters))
}

func TestBlockingToolLoop(t *testing.T) {
	srv := aitest.NewServer()
	defer srv.Close()
	c := inProcess(srv)
	srv.Script("kf:wk:wm",
		aitest.Tools(aitest.ToolCall{ID: "call_1", Name: "transfer_to_human", Arguments: `{"reason":"asked"}`}),
		aitest.Text("已为您转接人工客服"))
	p := params("人工")
	p.Tools = []openai.ChatCompletionToolUnionParam{transferTool}
	p.SafetyIdentifier = openai.String("kf:wk:wm")

	resp, err := c.Chat.Completions.New(t.Context(), p)
	require.NoError(t, err)
	msg := resp.Choices[0].Message
	assert.Equal(t, "tool_calls", resp.Choices[0].FinishReason)
	assert.Empty(t, msg.Content)
	require.Len(t, msg.ToolCalls, 1)
	assert.Equal(t, "call_1", msg.ToolCalls[0].ID)
	assert.Equal(t, `{"reason":"asked"}`, msg.ToolCalls[0].Function.Arguments)

	p.Messages = append(p.Messages, msg.ToParam(), openai.ToolMessage(`{"ok":true}`, "call_1"))
	resp, err = c.Chat.Completions.New(t.Context(), p)
	require.NoError(t, err)
	assert.Equal(t, "已为您转接人工客服", resp.Choices[0].Message.Content)

	reqs := srv.RequestsFor("kf:wk:wm")
	require.Len(t, reqs, 2)
	second := reqs[1].Messages
	require.Len(t, second, 3)
	assert.Equal(t, "assistant", second[1].Role)
	assert.Equal(t, []aitest.ToolCall{{ID: "call_1", Name: "transfer_to_human", Arguments: `{"reason":"asked"}`}}, second[1].ToolCalls)
	assert.Equal(t, "tool", second[2].Role)
	assert.Equal(t, "call_1", second[2].ToolCallID)
	assert.Equal(t, `{"ok":true}`, second[2].Content)
	assert.Zero(t, srv.Pending())
}

func TestReasoningContent(t *testing.T) {
	srv := aitest.NewServer()
	defer srv.Close()
	c := inProcess(srv)
	rep := aitest.Reply{Reasoning: "想想", Text: "好的"}
	srv.Enqueue(rep, rep)

	resp, err := c.Chat.Completions.New(t.Context(), params("q"))
	require.NoError(t, err)
	assert.Equal(t, "好的", resp.Choices[0].Message.Content)
	assert.Equal(t, `"想想"`, resp.Choices[0].Message.JSON.ExtraFields["reasoning_content"].Raw())

	s := c.Chat.Completions.NewStreaming(t.Context(), params("q"))
	defer s.Close()
	var reasoning, content strings.Builder
	for s.Next() {
		ch := s.Current()
		if len(ch.Choices) == 0 {
			continue
		}
		if f, ok := ch.Choices[0].Delta.JSON.ExtraFields["reasoning_content"]; ok {
			var piece string
			require.NoError(t, json.Unmarshal([]byte(f.Raw()), &piece))
			reasoning.WriteString(piece)
			assert.Empty(t, ch.Choices[0].Delta.Content, "content is null while reasoning")
		}
		content.WriteString(ch.Choices[0].Delta.Content)
	}
	require.NoError(t, s.Err())
	assert.Equal(t, "想想", reasoning.String())
	assert.Equal(t, "好的", content.String())
}

func TestMidStreamError(t *testing.T) {
	srv := aitest.NewServer()
	defer srv.Close()
	c := inProcess(srv)
	e := aitest.ErrorFor(http.StatusInternalServerError)
	srv.Enqueue(aitest.Reply{Text: "部分", StreamErr: &e}, aitest.Reply{Text: "部分", StreamErr: &e})

	acc, deltas, _, err := stream(t, c, params("q"))
	var se *ssestream.StreamError
	require.ErrorAs(t, err, &se)
	assert.Contains(t, se.Message, e.Message)
	assert.Equal(t, []string{"部", "分"}, deltas)
	assert.Equal(t, "部分", acc.Choices[0].Message.Content, "the partial text stays in the accumulator")

	_, err = c.Chat.Completions.New(t.Context(), params("q"), option.WithMaxRetries(0))
	var apierr *openai.Error
	require.ErrorAs(t, err, &apierr, "a blocking request gets StreamErr as an HTTP error")
	assert.Equal(t, http.StatusInternalServerError, apierr.StatusCode)
}

func TestImages(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\nfake")
	dataURL := "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
	imageMsg := func(url string) openai.ChatCompletionMessageParamUnion {
		return openai.UserMessage([]openai.ChatCompletionContentPartUnionParam{
			openai.TextContentPart("这是什么"),
			openai.ImageContentPart(openai.ChatCompletionContentPartImageImageURLParam{URL: url, Detail: "auto"}),
		})
	}
	srv := aitest.NewServer(aitest.WithModels(aitest.Model{ID: "vl"}, aitest.Model{ID: "text", TextOnly: true}))
	defer srv.Close()
	c := inProcess(srv, option.WithMaxRetries(0))

	resp, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "vl", Messages: []openai.ChatCompletionMessageParamUnion{imageMsg(dataURL)}})
	require.NoError(t, err)
	assert.Equal(t, "这是什么", resp.Choices[0].Message.Content, "echo of the text parts")
	r := srv.Requests()[0]
	imgs := r.Images()
	require.Len(t, imgs, 1)
	assert.Equal(t, "image/png", imgs[0].MediaType)
	assert.Equal(t, png, imgs[0].Data)
	assert.Equal(t, "auto", imgs[0].Detail)
	assert.Equal(t, "这是什么", r.Messages[0].Text())

	tests := []struct {
		name, model, url, param string
	}{
		{"text-only model", "text", dataURL, "messages[0].content[1].type"},
		{"bad base64", "vl", "data:image/png;base64,!!!", "messages[0].content[1].image_url.url"},
		{"not an image", "vl", "data:text/plain;base64,aGk=", "messages[0].content[1].image_url.url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: tt.model, Messages: []openai.ChatCompletionMessageParamUnion{imageMsg(tt.url)}})
			var apierr *openai.Error
			require.ErrorAs(t, err, &apierr)
			assert.Equal(t, http.StatusBadRequest, apierr.StatusCode)
			assert.Equal(t, "invalid_request_error", apierr.Type)
			assert.Equal(t, tt.param, apierr.Param)
			assert.NotEmpty(t, apierr.Message)
		})
	}
}

func TestModelsList(t *testing.T) {
	srv := aitest.NewServer(aitest.WithModels(aitest.Model{ID: "b"}, aitest.Model{ID: "a"}))
	defer srv.Close()
	srv.AddModel(aitest.Model{ID: "c"})
	c := inProcess(srv)
	page, err := c.Models.List(t.Context())
	require.NoError(t, err)
	var ids []string
	for _, m := range page.Data {
		ids = append(ids, m.ID)
	}
	assert.Equal(t, []string{"a", "b", "c"}, ids)
}

// TestSDKErrors checks each scripted status reaches the SDK as *openai.Error
// with the status, message and code, and counts the attempts the SDK makes
// with its default policy (2 retries). It runs in a synctest bubble, so the
// SDK's back-off waits cost no real time.
func TestSDKErrors(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(*aitest.Server)
		model    string
		key      string
		status   int
		code     string
		attempts int
	}{
		{name: "400", setup: func(s *aitest.Server) { s.FailNext(3, 400) }, status: 400, attempts: 1},
		{name: "401 wrong key", key: "sk-wrong-key-123456", status: 401, code: "invalid_api_key", attempts: 1},
		{name: "404 unknown model", model: "gpt-unknown", status: 404, code: "model_not_found", attempts: 1},
		{name: "429", setup: func(s *aitest.Server) { s.FailNext(3, 429) }, status: 429, code: "rate_limit_exceeded", attempts: 3},
		{name: "500", setup: func(s *aitest.Server) { s.FailNext(3, 500) }, status: 500, attempts: 3},
		{name: "503", setup: func(s *aitest.Server) { s.FailNext(3, 503) }, status: 503, attempts: 3},
		{name: "403", setup: func(s *aitest.Server) { s.FailNext(3, 403) }, status: 403, code: "unsupported_country_region_territory", attempts: 1},
		{name: "408", setup: func(s *aitest.Server) { s.FailNext(3, 408) }, status: 408, attempts: 3},
		{name: "409", setup: func(s *aitest.Server) { s.FailNext(3, 409) }, status: 409, attempts: 3},
		{name: "422", setup: func(s *aitest.Server) { s.FailNext(3, 422) }, status: 422, attempts: 1},
		{name: "502", setup: func(s *aitest.Server) { s.FailNext(3, 502) }, status: 502, attempts: 3},
		{name: "scripted 503 then success", setup: func(s *aitest.Server) { s.Enqueue(aitest.Fail(503), aitest.Text("ok")) }, attempts: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := aitest.NewUnstartedServer()
				defer srv.Close()
				if tt.setup != nil {
					tt.setup(srv)
				}
				var opts []option.RequestOption
				if tt.key != "" {
					opts = append(opts, option.WithAPIKey(tt.key))
				}
				p := params("q")
				if tt.model != "" {
					p.Model = tt.model
				}
				resp, err := inProcess(srv, opts...).Chat.Completions.New(t.Context(), p)
				assert.Equal(t, tt.attempts, srv.Calls("chat/completions"), "attempts")
				if tt.status == 0 {
					require.NoError(t, err)
					assert.Equal(t, "ok", resp.Choices[0].Message.Content)
					return
				}
				var apierr *openai.Error
				require.ErrorAs(t, err, &apierr)
				assert.Equal(t, tt.status, apierr.StatusCode)
				assert.NotEmpty(t, apierr.Message)
				assert.Equal(t, tt.code, apierr.Code)
				assert.NotContains(t, err.Error(), srv.APIKey(), "no key in the error text")
			})
		})
	}
}

// TestSDKRetryAfter measures, on the synctest clock, how long openai-go
// waits before retrying a 429: exactly the Retry-After-Ms or Retry-After
// delay, and no retry at all when the server asks for more than the SDK's
// 2-minute cap. Without a header it backs off 0.5 s less up to 25 % jitter.
func TestSDKRetryAfter(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter time.Duration
		status     int
		attempts   int
		gapMin     time.Duration
		gapMax     time.Duration
	}{
		{name: "Retry-After-Ms 1.5 s", status: 429, retryAfter: 1500 * time.Millisecond, attempts: 2, gapMin: 1500 * time.Millisecond, gapMax: 1500 * time.Millisecond},
		{name: "Retry-After 2 s", status: 429, retryAfter: 2 * time.Second, attempts: 2, gapMin: 2 * time.Second, gapMax: 2 * time.Second},
		{name: "Retry-After 3 min: not retried", status: 429, retryAfter: 3 * time.Minute, attempts: 1},
		{name: "no header: back-off", status: 500, attempts: 2, gapMin: 375 * time.Millisecond, gapMax: 500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := aitest.NewUnstartedServer()
				defer srv.Close()
				e := aitest.ErrorFor(tt.status)
				e.RetryAfter = tt.retryAfter
				srv.FailNextWith(1, e)
				_, err := inProcess(srv).Chat.Completions.New(t.Context(), params("q"))
				reqs := srv.Requests()
				require.Len(t, reqs, tt.attempts)
				if tt.attempts == 1 {
					var apierr *openai.Error
					require.ErrorAs(t, err, &apierr)
					assert.Equal(t, tt.status, apierr.StatusCode)
					return
				}
				require.NoError(t, err)
				gap := reqs[1].Time.Sub(reqs[0].Time)
				t.Logf("%s: retried after %v", tt.name, gap)
				assert.GreaterOrEqual(t, gap, tt.gapMin)
				assert.LessOrEqual(t, gap, tt.gapMax)
			})
		})
	}
}

func TestRetryAfterHeaders(t *testing.T) {
	srv := aitest.NewUnstartedServer()
	tests := []struct {
		after   time.Duration
		seconds string
		ms      string
	}{
		{time.Second, "1", ""},
		{1500 * time.Millisecond, "2", "1500"},
		{10 * time.Millisecond, "1", "10"},
	}
	body := []byte(`{"model":"aitest-model","messages":[{"role":"user","content":"q"}]}`)
	for _, tt := range tests {
		e := aitest.ErrorFor(429)
		e.RetryAfter = tt.after
		srv.FailNextWith(1, e)
		r := post(t, srv, "/v1/chat/completions", body)
		assert.Equal(t, 429, r.Status)
		assert.Equal(t, tt.seconds, r.Header.Get("Retry-After"), tt.after)
		assert.Equal(t, tt.ms, r.Header.Get("Retry-After-Ms"), tt.after)
		_, _, _, code := openAIError(t, r.Body)
		require.NotNil(t, code)
		assert.Equal(t, "rate_limit_exceeded", *code)
	}
}

func TestLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := aitest.NewUnstartedServer()
		defer srv.Close()
		c := inProcess(srv, option.WithMaxRetries(0))
		srv.SetLatency(3 * time.Second)
		srv.SetChunkDelay(time.Second)
		srv.Enqueue(aitest.Text("abc"), aitest.Reply{Text: "x", Latency: 30 * time.Second})

		start := time.Now()
		s := c.Chat.Completions.NewStreaming(t.Context(), params("q"))
		var at []time.Duration
		for s.Next() {
			if ch := s.Current(); len(ch.Choices) > 0 && ch.Choices[0].Delta.Content != "" {
				at = append(at, time.Since(start))
			}
		}
		require.NoError(t, s.Err())
		require.NoError(t, s.Close())
		assert.Equal(t, []time.Duration{4 * time.Second, 5 * time.Second, 6 * time.Second}, at,
			"3 s latency, then a role chunk and one chunk a second (fake clock)")

		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := c.Chat.Completions.New(ctx, params("q"))
		require.ErrorIs(t, err, context.DeadlineExceeded, "the reply's own 30 s latency outlasts the deadline")
		synctest.Wait()
		reqs := srv.Requests()
		require.Len(t, reqs, 2)
		assert.Zero(t, reqs[1].Status, "cancelled before an answer")
	})
}

func TestClosingTheStreamEndsTheHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := aitest.NewUnstartedServer()
		defer srv.Close()
		srv.SetChunkDelay(time.Second)
		srv.Enqueue(aitest.Text(strings.Repeat("长", 1000)))
		s := inProcess(srv).Chat.Completions.NewStreaming(t.Context(), params("q"))
		for range 3 {
			require.True(t, s.Next())
		}
		require.NoError(t, s.Close())
		// synctest.Test fails if the handler goroutine were left blocked.
	})
}

func TestCloseEndsAStreamInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := aitest.NewUnstartedServer()
		srv.SetChunkDelay(time.Hour)
		s := inProcess(srv).Chat.Completions.NewStreaming(t.Context(), params("long answer"))
		defer s.Close()
		require.True(t, s.Next(), "the role chunk")
		srv.Close()
		for s.Next() {
		}
		require.NoError(t, s.Err(), "a cut stream ends cleanly for the SDK (no [DONE] needed)")
		_, err := inProcess(srv).Chat.Completions.New(t.Context(), params("q"), option.WithMaxRetries(0))
		require.Error(t, err, "a closed server refuses requests")
		assert.Contains(t, err.Error(), "server closed")
	})
}

func TestAuth(t *testing.T) {
	srv := aitest.NewUnstartedServer(aitest.WithAPIKey("sk-secret"))
	body := []byte(`{"model":"aitest-model","messages":[{"role":"user","content":"q"}]}`)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://x/v1/chat/completions", strings.NewReader(string(body)))
	require.NoError(t, err)
	resp, err := srv.Transport().RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no key")

	open := aitest.NewUnstartedServer(aitest.WithAPIKey(""))
	_, err = inProcess(open, option.WithAPIKey("anything")).Chat.Completions.New(t.Context(), params("q"))
	require.NoError(t, err, "the empty key accepts any")
	assert.Equal(t, "", open.APIKey())

	_, err = inProcess(srv, option.WithAPIKey("sk-secret")).Chat.Completions.New(t.Context(), params("q"))
	require.NoError(t, err)
	wrong := postAs(t, srv, "sk-other-key-9999", "/v1/chat/completions", body)
	assert.Equal(t, http.StatusUnauthorized, wrong.Status)
	msg, _, _, code := openAIError(t, wrong.Body)
	assert.NotContains(t, msg, "sk-other-key-9999", "the key is redacted")
	assert.Contains(t, msg, "sk-*****9999")
	require.NotNil(t, code)
	assert.Equal(t, "invalid_api_key", *code)
}

func TestErrorsIsUsableAsError(t *testing.T) {
	e := aitest.ErrorFor(503)
	var err error = &e
	assert.Equal(t, "aitest: HTTP 503: The engine is currently overloaded, please try again later.", err.Error())
	assert.True(t, errors.As(err, new(*aitest.APIError)))
}

// TestTimeToFirstToken: a stream's headers come at once and its first chunk
// after the latency, so a first-token watchdog that cancels the context
// ends the stream with the context's error.
func TestTimeToFirstToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := aitest.NewUnstartedServer()
		defer srv.Close()
		c := inProcess(srv)
		srv.Enqueue(aitest.Reply{Text: "hi", Latency: 8 * time.Second}, aitest.Reply{Text: "slow", Latency: time.Minute})

		start := time.Now()
		s := c.Chat.Completions.NewStreaming(t.Context(), params("q"))
		assert.Zero(t, time.Since(start), "NewStreaming returns with the headers")
		require.Len(t, srv.Requests(), 1)
		assert.Equal(t, http.StatusOK, srv.Requests()[0].Status)
		require.True(t, s.Next())
		assert.Equal(t, 8*time.Second, time.Since(start), "the first chunk comes after the latency")
		require.NoError(t, s.Close())

		ctx, cancel := context.WithCancel(t.Context())
		s = c.Chat.Completions.NewStreaming(ctx, params("q"))
		defer s.Close()
		time.AfterFunc(20*time.Second, cancel) // the watchdog
		assert.False(t, s.Next())
		require.ErrorIs(t, s.Err(), context.Canceled)
		assert.Equal(t, 28*time.Second, time.Since(start))
	})
}
