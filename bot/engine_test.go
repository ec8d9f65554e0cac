package bot_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

// errs collects handler errors.
type errs struct {
	mu   sync.Mutex
	list []error
}

func (e *errs) handler(_ *bot.Context, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, err)
}

func (e *errs) all() []error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]error(nil), e.list...)
}

func TestSixthReplyIsRefusedWithoutCallingWeCom(t *testing.T) {
	e := newEnv(t)
	var results []error
	b := e.newBot()
	b.Handle(bot.Any(), func(c *bot.Context) error {
		for i := range 6 {
			results = append(results, c.ReplyText(strings.Repeat("x", i+1)))
		}
		return nil
	})
	e.srv.AddText(testKF, "wmA", "hi")
	require.NoError(t, b.Pull(t.Context(), testKF))
	require.Len(t, results, 6)
	for i := range 5 {
		assert.NoError(t, results[i], "reply %d", i+1)
	}
	assert.ErrorIs(t, results[5], bot.ErrQuotaExceeded)
	assert.Equal(t, 5, e.srv.Calls("send_msg"), "the sixth reply must not reach WeCom")
}

func TestBurstSharesOneAllowance(t *testing.T) {
	// Six messages before the bot answers: WeCom allows 5 replies after the LAST one.
	e := newEnv(t)
	var refused atomic.Int32
	b := e.newBot(bot.WithErrorHandler(func(_ *bot.Context, err error) {
		if errors.Is(err, bot.ErrQuotaExceeded) {
			refused.Add(1)
		}
	}))
	b.Handle(bot.Any(), replyWithMsgID)
	for range 6 {
		e.srv.AddText(testKF, "wmA", "hi")
	}
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Len(t, e.srv.Sent(), 5)
	assert.Equal(t, int32(1), refused.Load(), "the engine refuses the sixth itself")
	assert.Equal(t, 5, e.srv.Calls("send_msg"), "no call WeCom would refuse with 95001")

	// The next customer message opens a fresh allowance.
	e.srv.AddText(testKF, "wmA", "again")
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Len(t, e.srv.Sent(), 6)
}

func TestLongTextIsSplitOnRuneBoundaries(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("微信客服", 400) // 4,800 bytes
	b := e.newBot()
	b.Handle(bot.Any(), func(c *bot.Context) error { return c.ReplyText(long) })
	e.srv.AddText(testKF, "wmA", "tell me everything")
	require.NoError(t, b.Pull(t.Context(), testKF))
	sent := e.srv.SentTo(testKF, "wmA")
	require.Len(t, sent, 3)
	var joined strings.Builder
	for _, s := range sent {
		assert.LessOrEqual(t, len(s.Text), bot.MaxTextBytes)
		assert.True(t, utf8.ValidString(s.Text))
		joined.WriteString(s.Text)
	}
	assert.Equal(t, long, joined.String())
}

func TestSplitText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want []string
	}{
		{"short", "hello", 10, []string{"hello"}},
		{"empty", "", 10, []string{""}},
		{"exact", "abcde", 5, []string{"abcde"}},
		{"prefers a space", "hello world again", 12, []string{"hello world ", "again"}},
		{"prefers a newline", "line one\nline two", 12, []string{"line one\n", "line two"}},
		{"no break point", "abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"never splits a rune", "éééé", 3, []string{"é", "é", "é", "é"}},
		{"max smaller than a rune", "客服", 2, []string{"客", "服"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, bot.SplitText(tt.in, tt.max))
		})
	}
}

