package bot_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/storagetest"
)

// TestNextPageIsHandledWhileAnEarlierOneWaits: with one-message pages, wmA's handler
// blocks until wmB's message, two pages later, has been handled — which only happens
// when later pages are pulled and handled while an earlier one is in progress. wmA's
// second message still waits for its first.
func TestNextPageIsHandledWhileAnEarlierOneWaits(t *testing.T) {
	e := newEnv(t)
	e.srv.SetMaxPageSize(1)
	bDone := make(chan struct{})
	var mu sync.Mutex
	var events []string
	record := func(ev string) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, ev)
	}
	b := e.newBot()
	b.Handle(bot.Any(), func(c *bot.Context) error {
		switch c.Text() {
		case "a1":
			select {
			case <-bDone:
			case <-time.After(waitTimeout):
				return errors.New("wmB's page was not handled while wmA's waited")
			}
			record("a1 done")
		case "a2":
			record("a2 start")
		case "b1":
			record("b1")
			close(bDone)
		}
		return c.ReplyText("re:" + c.MsgID())
	})
	want := []string{e.srv.AddText(testKF, "wmA", "a1"), e.srv.AddText(testKF, "wmA", "a2"), e.srv.AddText(testKF, "wmB", "b1")}
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Equal(t, []string{"b1", "a1 done", "a2 start"}, events, "pages overlap; a conversation keeps its order")
	assertExactlyOnce(t, e.srv, want)

	// Every page was recorded: nothing is handled again.
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Len(t, e.srv.Sent(), len(want))
}

// TestPagesInFlightOneHandlesPageByPage: with WithPagesInFlight(1) a page is fully
// handled before the next is pulled.
func TestPagesInFlightOneHandlesPageByPage(t *testing.T) {
	e := newEnv(t)
	e.srv.SetMaxPageSize(2)
	var mu sync.Mutex
	var order []string
	b := e.newBot(bot.WithPagesInFlight(1), bot.WithConcurrency(8))
	b.Handle(bot.Any(), func(c *bot.Context) error {
		mu.Lock()
		order = append(order, c.Text())
		mu.Unlock()
		return nil
	})
	var texts []string
	for i := range 10 {
		texts = append(texts, fmt.Sprint(i))
		e.srv.AddText(testKF, customerID(i), texts[i])
	}
	require.NoError(t, b.Pull(t.Context(), testKF))
	require.Len(t, order, 10)
	for i := 0; i < 10; i += 2 { // a page's two messages may run in either order
		assert.ElementsMatch(t, texts[i:i+2], order[i:i+2], "page %d", i/2)
	}

	_, err := bot.New(e.client, e.store, bot.WithPagesInFlight(0))
	assert.ErrorContains(t, err, "WithPagesInFlight(0)")
	_, err = bot.New(e.client, e.store, bot.WithPagesInFlight(65))
	assert.ErrorContains(t, err, "WithPagesInFlight(65)")
}

// TestStoreOperationsPerMessage counts the engine's store calls for 100 messages of 25
// customers in one page, each answered once: the page is read in one Load, its attempt
// marks written in one Apply and its effects in another; the replies need none.
func TestStoreOperationsPerMessage(t *testing.T) {
	e := newEnv(t)
	counted := &storagetest.Counting{Store: e.store}
	e.store = counted
	want := appendTexts(e.srv, 25, 4)
	b := e.newBot()
	b.Handle(bot.Any(), replyWithMsgID)
	require.NoError(t, b.Pull(t.Context(), testKF))
	assertExactlyOnce(t, e.srv, want)
	ops := counted.Ops()
	t.Logf("%d store operations for %d messages: %.2f per message", ops, len(want), float64(ops)/float64(len(want)))
	assert.LessOrEqual(t, ops, int64(6), "lease, cursor, page read, two page writes, release")
	assert.Equal(t, int64(1), counted.Loads.Load(), "one read for the page")
	assert.Equal(t, int64(2), counted.Applies.Load(), "two writes for the page: attempt marks, then effects")
}

// lossyStore loses every batch but attempt marks while lose is set, as a crash after a
// page's replies went out but before it was recorded would.
type lossyStore struct {
	storage.Store
	lose atomic.Bool
}

func (s *lossyStore) Apply(ctx context.Context, b *storage.Batch) error {
	if s.lose.Load() && len(b.Pending) == 0 {
		return errors.New("lossy: the process died before this write")
	}
	return s.Store.Apply(ctx, b)
}

// TestReplayedBurstLeavesTheNextBurstItsAllowance: a burst of 4 is answered but its page
// is never recorded (a crash); the customer, answered, writes 4 more. The replayed page
// holds all 8: the first 4 replies are recognised as delivered (WeCom refuses the reused
// msgids) and do not use the allowance the second burst's replies need.
func TestReplayedBurstLeavesTheNextBurstItsAllowance(t *testing.T) {
	e := newEnv(t)
	lossy := &lossyStore{Store: e.store}
	e.store = lossy
	b := e.newBot()
	b.Handle(bot.Any(), replyWithMsgID)
	var want []string
	for i := range 4 {
		want = append(want, e.srv.AddText(testKF, "wmA", fmt.Sprint("first ", i)))
	}
	lossy.lose.Store(true)
	require.Error(t, b.Pull(t.Context(), testKF), "the page could not be recorded")
	require.Len(t, e.srv.Sent(), 4, "the first burst was answered")

	lossy.lose.Store(false)
	for i := range 4 {
		want = append(want, e.srv.AddText(testKF, "wmA", fmt.Sprint("second ", i)))
	}
	require.NoError(t, b.Pull(t.Context(), testKF))
	assertExactlyOnce(t, e.srv, want)
}

