package storage

import (
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
// invisible at once and swept in amortised constant time per write.
type Memory struct {
	now func() time.Time

	mu       sync.Mutex
	closed   bool
	cursors  map[Account]string
	seen     map[string]time.Time // id → expiry
	sessions map[Conversation]memSession
	sends    map[string]memSend
	leases   map[string]Lease
	writes   int // writes since the last sweep
	sweepAt  int // writes that trigger the next sweep
}

type memSession struct {
	data    []byte
	expires time.Time
}

type memSend struct {
	state   SendState
	expires time.Time
}

// minSweep is the fewest writes between two sweeps.
const minSweep = 1024

var (
	errEmptyID    = errors.New("storage: empty id")
	errNilSession = errors.New("storage: nil session")
)

// NewMemory returns an empty in-memory store. It does no I/O.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{
		now:      time.Now,
		cursors:  make(map[Account]string),
		seen:     make(map[string]time.Time),
		sessions: make(map[Conversation]memSession),
		sends:    make(map[string]memSend),
		leases:   make(map[string]Lease),
		sweepAt:  minSweep,
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

var _ Store = (*Memory)(nil)

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

// wrote counts a write and sweeps expired entries once the writes since the last sweep
// reach the number of live entries (at least minSweep), which keeps the sweep's cost
// amortised constant per write. Called with mu held.
func (m *Memory) wrote(now time.Time) {
	m.writes++
	if m.writes < m.sweepAt {
		return
	}
	m.sweep(now)
	m.writes = 0
	m.sweepAt = max(minSweep, len(m.seen)+len(m.sessions)+len(m.sends)+len(m.leases))
}

func (m *Memory) sweep(now time.Time) {
	for k, exp := range m.seen {
		if !now.Before(exp) {
			delete(m.seen, k)
		}
	}
	for k, s := range m.sessions {
		if !now.Before(s.expires) {
			delete(m.sessions, k)
		}
	}
	for k, s := range m.sends {
		if !now.Before(s.expires) {
			delete(m.sends, k)
		}
	}
	for k, l := range m.leases {
		if !now.Before(l.Expires) {
			delete(m.leases, k)
		}
	}
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
	if cursor == "" {
		delete(m.cursors, a)
	} else {
		m.cursors[a] = cursor
	}
	return nil
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
	if exp, ok := m.seen[id]; ok && now.Before(exp) {
		return false, nil
	}
	m.seen[id] = now.Add(ttl)
	m.wrote(now)
	return true, nil
}

// Seen implements [Deduper].
func (m *Memory) Seen(ctx context.Context, id string) (bool, error) {
	if err := m.lock(ctx); err != nil {
		return false, err
	}
	defer m.mu.Unlock()
	exp, ok := m.seen[id]
	return ok && m.now().Before(exp), nil
}

// Session implements [SessionStore].
func (m *Memory) Session(ctx context.Context, c Conversation) (*Session, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	ms, ok := m.sessions[c]
	live := ok && m.now().Before(ms.expires)
	m.mu.Unlock()
	if !live {
		return nil, ErrNotFound
	}
	s := new(Session)
	if err := s.UnmarshalBinary(ms.data); err != nil { // data is never mutated: no lock needed
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
	m.sessions[s.Conversation] = memSession{data: data, expires: now.Add(ttl)}
	m.wrote(now)
	return nil
}

// DeleteSession implements [SessionStore].
func (m *Memory) DeleteSession(ctx context.Context, c Conversation) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	delete(m.sessions, c)
	return nil
}

// SendState implements [SendLog].
func (m *Memory) SendState(ctx context.Context, msgID string) (SendState, error) {
	if err := m.lock(ctx); err != nil {
		return SendNone, err
	}
	defer m.mu.Unlock()
	s, ok := m.sends[msgID]
	if !ok || !m.now().Before(s.expires) {
		return SendNone, nil
	}
	return s.state, nil
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
		delete(m.sends, msgID)
		return nil
	}
	now := m.now()
	m.sends[msgID] = memSend{state: st, expires: now.Add(ttl)}
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
	if l, ok := m.leases[name]; ok && l.Owner != owner && now.Before(l.Expires) {
		return Lease{}, fmt.Errorf("storage: acquire lease %q: held by %q until %s: %w",
			name, l.Owner, l.Expires.Format(time.RFC3339), ErrLeaseHeld)
	}
	l := Lease{Name: name, Owner: owner, Expires: now.Add(ttl)}
	m.leases[name] = l
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
	if l, ok := m.leases[name]; !ok || l.Owner != owner || !now.Before(l.Expires) {
		return Lease{}, fmt.Errorf("storage: renew lease %q for %q: %w", name, owner, ErrLeaseNotHeld)
	}
	l := Lease{Name: name, Owner: owner, Expires: now.Add(ttl)}
	m.leases[name] = l
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
	if l, ok := m.leases[name]; ok && l.Owner == owner {
		delete(m.leases, name)
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
		m.cursors, m.seen, m.sessions, m.sends, m.leases = nil, nil, nil, nil, nil
	}
	return nil
}
