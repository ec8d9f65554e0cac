package badgerstore

import (
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// gcDiscardRatio is the share of a value-log file that must be garbage before the GC
// rewrites it.
const gcDiscardRatio = 0.5

// maxGCRounds bounds the files one GC pass may rewrite.
const maxGCRounds = 16

// gcLoop runs a GC pass every interval until stopGC is closed, then closes gcDone.
func (s *Store) gcLoop(interval time.Duration) {
	runEvery(interval, s.stopGC, s.gcDone, s.gcPass)
}

// runEvery calls pass every interval until stop is closed, then closes done.
func runEvery(interval time.Duration, stop <-chan struct{}, done chan<- struct{}, pass func()) {
	defer close(done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			pass()
		}
	}
}

// gcPass rewrites value-log files while Badger finds one worth rewriting. It holds the
// read side of mu, so Close and Restore wait for it.
func (s *Store) gcPass() {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed || s.space.check() != nil {
		return // rewriting value logs writes too; wait for space
	}
	start := time.Now()
	for round := range maxGCRounds {
		err := s.db.RunValueLogGC(gcDiscardRatio)
		switch {
		case err == nil:
			continue
		case errors.Is(err, badger.ErrNoRewrite), errors.Is(err, badger.ErrRejected):
			if round > 0 {
				s.log.Debug("value-log GC", keyOp, "gc", keyRewritten, round, keyDuration, time.Since(start))
			}
		default:
			s.log.Warn("value-log GC failed", keyOp, "gc", keyErr, err)
		}
		return
	}
}
