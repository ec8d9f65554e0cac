package bot

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWorkersBoundReuseAndDrain: at most n jobs run at once; a second round of jobs runs
// on the workers of the first (no new ones start); idle workers exit after workerIdle, and
// drain ends the rest at once.
func TestWorkersBoundReuseAndDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 3
		w := newWorkers(n)
		var running, peak atomic.Int32
		release := make(chan struct{})
		round := func() {
			var wg sync.WaitGroup
			wg.Add(10)
			go func() {
				for range 10 {
					assert.True(t, w.do(t.Context(), func() {
						defer wg.Done()
						r := running.Add(1)
						for p := peak.Load(); r > p && !peak.CompareAndSwap(p, r); p = peak.Load() {
						}
						<-release
						running.Add(-1)
					}))
				}
			}()
			synctest.Wait() // n jobs hold their workers; the submitter waits for one
			assert.Equal(t, int32(n), running.Load())
			close(release)
			wg.Wait()
		}
		round()
		assert.Equal(t, int32(n), peak.Load(), "n jobs at once, no more")
		synctest.Wait()
		assert.Len(t, w.slots, n, "the workers wait for more")

		release = make(chan struct{})
		round()
		synctest.Wait()
		assert.Len(t, w.slots, n)
		assert.Equal(t, int64(n), w.spawned.Load(), "the second round reused the first's workers")

		time.Sleep(workerIdle + time.Second)
		synctest.Wait()
		assert.Empty(t, w.slots, "idle workers exit")

		done := make(chan struct{})
		require.True(t, w.do(t.Context(), func() { close(done) }))
		<-done
		w.drain()
		assert.Empty(t, w.slots, "drain leaves no worker")
	})
}
