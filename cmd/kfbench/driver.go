package main

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// traffic shapes what the customers send.
type traffic struct {
	customers int
	burst     int
	accounts  int
	rate      float64       // messages/s over all customers; 0: closed loop
	messages  int64         // stop after this many messages; 0: until stopped
	repoke    time.Duration // post the callback again when a burst waits this long; 0: never
	giveUp    time.Duration // a customer waiting this long leaves and a new one takes its place; 0: never
	seed      int64
	text      func(*rand.Rand) string
}

func (tr traffic) accountNames() []string {
	a := make([]string, tr.accounts)
	for i := range a {
		a[i] = accountName(i)
	}
	return a
}

// driver runs the customers: each sends a burst, pokes the bot and waits for every
// reply before the next burst.
type driver struct {
	tr   traffic
	f    *fake
	t    *tally
	poke atomic.Pointer[poker]

	issued     atomic.Int64 // messages reserved by bursts
	pokeErrors atomic.Int64
	repokes    atomic.Int64

	tokens chan struct{} // paced mode: one per burst
	stop   chan struct{} // closed: send no more bursts
	abort  chan struct{} // closed: stop waiting for replies too
	cancel context.CancelFunc
	wg     sync.WaitGroup // customers and pacer
	bg     sync.WaitGroup // housekeeping
	once   sync.Once
	aonce  sync.Once
}

func newDriver(f *fake, tr traffic) *driver {
	d := &driver{
		tr:    tr,
		f:     f,
		t:     newTally(tr.customers, tr.accounts, tr.seed),
		stop:  make(chan struct{}),
		abort: make(chan struct{}),
	}
	f.srv.OnSend(d.t.onSend)
	for i := range tr.accounts {
		f.srv.AddAccount(accountName(i), "kfbench "+accountName(i))
	}
	return d
}

// setPoker replaces how customers poke the bot (the crash run does after each restart).
func (d *driver) setPoker(p poker) { d.poke.Store(&p) }

// start launches the customers (and the pacer with a rate).
func (d *driver) start(ctx context.Context) {
	ctx, d.cancel = context.WithCancel(ctx)
	if d.tr.rate > 0 {
		d.tokens = make(chan struct{}, 1<<16)
		d.wg.Go(func() { d.pace(ctx) })
	}
	for _, c := range d.t.customers {
		d.wg.Go(func() { d.run(ctx, c) })
	}
	// The fake keeps every accepted send; the tally has counted them.
	d.bg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				d.f.srv.ResetSent()
			case <-d.abort:
				return
			case <-ctx.Done():
				return
			}
		}
	})
}

// pace hands out one token per burst so that messages flow at the rate.
func (d *driver) pace(ctx context.Context) {
	perBurst := d.tr.rate / float64(d.tr.burst)
	start := time.Now()
	var issued int64
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
		case <-d.stop:
			return
		case <-ctx.Done():
			return
		}
		due := int64(time.Since(start).Seconds() * perBurst)
	fill:
		for issued < due {
			select {
			case d.tokens <- struct{}{}:
				issued++
			default:
				break fill
			}
		}
	}
}

func (d *driver) run(ctx context.Context, c *customer) {
	for {
		if d.tokens != nil {
			select {
			case <-d.tokens:
			case <-d.stop:
				return
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-d.stop:
			return
		case <-ctx.Done():
			return
		default:
		}
		n := d.tr.burst
		if d.tr.messages > 0 {
			for {
				cur := d.issued.Load()
				if cur >= d.tr.messages {
					return
				}
				n = int(min(int64(d.tr.burst), d.tr.messages-cur))
				if d.issued.CompareAndSwap(cur, cur+int64(n)) {
					break
				}
			}
		}
		select { // a signal left over from an aborted wait
		case <-c.done:
		default:
		}
		d.t.appendBurst(d.f.srv, c, n, d.tr.text)
		d.pokeOnce(ctx, c.kf)
		if !d.await(ctx, c) {
			return
		}
	}
}

func (d *driver) pokeOnce(ctx context.Context, openKFID string) {
	if p := d.poke.Load(); p != nil {
		if err := (*p)(ctx, openKFID); err != nil && ctx.Err() == nil {
			d.pokeErrors.Add(1)
		}
	}
}

// await waits for every reply of c's burst; it reports false when the run is aborted.
func (d *driver) await(ctx context.Context, c *customer) bool {
	var repoke, giveUp <-chan time.Time
	if d.tr.repoke > 0 {
		t := time.NewTicker(d.tr.repoke)
		defer t.Stop()
		repoke = t.C
	}
	if d.tr.giveUp > 0 {
		t := time.NewTimer(d.tr.giveUp)
		defer t.Stop()
		giveUp = t.C
	}
	for {
		select {
		case <-c.done:
			return true
		case <-giveUp:
			d.t.replace(c)
			return true
		case <-repoke:
			d.repokes.Add(1)
			d.pokeOnce(ctx, c.kf)
		case <-d.abort:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// finish stops new bursts and waits up to timeout for the replies in flight (those of
// customers who gave up included); then it stops the customers. It returns how many messages are still without a reply.
func (d *driver) finish(timeout time.Duration) int64 {
	d.once.Do(func() { close(d.stop) })
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		d.awaitAbandoned(t.C)
	case <-t.C:
	}
	d.aonce.Do(func() { close(d.abort) })
	d.cancel()
	<-done
	d.bg.Wait()
	return d.t.lost()
}

// awaitAbandoned waits, until deadline, for replies to the messages of customers who gave
// up.
func (d *driver) awaitAbandoned(deadline <-chan time.Time) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		d.t.abMu.Lock()
		n := len(d.t.abandoned)
		d.t.abMu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-deadline:
			return
		case <-tick.C:
		}
	}
}

// window is a measurement between two points of a run.
type window struct {
	start, end   time.Time
	replies      int64
	before, last procStats
	harness0     procStats
	harness1     procStats
}

// measure waits warmup, then measures for duration: replies, latency (the tally's
// histogram) and the target's resources.
func (d *driver) measure(ctx context.Context, tg target, warmup, duration time.Duration) window {
	sleepCtx(ctx, warmup)
	var w window
	w.before = tg.stats(ctx)
	w.harness0 = selfStatsIfSeparate(tg)
	d.t.hist.reset()
	d.t.window.Store(0)
	d.t.measuring.Store(true)
	w.start = time.Now()
	sleepCtx(ctx, duration)
	d.t.measuring.Store(false)
	w.end = time.Now()
	w.replies = d.t.window.Load()
	w.last = tg.stats(ctx)
	w.harness1 = selfStatsIfSeparate(tg)
	return w
}

// selfStatsIfSeparate returns the harness's own resources when the bot runs in another
// process.
func selfStatsIfSeparate(tg target) procStats {
	if _, ok := tg.(*binTarget); ok {
		return selfStats()
	}
	return procStats{}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
