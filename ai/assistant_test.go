package ai_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/storage"
)

const testKF = "wkShop"

// world is a fake WeCom, a bot on a memory store (transcripts on) and an assistant,
// all inside a synctest bubble: the bot runs until the test ends.
type world struct {
	srv   *kftest.Server
	bot   *bot.Bot
	store *storage.Memory
	model *ai.Scripted
	asst  *ai.Assistant
}

func newWorld(t *testing.T, s ai.Settings, opts ...ai.Option) *world {
	t.Helper()
	model := ai.NewScripted()
	w := newWorldWith(t, model, s, opts...)
	w.model = model
	return w
}

// newWorldWith is newWorld with another model.
func newWorldWith(t *testing.T, model ai.Backend, s ai.Settings, opts ...ai.Option) *world {
	t.Helper()
	w := &world{srv: kftest.NewUnstartedServer(), store: storage.NewMemory()}
	client := kf.NewClient(w.srv.CorpID(), w.srv.Secret(), kf.WithHTTPClient(&http.Client{Transport: w.srv.Transport()}),
		kf.WithLogger(slog.New(slog.DiscardHandler)), kf.WithRetry(kf.RetryPolicy{MaxAttempts: 1}))
	var err error
	w.bot, err = bot.New(client, w.store, bot.WithLogger(slog.New(slog.DiscardHandler)), bot.WithAccounts(testKF),
		bot.WithTranscripts(bot.TranscriptsOn, storage.TranscriptLimits{}), bot.WithRetryDelay(time.Second, time.Minute))
	require.NoError(t, err)
	w.asst, err = ai.New(model, s, opts...)
	require.NoError(t, err)
	w.bot.HandleDefault(w.asst.Handle)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- w.bot.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	synctest.Wait()
	return w
}

// say has the customer write text and waits until the bot is idle again, the merge
// window passed.
func (w *world) say(customer string, texts ...string) {
	for _, text := range texts {
		w.srv.AddText(testKF, customer, text)
		w.bot.Notify(testKF, "")
		synctest.Wait()
	}
	w.bot.Notify(testKF, "")
	synctest.Wait()
	time.Sleep(5 * time.Second)
	synctest.Wait()
}

func (w *world) texts(customer string) []string {
	var out []string
	for _, s := range w.srv.SentTo(testKF, customer) {
		out = append(out, s.Text)
	}
	return out
}

func TestALongAnswerArrivesAsAtMostThreeWellCutMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, ai.Settings{})
		var b strings.Builder
		b.WriteString("# Shipping\n\n")
		for i := 0; b.Len() < 5000; i++ {
			b.WriteString("**Orders** ship within two days from our warehouse in Hangzhou. ")
			if i%5 == 4 {
				b.WriteString("\n\n- a list item\n- [our site](https://shop.example.com)\n\n")
			}
		}
		w.model.Add(ai.Say(b.String()))
		w.say("wmA", "how long does shipping take?")

		got := w.texts("wmA")
		require.NotEmpty(t, got)
		assert.LessOrEqual(t, len(got), 3)
		for _, m := range got {
			assert.LessOrEqual(t, len(m), bot.MaxTextBytes)
			assert.True(t, utf8.ValidString(m))
			assert.NotContains(t, m, "**")
			assert.NotContains(t, m, "# ")
			assert.NotContains(t, m, "](")
			assert.True(t, strings.HasSuffix(m, ".") || strings.HasSuffix(m, "…") || strings.HasSuffix(m, ")"), "cut at a sentence end: %q", m[max(0, len(m)-20):])
		}
		assert.Len(t, w.model.Requests(), 1)
	})
}

func TestABurstGetsOneModelCallAndOneAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, ai.Settings{})
		w.model.Add(ai.Say("Your red bike ships tomorrow."))
		for _, text := range []string{"hi", "I ordered a bike", "a red one", "when does it ship?"} {
			w.srv.AddText(testKF, "wmA", text)
			w.bot.Notify(testKF, "")
			synctest.Wait()
			time.Sleep(500 * time.Millisecond)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		assert.Equal(t, []string{"Your red bike ships tomorrow."}, w.texts("wmA"))
		reqs := w.model.Requests()
		require.Len(t, reqs, 1)
		last := reqs[0].Messages[len(reqs[0].Messages)-1]
		assert.Equal(t, "hi\nI ordered a bike\na red one\nwhen does it ship?", last.Text)
	})
}

