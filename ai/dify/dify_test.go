package dify

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/ai/aitest"
)

const user = "kf:wkShop:wmA"

func newBackend(t testing.TB, srv *aitest.Server) *Backend {
	t.Helper()
	b, err := New(Config{BaseURL: srv.BaseURL(), APIKey: srv.APIKey(), HTTPClient: &http.Client{Transport: srv.Transport()},
		Inputs: map[string]any{"shop": "bikes"}})
	require.NoError(t, err)
	return b
}

func ask(text, conversation string) *ai.Request {
	return &ai.Request{User: user, Conversation: conversation, Messages: []ai.Message{
		{Role: ai.RoleUser, Text: "earlier"}, {Role: ai.RoleAssistant, Text: "ok"}, {Role: ai.RoleUser, Text: text}}}
}

func TestAnswersAndKeepsTheConversation(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprint("stream=", stream), func(t *testing.T) {
			srv := aitest.NewUnstartedServer()
			b := newBackend(t, srv)
			srv.Script(user, aitest.Text("First answer."), aitest.Text("Second answer."))
			var pieces []string
			var onText func(string)
			if stream {
				onText = func(s string) { pieces = append(pieces, s) }
			}
			first, err := b.Complete(t.Context(), ask("hello", ""), onText)
			require.NoError(t, err)
			assert.Equal(t, "First answer.", first.Text)
			require.NotEmpty(t, first.Conversation)
			if stream {
				assert.Equal(t, first.Text, strings.Join(pieces, ""))
			}
			second, err := b.Complete(t.Context(), ask("and?", first.Conversation), onText)
			require.NoError(t, err)
			assert.Equal(t, "Second answer.", second.Text)
			assert.Equal(t, first.Conversation, second.Conversation)
			assert.False(t, second.ConversationReset)

			reqs := srv.DifyRequests()
			require.Len(t, reqs, 2)
			assert.Equal(t, "hello", reqs[0].Query, "only the current turn: Dify keeps the history")
			assert.Empty(t, reqs[0].ConversationID, "omitted when there is none")
			assert.Equal(t, first.Conversation, reqs[1].ConversationID)
			assert.JSONEq(t, `{"shop":"bikes"}`, string(reqs[0].Inputs))
		})
	}
}

func TestAForgottenConversationIsRecreated(t *testing.T) {
	srv := aitest.NewUnstartedServer()
	b := newBackend(t, srv)
	first, err := b.Complete(t.Context(), ask("hello", ""), nil)
	require.NoError(t, err)
	srv.ForgetDifyConversation(first.Conversation)
	n := len(srv.DifyRequests())
	resp, err := b.Complete(t.Context(), ask("still there?", first.Conversation), func(string) {})
	require.NoError(t, err)
	assert.True(t, resp.ConversationReset)
	assert.NotEqual(t, first.Conversation, resp.Conversation)
	assert.Len(t, srv.DifyRequests(), n+2, "the refused request and one in a new conversation")
}

func TestErrorsAndRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := aitest.NewUnstartedServer()
		b := newBackend(t, srv)
		srv.FailNext(1, 429)
		resp, err := b.Complete(t.Context(), ask("hi", ""), func(string) {})
		require.NoError(t, err)
		assert.Equal(t, "hi", resp.Text, "the fake echoes")
		assert.Len(t, srv.DifyRequests(), 2)

		srv.FailNext(3, 503)
		_, err = b.Complete(t.Context(), ask("hi", ""), nil)
		var e *ai.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, ai.KindServer, e.Kind)
		assert.Len(t, srv.DifyRequests(), 5)

		srv.Script(user, aitest.Reply{Chunks: []string{"half "}, StreamErr: &aitest.APIError{Status: 500, Message: "model crashed"}})
		_, err = b.Complete(t.Context(), ask("hi", ""), func(string) {})
		require.ErrorAs(t, err, &e)
		assert.Equal(t, ai.KindStream, e.Kind)
		assert.Len(t, srv.DifyRequests(), 6, "not retried after text was streamed")

		wrong, err := New(Config{BaseURL: srv.BaseURL(), APIKey: "app-wrong", HTTPClient: &http.Client{Transport: srv.Transport()}})
		require.NoError(t, err)
		_, err = wrong.Complete(t.Context(), ask("hi", ""), nil)
		require.ErrorAs(t, err, &e)
		assert.Equal(t, ai.KindAuth, e.Kind)
		assert.NotContains(t, err.Error(), "app-wrong")
	})
}

func TestReadStream(t *testing.T) {
	body := "data: {\"event\":\"message\",\"answer\":\"Hel\",\"conversation_id\":\"c1\"}\n\n" +
		"event: ping\n\n" +
		"data: {\"event\":\"message\",\"answer\":\"lo\"}\n\n" +
		"data: {\"event\":\"message_replace\",\"answer\":\"[removed]\"}\n\n" +
		"data: {\"event\":\"message_end\",\"metadata\":{\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}}\n\n"
	var pieces []string
	resp, err := readStream(strings.NewReader(body), func(s string) { pieces = append(pieces, s) })
	require.NoError(t, err)
	assert.Equal(t, "[removed]", resp.Text, "moderation's replacement wins")
	assert.Equal(t, "c1", resp.Conversation)
	assert.Equal(t, ai.Usage{InputTokens: 3, OutputTokens: 2}, resp.Usage)
	assert.Equal(t, []string{"Hel", "lo"}, pieces)

	_, err = readStream(strings.NewReader("data: {not json\n\n"), func(string) {})
	assert.Error(t, err)
}

func TestConfigErrors(t *testing.T) {
	_, err := New(Config{})
	assert.ErrorContains(t, err, "no base URL")
	assert.ErrorContains(t, err, "no API key")
}

func FuzzReadStream(f *testing.F) {
	f.Add("data: {\"event\":\"message\",\"answer\":\"x\"}\n\n")
	f.Add("data: {\"event\":\"error\",\"status\":500}\n")
	f.Fuzz(func(t *testing.T, body string) {
		var streamed strings.Builder
		resp, err := readStream(strings.NewReader(body), func(s string) { streamed.WriteString(s) })
		if err == nil {
			require.NotNil(t, resp)
		}
	})
}

func ExampleNew() {
	srv := aitest.NewServer()
	defer srv.Close()
	srv.Script("kf:wkShop:wmA", aitest.Text("Hello from Dify."))
	b, err := New(Config{BaseURL: srv.BaseURL(), APIKey: srv.APIKey()})
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := b.Complete(context.Background(), &ai.Request{User: "kf:wkShop:wmA",
		Messages: []ai.Message{{Role: ai.RoleUser, Text: "hi"}}}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Text, resp.Conversation != "")
	// Output: Hello from Dify. true
}
