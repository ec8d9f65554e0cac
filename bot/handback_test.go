package bot_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/storagetest"
)

// levelLog keeps the messages logged at Warn or above.
type levelLog struct {
	mu    sync.Mutex
	warns []string
}

func (l *levelLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *levelLog) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		l.mu.Lock()
		l.warns = append(l.warns, r.Message)
		l.mu.Unlock()
	}
	return nil
}
func (l *levelLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *levelLog) WithGroup(string) slog.Handler      { return l }

func (l *levelLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.warns...)
}

func (e *env) session(t *testing.T, user string) *storage.Session {
	t.Helper()
	s, err := e.store.Session(t.Context(), storage.Conversation{CorpID: e.srv.CorpID(), OpenKFID: testKF, ExternalUserID: user})
	require.NoError(t, err)
	require.NotNil(t, s)
	return s
}

// TestAPersonsConversationIsLeftAlone: while a servicer owns the conversation nothing of
// the bot runs for the customer's messages but global middleware and HandleHuman routes;
// when the servicer ends it, the next message is answered.
func TestAPersonsConversationIsLeftAlone(t *testing.T) {
	e := newEnv(t)
	e.srv.AddServicer(testKF, "alice")
	warns := &levelLog{}
	obs := &ownershipObserver{}
	b := e.newBot(bot.WithLogger(slog.New(warns)), bot.WithObserver(obs))
	var seen, handled, recorded atomic.Int64
	b.Use(func(next bot.HandlerFunc) bot.HandlerFunc {
		return func(c *bot.Context) error { seen.Add(1); return next(c) }
	})
	b.HandleHuman(bot.MsgType("text"), func(c *bot.Context) error {
		recorded.Add(1)
		assert.True(t, c.HumanOwned())
		assert.ErrorIs(t, c.ReplyText("no"), bot.ErrHumanOwned)
		return nil
	})
	b.Handle(bot.MsgType("text"), func(c *bot.Context) error {
		handled.Add(1)
		if c.Session().Vars == nil {
			c.Session().Vars = map[string]any{}
		}
		c.Session().Vars["n"] = handled.Load()
		return c.ReplyText("bot here")
	})
	b.HandleDefault(func(*bot.Context) error { handled.Add(1); return nil })

	e.srv.AddText(testKF, "wmA", "hi")
	require.NoError(t, b.Pull(t.Context(), testKF))
	require.Len(t, e.srv.SentTo(testKF, "wmA"), 1)
	e.srv.ServicerPickUp(testKF, "wmA", "alice")
	require.NoError(t, b.Pull(t.Context(), testKF))
	before := e.session(t, "wmA")
	handledBefore := handled.Load()
	seenBefore := seen.Load()

	for range 5 {
		e.srv.AddText(testKF, "wmA", "is anyone there?")
		require.NoError(t, b.Pull(t.Context(), testKF))
	}
	assert.Equal(t, handledBefore, handled.Load(), "no handler ran")
	assert.Equal(t, int64(5), recorded.Load(), "the HandleHuman route saw every message")
	assert.Equal(t, seenBefore+5, seen.Load(), "global middleware saw every message")
	assert.Len(t, e.srv.SentTo(testKF, "wmA"), 1, "nothing was sent")
	during := e.session(t, "wmA")
	assert.True(t, during.Human)
	assert.Equal(t, before.Messages, during.Messages, "the message counter did not move")
	assert.Equal(t, before.Vars, during.Vars, "no variable changed")
	assert.Equal(t, before.RepliesLeft, during.RepliesLeft)
	assert.Empty(t, warns.all(), "nothing logged at Warn")
	assert.LessOrEqual(t, e.srv.Calls("service_state/get"), 1, "WeCom asked at most once in the check interval")

	e.srv.ServicerEnd(testKF, "wmA")
	e.srv.AddText(testKF, "wmA", "thanks, one more question")
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Len(t, e.srv.SentTo(testKF, "wmA"), 2, "the bot answers again")
	assert.Equal(t, handledBefore+2, handled.Load(), "the end event and the message")
	assert.Equal(t, []bool{true, false}, obs.changes)
	assert.Empty(t, warns.all())
}

