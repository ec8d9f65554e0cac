package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// MemoryOption configures [NewMemory].
type MemoryOption func(*Memory)

// WithClock sets the clock that decides expiry. Default (and nil): [time.Now].
func WithClock(now func() time.Time) MemoryOption {
	return func(m *Memory) {
		if now != nil {
			m.now = now
		}
	}
}

// Memory is a [Store] in process memory, for tests and examples (it loses the cursors on
// exit). Sessions are kept encoded, as a persistent store keeps them. Expired entries are
// invisible at once and swept a few per write.
type Memory struct {
	now func() time.Time

	mu       sync.Mutex
	closed   bool
	cursors  map[Account]string
	seen     table[string, struct{}]
	sessions table[Conversation, []byte] // encoded; data is never mutated
	sends    table[string, SendState]
	leases   table[string, Lease]
	turns    table[Conversation, *transcript] // expires with its last turn
	inbox    table[inboxKey, InboxEntry]      // Message never mutated
	memos    table[string, []byte]            // never mutated
	cbSeen   table[string, struct{}]          // recorded callback keys
	cbWait   table[string, CallbackEntry]     // pending callbacks; Payload never mutated
}

// inboxKey names an [InboxEntry] in [Memory].
type inboxKey struct {
	conv Conversation
	seq  uint64
}

// sweepStep is how many entries of each kind a write looks at for expiry: an entry is gone
// within (entries of its kind)/sweepStep writes of expiring, so memory stays bounded by the
// live entries, and no write holds the lock longer than 5×sweepStep checks.
const sweepStep = 2

var (
	errEmptyID    = errors.New("storage: empty id")
	errNilSession = errors.New("storage: nil session")
)

// NewMemory returns an empty in-memory store. It does no I/O.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{
		now:      time.Now,
		cursors:  make(map[Account]string),
		seen:     newTable[string, struct{}](),
		sessions: newTable[Conversation, []byte](),
		sends:    newTable[string, SendState](),
		leases:   newTable[string, Lease](),
		turns:    newTable[Conversation, *transcript](),
		inbox:    newTable[inboxKey, InboxEntry](),
		memos:    newTable[string, []byte](),
		cbSeen:   newTable[string, struct{}](),
		cbWait:   newTable[string, CallbackEntry](),
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

var (
	_ Store           = (*Memory)(nil)
	_ TranscriptStore = (*Memory)(nil)
	_ InboxStore      = (*Memory)(nil)
	_ CallbackStore   = (*Memory)(nil)
)

// lock takes the mutex unless ctx is done or the store is closed; on success the caller
// must unlock.
func (m *Memory) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	return nil
}

// wrote lets a write sweep a few entries of each kind. Called with mu held.
func (m *Memory) wrote(now time.Time) {
	m.seen.sweep(now, sweepStep)
	m.sessions.sweep(now, sweepStep)
	m.sends.sweep(now, sweepStep)
	m.leases.sweep(now, sweepStep)
	m.turns.sweep(now, sweepStep)
	m.inbox.sweep(now, sweepStep)
	m.memos.sweep(now, sweepStep)
	m.cbSeen.sweep(now, sweepStep)
	m.cbWait.sweep(now, sweepStep)
}

// Cursor implements [CursorStore].
func (m *Memory) Cursor(ctx context.Context, a Account) (string, error) {
	if err := m.lock(ctx); err != nil {
		return "", err
	}
	defer m.mu.Unlock()
	return m.cursors[a], nil
}

// SetCursor implements [CursorStore].
func (m *Memory) SetCursor(ctx context.Context, a Account, cursor string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.setCursorLocked(a, cursor)
	return nil
}

func (m *Memory) setCursorLocked(a Account, cursor string) {
	if cursor == "" {
		delete(m.cursors, a)
	} else {
		m.cursors[a] = cursor
	}
}

// FirstSeen implements [Deduper].
func (m *Memory) FirstSeen(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if id == "" {
		return false, errEmptyID
	}
	if ttl <= 0 {
		ttl = DefaultDedupTTL
	}
	if err := m.lock(ctx); err != nil {
		return false, err
	}
	defer m.mu.Unlock()
	now := m.now()
	if _, ok := m.seen.get(id, now); ok {
		return false, nil
	}
	m.seen.put(id, struct{}{}, now.Add(ttl))
	m.wrote(now)
	return true, nil
}

// Seen implements [Deduper].
func (m *Memory) Seen(ctx context.Context, id string) (bool, error) {
	if err := m.lock(ctx); err != nil {
		return false, err
	}
	defer m.mu.Unlock()
	_, ok := m.seen.get(id, m.now())
	return ok, nil
}

// Session implements [SessionStore].
func (m *Memory) Session(ctx context.Context, c Conversation) (*Session, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	data, live := m.sessions.get(c, m.now())
	m.mu.Unlock()
	if !live {
		return nil, ErrNotFound
	}
	s := new(Session)
	if err := s.UnmarshalBinary(data); err != nil { // data is never mutated: no lock needed
		return nil, fmt.Errorf("storage: get session: %w", err)
	}
	return s, nil
}