func TestOutMsgID(t *testing.T) {
	a := bot.OutMsgID("wkA", "from_msgid_4622416642169452483", "0")
	assert.Equal(t, a, bot.OutMsgID("wkA", "from_msgid_4622416642169452483", "0"), "deterministic")
	assert.NotEqual(t, a, bot.OutMsgID("wkA", "from_msgid_4622416642169452483", "1"))
	assert.NotEqual(t, a, bot.OutMsgID("wkB", "from_msgid_4622416642169452483", "0"))
	assert.NotEqual(t, a, bot.OutMsgID("wkA", "from_msgid_4622416642169452484", "0"))
	for _, id := range []string{a, bot.OutMsgID("wk", strings.Repeat("x", 500), "zzzzzzz")} {
		assert.LessOrEqual(t, len(id), 32)
		assert.Regexp(t, `^[0-9A-Za-z_-]+$`, id)
	}
}

func Test95018StopsRepliesUntilTheCustomerWritesAgain(t *testing.T) {
	e := newEnv(t)
	e.srv.AddServicer(testKF, "alice")
	var second error
	b := e.newBot()
	b.Handle(bot.Any(), func(c *bot.Context) error {
		err := c.ReplyText("one")
		second = c.ReplyText("two")
		return err
	})
	e.srv.AddText(testKF, "wmA", "hi")
	// A servicer took the session in WeCom, and the bot has not heard of it yet.
	e.srv.SetSessionState(testKF, "wmA", kftest.StateHuman, "alice")
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.ErrorIs(t, second, bot.ErrRepliesStopped)
	assert.Equal(t, 1, e.srv.Calls("send_msg"), "after 95018 the bot stops calling WeCom")
	sess, err := e.store.Session(t.Context(), storage.Conversation{CorpID: e.srv.CorpID(), OpenKFID: testKF, ExternalUserID: "wmA"})
	require.NoError(t, err)
	assert.True(t, sess.Stopped)

	// The servicer ends the session; the customer writes again: replies resume.
	e.srv.SetSessionState(testKF, "wmA", kftest.StateEnded, "")
	e.srv.AddText(testKF, "wmA", "hello?")
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Len(t, e.srv.SentTo(testKF, "wmA"), 2)
}

func TestServicerMessagesAreNeverAnswered(t *testing.T) {
	e := newEnv(t)
	e.srv.AddServicer(testKF, "alice")
	errs := &errs{}
	b := e.newBot(bot.WithErrorHandler(errs.handler))
	b.Handle(bot.Any(), func(c *bot.Context) error { return c.ReplyText("bot here") })
	e.srv.AddText(testKF, "wmA", "hi")
	require.NoError(t, b.Pull(t.Context(), testKF))
	require.Len(t, e.srv.Sent(), 1)

	e.srv.AddServicerText(testKF, "wmA", "alice", "Alice here, I'll take it from now")
	e.srv.AddText(testKF, "wmA", "thanks Alice")
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Len(t, e.srv.Sent(), 1, "neither the servicer's message nor the customer's answer to a human gets a bot reply")
	got := errs.all()
	require.Len(t, got, 1, "the customer's message to a person reaches no handler")
	assert.ErrorIs(t, got[0], bot.ErrNotCustomerMessage)
}

func TestSessionEndGivesTheConversationBack(t *testing.T) {
	e := newEnv(t)
	e.srv.AddServicer(testKF, "alice")
	b := e.newBot()
	b.Handle(bot.Event(syncmsg.EventSessionStatusChange), func(c *bot.Context) error {
		if c.Message().(*syncmsg.SessionStatusChange).ChangeType == syncmsg.ChangeTypeEnd {
			return c.WelcomeText("Thanks for chatting with us!")
		}
		return nil
	})
	b.Handle(bot.MsgType(syncmsg.TypeText), func(c *bot.Context) error { return c.ReplyText("bot: " + c.Text()) })
	e.srv.AddText(testKF, "wmA", "hi")
	require.NoError(t, b.Pull(t.Context(), testKF))
	e.srv.ServicerPickUp(testKF, "wmA", "alice")
	e.srv.ServicerEnd(testKF, "wmA")
	require.NoError(t, b.Pull(t.Context(), testKF))
	e.srv.AddText(testKF, "wmA", "one more question")
	require.NoError(t, b.Pull(t.Context(), testKF))
	sent := e.srv.SentTo(testKF, "wmA")
	require.Len(t, sent, 3, "%+v", sent)
	assert.Equal(t, "bot: hi", sent[0].Text)
	assert.Equal(t, "send_msg_on_event", sent[1].Path, "closing message with the msg_code")
	assert.Equal(t, "bot: one more question", sent[2].Text)
}

