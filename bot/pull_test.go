package bot_test

import (
	"context"
	"fmt"
	"log/slog"
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
	"github.com/kfbot/kfbot/storage"
)

// bubbleBot is a bot on an unstarted kftest server, served in process, for use inside a
// testing/synctest bubble: every pause of the engine runs on the bubble's fake clock. It
// answers every text with "ok" and retries failed passes after 1 s, growing to 1 min.
func bubbleBot(t *testing.T, srv *kftest.Server, store storage.Store, opts ...bot.Option) *bot.Bot {
	t.Helper()
	client := kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithHTTPClient(&http.Client{Transport: srv.Transport()}),
		kf.WithLogger(quietLog()), kf.WithRetry(kf.RetryPolicy{MaxAttempts: 1}))
	base := []bot.Option{bot.WithLogger(quietLog()), bot.WithRetryDelay(time.Second, time.Minute)}
	b, err := bot.New(client, store, append(base, opts...)...)
	require.NoError(t, err)
	b.Handle(bot.MsgType("text"), func(c *bot.Context) error { return c.ReplyText("ok") })
	return b
}

// runInBubble runs b until the test function returns.
func runInBubble(t *testing.T, b *bot.Bot) {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	synctest.Wait()
}

// countingSync answers sync_msg with fn's page and counts the calls.
func countingSync(calls *atomic.Int64, fn func(n int64) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := calls.Add(1)
		fmt.Fprint(w, fn(n))
	})
}

const stuckPage = `{"errcode":0,"errmsg":"ok","next_cursor":"","has_more":1,"msg_list":[]}`

func TestNeverMovingCursorBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := kftest.NewUnstartedServer()
		var calls atomic.Int64
		// Before the fix the engine asked again at once, forever; the 500th call ends
		// the storm so that such an engine fails here instead of hanging.
		srv.Handle("kf/sync_msg", countingSync(&calls, func(n int64) string {
			if n >= 500 {
				return `{"errcode":0,"errmsg":"ok","next_cursor":"","has_more":0,"msg_list":[]}`
			}
			return stuckPage
		}))
		b := bubbleBot(t, srv, storage.NewMemory())
		runInBubble(t, b)

		b.Notify(testKF, "")
		time.Sleep(10 * time.Second)
		synctest.Wait()
		// At least 1 s between attempts: at most 11 calls in 10 s.
		assert.LessOrEqual(t, calls.Load(), int64(11), "sync_msg calls in 10 s on a stuck cursor")
		assert.GreaterOrEqual(t, calls.Load(), int64(2), "the account must keep trying")

		// A real page afterwards is handled normally.
		srv.Handle("kf/sync_msg", nil)
		srv.AddText(testKF, "wmStuck", "hello")
		b.Notify(testKF, "")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		require.Len(t, srv.SentTo(testKF, "wmStuck"), 1)
	})
}

func TestPokeDuringBackOffRetriesPromptly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := kftest.NewUnstartedServer()
		var calls atomic.Int64
		srv.Handle("kf/sync_msg", countingSync(&calls, func(int64) string {
			return `{"errcode":-1,"errmsg":"system busy"}`
		}))
		b := bubbleBot(t, srv, storage.NewMemory(), bot.WithRetryDelay(time.Second, time.Hour))
		runInBubble(t, b)

		// Pokes during an outage lead to attempts no closer than the 1 s floor.
		for range 100 {
			b.Notify(testKF, "")
			time.Sleep(100 * time.Millisecond)
		}
		synctest.Wait()
		assert.LessOrEqual(t, calls.Load(), int64(11), "sync_msg calls in 10 s of pokes during an outage")

		// A long outage grows the pause to many minutes...
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		before := calls.Load()

		// ...but once WeCom is back, the next callback is answered within the floor.
		srv.Handle("kf/sync_msg", nil)
		srv.AddText(testKF, "wmPoke", "hello")
		b.Notify(testKF, "")
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		require.Len(t, srv.SentTo(testKF, "wmPoke"), 1, "a callback after the outage must be served within the floor (%d failed calls)", before)
	})
}

