package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kfbot/kfbot/kf/kftest"
)

const (
	customerPrefix = "wmKfbench"
	accountPrefix  = "wkKfbench"
	replyPrefix    = "re:"
	kftestMsgID    = "from_msgid_" // kftest's msgids: from_msgid_<n>, n counting from 1
)

// customerName is the external_userid of customer i after gen replacements (see
// tally.replace).
func customerName(i, gen int) string {
	if gen == 0 {
		return fmt.Sprintf("%s%06d", customerPrefix, i)
	}
	return fmt.Sprintf("%s%06dg%d", customerPrefix, i, gen)
}
func accountName(i int) string { return fmt.Sprintf("%s%03d", accountPrefix, i) }

// customer is one simulated WeChat user (a slot: a customer who gives up is replaced by a
// new one, see tally.replace): its unanswered messages and when each was sent.
type customer struct {
	index int
	kf    string // open_kfid
	rng   *rand.Rand

	mu   sync.Mutex
	id   string               // external_userid
	gen  int                  // replacements so far
	out  map[string]time.Time // msgid → just before it was appended
	done chan struct{}        // gets a value when out becomes empty
}

// tally counts the replies kftest accepts: latency, first replies, duplicates and
// replies that answer nothing this harness sent. It is safe for concurrent use.
type tally struct {
	customers []*customer
	hist      histogram

	measuring  atomic.Bool
	sent       atomic.Int64 // customer messages appended
	answered   atomic.Int64 // first replies
	window     atomic.Int64 // first replies while measuring
	duplicates atomic.Int64
	unexpected atomic.Int64

	bitsMu sync.Mutex
	bits   []uint64 // msg numbers that got a reply

	abMu      sync.Mutex
	abandoned map[string]time.Time // unanswered messages of customers who gave up
	late      atomic.Int64         // replies to such messages that came later
	replaced  atomic.Int64         // customers who gave up

	waitMu  sync.Mutex
	waiters []waiter
	nwait   atomic.Int32
}

type waiter struct {
	n  int64
	ch chan struct{}
}

// newTally creates n customers spread round-robin over accounts KF accounts; each has a
// random source derived from seed for the texts it sends.
func newTally(n, accounts int, seed int64) *tally {
	t := &tally{customers: make([]*customer, n), abandoned: make(map[string]time.Time)}
	for i := range t.customers {
		t.customers[i] = &customer{
			index: i,
			id:    customerName(i, 0),
			kf:    accountName(i % accounts),
			rng:   rand.New(rand.NewPCG(uint64(seed), uint64(i))),
			out:   make(map[string]time.Time, 8),
			done:  make(chan struct{}, 1),
		}
	}
	return t
}

func (t *tally) customer(externalUserID string) *customer {
	s, ok := strings.CutPrefix(externalUserID, customerPrefix)
	if !ok {
		return nil
	}
	s, _, _ = strings.Cut(s, "g")
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i >= len(t.customers) {
		return nil
	}
	return t.customers[i]
}

// appendBurst appends n texts from c to the fake, recording when each was sent. It holds
// c's lock throughout, so that a reply cannot be counted before its message is recorded.
func (t *tally) appendBurst(srv *kftest.Server, c *customer, n int, text func(*rand.Rand) string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for range n {
		s := text(c.rng)
		t0 := time.Now()
		id := srv.AddText(c.kf, c.id, s)
		c.out[id] = t0
	}
	t.sent.Add(int64(n))
}

// outstanding returns how many of c's messages have no reply yet.
func (c *customer) outstanding() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.out)
}

// parseReply returns the msgid a reply answers: the text is "re:<msgid>[ anything]".
func parseReply(text string) (string, bool) {
	s, ok := strings.CutPrefix(text, replyPrefix)
	if !ok {
		return "", false
	}
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	return s, s != ""
}

