package ai_test

import (
	"net/http"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/ai/aitest"
	"github.com/kfbot/kfbot/ai/dify"
	"github.com/kfbot/kfbot/ai/openaichat"
	"github.com/kfbot/kfbot/storage"
)

// The acceptance points that need a real backend: the assistant through openaichat or
// dify against the fake model server, in a bubble with the fake WeCom.

func TestRateLimitedThenAnsweredGivesOneAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		model := aitest.NewUnstartedServer()
		backend, err := openaichat.New(openaichat.Config{BaseURL: model.BaseURL(), APIKey: model.APIKey(), Model: aitest.DefaultModel,
			HTTPClient: &http.Client{Transport: model.Transport()}})
		require.NoError(t, err)
		w := newWorldWith(t, backend, ai.Settings{})
		model.FailNext(1, 429)
		model.Script("kf:"+testKF+":wmA", aitest.Text("Here you are."))
		w.say("wmA", "hello")
		assert.Equal(t, []string{"Here you are."}, w.texts("wmA"))
		assert.Len(t, model.Requests(), 2)
	})
}

func TestAnImageReachesTheModelAsADataURL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		model := aitest.NewUnstartedServer()
		backend, err := openaichat.New(openaichat.Config{BaseURL: model.BaseURL(), APIKey: model.APIKey(), Model: aitest.DefaultModel,
			HTTPClient: &http.Client{Transport: model.Transport()}})
		require.NoError(t, err)
		w := newWorldWith(t, backend, ai.Settings{Images: true})
		png := []byte("\x89PNG\r\n\x1a\n0123456789")
		w.srv.AddMedia(testKF, "wmA", "image", "bike.png", png)
		w.say("wmA")
		reqs := model.Requests()
		require.Len(t, reqs, 1)
		imgs := reqs[0].Images()
		require.Len(t, imgs, 1)
		assert.Equal(t, png, imgs[0].Data)
		assert.Len(t, w.texts("wmA"), 1)
	})
}

func TestDifyForgotTheConversation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		model := aitest.NewUnstartedServer()
		backend, err := dify.New(dify.Config{BaseURL: model.BaseURL(), APIKey: model.APIKey(), HTTPClient: &http.Client{Transport: model.Transport()}})
		require.NoError(t, err)
		w := newWorldWith(t, backend, ai.Settings{})
		w.say("wmA", "first")
		conv := storage.Conversation{CorpID: w.srv.CorpID(), OpenKFID: testKF, ExternalUserID: "wmA"}
		sess, err := w.store.Session(t.Context(), conv)
		require.NoError(t, err)
		id, _ := sess.Vars["ai_conversation"].(string)
		require.NotEmpty(t, id, "Dify's conversation id is kept in the session")

		model.ForgetDifyConversation(id)
		w.say("wmA", "second")
		assert.Equal(t, []string{"first", "second"}, w.texts("wmA"), "answered (the fake echoes), transparently")
		sess, err = w.store.Session(t.Context(), conv)
		require.NoError(t, err)
		assert.NotEqual(t, id, sess.Vars["ai_conversation"], "a new conversation")
	})
}
