package kftest

import "time"

// What the server forgets, and when.
//
// Every sync_msg the server serves marks the position the request started
// at (its cursor's position, or for a request without a cursor the first
// item of the last 3 days) as live for the retention ([WithRetention]). A
// position handed out as next_cursor is at or after the start of the
// request that handed it out, so it is covered by that mark. The items
// before the lowest live position — and before the highest next_cursor ever
// handed out, so that items nobody has read yet are never dropped — are
// forgotten. A cursor that was handed out or presented within the retention
// therefore always works; an older one works as long as some newer live
// cursor still holds its position, and otherwise gets
// [ErrCodeCursorExpired].

// liveMark keeps log positions from pos on until exp.
type liveMark struct {
	exp time.Time
	pos int
}

// markGrains is how many expiry slots one retention is divided into: marks
// whose expiries fall into one slot share it, so an account keeps at most
// markGrains+2 marks however many pages are served.
const markGrains = 64

// retentionGrain is the width of one expiry slot.
func (s *Server) retentionGrain() time.Duration {
	return max(s.cfg.retention/markGrains, 1)
}

// markLocked records that a sync_msg at now started at the absolute log
// position start and handed out the cursor at end, then forgets what no
// usable cursor can reach any more.
func (s *Server) markLocked(a *account, now time.Time, start, end int) {
	a.handed = max(a.handed, end)
	// Round the expiry up to the next slot boundary: later, never earlier.
	grain := s.retentionGrain()
	exp := now.Add(s.cfg.retention)
	if r := exp.Sub(exp.Truncate(grain)); r > 0 {
		exp = exp.Add(grain - r)
	}
	if n := len(a.live); n > 0 && a.live[n-1].exp.After(exp) {
		exp = a.live[n-1].exp // a clock that went back: keep expiries in order
	}
	// A mark at a position at or after the new one that expires no later is
	// redundant: the new mark holds its position at least as long.
	for n := len(a.live); n > 0 && a.live[n-1].pos >= start; n-- {
		a.live = a.live[:n-1]
	}
	if n := len(a.live); n == 0 || !a.live[n-1].exp.Equal(exp) {
		a.live = append(a.live, liveMark{exp: exp, pos: start})
	}
	s.forgetLocked(a, now)
}

// forgetLocked drops expired marks and the items before the lowest position
// still usable.
func (s *Server) forgetLocked(a *account, now time.Time) {
	i := 0
	for i < len(a.live) && !now.Before(a.live[i].exp) {
		i++
	}
	if i > 0 {
		a.live = append(a.live[:0], a.live[i:]...)
	}
	keep := a.handed
	if len(a.live) > 0 {
		keep = min(keep, a.live[0].pos)
	}
	if drop := keep - a.base; drop > 0 {
		// Reslicing keeps the dropped entries in the backing array until
		// the next append outgrows it and copies only what is retained.
		// They are not cleared: a response being written outside the lock
		// may still read them.
		a.log = a.log[drop:]
		a.base = keep
		s.forgotten += uint64(drop)
	}
}

// Stats is a snapshot of how much state a [Server] holds, to check that a
// long run stays bounded.
type Stats struct {
	// Items is the number of msg_list items retained, over all accounts.
	Items int
	// ForgottenItems is the number of items forgotten so far because no
	// usable cursor could reach them (see [WithRetention]).
	ForgottenItems uint64
	// MsgIDs is the number of outbound msgids remembered to reject
	// duplicates, over all accounts.
	MsgIDs int
	// Sent is the number of recorded sends ([Server.Sent]); [Server.ResetSent]
	// clears them.
	Sent int
	// Sessions is the number of (account, customer) sessions.
	Sessions int
	// Customers is the number of customers known to kf/customer/batchget.
	Customers int
	// EventCodes is the number of send_msg_on_event codes kept (expired
	// ones are swept as new ones are issued).
	EventCodes int
	// Media is the number of uploaded media kept.
	Media int
}

// Stats returns how much state the server holds now. Safe for concurrent
// use.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		ForgottenItems: s.forgotten,
		Sent:           len(s.sent),
		Customers:      len(s.customers),
		EventCodes:     len(s.codes),
		Media:          len(s.media),
	}
	for _, a := range s.accountOrder {
		st.Items += len(a.log)
		st.MsgIDs += len(a.msgIDs)
		st.Sessions += len(a.sessions)
	}
	return st
}