func TestTheModelHandsOffAndTheBotStaysSilent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, ai.Settings{HandoffNotice: "A colleague will be with you shortly."})
		w.model.Add(ai.Call(ai.ToolHandoff, `{"reason":"wants a refund"}`), ai.Say("I'll get a colleague for you."))
		w.say("wmA", "I want a refund, get me a person")
		assert.Equal(t, kftest.StatePool, w.srv.SessionState(testKF, "wmA"))
		assert.Equal(t, []string{"I'll get a colleague for you.", "A colleague will be with you shortly."}, w.texts("wmA"))

		w.say("wmA", "hello?")
		assert.Len(t, w.texts("wmA"), 2, "silent while a person owns the conversation")
		assert.Len(t, w.model.Requests(), 2, "the model is not asked either")
	})
}

func TestTimeoutSendsTheFallbackOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, ai.Settings{Timeout: 10 * time.Second, Fallback: "Sorry, please try again."})
		w.model.Add(ai.Step{Delay: time.Minute, Response: ai.Response{Text: "too late"}})
		w.say("wmA", "hello")
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, []string{"Sorry, please try again."}, w.texts("wmA"))
	})
}

func TestAModelErrorSendsTheFallbackAndHandsOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, ai.Settings{HandoffOnFailure: true})
		w.model.Add(ai.Step{Err: errors.New("model down")})
		w.say("wmA", "hello")
		assert.Equal(t, []string{ai.DefaultFallback}, w.texts("wmA"))
		assert.Equal(t, kftest.StatePool, w.srv.SessionState(testKF, "wmA"))
	})
}

func TestImages(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n0000")
	t.Run("a model that reads images gets a data URL's bytes", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, ai.Settings{Images: true})
			w.model.Add(ai.Say("A nice bike."))
			w.srv.AddMedia(testKF, "wmA", "image", "bike.png", png)
			w.say("wmA")
			assert.Equal(t, []string{"A nice bike."}, w.texts("wmA"))
			reqs := w.model.Requests()
			require.Len(t, reqs, 1)
			user := reqs[0].Messages[len(reqs[0].Messages)-1]
			require.Len(t, user.Images, 1)
			assert.Equal(t, png, user.Images[0].Data)
			assert.Equal(t, "image/png", user.Images[0].MIME)
		})
	})
	t.Run("a text model's customer gets the image text", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w := newWorld(t, ai.Settings{ImageText: "Please describe it in words."})
			w.srv.AddMedia(testKF, "wmA", "image", "bike.png", png)
			w.say("wmA")
			assert.Equal(t, []string{"Please describe it in words."}, w.texts("wmA"))
			assert.Empty(t, w.model.Requests())
		})
	})
}

func TestContextComesFromTheTranscriptAndClears(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, ai.Settings{System: "You serve {{.OpenKFID}}."})
		w.model.Add(ai.Say("Hello!"), ai.Say("Blue is in stock."))
		w.say("wmA", "hi")
		w.say("wmA", "is blue in stock?")
		reqs := w.model.Requests()
		require.Len(t, reqs, 2)
		assert.Equal(t, "You serve "+testKF+".", reqs[1].System)
		var roles []string
		for _, m := range reqs[1].Messages {
			roles = append(roles, string(m.Role)+":"+m.Text)
		}
		assert.Equal(t, []string{"user:hi", "assistant:Hello!", "user:is blue in stock?"}, roles)

		w.say("wmA", "#clear")
		assert.Equal(t, ai.DefaultClearedText, w.texts("wmA")[2])
		w.say("wmA", "new question")
		reqs = w.model.Requests()
		require.Len(t, reqs, 3, "the clear command asks no model")
		assert.Len(t, reqs[2].Messages, 1, "the history starts after the clear")
	})
}

func TestTheNoticeGoesOutWhileTheModelIsSlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, ai.Settings{Notice: "One moment…", NoticeAfter: 3 * time.Second, MergeWindow: -1})
		w.model.Add(ai.Step{Delay: 10 * time.Second, Response: ai.Response{Text: "Here it is."}})
		w.srv.AddText(testKF, "wmA", "hard question")
		w.bot.Notify(testKF, "")
		time.Sleep(4 * time.Second)
		synctest.Wait()
		assert.Equal(t, []string{"One moment…"}, w.texts("wmA"))
		time.Sleep(10 * time.Second)
		synctest.Wait()
		assert.Equal(t, []string{"One moment…", "Here it is."}, w.texts("wmA"))

		w.model.Add(ai.Say("Quick."))
		w.say("wmA", "easy one")
		assert.Equal(t, "Quick.", w.texts("wmA")[2], "no notice for a fast answer")
		assert.Len(t, w.texts("wmA"), 3)
	})
}
