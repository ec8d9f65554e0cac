package bot_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/router"
)

// itemObserver counts dispatched pages and the items they held.
type itemObserver struct {
	bot.NopObserver
	items *counter
}

func (o itemObserver) Pull(_ string, n int, _ time.Duration, err error) {
	if err == nil {
		o.items.add(int64(n))
	}
}

// serveCallbacks puts the router in front of b and makes the fake WeCom poke it after
// every append, as WeCom does.
func serveCallbacks(t *testing.T, e *env, b *bot.Bot) *httptest.Server {
	t.Helper()
	token, key := e.srv.CallbackConfig()
	h, err := router.New(router.Config{Token: token, EncodingAESKey: key, CorpID: e.srv.CorpID(), Logger: quietLog()}, b)
	require.NoError(t, err)
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	e.srv.OnAppend(func(openKFID, _ string) { poke(t, e, hs.URL, openKFID) })
	return hs
}

func poke(t *testing.T, e *env, base, openKFID string) {
	req, err := e.srv.NewCallbackRequest(base+"/callback", openKFID)
	if err != nil {
		t.Errorf("build callback: %v", err)
		return
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("callback: %v", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("callback answered %d", resp.StatusCode)
	}
}

func TestConversationEndToEnd(t *testing.T) {
	e := newEnv(t)
	e.srv.AddServicer(testKF, "alice")
	items := newCounter()
	b := e.newBot(bot.WithObserver(itemObserver{items: items}))
	b.Handle(bot.Event(syncmsg.EventEnterSession), func(c *bot.Context) error {
		return c.Welcome(kf.Menu{Head: "Hi! How can we help?", Items: []kf.MenuItem{kf.MenuClick{ID: "hours", Content: "Opening hours"}}})
	})
	b.Handle(bot.MenuID("hours"), func(c *bot.Context) error { return c.ReplyText("We are open 9:00-18:00.") })
	b.Handle(bot.TextContains("human"), func(c *bot.Context) error {
		if err := c.ReplyText("Connecting you to an agent."); err != nil {
			return err
		}
		_, err := c.TransferToPool()
		return err
	})
	b.Handle(bot.MsgType(syncmsg.TypeText), func(c *bot.Context) error { return c.ReplyText("echo: " + c.Text()) })
	hs := serveCallbacks(t, e, b)
	run(t, b)

	const user = "wmCustomer"
	_, welcomeCode := e.srv.EnterSession(testKF, user, "ad", "")
	e.sends.waitAtLeast(t, 1)
	e.srv.AddMenuClick(testKF, user, "hours", "Opening hours")
	e.sends.waitAtLeast(t, 2)
	e.srv.AddText(testKF, user, "hello")
	e.sends.waitAtLeast(t, 3)
	e.srv.AddText(testKF, user, "a human please")
	items.waitAtLeast(t, 4) // the page is dispatched: reply sent and hand-off done
	assert.Equal(t, kftest.StatePool, e.srv.SessionState(testKF, user), "hand-off puts the session in the waiting pool")

	// The bot no longer answers: the conversation belongs to people now.
	e.srv.AddText(testKF, user, "anyone?")
	items.waitAtLeast(t, 5)
	e.srv.ServicerPickUp(testKF, user, "alice")
	e.srv.AddServicerText(testKF, user, "alice", "Hi, Alice here.")
	items.waitAtLeast(t, 7)

	// An idle callback pulls and sends nothing.
	syncs := e.srv.Calls("sync_msg")
	poke(t, e, hs.URL, testKF)
	require.Eventually(t, func() bool { return e.srv.Calls("sync_msg") > syncs }, waitTimeout, time.Millisecond)

	sent := e.srv.SentTo(testKF, user)
	require.Len(t, sent, 4, "sends: %+v", sent)
	assert.Equal(t, "send_msg_on_event", sent[0].Path)
	assert.Equal(t, welcomeCode, sent[0].Code)
	assert.Equal(t, "msgmenu", sent[0].MsgType)
	assert.Equal(t, "We are open 9:00-18:00.", sent[1].Text)
	assert.Equal(t, "echo: hello", sent[2].Text)
	assert.Equal(t, "Connecting you to an agent.", sent[3].Text)
}

// TestExactlyOnceAcrossCancels stops the engine mid-page again and again and restarts it
// on the same store: every customer message must get exactly one reply.
func TestExactlyOnceAcrossCancels(t *testing.T) {
	// 400 customers × 5 messages: WeCom allows 5 replies after a customer's last message,
	// so a customer with more unanswered messages than that could not get one reply each.
	const customers, perCustomer = 400, 5
	e := newEnv(t, kftest.WithSeed(7))
	e.srv.SetMaxPageSize(100)
	want := appendTexts(e.srv, customers, perCustomer)

	rng := rand.New(rand.NewPCG(1, 2))
	total := int64(len(want))
	restarts := 0
	for e.sends.load() < total {
		b := e.newBot(bot.WithAccounts(testKF), bot.WithConcurrency(8))
		b.Handle(bot.Any(), replyWithMsgID)
		// The engine is stopped from inside the send that reaches the target, so at
		// most the handlers already in flight (≤ 8) answer after it, however loaded
		// the machine: each run makes at most 278 replies, so 2,000 take > 5 runs.
		ctx, cancel := context.WithCancel(t.Context())
		target := min(total, e.sends.load()+int64(20+rng.IntN(250)))
		e.sends.onReach(target, cancel)
		done := make(chan error, 1)
		go func() { done <- b.Run(ctx) }()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(waitTimeout):
			t.Fatal("the engine did not stop after reaching its target")
		}
		cancel()
		restarts++
	}
	assertExactlyOnce(t, e.srv, want)
	t.Logf("%d messages, %d restarts", total, restarts)
	assert.Greater(t, restarts, 5)
}