// TestAnEndWithoutEventIsFoundByAsking: someone ends the session through the API (WeCom
// emits no event); the customer's next message is answered after service_state/get, and
// 1,000 messages into a person's conversation ask WeCom at most once per interval.
func TestAnEndWithoutEventIsFoundByAsking(t *testing.T) {
	e := newEnv(t)
	e.srv.AddServicer(testKF, "alice")
	clk := storagetest.NewClock(time.Now())
	b := e.newBot(bot.WithClock(clk.Now), bot.WithHandback(bot.Handback{CheckInterval: time.Minute}))
	var handled atomic.Int64
	b.Handle(bot.MsgType("text"), func(c *bot.Context) error { handled.Add(1); return c.ReplyText("bot here") })

	e.srv.AddText(testKF, "wmA", "hi")
	require.NoError(t, b.Pull(t.Context(), testKF))
	e.srv.ServicerPickUp(testKF, "wmA", "alice")
	require.NoError(t, b.Pull(t.Context(), testKF))

	const n = 1000
	for range n {
		clk.Advance(time.Second)
		e.srv.AddText(testKF, "wmA", "hello?")
		require.NoError(t, b.Pull(t.Context(), testKF))
	}
	assert.Equal(t, int64(1), handled.Load(), "only the first message was the bot's")
	gets := e.srv.Calls("service_state/get")
	t.Logf("%d customer messages over %d s: %d service_state/get calls", n, n, gets)
	assert.LessOrEqual(t, gets, n/60+1, "at most one service_state/get a minute over %d s", n)
	assert.GreaterOrEqual(t, gets, n/60, "the belief is confirmed every interval")

	e.srv.SetSessionState(testKF, "wmA", kftest.StateEnded, "") // ended elsewhere: no event
	clk.Advance(time.Minute)
	e.srv.AddText(testKF, "wmA", "hello??")
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Equal(t, int64(2), handled.Load(), "answered once WeCom said the session ended")
	assert.Len(t, e.srv.SentTo(testKF, "wmA"), 2)
	assert.False(t, e.session(t, "wmA").Human)
}

// TestOwnerCheckFailureKeepsThePerson: when service_state/get fails, the conversation
// stays with the person and the message is not handled by the bot's routes; the next
// interval asks again.
func TestOwnerCheckFailureKeepsThePerson(t *testing.T) {
	e := newEnv(t)
	e.srv.AddServicer(testKF, "alice")
	clk := storagetest.NewClock(time.Now())
	b := e.newBot(bot.WithClock(clk.Now))
	var handled atomic.Int64
	b.Handle(bot.MsgType("text"), func(c *bot.Context) error { handled.Add(1); return c.ReplyText("bot here") })
	e.srv.AddText(testKF, "wmA", "hi")
	require.NoError(t, b.Pull(t.Context(), testKF))
	e.srv.ServicerPickUp(testKF, "wmA", "alice")
	require.NoError(t, b.Pull(t.Context(), testKF))
	e.srv.SetSessionState(testKF, "wmA", kftest.StateEnded, "")

	e.srv.FailNext("kf/service_state/get", 40001)
	e.srv.AddText(testKF, "wmA", "hello?")
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Equal(t, int64(1), handled.Load(), "a failed check leaves the conversation with the person")

	clk.Advance(bot.DefaultOwnerCheckInterval)
	e.srv.AddText(testKF, "wmA", "hello??")
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Equal(t, int64(2), handled.Load(), "the next interval asks again and answers")
}

// step makes the fake WeCom do something, then has b pull and waits until the bubble is
// idle.
func step(b *bot.Bot, do func()) {
	do()
	b.Notify(testKF, "")
	synctest.Wait()
}

