// Package netlimit bounds how many connections a listener hands out at once.
package netlimit

import (
	"container/list"
	"net"
	"sync"
	"time"
)

// Listener returns a listener that holds at most n connections from l at once (n < 1 is
// treated as 1). When all n are open, Accept closes the oldest connection if it has been
// open for at least evictAfter, so that a crowd of slow clients cannot keep a short real
// request out; when the oldest is younger, Accept waits until it is old enough or one is
// closed. evictAfter ≤ 0 never evicts: Accept just waits for a close. The kernel's accept
// queue holds new connections meanwhile.
func Listener(l net.Listener, n int, evictAfter time.Duration) net.Listener {
	return &limitListener{Listener: l, max: max(n, 1), evictAfter: evictAfter,
		freed: make(chan struct{}, 1), done: make(chan struct{}), open: list.New()}
}

type limitListener struct {
	net.Listener
	max        int
	evictAfter time.Duration
	freed      chan struct{} // a token is sent (non-blocking) when a slot frees
	done       chan struct{} // closed by Close
	closeOnce  sync.Once

	mu   sync.Mutex
	open *list.List // of *limitConn, oldest first
}

// acquire waits for a free slot, evicting the oldest connection when allowed. It reports
// false once the listener is closed.
func (l *limitListener) acquire() bool {
	for {
		l.mu.Lock()
		if l.open.Len() < l.max {
			l.mu.Unlock()
			return true
		}
		var wait time.Duration
		var victim *limitConn
		if l.evictAfter > 0 {
			oldest := l.open.Front().Value.(*limitConn)
			if age := time.Since(oldest.start); age >= l.evictAfter {
				victim = oldest
			} else {
				wait = l.evictAfter - age
			}
		}
		l.mu.Unlock()
		if victim != nil {
			victim.Close() // frees its slot
			continue
		}
		var timer *time.Timer
		var expired <-chan time.Time
		if wait > 0 {
			timer = time.NewTimer(wait)
			expired = timer.C
		}
		select {
		case <-l.done:
			stop(timer)
			return false
		case <-l.freed:
		case <-expired:
		}
		stop(timer)
	}
}

func stop(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// Accept waits for a free slot, then for a connection.
func (l *limitListener) Accept() (net.Conn, error) {
	if !l.acquire() {
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	lc := &limitConn{Conn: c, l: l, start: time.Now()}
	l.mu.Lock()
	lc.elem = l.open.PushBack(lc)
	l.mu.Unlock()
	return lc, nil
}

// Close closes the underlying listener and wakes an Accept waiting for a slot. Accepted
// connections stay open.
func (l *limitListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

type limitConn struct {
	net.Conn
	l     *limitListener
	start time.Time
	elem  *list.Element
	once  sync.Once
}

// Close closes the connection and frees its slot (once, however often it is called).
func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		c.l.open.Remove(c.elem)
		c.l.mu.Unlock()
		select {
		case c.l.freed <- struct{}{}:
		default:
		}
	})
	return err
}
