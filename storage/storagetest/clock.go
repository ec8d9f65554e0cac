package storagetest

import (
	"sync"
	"time"
)

// Start is the time a [Clock] from [NewClock] shows when given the zero time. It has a
// non-zero nanosecond part so that stores that drop precision are caught.
var Start = time.Date(2026, time.March, 1, 10, 0, 0, 123456789, time.UTC)

// Clock is a manual clock for tests. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock showing t, or [Start] if t is the zero time.
func NewClock(t time.Time) *Clock {
	if t.IsZero() {
		t = Start
	}
	return &Clock{now: t}
}

// Now returns the clock's time. Pass the method value (c.Now) to a store's WithClock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d (backward if d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
