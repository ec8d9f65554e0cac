package openaichat_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/ai/aitest"
	"github.com/kfbot/kfbot/ai/openaichat"
)

func newBackend(t testing.TB, srv *aitest.Server) *openaichat.Backend {
	t.Helper()
	b, err := openaichat.New(openaichat.Config{BaseURL: srv.BaseURL(), APIKey: srv.APIKey(), Model: aitest.DefaultModel,
		HTTPClient: &http.Client{Transport: srv.Transport()}})
	require.NoError(t, err)
	return b
}

const user = "kf:wkShop:wmA"

func question(text string) *ai.Request {
	return &ai.Request{System: "Be brief.", User: user, Messages: []ai.Message{{Role: ai.RoleUser, Text: text}}}
}

func TestBlockingAndStreaming(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("stream=", stream), func(t *testing.T) {
			srv := aitest.NewUnstartedServer()
			b := newBackend(t, srv)
			srv.Script(user, aitest.Reply{Text: "你好！Your order ships today.", Reasoning: "think first"})
			var pieces []string
			var onText func(string)
			if stream {
				onText = func(s string) { pieces = append(pieces, s) }
			}
			resp, err := b.Complete(t.Context(), question("hi"), onText)
			require.NoError(t, err)
			assert.Equal(t, "你好！Your order ships today.", resp.Text)
			assert.Equal(t, "think first", resp.Reasoning)
			assert.NotContains(t, strings.Join(pieces, ""), "think")
			if stream {
				assert.Greater(t, len(pieces), 1)
				assert.Equal(t, resp.Text, strings.Join(pieces, ""))
			}
			assert.Positive(t, resp.Usage.OutputTokens)
			reqs := srv.Requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, "Be brief.", reqs[0].System())
			assert.Equal(t, "hi", reqs[0].LastUserText())
			assert.Equal(t, user, reqs[0].User)
			assert.Equal(t, stream, reqs[0].IncludeUsage)
		})
	}
}

func TestToolCalls(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("stream=", stream), func(t *testing.T) {
			srv := aitest.NewUnstartedServer()
			b := newBackend(t, srv)
			srv.Script(user, aitest.Tools(aitest.ToolCall{ID: "call_1", Name: "transfer_to_human", Arguments: `{"reason":"refund"}`}), aitest.Text("A person will help."))
			req := question("refund please")
			req.Tools = []ai.Tool{{Name: "transfer_to_human", Description: "hand off", Parameters: map[string]any{"type": "object"}}}
			var onText func(string)
			if stream {
				onText = func(string) {}
			}
			resp, err := b.Complete(t.Context(), req, onText)
			require.NoError(t, err)
			require.Len(t, resp.ToolCalls, 1)
			assert.Equal(t, ai.ToolCall{ID: "call_1", Name: "transfer_to_human", Arguments: `{"reason":"refund"}`}, resp.ToolCalls[0])
			assert.Equal(t, "tool_calls", resp.FinishReason)

			req.Messages = append(req.Messages, ai.Message{Role: ai.RoleAssistant, ToolCalls: resp.ToolCalls},
				ai.Message{Role: ai.RoleTool, ToolCallID: "call_1", Text: `{"ok":true}`})
			resp, err = b.Complete(t.Context(), req, onText)
			require.NoError(t, err, "the fake checks that the tool call is answered")
			assert.Equal(t, "A person will help.", resp.Text)
		})
	}
}

func TestImagesAreSentAsDataURLs(t *testing.T) {
	srv := aitest.NewUnstartedServer(aitest.WithModels(aitest.Model{ID: aitest.DefaultModel}, aitest.Model{ID: "text-only", TextOnly: true}))
	b := newBackend(t, srv)
	png := []byte("\x89PNG\r\n\x1a\nrest")
	req := question("what is this?")
	req.Messages[0].Images = []ai.Image{{MIME: "image/png", Data: png}}
	_, err := b.Complete(t.Context(), req, nil)
	require.NoError(t, err)
	imgs := srv.Requests()[0].Images()
	require.Len(t, imgs, 1)
	assert.Equal(t, png, imgs[0].Data)

	req.Model = "text-only"
	_, err = b.Complete(t.Context(), req, nil)
	var e *ai.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, ai.KindImagesUnsupported, e.Kind)
}

func TestRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := aitest.NewUnstartedServer()
		b := newBackend(t, srv)
		srv.FailNext(1, 429)
		srv.Script(user, aitest.Text("fine"))
		resp, err := b.Complete(t.Context(), question("hi"), func(string) {})
		require.NoError(t, err)
		assert.Equal(t, "fine", resp.Text)
		assert.Len(t, srv.Requests(), 2, "429 then success: one answer, two requests")

		srv.FailNext(3, 500)
		_, err = b.Complete(t.Context(), question("hi"), nil)
		var e *ai.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, ai.KindServer, e.Kind)
		assert.Equal(t, 500, e.Status)
		assert.True(t, ai.Retryable(err))
		assert.Len(t, srv.Requests(), 5, "tried 3 times")
	})
}

func TestErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := aitest.NewUnstartedServer()
		wrong, err := openaichat.New(openaichat.Config{BaseURL: srv.BaseURL(), APIKey: "sk-wrong-secret", Model: aitest.DefaultModel,
			HTTPClient: &http.Client{Transport: srv.Transport()}})
		require.NoError(t, err)
		_, err = wrong.Complete(t.Context(), question("hi"), nil)
		var e *ai.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, ai.KindAuth, e.Kind)
		assert.NotContains(t, err.Error(), "sk-wrong-secret")
		assert.False(t, ai.Retryable(err))

		b := newBackend(t, srv)
		srv.Script(user, aitest.Reply{Text: "slow", Latency: time.Minute})
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err = b.Complete(ctx, question("hi"), func(string) {})
		require.ErrorAs(t, err, &e)
		assert.Equal(t, ai.KindTimeout, e.Kind)

		srv.Script(user, aitest.Reply{Chunks: []string{"half an ", "answer"}, StreamErr: &aitest.APIError{Status: 500, Message: "overloaded"}})
		_, err = b.Complete(t.Context(), question("hi"), func(string) {})
		require.ErrorAs(t, err, &e)
		assert.Equal(t, ai.KindStream, e.Kind)
	})
}

func TestEnvironmentIsIgnored(t *testing.T) {
	srv := aitest.NewUnstartedServer()
	t.Setenv("OPENAI_BASE_URL", "http://192.0.2.1/v1")
	t.Setenv("OPENAI_API_KEY", "sk-from-env")
	t.Setenv("OPENAI_ORG_ID", "org-leaked")
	b := newBackend(t, srv)
	_, err := b.Complete(t.Context(), question("hi"), nil)
	require.NoError(t, err)
	h := srv.Requests()[0].Header
	assert.Equal(t, "Bearer "+srv.APIKey(), h.Get("Authorization"))
	assert.Empty(t, h.Get("OpenAI-Organization"))
}

func TestConfigErrors(t *testing.T) {
	_, err := openaichat.New(openaichat.Config{})
	require.Error(t, err)
	assert.ErrorContains(t, err, "no base URL")
	assert.ErrorContains(t, err, "no model")
	_, err = openaichat.New(openaichat.Config{BaseURL: "ftp://x", Model: "m"})
	assert.ErrorContains(t, err, "want http(s)")
	assert.False(t, errors.Is(err, context.Canceled))
}

func BenchmarkComplete(b *testing.B) {
	for _, stream := range []bool{false, true} {
		b.Run(fmt.Sprint("stream=", stream), func(b *testing.B) {
			srv := aitest.NewUnstartedServer()
			be := newBackend(b, srv)
			srv.SetDefault(func(*aitest.Request) aitest.Reply { return aitest.Text(strings.Repeat("word ", 100)) })
			var onText func(string)
			if stream {
				onText = func(string) {}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := be.Complete(context.Background(), question("hi"), onText); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func ExampleNew() {
	srv := aitest.NewServer()
	defer srv.Close()
	srv.Script("kf:wkShop:wmA", aitest.Text("Your order ships today."))
	b, err := openaichat.New(openaichat.Config{BaseURL: srv.BaseURL(), APIKey: srv.APIKey(), Model: aitest.DefaultModel})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := b.Complete(context.Background(), &ai.Request{User: "kf:wkShop:wmA",
		Messages: []ai.Message{{Role: ai.RoleUser, Text: "when does my order ship?"}}}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Text)
	// Output: Your order ships today.
}
