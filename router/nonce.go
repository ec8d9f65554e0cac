package router

import (
	"sync"
	"time"
)

// nonceSet remembers accepted (nonce, timestamp) pairs until their window ends, so a
// captured callback cannot be replayed. It holds at most max entries: when full, the
// oldest is forgotten first (a replay of it would only cause one harmless extra pull).
type nonceSet struct {
	mu    sync.Mutex
	max   int
	seen  map[string]int64 // key → expiry, unix nanoseconds
	order []nonceEntry     // insertion order, a queue from head
	head  int
}

type nonceEntry struct {
	key     string
	expires int64
}

func newNonceSet(max int) *nonceSet {
	return &nonceSet{max: max, seen: make(map[string]int64)}
}

// add records key until expires and reports whether it was new.
func (s *nonceSet) add(key string, expires, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := now.UnixNano()
	s.evict(n)
	if exp, ok := s.seen[key]; ok && exp > n {
		return false
	}
	for len(s.seen) >= s.max && s.head < len(s.order) {
		s.pop()
	}
	e := expires.UnixNano()
	s.seen[key] = e
	s.order = append(s.order, nonceEntry{key: key, expires: e})
	return true
}

// evict drops entries from the head whose time has passed. Timestamps inside the window
// arrive roughly in order, so the head holds the oldest.
func (s *nonceSet) evict(now int64) {
	for s.head < len(s.order) && s.order[s.head].expires <= now {
		s.pop()
	}
	if s.head > 1024 && s.head*2 > len(s.order) {
		s.order = append(s.order[:0], s.order[s.head:]...)
		s.head = 0
	}
}

func (s *nonceSet) pop() {
	e := s.order[s.head]
	s.order[s.head] = nonceEntry{}
	s.head++
	if exp, ok := s.seen[e.key]; ok && exp == e.expires {
		delete(s.seen, e.key)
	}
}

// forget drops key, so that a retry of a callback the router could not take (its record
// failed) is not refused as a replay. Its queue entry stays and is skipped when popped.
func (s *nonceSet) forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.seen, key)
}