// replyWithMsgID answers every customer text with its own msgid, so a test can count
// replies per message.
func replyWithMsgID(c *bot.Context) error {
	if c.Header().Origin != syncmsg.OriginCustomer {
		return nil
	}
	return c.ReplyText("re:" + c.MsgID())
}

// appendTexts appends perCustomer texts for each customer, interleaved, and returns the
// msgids in order.
func appendTexts(srv *kftest.Server, customers, perCustomer int) []string {
	var ids []string
	for i := range perCustomer {
		for c := range customers {
			ids = append(ids, srv.AddText(testKF, customerID(c), fmt.Sprintf("c%d-%d", c, i)))
		}
	}
	return ids
}

func customerID(c int) string { return fmt.Sprintf("wmCustomer%03d", c) }

// assertExactlyOnce checks that every msgid in want got exactly one reply.
func assertExactlyOnce(t *testing.T, srv *kftest.Server, want []string) {
	t.Helper()
	got := make(map[string]int)
	for _, s := range srv.Sent() {
		got[strings.TrimPrefix(s.Text, "re:")]++
	}
	lost, dup := 0, 0
	for _, id := range want {
		switch n := got[id]; {
		case n == 0:
			lost++
		case n > 1:
			dup++
		}
	}
	assert.Zero(t, lost, "messages without a reply")
	assert.Zero(t, dup, "messages with more than one reply")
	assert.Len(t, srv.Sent(), len(want), "one send per message, nothing else")
}

// TestFaultsLoseNothing injects 10% faults (-1, 45033, 42001, HTTP 502) on every
// endpoint, serves 7-message pages and random empty pages: 500 messages all get exactly
// one reply.
func TestFaultsLoseNothing(t *testing.T) {
	e := newEnv(t, kftest.WithSeed(42))
	want := appendTexts(e.srv, 100, 5)
	e.srv.SetMaxPageSize(7)
	e.srv.SetEmptyPageRate(0.2)
	e.srv.SetFaultRate(0.10, -1, 45033, 42001, 502)

	b := e.newBot(bot.WithAccounts(testKF))
	b.Handle(bot.Any(), replyWithMsgID)
	stop := run(t, b)
	e.sends.waitAtLeast(t, int64(len(want)))
	stop()

	// One more full pass without faults must find nothing left to send.
	e.srv.SetFaultRate(0)
	b2 := e.newBot()
	b2.Handle(bot.Any(), replyWithMsgID)
	require.NoError(t, b2.Pull(t.Context(), testKF))
	assertExactlyOnce(t, e.srv, want)
}

// countingClient wraps a client and records how many sync_msg calls run at once.
type countingClient struct {
	bot.Client
	inFlight, maxInFlight, calls atomic.Int64
}

func (c *countingClient) SyncMsg(ctx context.Context, req kf.SyncMsgRequest) (*kf.SyncMsgResponse, error) {
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	c.calls.Add(1)
	for {
		m := c.maxInFlight.Load()
		if n <= m || c.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	return c.Client.SyncMsg(ctx, req)
}

// TestConcurrentCallbacksCoalesce fires 1,000 callbacks for one account at once: pulls
// never overlap, and only a few happen.
func TestConcurrentCallbacksCoalesce(t *testing.T) {
	e := newEnv(t)
	want := appendTexts(e.srv, 200, 5)
	cc := &countingClient{Client: e.client}
	b, err := bot.New(cc, e.store, bot.WithLogger(quietLog()))
	require.NoError(t, err)
	b.Handle(bot.Any(), replyWithMsgID)
	token, key := e.srv.CallbackConfig()
	h, err := router.New(router.Config{Token: token, EncodingAESKey: key, CorpID: e.srv.CorpID(), Logger: quietLog()}, b)
	require.NoError(t, err)
	run(t, b)

	var wg sync.WaitGroup
	for range 1000 {
		wg.Go(func() {
			q, body, err := e.srv.CallbackBody(testKF)
			if !assert.NoError(t, err) {
				return
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/callback?"+q.Encode(), strings.NewReader(string(body))))
			assert.Equal(t, http.StatusOK, w.Code)
		})
	}
	wg.Wait()
	e.sends.waitAtLeast(t, int64(len(want)))
	assertExactlyOnce(t, e.srv, want)
	assert.Equal(t, int64(1), cc.maxInFlight.Load(), "two pulls of one account ran at once")
	assert.LessOrEqual(t, cc.calls.Load(), int64(20), "1,000 callbacks should coalesce into a few pulls")
	t.Logf("1000 callbacks → %d sync_msg calls", cc.calls.Load())
}

// TestRepliesKeepCustomerOrder sends interleaved messages from 100 customers through a
// bot with concurrency 16: each customer's replies arrive in the order of its messages.
func TestRepliesKeepCustomerOrder(t *testing.T) {
	const customers, perCustomer = 200, 5
	e := newEnv(t)
	appendTexts(e.srv, customers, perCustomer)
	b := e.newBot(bot.WithAccounts(testKF), bot.WithConcurrency(16))
	b.Handle(bot.Any(), func(c *bot.Context) error { return c.ReplyText("re:" + c.Text()) })
	run(t, b)
	e.sends.waitAtLeast(t, customers*perCustomer)
	for c := range customers {
		sent := e.srv.SentTo(testKF, customerID(c))
		require.Len(t, sent, perCustomer)
		for i, s := range sent {
			assert.Equal(t, fmt.Sprintf("re:c%d-%d", c, i), s.Text, "customer %d reply %d out of order", c, i)
		}
	}
}
