package bot

import (
	"context"
	"sync/atomic"
	"time"
)

// workerIdle is how long a worker waits for the next conversation before it exits.
const workerIdle = 30 * time.Second

// workers handles the conversations of pages on long-lived goroutines: at most cap(slots)
// at once, each kept for workerIdle after its last job, so that pages reuse goroutines
// (and the stacks they grew) instead of starting one per conversation per page.
type workers struct {
	jobs    chan func()   // unbuffered: a send hands a job to an idle worker
	slots   chan struct{} // one per live worker
	spawned atomic.Int64  // workers started, for tests
}

func newWorkers(n int) *workers {
	return &workers{jobs: make(chan func()), slots: make(chan struct{}, n)}
}

// do runs job on an idle worker, or on a new one while fewer than the bound live; it
// waits for either, and returns false without running job when stop is done first.
func (w *workers) do(stop context.Context, job func()) bool {
	select {
	case w.jobs <- job:
		return true
	default:
	}
	select {
	case w.jobs <- job:
	case w.slots <- struct{}{}:
		w.spawned.Add(1)
		go w.work(job)
	case <-stop.Done():
		return false
	}
	return true
}

// work runs job, then the jobs handed to it, until none comes for workerIdle or it is
// handed nil (by drain).
func (w *workers) work(job func()) {
	defer func() { <-w.slots }()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		job()
		idle.Reset(workerIdle)
		select {
		case job = <-w.jobs:
			if job == nil {
				return
			}
		case <-idle.C:
			return
		}
	}
}

// drain ends every worker once it is idle and returns when none is left, so that the bot
// leaves no goroutine behind when Run or Pull returns. No job may be handed meanwhile.
func (w *workers) drain() {
	for range cap(w.slots) {
	take:
		select {
		case w.slots <- struct{}{}: // a slot no worker holds, reserved until the end
		case w.jobs <- nil: // an idle worker exits and frees its slot
			goto take
		}
	}
	for range cap(w.slots) {
		<-w.slots
	}
}