// flakyStore fails every nth page read and every nth write of a page's record, as a store
// under pressure would; attempt marks land.
type flakyStore struct {
	storage.Store
	n              int64
	loads, applies atomic.Int64
}

func (s *flakyStore) Load(ctx context.Context, l *storage.Lookup) error {
	if s.loads.Add(1)%s.n == 0 {
		return errors.New("flaky: load failed")
	}
	return s.Store.Load(ctx, l)
}

func (s *flakyStore) Apply(ctx context.Context, b *storage.Batch) error {
	if len(b.Pending) == 0 && s.applies.Add(1)%s.n == 0 {
		return errors.New("flaky: apply failed")
	}
	return s.Store.Apply(ctx, b)
}

// TestStoreFailuresWithPagesInFlightLoseNothing: with 7-message pages in flight and the
// store failing every fifth page read and page record, 500 messages are each answered
// exactly once, and a clean pass afterwards finds nothing to send.
func TestStoreFailuresWithPagesInFlightLoseNothing(t *testing.T) {
	e := newEnv(t)
	e.store = &flakyStore{Store: e.store, n: 5}
	want := appendTexts(e.srv, 100, 5)
	e.srv.SetMaxPageSize(7)
	b := e.newBot(bot.WithAccounts(testKF))
	b.Handle(bot.Any(), replyWithMsgID)
	stop := run(t, b)
	e.sends.waitAtLeast(t, int64(len(want)))
	stop()

	e.store = e.store.(*flakyStore).Store
	b2 := e.newBot()
	b2.Handle(bot.Any(), replyWithMsgID)
	require.NoError(t, b2.Pull(t.Context(), testKF))
	assertExactlyOnce(t, e.srv, want)
}

// TestHandlerReadsTheCustomersMedia: a handler reads the exact bytes of the image, voice,
// video and file a customer sent; a text or a location has no medium.
func TestHandlerReadsTheCustomersMedia(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	got := map[string][]byte{}
	var noMedia []error
	b := e.newBot()
	b.Handle(bot.Any(), func(c *bot.Context) error {
		m, err := c.OpenMedia(0)
		if err != nil {
			mu.Lock()
			noMedia = append(noMedia, err)
			mu.Unlock()
			return nil
		}
		defer m.Close()
		data, err := io.ReadAll(m)
		if err != nil {
			return err
		}
		mu.Lock()
		got[c.MediaID()] = data
		mu.Unlock()
		return nil
	})
	media := map[string][]byte{}
	for i, typ := range []string{"image", "voice", "video", "file"} {
		data := bytes.Repeat([]byte(typ), 1000*(i+1))
		_, id := e.srv.AddMedia(testKF, fmt.Sprint("wm", typ), typ, typ+".bin", data)
		media[id] = data
	}
	e.srv.AddText(testKF, "wmText", "hello")
	e.srv.AddLocation(testKF, "wmPlace", 31.23, 121.47, "外滩", "上海市黄浦区中山东一路")
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Equal(t, media, got, "the exact bytes of each medium")
	require.Len(t, noMedia, 2)
	for _, err := range noMedia {
		assert.ErrorIs(t, err, bot.ErrNoMedia)
	}
}

// doneWatch signals each batch of done marks written on their own (by the flusher).
type doneWatch struct {
	storage.Store
	done chan []string
}

func (s *doneWatch) Apply(ctx context.Context, b *storage.Batch) error {
	err := s.Store.Apply(ctx, b)
	if err == nil && len(b.Sent) > 0 && len(b.Seen) == 0 && len(b.Sessions) == 0 {
		s.done <- b.Sent
	}
	return err
}

// TestRunRecordsConfirmedSendsWithinMilliseconds: while Run runs, the sends WeCom
// confirmed are marked done in batches, so that a crash before the page is recorded
// repeats only the last moments' sends.
func TestRunRecordsConfirmedSendsWithinMilliseconds(t *testing.T) {
	e := newEnv(t)
	w := &doneWatch{Store: e.store, done: make(chan []string, 100)}
	e.store = w
	b := e.newBot(bot.WithAccounts(testKF))
	b.Handle(bot.Any(), replyWithMsgID)
	id := e.srv.AddText(testKF, "wmA", "hi")
	run(t, b)
	var keys []string
	select {
	case keys = <-w.done:
	case <-time.After(waitTimeout):
		t.Fatal("no done marks written")
	}
	acct := storage.Account{CorpID: e.srv.CorpID(), OpenKFID: testKF}
	want := storage.OutboundKey(acct, bot.OutMsgID(testKF, id, "0"))
	assert.Equal(t, []string{want}, keys)
	st, err := e.store.SendState(t.Context(), want)
	require.NoError(t, err)
	assert.Equal(t, storage.SendDone, st)
}

// ownershipObserver records ownership changes.
type ownershipObserver struct {
	bot.NopObserver
	mu      sync.Mutex
	changes []bool
}

func (o *ownershipObserver) Ownership(_ string, human bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.changes = append(o.changes, human)
}

// TestOwnershipChangesAreReported: a servicer picking the conversation up and ending it
// are two ownership changes, reported once each, not once per message.
func TestOwnershipChangesAreReported(t *testing.T) {
	e := newEnv(t)
	obs := &ownershipObserver{}
	b := e.newBot(bot.WithObserver(obs))
	b.Handle(bot.Any(), func(*bot.Context) error { return nil })
	e.srv.AddText(testKF, "wmA", "hello")
	e.srv.ServicerPickUp(testKF, "wmA", "zhangsan")
	e.srv.AddText(testKF, "wmA", "are you there?")
	e.srv.AddServicerText(testKF, "wmA", "zhangsan", "yes")
	e.srv.ServicerEnd(testKF, "wmA")
	e.srv.AddText(testKF, "wmA", "thanks")
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Equal(t, []bool{true, false}, obs.changes)
}
