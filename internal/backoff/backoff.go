// Package backoff computes capped exponential back-off delays with full jitter
// and sleeps for them without ignoring a context.
//
// The n-th delay (n counting from 0 after [Backoff.Reset]) is a uniformly random
// duration in [0, min(Max, Base·2ⁿ)] ("full jitter", as described in the AWS
// architecture blog post "Exponential Backoff And Jitter"). Full jitter spreads
// the retries of many concurrent callers, which is what an API that answers
// "concurrency limit" (WeCom 45033) needs.
//
// A [Backoff] is a small value owned by one retry loop; it is not safe for
// concurrent use. [Sleep] is safe to call from any goroutine.
package backoff

import (
	"context"
	"math"
	"math/rand/v2"
	"time"
)

// Backoff yields successive jittered delays. Create it with [New]; the zero
// value has Base and Max of 0 and always yields 0.
type Backoff struct {
	// Base is the cap of the first delay. Values ≤ 0 yield zero delays.
	Base time.Duration
	// Max caps every delay. Values < Base are treated as Base.
	Max time.Duration

	n    int
	rand func(n int64) int64 // returns a value in [0, n); nil means math/rand/v2.Int64N
}

// New returns a Backoff whose first delay is at most base and whose delays
// never exceed maxDelay.
func New(base, maxDelay time.Duration) *Backoff {
	return &Backoff{Base: base, Max: maxDelay}
}

// Ceiling returns the upper bound of the next delay, min(Max, Base·2ⁿ),
// without advancing the Backoff.
func (b *Backoff) Ceiling() time.Duration {
	if b.Base <= 0 {
		return 0
	}
	limit := max(b.Max, b.Base)
	d := b.Base
	for i := 0; i < b.n && d < limit; i++ {
		if d > limit/2 { // doubling would pass the cap (or overflow)
			d = limit
			break
		}
		d *= 2
	}
	return min(d, limit)
}

// Next returns the next delay, a random duration in [0, Ceiling()], and
// advances the Backoff.
func (b *Backoff) Next() time.Duration {
	ceil := b.Ceiling()
	b.n++
	if ceil <= 0 {
		return 0
	}
	rnd := b.rand
	if rnd == nil {
		rnd = rand.Int64N
	}
	if ceil == math.MaxInt64 { // ceil+1 would overflow; losing the top nanosecond is harmless
		return time.Duration(rnd(math.MaxInt64))
	}
	return time.Duration(rnd(int64(ceil) + 1))
}

// Attempt reports how many delays Next has returned since the last Reset.
func (b *Backoff) Attempt() int { return b.n }

// Reset starts the sequence again from Base, typically after a success.
func (b *Backoff) Reset() { b.n = 0 }

// Wait sleeps for [Backoff.Next] and returns early with ctx.Err() when ctx is
// done first.
func (b *Backoff) Wait(ctx context.Context) error {
	return Sleep(ctx, b.Next())
}

// Sleep pauses for d or until ctx is done, whichever comes first. It returns
// ctx.Err() when ctx ended the wait (or was already done) and nil otherwise.
// A non-positive d only checks ctx.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