func TestColdStartSkipsHistory(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC).Unix())
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	e := newEnv(t, kftest.WithClock(clock))
	e.srv.AddText(testKF, "wmOld", "sent yesterday")
	now.Add(int64(24 * time.Hour / time.Second))
	e.srv.AddText(testKF, "wmNew", "sent just now")

	b := e.newBot(bot.WithClock(clock))
	b.Handle(bot.Any(), func(c *bot.Context) error { return c.ReplyText("re: " + c.Text()) })
	require.NoError(t, b.Pull(t.Context(), testKF))
	sent := e.srv.Sent()
	require.Len(t, sent, 1)
	assert.Equal(t, "re: sent just now", sent[0].Text)

	// With a cursor saved, later messages are answered whatever their age policy.
	cur, err := e.store.Cursor(t.Context(), storage.Account{CorpID: e.srv.CorpID(), OpenKFID: testKF})
	require.NoError(t, err)
	assert.NotEmpty(t, cur)
}

func TestRecalledMessageInTheSamePageIsDropped(t *testing.T) {
	e := newEnv(t)
	var sawRecall atomic.Bool
	b := e.newBot()
	b.Handle(bot.Event(syncmsg.EventUserRecallMsg), func(*bot.Context) error { sawRecall.Store(true); return nil })
	b.Handle(bot.Any(), func(c *bot.Context) error { return c.ReplyText("re: " + c.Text()) })
	id := e.srv.AddText(testKF, "wmA", "oops, wrong chat")
	e.srv.UserRecall(testKF, "wmA", id)
	e.srv.AddText(testKF, "wmA", "hello")
	require.NoError(t, b.Pull(t.Context(), testKF))
	sent := e.srv.Sent()
	require.Len(t, sent, 1)
	assert.Equal(t, "re: hello", sent[0].Text)
	assert.True(t, sawRecall.Load(), "handlers still see the recall event")
}

func TestStaleWelcomeCodeIsSkipped(t *testing.T) {
	var now atomic.Int64
	now.Store(time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC).Unix())
	clock := func() time.Time { return time.Unix(now.Load(), 0) }
	e := newEnv(t, kftest.WithClock(clock))
	var got []error
	b := e.newBot(bot.WithClock(clock), bot.WithConcurrency(1))
	b.Handle(bot.Event(syncmsg.EventEnterSession), func(c *bot.Context) error {
		err := c.WelcomeText("Hi!")
		got = append(got, err)
		return err
	})
	e.srv.EnterSession(testKF, "wmLate", "", "")
	now.Add(19) // the welcome code lives 20 s; 19 s is too late to spend an API call on
	e.srv.EnterSession(testKF, "wmOnTime", "", "")
	require.NoError(t, b.Pull(t.Context(), testKF))
	require.Len(t, got, 2)
	assert.ErrorIs(t, got[0], bot.ErrCodeExpired)
	assert.NoError(t, got[1])
	assert.Equal(t, 1, e.srv.Calls("send_msg_on_event"))
}

func TestEnterSessionIsHandledFirst(t *testing.T) {
	e := newEnv(t)
	var order []string
	b := e.newBot(bot.WithConcurrency(1)) // one conversation at a time: the order is the dispatch order
	b.Handle(bot.Any(), func(c *bot.Context) error {
		order = append(order, string(c.Header().MsgType)+"/"+string(c.Header().EventType))
		return nil
	})
	e.srv.AddText(testKF, "wmA", "hi")
	e.srv.EnterSession(testKF, "wmB", "", "")
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Equal(t, []string{"event/enter_session", "text/"}, order)
}

