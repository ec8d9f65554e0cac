package bot_test

import (
	"net/http"
	"strings"
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
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

// slowOn answers every customer text with "re:<msgid>"; texts starting with "slow" are
// deferred and, on their lane, wait for release before answering.
func slowOn(release <-chan struct{}, started chan<- string) bot.HandlerFunc {
	return func(c *bot.Context) error {
		if !strings.HasPrefix(c.Text(), "slow") {
			return replyWithMsgID(c)
		}
		if c.Defer(0) {
			return nil
		}
		if started != nil {
			started <- c.MsgID()
		}
		select {
		case <-release:
		case <-c.Context().Done():
			return c.Context().Err()
		}
		return replyWithMsgID(c)
	}
}

// TestDeferredMessageDoesNotHoldItsPage: even with one page in flight, a deferred
// message that waits on its lane lets the pages after it be pulled, handled and
// recorded (the cursor moves past it); the conversation's next message waits behind it.
func TestDeferredMessageDoesNotHoldItsPage(t *testing.T) {
	e := newEnv(t)
	e.srv.SetMaxPageSize(1)
	release, started := make(chan struct{}), make(chan string, 1)
	b := e.newBot(bot.WithPagesInFlight(1), bot.WithAccounts(testKF))
	b.Handle(bot.Any(), slowOn(release, started))
	stop := run(t, b)

	slow := e.srv.AddText(testKF, "wmA", "slow question")
	b.Notify(testKF, "")
	require.Equal(t, slow, <-started)
	after := e.srv.AddText(testKF, "wmA", "and another thing")
	var others []string
	for i := range 20 {
		others = append(others, e.srv.AddText(testKF, customerID(i), "quick"))
	}
	b.Notify(testKF, "")
	e.sends.waitAtLeast(t, int64(len(others)))
	for _, s := range e.srv.SentTo(testKF, "wmA") {
		t.Errorf("wmA answered while its first message waits: %q", s.Text)
	}
	cur, err := e.store.Cursor(t.Context(), storage.Account{CorpID: e.srv.CorpID(), OpenKFID: testKF})
	require.NoError(t, err)
	assert.NotEmpty(t, cur, "the pages after the deferred message were recorded with their cursor")

	close(release)
	e.sends.waitAtLeast(t, int64(len(others)+2))
	stop()
	sent := e.srv.SentTo(testKF, "wmA")
	require.Len(t, sent, 2)
	assert.Equal(t, []string{"re:" + slow, "re:" + after}, []string{sent[0].Text, sent[1].Text}, "the conversation keeps its order")
	assertExactlyOnce(t, e.srv, append(others, slow, after))

	// Nothing is left parked or unrecorded.
	inbox, err := e.store.(storage.InboxStore).Inbox(t.Context(), storage.Account{CorpID: e.srv.CorpID(), OpenKFID: testKF})
	require.NoError(t, err)
	assert.Empty(t, inbox)
	b2 := e.newBot()
	b2.Handle(bot.Any(), replyWithMsgID)
	require.NoError(t, b2.Pull(t.Context(), testKF))
	assert.Len(t, e.srv.Sent(), len(others)+2)
}

// TestParkedMessagesAreAnsweredAfterARestart: the bot stops (its shutdown grace cut
// short) while a deferred message waits on its lane; the message stays in the inbox and
// a new bot on the same store answers it, and the conversation's later message, once.
func TestParkedMessagesAreAnsweredAfterARestart(t *testing.T) {
	e := newEnv(t)
	started := make(chan string, 1)
	never := make(chan struct{})
	b := e.newBot(bot.WithAccounts(testKF), bot.WithShutdownTimeout(time.Millisecond))
	b.Handle(bot.Any(), slowOn(never, started))
	stop := run(t, b)
	slow := e.srv.AddText(testKF, "wmA", "slow question")
	b.Notify(testKF, "")
	<-started
	after := e.srv.AddText(testKF, "wmA", "thanks")
	b.Notify(testKF, "")
	acct := storage.Account{CorpID: e.srv.CorpID(), OpenKFID: testKF}
	waitFor(t, func() bool {
		inbox, err := e.store.(storage.InboxStore).Inbox(t.Context(), acct)
		return err == nil && len(inbox) == 2
	})
	stop()
	require.Empty(t, e.srv.Sent())

	release := make(chan struct{})
	close(release)
	b2 := e.newBot()
	b2.Handle(bot.Any(), slowOn(release, nil))
	require.NoError(t, b2.Pull(t.Context(), testKF))
	sent := e.srv.SentTo(testKF, "wmA")
	require.Len(t, sent, 2)
	assert.Equal(t, []string{"re:" + slow, "re:" + after}, []string{sent[0].Text, sent[1].Text})
	inbox, err := e.store.(storage.InboxStore).Inbox(t.Context(), acct)
	require.NoError(t, err)
	assert.Empty(t, inbox)
}

// waitFor polls cond (the store offers no notification) until it holds, failing after
// waitTimeout.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestBurstIsAnsweredOnce: four messages within the merge window reach the handler as
// one burst and get one answer; all four are recorded processed, and the burst's reply
// window starts at its last message.
func TestBurstIsAnsweredOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := kftest.NewUnstartedServer()
		client := kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithHTTPClient(&http.Client{Transport: srv.Transport()}),
			kf.WithLogger(quietLog()), kf.WithRetry(kf.RetryPolicy{MaxAttempts: 1}))
		store := storage.NewMemory()
		b, err := bot.New(client, store, bot.WithLogger(quietLog()), bot.WithAccounts(testKF))
		require.NoError(t, err)
		var bursts [][]string
		b.Handle(bot.MsgType("text"), func(c *bot.Context) error {
			if c.Defer(2 * time.Second) {
				return nil
			}
			var texts []string
			for _, m := range c.Burst() {
				texts = append(texts, m.Head().MsgID)
			}
			bursts = append(bursts, texts)
			return c.ReplyText("one answer")
		})
		runInBubble(t, b)

		var ids []string
		for i, text := range []string{"hi", "I ordered", "a red bike", "where is it?"} {
			if i > 0 {
				time.Sleep(500 * time.Millisecond)
			}
			step(b, func() { ids = append(ids, srv.AddText(testKF, "wmA", text)) })
		}
		require.Empty(t, srv.Sent(), "the window is still open")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		require.Len(t, srv.Sent(), 1)
		assert.Equal(t, [][]string{ids}, bursts)
		sess, err := store.Session(t.Context(), storage.Conversation{CorpID: srv.CorpID(), OpenKFID: testKF, ExternalUserID: "wmA"})
		require.NoError(t, err)
		assert.Equal(t, 4, sess.Messages, "each message of the burst counted")
		assert.Equal(t, bot.MaxRepliesPerMessage-1, sess.RepliesLeft, "one allowance for the burst, one reply used")

		step(b, func() { ids = append(ids, srv.AddText(testKF, "wmA", "hello?")) })
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Len(t, srv.Sent(), 2, "a message after the answer starts a new burst")
		assert.Equal(t, ids[4:], bursts[1])

		for _, id := range ids {
			seen, err := store.Seen(t.Context(), storage.InboundKey(storage.Account{CorpID: srv.CorpID(), OpenKFID: testKF}, id))
			require.NoError(t, err)
			assert.True(t, seen, "%s recorded processed", id)
		}
	})
}

