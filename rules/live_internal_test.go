package rules

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWatchLoopDebounces drives the reload loop with a fake clock: a burst of changes
// gives one reload, 200 ms after the last change.
func TestWatchLoopDebounces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rules.yaml")
	write := func(src string) { require.NoError(t, os.WriteFile(path, []byte(src), 0o600)) }
	write("version: 1\nrules: [{name: a, then: []}]\n")
	var reloads atomic.Int32
	l, err := Open(path, WithLogger(slog.New(slog.DiscardHandler)),
		WithReloadFunc(func(*Set, error) { reloads.Add(1) }))
	require.NoError(t, err)
	first := l.Set()

	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		changes := make(chan struct{}, 1)
		errs := make(chan error, 1)
		done := make(chan struct{})
		go func() {
			l.watchLoop(ctx, changes, errs)
			close(done)
		}()

		write("version: 1\nrules: [{name: a, then: []}, {name: b, then: []}]\n")
		changes <- struct{}{}
		time.Sleep(150 * time.Millisecond)
		changes <- struct{}{} // still the same burst: the delay starts again
		time.Sleep(199 * time.Millisecond)
		synctest.Wait()
		assert.Zero(t, reloads.Load(), "no reload while changes keep coming")

		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, int32(1), reloads.Load())
		assert.Equal(t, []string{"a", "b"}, l.Set().Rules())
		assert.Same(t, first.opts.media, l.Set().opts.media, "reloads share the media cache")

		errs <- errors.New("watcher overflow") // logged, not fatal
		synctest.Wait()

		cancel()
		<-done
	})
}