func TestHandlerPanicsAndErrorsNeverStopTheBot(t *testing.T) {
	e := newEnv(t)
	errs := &errs{}
	b := e.newBot(bot.WithErrorHandler(errs.handler))
	b.Handle(bot.Text("boom"), func(*bot.Context) error { panic("kaboom") })
	b.Handle(bot.Text("fail"), func(*bot.Context) error { return errors.New("handler failed") })
	b.Handle(bot.Any(), func(c *bot.Context) error { return c.ReplyText("ok: " + c.Text()) })
	e.srv.AddText(testKF, "wmA", "boom")
	e.srv.AddText(testKF, "wmB", "fail")
	e.srv.AddText(testKF, "wmC", "fine")
	require.NoError(t, b.Pull(t.Context(), testKF))
	require.Len(t, e.srv.Sent(), 1)
	assert.Equal(t, "ok: fine", e.srv.Sent()[0].Text)
	var p *bot.PanicError
	got := errs.all()
	require.Len(t, got, 2)
	require.True(t, errors.As(got[0], &p) || errors.As(got[1], &p))
	assert.Equal(t, "kaboom", p.Value)
	assert.NotEmpty(t, p.Stack)

	// Both messages were marked processed: a second pull does not repeat them.
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Len(t, errs.all(), 2)
}

func TestMatchingOrderGroupsAndMiddleware(t *testing.T) {
	e := newEnv(t)
	b := e.newBot()
	var trace []string
	mark := func(name string) bot.Middleware {
		return func(next bot.HandlerFunc) bot.HandlerFunc {
			return func(c *bot.Context) error { trace = append(trace, name); return next(c) }
		}
	}
	handler := func(name string) bot.HandlerFunc {
		return func(*bot.Context) error { trace = append(trace, name); return nil }
	}
	b.Use(mark("global"))
	b.Handle(bot.Text("exact"), handler("exact"))
	b.Handle(bot.TextPrefix("ex"), handler("prefix")) // never reached for "exact": first match wins
	vip := b.Group(bot.FromKF("wkVIP"))
	vip.Use(mark("vip"))
	inner := vip.Group(bot.TextRegexp(`^\d+$`))
	inner.Use(mark("digits"))
	inner.Handle(bot.Any(), handler("vip-digits"), mark("route"))
	vip.Handle(bot.Any(), handler("vip-any"))
	b.Handle(bot.MenuID("hours"), handler("menu"))
	b.Handle(bot.And(bot.MsgType(syncmsg.TypeText), bot.Not(bot.TextContains("?"))), handler("statement"))
	b.Handle(bot.Or(bot.Origin(syncmsg.OriginServicer), bot.Scene("ad")), handler("servicer-or-ad"))
	b.HandleDefault(handler("default"))

	text := func(kfid, content, menuID string) syncmsg.Message {
		return &syncmsg.Text{Header: syncmsg.Header{MsgID: content + kfid, OpenKFID: kfid, ExternalUserID: "wm",
			Origin: syncmsg.OriginCustomer, MsgType: syncmsg.TypeText, SendTime: time.Now().Unix()}, Content: content, MenuID: menuID}
	}
	tests := []struct {
		msg  syncmsg.Message
		want []string
	}{
		{text("wkA", "exact", ""), []string{"global", "exact"}},
		{text("wkA", "example", ""), []string{"global", "prefix"}},
		{text("wkVIP", "42", ""), []string{"global", "vip", "digits", "route", "vip-digits"}},
		{text("wkVIP", "hello", ""), []string{"global", "vip", "vip-any"}},
		{text("wkA", "Opening hours", "hours"), []string{"global", "menu"}},
		{text("wkA", "I want a refund", ""), []string{"global", "statement"}},
		{text("wkA", "refund?", ""), []string{"global", "default"}},
		{&syncmsg.EnterSession{Header: syncmsg.Header{MsgID: "e1", OpenKFID: "wkA", ExternalUserID: "wm",
			Origin: syncmsg.OriginSystem, MsgType: syncmsg.TypeEvent, EventType: syncmsg.EventEnterSession}, Scene: "ad"},
			[]string{"global", "servicer-or-ad"}},
	}
	for _, tt := range tests {
		trace = nil
		require.NoError(t, b.Dispatch(t.Context(), tt.msg))
		assert.Equal(t, tt.want, trace, "%T %+v", tt.msg, tt.msg.Head())
	}

	assert.Panics(t, func() { b.Handle(bot.Any(), handler("late")) }, "registration after start is a programmer error")
}