// poolingBot is a bubble bot (see bubbleBot) with policy hb that puts the conversation in
// the pool on "agent" and answers other texts with "ok".
func poolingBot(t *testing.T, srv *kftest.Server, hb bot.Handback) *bot.Bot {
	t.Helper()
	client := kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithHTTPClient(&http.Client{Transport: srv.Transport()}),
		kf.WithLogger(quietLog()), kf.WithRetry(kf.RetryPolicy{MaxAttempts: 1}))
	b, err := bot.New(client, storage.NewMemory(), bot.WithLogger(quietLog()), bot.WithRetryDelay(time.Second, time.Minute), bot.WithHandback(hb))
	require.NoError(t, err)
	b.Handle(bot.Text("agent"), func(c *bot.Context) error { _, err := c.TransferToPool(); return err })
	b.Handle(bot.MsgType("text"), func(c *bot.Context) error { return c.ReplyText("ok") })
	return b
}

func TestPoolTimeoutGivesTheConversationBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := kftest.NewUnstartedServer()
		b := poolingBot(t, srv, bot.Handback{PoolTimeout: 10 * time.Minute, ClosingText: "Sorry, nobody is free; the bot is back."})
		runInBubble(t, b)

		step(b, func() { srv.AddText(testKF, "wmA", "agent") })
		require.Equal(t, kftest.StatePool, srv.SessionState(testKF, "wmA"))

		time.Sleep(9 * time.Minute)
		synctest.Wait()
		assert.Equal(t, kftest.StatePool, srv.SessionState(testKF, "wmA"), "not before the timeout")

		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		assert.Equal(t, kftest.StateEnded, srv.SessionState(testKF, "wmA"), "the bot ended the session")
		sent := srv.SentTo(testKF, "wmA")
		require.Len(t, sent, 1)
		assert.Equal(t, "Sorry, nobody is free; the bot is back.", sent[0].Text)

		step(b, func() { srv.AddText(testKF, "wmA", "hello") })
		sent = srv.SentTo(testKF, "wmA")
		require.Len(t, sent, 2)
		assert.Equal(t, "ok", sent[1].Text, "the next customer message is answered")
	})
}

func TestIdleTimeoutGivesTheConversationBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := kftest.NewUnstartedServer()
		srv.AddServicer(testKF, "alice")
		b := bubbleBot(t, srv, storage.NewMemory(), bot.WithHandback(bot.Handback{IdleTimeout: 30 * time.Minute}))
		runInBubble(t, b)

		step(b, func() { srv.AddText(testKF, "wmA", "hi") })
		step(b, func() { srv.ServicerPickUp(testKF, "wmA", "alice") })
		time.Sleep(20 * time.Minute)
		step(b, func() { srv.AddServicerText(testKF, "wmA", "alice", "still looking into it") })

		time.Sleep(20 * time.Minute) // 40 min since the pick-up, 20 since the servicer wrote
		synctest.Wait()
		assert.Equal(t, kftest.StateHuman, srv.SessionState(testKF, "wmA"), "the servicer's message restarted the idle clock")

		time.Sleep(11 * time.Minute)
		synctest.Wait()
		assert.Equal(t, kftest.StateEnded, srv.SessionState(testKF, "wmA"))
		step(b, func() { srv.AddText(testKF, "wmA", "hello") })
		sent := srv.SentTo(testKF, "wmA")
		require.NotEmpty(t, sent)
		assert.Equal(t, "ok", sent[len(sent)-1].Text)
	})
}

// TestRefusedEndChangesNothing: WeCom refusing to end the session (95016) leaves the
// conversation with the person.
func TestRefusedEndChangesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := kftest.NewUnstartedServer()
		srv.AddServicer(testKF, "alice")
		b := bubbleBot(t, srv, storage.NewMemory(), bot.WithHandback(bot.Handback{IdleTimeout: time.Minute, CheckInterval: time.Hour}))
		runInBubble(t, b)
		step(b, func() { srv.AddText(testKF, "wmA", "hi") })
		step(b, func() { srv.ServicerPickUp(testKF, "wmA", "alice") })

		srv.FailNext("kf/service_state/trans", 95016)
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		assert.Equal(t, 1, srv.Calls("service_state/trans"))
		assert.Equal(t, kftest.StateHuman, srv.SessionState(testKF, "wmA"))

		step(b, func() { srv.AddText(testKF, "wmA", "hello") })
		assert.Len(t, srv.SentTo(testKF, "wmA"), 1, "only the first message was answered: the person still owns it")
	})
}