func TestReadyReportsFailingPulls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := kftest.NewUnstartedServer()
		b := bubbleBot(t, srv, storage.NewMemory())
		require.ErrorContains(t, b.Ready(t.Context()), "not running")
		runInBubble(t, b)
		require.NoError(t, b.Ready(t.Context()), "nothing pulled yet")

		var calls atomic.Int64
		srv.Handle("kf/sync_msg", countingSync(&calls, func(int64) string {
			return `{"errcode":60020,"errmsg":"not allow to access from your ip"}`
		}))
		b.Notify(testKF, "")
		synctest.Wait()
		err := b.Ready(t.Context())
		require.Error(t, err)
		assert.ErrorContains(t, err, testKF)
		var apiErr *kf.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, 60020, apiErr.Code)

		srv.Handle("kf/sync_msg", nil)
		b.Notify(testKF, "")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		require.NoError(t, b.Ready(t.Context()))
	})
}

// fullDisk is a store that refuses every write with storage.ErrNoSpace while full is set.
type fullDisk struct {
	storage.Store
	full atomic.Bool
}

func (f *fullDisk) refuse(op string) error {
	if f.full.Load() {
		return fmt.Errorf("fulldisk: %s: %w", op, storage.ErrNoSpace)
	}
	return nil
}

func (f *fullDisk) SetCursor(ctx context.Context, a storage.Account, c string) error {
	if err := f.refuse("set cursor"); err != nil {
		return err
	}
	return f.Store.SetCursor(ctx, a, c)
}

func (f *fullDisk) FirstSeen(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if err := f.refuse("first seen"); err != nil {
		return false, err
	}
	return f.Store.FirstSeen(ctx, id, ttl)
}

func (f *fullDisk) PutSession(ctx context.Context, s *storage.Session, ttl time.Duration) error {
	if err := f.refuse("put session"); err != nil {
		return err
	}
	return f.Store.PutSession(ctx, s, ttl)
}

func (f *fullDisk) SetSendState(ctx context.Context, id string, st storage.SendState, ttl time.Duration) error {
	if err := f.refuse("set send state"); err != nil {
		return err
	}
	return f.Store.SetSendState(ctx, id, st, ttl)
}

func (f *fullDisk) BeginSend(ctx context.Context, id string, ttl time.Duration) (storage.SendState, error) {
	if err := f.refuse("begin send"); err != nil {
		return storage.SendNone, err
	}
	return f.Store.BeginSend(ctx, id, ttl)
}

func (f *fullDisk) Apply(ctx context.Context, b *storage.Batch) error {
	if err := f.refuse("apply"); err != nil {
		return err
	}
	return f.Store.Apply(ctx, b)
}

func (f *fullDisk) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (storage.Lease, error) {
	if err := f.refuse("acquire lease"); err != nil {
		return storage.Lease{}, err
	}
	return f.Store.AcquireLease(ctx, name, owner, ttl)
}

// logRecords keeps the messages of the records logged at level or above.
type logRecords struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecords) handler(level slog.Level) slog.Handler {
	return recordHandler{l: l, level: level}
}

type recordHandler struct {
	l     *logRecords
	level slog.Level
}

func (h recordHandler) Enabled(_ context.Context, lv slog.Level) bool { return lv >= h.level }
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h recordHandler) WithGroup(string) slog.Handler                 { return h }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	h.l.msgs = append(h.l.msgs, r.Level.String()+" "+r.Message)
	return nil
}

func (l *logRecords) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

func TestFullDiskStopsPullingAndResumes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := kftest.NewUnstartedServer()
		store := &fullDisk{Store: storage.NewMemory()}
		var logs logRecords
		b := bubbleBot(t, srv, store, bot.WithLogger(slog.New(logs.handler(slog.LevelInfo))))
		runInBubble(t, b)

		store.full.Store(true)
		for i := range 3 {
			srv.AddText(testKF, fmt.Sprintf("wmDisk%d", i), "hello")
		}
		for range 30 { // callbacks keep coming while the disk is full
			b.Notify(testKF, "")
			time.Sleep(time.Second)
		}
		synctest.Wait()
		assert.Zero(t, srv.Calls("kf/sync_msg"), "no pull while the store cannot record it")
		assert.Empty(t, srv.Sent())
		assert.ErrorIs(t, b.Ready(t.Context()), storage.ErrNoSpace)
		assert.Equal(t, 1, logs.count("ERROR "), "the full disk is said once: %q", logs.msgs)

		store.full.Store(false)
		time.Sleep(6 * time.Second) // no callback needed: the engine retries by itself
		synctest.Wait()
		for i := range 3 {
			assert.Len(t, srv.SentTo(testKF, fmt.Sprintf("wmDisk%d", i)), 1)
		}
		assert.NoError(t, b.Ready(t.Context()))
		assert.Equal(t, 1, logs.count("INFO bot: the store accepts writes again"))
	})
}