// TestMemoMakesAReplayActOnTheSameAnswer: a handler that remembers a non-deterministic
// answer before sending it fails after the first of its two replies; the retry finds the
// answer and sends its second part, not a new answer's.
func TestMemoMakesAReplayActOnTheSameAnswer(t *testing.T) {
	e := newEnv(t)
	var calls atomic.Int64
	var mu sync.Mutex
	failed := false
	b := e.newBot(bot.WithAccounts(testKF))
	b.Handle(bot.MsgType("text"), func(c *bot.Context) error {
		if c.Defer(0) {
			return nil
		}
		answer, ok, err := c.Memo("answer")
		if err != nil {
			return err
		}
		if !ok {
			answer = []byte("answer " + string(rune('A'+calls.Add(1)-1)))
			if err := c.Remember("answer", answer); err != nil {
				return err
			}
		}
		if err := c.ReplyText(string(answer) + " part 1"); err != nil {
			return err
		}
		mu.Lock()
		fail := !failed
		failed = true
		mu.Unlock()
		if fail {
			return &kf.APIError{Op: "test", Code: -1, Message: "system busy"} // transient: handled again
		}
		return c.ReplyText(string(answer) + " part 2")
	})
	stop := run(t, b)
	e.srv.AddText(testKF, "wmA", "question")
	b.Notify(testKF, "")
	e.sends.waitAtLeast(t, 2)
	stop()
	var texts []string
	for _, s := range e.srv.Sent() {
		texts = append(texts, s.Text)
	}
	assert.Equal(t, []string{"answer A part 1", "answer A part 2"}, texts)
	assert.EqualValues(t, 1, calls.Load(), "the answer was computed once")
}