// TestGroupUseAfterHandle: a group's middleware wraps every route of the group, also the
// routes registered before Use, as Group.Use documents.
func TestGroupUseAfterHandle(t *testing.T) {
	e := newEnv(t)
	b := e.newBot()
	var trace []string
	mark := func(name string) bot.Middleware {
		return func(next bot.HandlerFunc) bot.HandlerFunc {
			return func(c *bot.Context) error { trace = append(trace, name); return next(c) }
		}
	}
	g := b.Group(bot.FromKF("wkG"))
	inner := g.Group(bot.Any())
	inner.Handle(bot.Any(), func(*bot.Context) error { trace = append(trace, "handler"); return nil }, mark("route"))
	inner.Use(mark("inner"))
	g.Use(mark("outer"))
	b.Use(mark("global"))

	msg := &syncmsg.Text{Header: syncmsg.Header{MsgID: "m1", OpenKFID: "wkG", ExternalUserID: "wm",
		Origin: syncmsg.OriginCustomer, MsgType: syncmsg.TypeText, SendTime: time.Now().Unix()}, Content: "hi"}
	require.NoError(t, b.Dispatch(t.Context(), msg))
	assert.Equal(t, []string{"global", "outer", "inner", "route", "handler"}, trace)
}

func TestRegistrationMisusePanics(t *testing.T) {
	e := newEnv(t)
	b := e.newBot()
	assert.Panics(t, func() { b.Handle(nil, func(*bot.Context) error { return nil }) })
	assert.Panics(t, func() { b.Handle(bot.Any(), nil) })
	assert.Panics(t, func() { b.Use(nil) })
	assert.Panics(t, func() { b.Group(nil) })
	assert.Panics(t, func() { bot.And(bot.Any(), nil) })
	assert.Panics(t, func() { bot.TextRegexp("(") })
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := bot.New(nil, nil, bot.WithConcurrency(0), bot.WithDedupTTL(time.Hour), bot.WithWelcomeMaxAge(time.Minute))
	require.Error(t, err)
	for _, want := range []string{"Client is required", "Store is required", "WithConcurrency(0)", "WithDedupTTL(1h0m0s)", "WithWelcomeMaxAge(1m0s)"} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestShutdownLetsInFlightHandlersFinish(t *testing.T) {
	e := newEnv(t)
	started, release := make(chan struct{}), make(chan struct{})
	var handlerDone atomic.Bool
	b := e.newBot(bot.WithAccounts(testKF), bot.WithShutdownTimeout(time.Minute))
	b.Handle(bot.Any(), func(c *bot.Context) error {
		close(started)
		<-release
		err := c.ReplyText("done")
		handlerDone.Store(true)
		return err
	})
	e.srv.AddText(testKF, "wmA", "slow question")
	ctx, cancel := context.WithCancel(t.Context())
	returned := make(chan bool, 1)
	go func() {
		assert.NoError(t, b.Run(ctx))
		returned <- handlerDone.Load()
	}()
	<-started
	cancel() // shutdown begins while the handler is still running
	close(release)
	assert.True(t, <-returned, "Run returned before the in-flight handler finished")
	require.Len(t, e.srv.Sent(), 1, "the in-flight handler's reply went out")

	// It was recorded as processed: a new run does not answer it again.
	b2 := e.newBot()
	b2.Handle(bot.Any(), func(c *bot.Context) error { return c.ReplyText("again?") })
	require.NoError(t, b2.Pull(t.Context(), testKF))
	assert.Len(t, e.srv.Sent(), 1)
}

func TestShutdownTimeoutCancelsHandlersAndLeavesTheMessage(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{})
	b := e.newBot(bot.WithAccounts(testKF), bot.WithShutdownTimeout(time.Millisecond))
	b.Handle(bot.Any(), func(c *bot.Context) error {
		close(started)
		<-c.Context().Done() // a handler that only stops when told to
		return c.Context().Err()
	})
	e.srv.AddText(testKF, "wmA", "question")
	stop := run(t, b)
	<-started
	stop()

	// The message was not marked processed: the next run handles it.
	b2 := e.newBot()
	b2.Handle(bot.Any(), func(c *bot.Context) error { return c.ReplyText("answered after restart") })
	require.NoError(t, b2.Pull(t.Context(), testKF))
	require.Len(t, e.srv.Sent(), 1)
	assert.Equal(t, "answered after restart", e.srv.Sent()[0].Text)
}