// PutSession implements [SessionStore].
func (m *Memory) PutSession(ctx context.Context, s *Session, ttl time.Duration) error {
	if s == nil {
		return errNilSession
	}
	if ttl <= 0 {
		ttl = DefaultSessionTTL
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := s.MarshalBinary()
	if err != nil {
		return fmt.Errorf("storage: put session: %w", err)
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	now := m.now()
	m.sessions.put(s.Conversation, data, now.Add(ttl))
	m.wrote(now)
	return nil
}

// DeleteSession implements [SessionStore].
func (m *Memory) DeleteSession(ctx context.Context, c Conversation) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.sessions.del(c)
	return nil
}

// SendState implements [SendLog].
func (m *Memory) SendState(ctx context.Context, msgID string) (SendState, error) {
	if err := m.lock(ctx); err != nil {
		return SendNone, err
	}
	defer m.mu.Unlock()
	st, _ := m.sends.get(msgID, m.now()) // SendNone when absent
	return st, nil
}

// SetSendState implements [SendLog].
func (m *Memory) SetSendState(ctx context.Context, msgID string, st SendState, ttl time.Duration) error {
	if msgID == "" {
		return errEmptyID
	}
	if !st.Valid() {
		return fmt.Errorf("storage: set send state: invalid state %d", st)
	}
	if ttl <= 0 {
		ttl = DefaultDedupTTL
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if st == SendNone {
		m.sends.del(msgID)
		return nil
	}
	now := m.now()
	m.sends.put(msgID, st, now.Add(ttl))
	m.wrote(now)
	return nil
}

// AcquireLease implements [Leaser].
func (m *Memory) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (Lease, error) {
	if err := CheckLease(name, owner, ttl); err != nil {
		return Lease{}, err
	}
	if err := m.lock(ctx); err != nil {
		return Lease{}, err
	}
	defer m.mu.Unlock()
	now := m.now()
	if l, ok := m.leases.get(name, now); ok && l.Owner != owner {
		return Lease{}, fmt.Errorf("storage: acquire lease %q: held by %q until %s: %w",
			name, l.Owner, l.Expires.Format(time.RFC3339), ErrLeaseHeld)
	}
	l := Lease{Name: name, Owner: owner, Expires: now.Add(ttl)}
	m.leases.put(name, l, l.Expires)
	m.wrote(now)
	return l, nil
}

// RenewLease implements [Leaser].
func (m *Memory) RenewLease(ctx context.Context, name, owner string, ttl time.Duration) (Lease, error) {
	if err := CheckLease(name, owner, ttl); err != nil {
		return Lease{}, err
	}
	if err := m.lock(ctx); err != nil {
		return Lease{}, err
	}
	defer m.mu.Unlock()
	now := m.now()
	if l, ok := m.leases.get(name, now); !ok || l.Owner != owner {
		return Lease{}, fmt.Errorf("storage: renew lease %q for %q: %w", name, owner, ErrLeaseNotHeld)
	}
	l := Lease{Name: name, Owner: owner, Expires: now.Add(ttl)}
	m.leases.put(name, l, l.Expires)
	return l, nil
}

// ReleaseLease implements [Leaser].
func (m *Memory) ReleaseLease(ctx context.Context, name, owner string) error {
	if err := CheckLeaseOwner(name, owner); err != nil {
		return err
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if l, ok := m.leases.m[name]; ok && l.v.Owner == owner {
		m.leases.del(name)
	}
	return nil
}

// Close drops the contents. It is idempotent and always returns nil; afterwards every
// other method returns [ErrClosed].
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		m.cursors = nil
		m.seen, m.sessions, m.sends, m.leases = table[string, struct{}]{}, table[Conversation, []byte]{}, table[string, SendState]{}, table[string, Lease]{}
		m.turns = table[Conversation, *transcript]{}
	}
	return nil
}

// Apply implements [Batcher].
func (m *Memory) Apply(ctx context.Context, b *Batch) error {
	if err := CheckBatch(b); err != nil {
		return err
	}
	data := make([][]byte, len(b.Sessions))
	for i, s := range b.Sessions {
		var err error
		if data[i], err = s.MarshalBinary(); err != nil {
			return fmt.Errorf("storage: apply: put session: %w", err)
		}
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	now := m.now()
	for i, s := range b.Sessions {
		m.sessions.put(s.Conversation, data[i], now.Add(b.SessionTTL))
	}
	for _, id := range b.Seen {
		m.seen.put(id, struct{}{}, now.Add(b.DedupTTL))
	}
	for _, id := range b.Sent {
		m.sends.put(id, SendDone, now.Add(b.DedupTTL))
	}
	for _, id := range b.Pending {
		m.sends.put(id, SendPending, now.Add(b.DedupTTL))
	}
	for _, e := range b.Park {
		e.Message = bytes.Clone(e.Message)
		m.inbox.put(inboxKey{e.Conversation, e.Seq}, e, now.Add(b.DedupTTL))
	}
	for _, e := range b.Unpark {
		m.inbox.del(inboxKey{e.Conversation, e.Seq})
	}
	if c := b.Cursor; c != nil {
		m.setCursorLocked(c.Account, c.Cursor)
	}
	m.wrote(now)
	return nil
}

// Load implements [Batcher].
func (m *Memory) Load(ctx context.Context, l *Lookup) error {
	if err := CheckLookup(l); err != nil {
		return err
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	now := m.now()
	for i, id := range l.Seen {
		_, l.SeenFound[i] = m.seen.get(id, now)
	}
	for i, id := range l.Sends {
		l.SendsFound[i], _ = m.sends.get(id, now) // SendNone when absent
	}
	data := make([][]byte, len(l.Sessions))
	for i, c := range l.Sessions {
		if d, live := m.sessions.get(c, now); live {
			data[i] = d
		}
	}
	m.mu.Unlock()
	for i, d := range data { // stored data is never mutated: no lock needed
		if d == nil {
			continue
		}
		s := new(Session)
		if err := s.UnmarshalBinary(d); err != nil {
			return fmt.Errorf("storage: load session: %w", err)
		}
		l.SessionsFound[i] = s
	}
	return nil
}

// BeginSend implements [SendLog].
func (m *Memory) BeginSend(ctx context.Context, msgID string, ttl time.Duration) (SendState, error) {
	if msgID == "" {
		return SendNone, errEmptyID
	}
	if ttl <= 0 {
		ttl = DefaultDedupTTL
	}
	if err := m.lock(ctx); err != nil {
		return SendNone, err
	}
	defer m.mu.Unlock()
	now := m.now()
	if st, ok := m.sends.get(msgID, now); ok {
		return st, nil
	}
	m.sends.put(msgID, SendPending, now.Add(ttl))
	m.wrote(now)
	return SendNone, nil
}

// Inbox implements [InboxStore]. It looks at every entry of the store, which the
// engine asks once per account when it starts pulling it.
func (m *Memory) Inbox(ctx context.Context, a Account) ([]InboxEntry, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	now := m.now()
	var out []InboxEntry
	for k := range m.inbox.m {
		if k.conv.CorpID != a.CorpID || k.conv.OpenKFID != a.OpenKFID {
			continue
		}
		if e, ok := m.inbox.get(k, now); ok {
			e.Message = bytes.Clone(e.Message)
			out = append(out, e)
		}
	}
	m.mu.Unlock()
	SortInbox(out)
	return out, nil
}

// Memo implements [InboxStore].
func (m *Memory) Memo(ctx context.Context, key string) ([]byte, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	v, ok := m.memos.get(key, m.now())
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("storage: memo %q: %w", key, ErrNotFound)
	}
	return bytes.Clone(v), nil
}

// PutMemo implements [InboxStore].
func (m *Memory) PutMemo(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if key == "" {
		return errEmptyID
	}
	if ttl <= 0 {
		ttl = DefaultDedupTTL
	}
	value = bytes.Clone(value)
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	now := m.now()
	m.memos.put(key, value, now.Add(ttl))
	m.wrote(now)
	return nil
}

// RecordCallback implements [CallbackStore].
func (m *Memory) RecordCallback(ctx context.Context, e CallbackEntry, ttl time.Duration) (bool, error) {
	if err := CheckCallbackEntry(&e); err != nil {
		return false, err
	}
	if ttl <= 0 {
		ttl = DefaultCallbackTTL
	}
	e.Payload = bytes.Clone(e.Payload)
	if err := m.lock(ctx); err != nil {
		return false, err
	}
	defer m.mu.Unlock()
	now := m.now()
	if _, ok := m.cbSeen.get(e.Key, now); ok {
		return false, nil
	}
	m.cbSeen.put(e.Key, struct{}{}, now.Add(ttl))
	m.cbWait.put(e.Key, e, now.Add(ttl))
	m.wrote(now)
	return true, nil
}

// PendingCallbacks implements [CallbackStore]. It looks at every pending entry.
func (m *Memory) PendingCallbacks(ctx context.Context) ([]CallbackEntry, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	now := m.now()
	var out []CallbackEntry
	for k := range m.cbWait.m {
		if e, ok := m.cbWait.get(k, now); ok {
			e.Payload = bytes.Clone(e.Payload)
			out = append(out, e)
		}
	}
	m.mu.Unlock()
	SortCallbacks(out)
	return out, nil
}

// CallbackHandled implements [CallbackStore].
func (m *Memory) CallbackHandled(ctx context.Context, key string) error {
	if key == "" {
		return errEmptyID
	}
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.cbWait.del(key)
	m.wrote(m.now())
	return nil
}