// msgNumber returns n of kftest's "from_msgid_<n>".
func msgNumber(msgID string) (int, bool) {
	s, ok := strings.CutPrefix(msgID, kftestMsgID)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

// markAnswered records a reply to message n and reports whether it is the first.
func (t *tally) markAnswered(n int) bool {
	t.bitsMu.Lock()
	defer t.bitsMu.Unlock()
	w := n / 64
	if w >= len(t.bits) {
		t.bits = append(t.bits, make([]uint64, w+1-len(t.bits)+len(t.bits)/2)...)
	}
	bit := uint64(1) << (n % 64)
	if t.bits[w]&bit != 0 {
		return false
	}
	t.bits[w] |= bit
	return true
}

// onSend is the kftest OnSend hook.
func (t *tally) onSend(s kftest.Sent) {
	now := time.Now()
	msgID, ok := parseReply(s.Text)
	c := t.customer(s.ToUser)
	n, okN := msgNumber(msgID)
	if !ok || !okN || c == nil {
		t.unexpected.Add(1)
		return
	}
	if !t.markAnswered(n) {
		t.duplicates.Add(1)
		return
	}
	// A message is counted answered before it leaves the outstanding sets, so a run that
	// finds nothing outstanding also finds every answer counted, even while this hook is
	// still returning.
	var answered int64
	c.mu.Lock()
	t0, mine := c.out[msgID]
	if mine {
		answered = t.answered.Add(1)
		delete(c.out, msgID)
	}
	empty := mine && len(c.out) == 0
	if !mine {
		t.abMu.Lock()
		if t0, mine = t.abandoned[msgID]; mine {
			answered = t.answered.Add(1)
			delete(t.abandoned, msgID)
			t.late.Add(1)
		}
		t.abMu.Unlock()
	}
	c.mu.Unlock()
	if !mine {
		t.unexpected.Add(1) // a first reply, but to a message this customer never sent
		return
	}
	if t.measuring.Load() {
		t.hist.record(now.Sub(t0))
		t.window.Add(1)
	}
	if empty {
		select {
		case c.done <- struct{}{}:
		default:
		}
	}
	if t.nwait.Load() > 0 {
		t.notify(answered)
	}
}

// notify wakes the waiters of reached whose count has been reached.
func (t *tally) notify(a int64) {
	t.waitMu.Lock()
	defer t.waitMu.Unlock()
	kept := t.waiters[:0]
	for _, w := range t.waiters {
		if a >= w.n {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	t.waiters = kept
	t.nwait.Store(int32(len(kept)))
}

// reached returns a channel closed once at least n messages have been answered.
func (t *tally) reached(n int64) <-chan struct{} {
	ch := make(chan struct{})
	t.waitMu.Lock()
	defer t.waitMu.Unlock()
	t.waiters = append(t.waiters, waiter{n: n, ch: ch})
	t.nwait.Store(int32(len(t.waiters)))
	if t.answered.Load() >= n { // a reply counted before nwait was set
		t.waiters = t.waiters[:len(t.waiters)-1]
		t.nwait.Store(int32(len(t.waiters)))
		close(ch)
	}
	return ch
}

// replace gives up on c's unanswered messages — they stay lost unless a reply comes
// later — and puts a new customer (a new external_userid) in c's place, so that the
// stream goes on without any customer having more than 5 unanswered messages.
func (t *tally) replace(c *customer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t.abMu.Lock()
	for id, t0 := range c.out {
		t.abandoned[id] = t0
	}
	t.abMu.Unlock()
	clear(c.out)
	c.gen++
	c.id = customerName(c.index, c.gen)
	t.replaced.Add(1)
}

// lost counts messages still without a reply.
func (t *tally) lost() int64 {
	var n int64
	for _, c := range t.customers {
		n += int64(c.outstanding())
	}
	t.abMu.Lock()
	defer t.abMu.Unlock()
	return n + int64(len(t.abandoned))
}

// lostIDs returns up to limit msgids still without a reply, for diagnosis.
func (t *tally) lostIDs(limit int) []string {
	var ids []string
	for _, c := range t.customers {
		c.mu.Lock()
		for id := range c.out {
			if len(ids) < limit {
				ids = append(ids, id)
			}
		}
		c.mu.Unlock()
	}
	t.abMu.Lock()
	for id := range t.abandoned {
		if len(ids) < limit {
			ids = append(ids, id)
		}
	}
	t.abMu.Unlock()
	slices.SortFunc(ids, func(a, b string) int {
		x, _ := msgNumber(a)
		y, _ := msgNumber(b)
		return x - y
	})
	return ids
}

// Counts is the exactly-once accounting every result carries: each reply is matched to the
// message it answers (its text names the inbound msgid).
type Counts struct {
	Sent       int64    `json:"sent"`
	Answered   int64    `json:"answered"`
	Lost       int64    `json:"lost"`
	Duplicated int64    `json:"duplicated"`
	Unexpected int64    `json:"unexpected"`
	PokeErrors int64    `json:"poke_errors"` // callbacks refused (for crash: while kfbot was down)
	Repokes    int64    `json:"repokes"`
	GaveUp     int64    `json:"gave_up"` // customers who stopped waiting and were replaced
	Late       int64    `json:"late"`    // replies that came after their customer gave up
	LostIDs    []string `json:"lost_ids,omitempty"`
}

// collect copies the driver's counts, except Lost and LostIDs, which the run sets when it
// finishes draining.
func (c *Counts) collect(d *driver) {
	c.Sent = d.t.sent.Load()
	c.Answered = d.t.answered.Load()
	c.Duplicated = d.t.duplicates.Load()
	c.Unexpected = d.t.unexpected.Load()
	c.PokeErrors = d.pokeErrors.Load()
	c.Repokes = d.repokes.Load()
	c.GaveUp = d.t.replaced.Load()
	c.Late = d.t.late.Load()
}
