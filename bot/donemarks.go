package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/kfbot/kfbot/storage"
)

// doneFlushEvery is how long confirmed sends wait, while Run runs, before their done
// marks are written together. A page's record makes its messages' sends moot; the done
// marks matter after a crash, when a replayed message's confirmed sends are skipped
// instead of repeated (and refused by WeCom as a reused msgid). So a crash repeats only
// the sends of the last few milliseconds, at one store write per interval, not per send.
const doneFlushEvery = 10 * time.Millisecond

// doneMarks collects the send-log keys of confirmed sends for flushDone.
type doneMarks struct {
	mu   sync.Mutex
	on   bool // a flusher runs (during Run)
	keys []string
	wake chan struct{} // buffered, 1: the first key since the last write
}

func newDoneMarks() *doneMarks { return &doneMarks{wake: make(chan struct{}, 1)} }

// add queues key for the next write, when a flusher runs.
func (d *doneMarks) add(key string) {
	d.mu.Lock()
	if !d.on {
		d.mu.Unlock()
		return
	}
	first := len(d.keys) == 0
	d.keys = append(d.keys, key)
	d.mu.Unlock()
	if first {
		select {
		case d.wake <- struct{}{}:
		default:
		}
	}
}

func (d *doneMarks) setOn(on bool) {
	d.mu.Lock()
	d.on = on
	d.mu.Unlock()
}

func (d *doneMarks) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	keys := d.keys
	d.keys = nil
	return keys
}

// flushDone writes the queued done marks doneFlushEvery after the first of them, until
// stop ends; then it writes what is left.
func (b *Bot) flushDone(stop context.Context) {
	for {
		select {
		case <-b.done.wake:
		case <-stop.Done():
			b.writeDone()
			return
		}
		t := time.NewTimer(doneFlushEvery)
		select {
		case <-t.C:
		case <-stop.Done():
			t.Stop()
		}
		b.writeDone()
	}
}

// writeDone writes the queued done marks in one batch. A failure only costs, after a
// crash, a repeated send that WeCom refuses; it is logged at Debug.
func (b *Bot) writeDone() {
	keys := b.done.take()
	if len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	if err := b.store.Apply(ctx, &storage.Batch{Sent: keys, DedupTTL: b.opts.dedupTTL}); err != nil {
		b.log.Debug("bot: could not record sends as done; after a crash they would be repeated and refused by WeCom",
			slog.Int(LogKeyCount, len(keys)), slog.Any(LogKeyError, err))
	}
}