func TestTransientSendFailureIsRetriedOnTheNextPass(t *testing.T) {
	e := newEnv(t)
	b := e.newBot()
	b.Handle(bot.Any(), replyWithMsgID)
	id := e.srv.AddText(testKF, "wmA", "hi")
	for range 3 { // more than the client's 3 attempts
		e.srv.FailNextHTTP("send_msg", 502)
	}
	err := b.Pull(t.Context(), testKF)
	require.Error(t, err, "the page is not complete")
	assert.Empty(t, e.srv.Sent())
	require.NoError(t, b.Pull(t.Context(), testKF))
	require.Len(t, e.srv.Sent(), 1)
	assert.Equal(t, "re:"+id, e.srv.Sent()[0].Text)
}

func TestContextAccessors(t *testing.T) {
	e := newEnv(t)
	b := e.newBot()
	type key struct{}
	b.Use(func(next bot.HandlerFunc) bot.HandlerFunc {
		return func(c *bot.Context) error {
			return next(c.WithContext(context.WithValue(c.Context(), key{}, "v")))
		}
	})
	var got []any
	b.Handle(bot.Any(), func(c *bot.Context) error {
		got = append(got, c.Context().Value(key{}), c.Text(), c.OpenKFID(), c.ExternalUserID(), c.Bot() == b, c.Client() != nil)
		c.Session().Vars = map[string]any{"name": "Ada"}
		return nil
	})
	id := e.srv.AddText(testKF, "wmA", "hi")
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Equal(t, []any{"v", "hi", testKF, "wmA", true, true}, got)
	sess, err := e.store.Session(t.Context(), storage.Conversation{CorpID: e.srv.CorpID(), OpenKFID: testKF, ExternalUserID: "wmA"})
	require.NoError(t, err)
	assert.Equal(t, "Ada", sess.Vars["name"], "the engine saves the session after the handler")
	assert.Equal(t, id, sess.LastMsgID)
	assert.Equal(t, 1, sess.Messages)
}

// refusalObserver records the reasons of refused replies.
type refusalObserver struct {
	bot.NopObserver
	mu      sync.Mutex
	reasons []string
}

func (o *refusalObserver) Refused(_ string, reason string) {
	o.mu.Lock()
	o.reasons = append(o.reasons, reason)
	o.mu.Unlock()
}

func TestObserverHearsWhyRepliesWereRefused(t *testing.T) {
	e := newEnv(t)
	obs := &refusalObserver{}
	b := e.newBot(bot.WithObserver(obs), bot.WithConcurrency(1))
	b.Handle(bot.Any(), func(c *bot.Context) error {
		for range 6 {
			_ = c.ReplyText("x")
		}
		return nil
	})
	e.srv.AddText(testKF, "wmA", "hi")
	e.srv.AddServicer(testKF, "alice")
	e.srv.AddServicerText(testKF, "wmB", "alice", "hello from a person")
	require.NoError(t, b.Pull(t.Context(), testKF))
	// wmA: the sixth reply. wmB: a servicer wrote into an ended session, which WeCom turns
	// into a session_status_change (now human-owned) and the servicer's text.
	count := map[string]int{}
	for _, r := range obs.reasons {
		count[r]++
	}
	assert.Equal(t, map[string]int{bot.RefusalQuota: 1, bot.RefusalHuman: 6, bot.RefusalNotCustomer: 6}, count)
}

