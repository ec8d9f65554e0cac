package bot_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/storage"
)

const testKF = "wkTestAccount"

// waitTimeout bounds every wait on the engine; reaching it fails the test.
const waitTimeout = 60 * time.Second

// env is a fake WeCom, a client for it and a store: everything a bot needs.
type env struct {
	t      testing.TB
	srv    *kftest.Server
	client *kf.Client
	store  storage.Store
	sends  *counter // accepted sends, from kftest's OnSend hook
	pulls  *counter // dispatched pages, from the bot's observer
}

func newEnv(t testing.TB, opts ...kftest.Option) *env {
	t.Helper()
	srv := kftest.NewServer(opts...)
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv, store: storage.NewMemory(), sends: newCounter(), pulls: newCounter()}
	e.client = newClient(srv)
	srv.OnSend(func(kftest.Sent) { e.sends.add(1) })
	return e
}

func newClient(srv *kftest.Server) *kf.Client {
	return kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithBaseURL(srv.URL), kf.WithHTTPClient(srv.Client()),
		kf.WithLogger(quietLog()),
		kf.WithRetry(kf.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, RateLimitDelay: time.Millisecond}))
}

func quietLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

// newBot builds a bot on e with fast retries, a quiet logger and a page observer.
func (e *env) newBot(opts ...bot.Option) *bot.Bot {
	e.t.Helper()
	base := []bot.Option{
		bot.WithLogger(quietLog()),
		bot.WithRetryDelay(time.Millisecond, 20*time.Millisecond),
		bot.WithObserver(pageObserver{pages: e.pulls}),
		bot.WithErrorHandler(func(c *bot.Context, err error) { e.t.Logf("handler error on %s: %v", c.MsgID(), err) }),
	}
	b, err := bot.New(e.client, e.store, append(base, opts...)...)
	require.NoError(e.t, err)
	return b
}

// pageObserver counts dispatched pages.
type pageObserver struct {
	bot.NopObserver
	pages *counter
}

func (o pageObserver) Pull(string, int, time.Duration, error) { o.pages.add(1) }

// run starts b.Run and returns a function that stops it and waits for it to return.
func run(t testing.TB, b *bot.Bot) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(waitTimeout):
				t.Fatal("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// counter is a number that goroutines can wait on.
type counter struct {
	mu   sync.Mutex
	n    int64
	wake chan struct{}

	at    int64  // with reached: call reached once n reaches at
	reach func() // set by onReach
}

// onReach calls fn from inside the add that makes the counter reach n (at once if it
// already has). Only one such call is pending at a time.
func (c *counter) onReach(n int64, fn func()) {
	c.mu.Lock()
	if c.n >= n {
		c.mu.Unlock()
		fn()
		return
	}
	c.at, c.reach = n, fn
	c.mu.Unlock()
}

func newCounter() *counter { return &counter{wake: make(chan struct{})} }

func (c *counter) add(d int64) {
	c.mu.Lock()
	c.n += d
	close(c.wake)
	c.wake = make(chan struct{})
	var fn func()
	if c.reach != nil && c.n >= c.at {
		fn, c.reach = c.reach, nil
	}
	c.mu.Unlock()
	if fn != nil {
		fn()
	}
}

func (c *counter) load() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// waitAtLeast blocks until the counter reaches n, failing the test after waitTimeout.
func (c *counter) waitAtLeast(t testing.TB, n int64) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		cur, wake := c.n, c.wake
		c.mu.Unlock()
		if cur >= n {
			return
		}
		select {
		case <-wake:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %d, have %d", n, cur)
		}
	}
}