// TestDeferDeclines: where a message cannot be parked, Defer returns false and the
// handler goes on on its page.
func TestDeferDeclines(t *testing.T) {
	tests := []struct {
		name  string
		store storage.Store
		do    func(b *bot.Bot, e *env) error
	}{
		{"a store without an inbox", storeWithoutInbox{storage.NewMemory()}, func(b *bot.Bot, e *env) error {
			return b.Pull(t.Context(), testKF)
		}},
		{"Dispatch", storage.NewMemory(), func(b *bot.Bot, e *env) error {
			return b.Dispatch(t.Context(), &syncmsg.Text{Header: syncmsg.Header{MsgID: "m1", OpenKFID: testKF, ExternalUserID: "wmA",
				Origin: syncmsg.OriginCustomer, MsgType: syncmsg.TypeText, SendTime: time.Now().Unix(), Raw: []byte(`{}`)}, Content: "hi"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.store = tt.store
			var deferred []bool
			b := e.newBot()
			b.Handle(bot.MsgType("text"), func(c *bot.Context) error {
				deferred = append(deferred, c.Defer(time.Hour))
				return nil
			})
			if tt.name != "Dispatch" {
				e.srv.AddText(testKF, "wmA", "hi")
			}
			require.NoError(t, tt.do(b, e))
			assert.Equal(t, []bool{false}, deferred)
		})
	}
}

// storeWithoutInbox hides the inbox of the store it wraps.
type storeWithoutInbox struct{ storage.Store }

// flakyInboxStore is flakyStore with the inbox of the memory store under it.
type flakyInboxStore struct {
	*flakyStore
	storage.InboxStore
}

// TestDeferredMessagesSurviveStoreFailures: 300 deferred messages of 100 customers, with
// the store failing every fifth page read and record (lanes' records included): each is
// answered exactly once, and nothing stays parked.
func TestDeferredMessagesSurviveStoreFailures(t *testing.T) {
	e := newEnv(t)
	mem := storage.NewMemory()
	e.store = flakyInboxStore{&flakyStore{Store: mem, n: 5}, mem}
	want := appendTexts(e.srv, 100, 3)
	e.srv.SetMaxPageSize(7)
	b := e.newBot(bot.WithAccounts(testKF))
	b.Handle(bot.Any(), func(c *bot.Context) error {
		if c.Defer(0) {
			return nil
		}
		return replyWithMsgID(c)
	})
	stop := run(t, b)
	e.sends.waitAtLeast(t, int64(len(want)))
	stop()
	assertExactlyOnce(t, e.srv, want)

	e.store = mem
	b2 := e.newBot()
	b2.Handle(bot.Any(), replyWithMsgID)
	require.NoError(t, b2.Pull(t.Context(), testKF))
	assertExactlyOnce(t, e.srv, want)
	inbox, err := mem.Inbox(t.Context(), storage.Account{CorpID: e.srv.CorpID(), OpenKFID: testKF})
	require.NoError(t, err)
	assert.Empty(t, inbox)
}