// A page pulled again after a transient failure holds messages handled in the first pass;
// a new customer message in it must still reopen the reply window (WeCom reset the
// allowance when it arrived).
func TestReplayedPageReopensTheWindowForNewMessages(t *testing.T) {
	e := newEnv(t)
	var failB atomic.Bool
	failB.Store(true)
	b := e.newBot(bot.WithConcurrency(1))
	b.Handle(bot.Any(), func(c *bot.Context) error {
		if c.ExternalUserID() == "wmB" && failB.Swap(false) {
			return &kf.HTTPError{Op: "send_msg", StatusCode: 502, Status: "502 Bad Gateway"}
		}
		for i := range 3 {
			if err := c.ReplyText(c.Text() + " " + string(rune('a'+i))); err != nil {
				return err
			}
		}
		return nil
	})
	e.srv.AddText(testKF, "wmA", "first")
	e.srv.AddText(testKF, "wmB", "hello")
	require.Error(t, b.Pull(t.Context(), testKF), "wmB failed for now: the page is not complete")
	e.srv.AddText(testKF, "wmA", "second")
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Len(t, e.srv.SentTo(testKF, "wmA"), 6, "three replies to each of wmA's messages")
	assert.Len(t, e.srv.SentTo(testKF, "wmB"), 3)
}

// The engine's dedup records, attempt marks, session and pull lease are those of the
// storage helpers for the client's corp, and another corp's are untouched.
func TestStoreKeysNameTheCorp(t *testing.T) {
	e := newEnv(t)
	b := e.newBot()
	acct := storage.Account{CorpID: e.srv.CorpID(), OpenKFID: testKF}
	other := storage.Account{CorpID: e.srv.CorpID() + "x", OpenKFID: testKF}
	var held, free error
	b.Handle(bot.Any(), func(c *bot.Context) error {
		_, held = c.Bot().Store().AcquireLease(c.Context(), storage.PullLease(acct), "intruder", time.Minute)
		_, free = c.Bot().Store().AcquireLease(c.Context(), storage.PullLease(other), "intruder", time.Minute)
		return c.ReplyText("hello")
	})
	id := e.srv.AddText(testKF, "wmA", "hi")
	require.NoError(t, b.Pull(t.Context(), testKF))
	require.ErrorIs(t, held, storage.ErrLeaseHeld, "the puller holds its account's lease")
	require.NoError(t, free, "another corp's lease is free")

	ctx, s := t.Context(), e.store
	seen, err := s.Seen(ctx, storage.InboundKey(acct, id))
	require.NoError(t, err)
	assert.True(t, seen)
	seen, err = s.Seen(ctx, storage.InboundKey(other, id))
	require.NoError(t, err)
	assert.False(t, seen)
	st, err := s.SendState(ctx, storage.AttemptKey(acct, id))
	require.NoError(t, err)
	assert.Equal(t, storage.SendPending, st, "the message's attempt mark")
	st, err = s.SendState(ctx, storage.AttemptKey(other, id))
	require.NoError(t, err)
	assert.Equal(t, storage.SendNone, st)
	_, err = s.Session(ctx, storage.Conversation{CorpID: acct.CorpID, OpenKFID: testKF, ExternalUserID: "wmA"})
	require.NoError(t, err)
	_, err = s.Session(ctx, storage.Conversation{CorpID: other.CorpID, OpenKFID: testKF, ExternalUserID: "wmA"})
	require.ErrorIs(t, err, storage.ErrNotFound)
}
