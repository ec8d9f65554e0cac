package storagetest

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/kfbot/kfbot/storage"
)

// Counting wraps a store and counts the calls made to it: how many store operations an
// engine does (a [storage.Batch] counts as one write). Close is not counted.
type Counting struct {
	storage.Store
	// Reads and Writes count the calls that read and those that write.
	Reads, Writes atomic.Int64
	// Loads and Applies count, of those, the [storage.Batcher] calls.
	Loads, Applies atomic.Int64
}

// Ops returns Reads + Writes.
func (s *Counting) Ops() int64 { return s.Reads.Load() + s.Writes.Load() }

func (s *Counting) Cursor(ctx context.Context, a storage.Account) (string, error) {
	s.Reads.Add(1)
	return s.Store.Cursor(ctx, a)
}

func (s *Counting) SetCursor(ctx context.Context, a storage.Account, c string) error {
	s.Writes.Add(1)
	return s.Store.SetCursor(ctx, a, c)
}

func (s *Counting) FirstSeen(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	s.Writes.Add(1)
	return s.Store.FirstSeen(ctx, id, ttl)
}

func (s *Counting) Seen(ctx context.Context, id string) (bool, error) {
	s.Reads.Add(1)
	return s.Store.Seen(ctx, id)
}

func (s *Counting) Session(ctx context.Context, c storage.Conversation) (*storage.Session, error) {
	s.Reads.Add(1)
	return s.Store.Session(ctx, c)
}

func (s *Counting) PutSession(ctx context.Context, sess *storage.Session, ttl time.Duration) error {
	s.Writes.Add(1)
	return s.Store.PutSession(ctx, sess, ttl)
}

func (s *Counting) DeleteSession(ctx context.Context, c storage.Conversation) error {
	s.Writes.Add(1)
	return s.Store.DeleteSession(ctx, c)
}

func (s *Counting) SendState(ctx context.Context, id string) (storage.SendState, error) {
	s.Reads.Add(1)
	return s.Store.SendState(ctx, id)
}

func (s *Counting) SetSendState(ctx context.Context, id string, st storage.SendState, ttl time.Duration) error {
	s.Writes.Add(1)
	return s.Store.SetSendState(ctx, id, st, ttl)
}

func (s *Counting) Load(ctx context.Context, l *storage.Lookup) error {
	s.Reads.Add(1)
	s.Loads.Add(1)
	return s.Store.Load(ctx, l)
}

func (s *Counting) Apply(ctx context.Context, b *storage.Batch) error {
	s.Writes.Add(1)
	s.Applies.Add(1)
	return s.Store.Apply(ctx, b)
}

func (s *Counting) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (storage.Lease, error) {
	s.Writes.Add(1)
	return s.Store.AcquireLease(ctx, name, owner, ttl)
}

func (s *Counting) RenewLease(ctx context.Context, name, owner string, ttl time.Duration) (storage.Lease, error) {
	s.Writes.Add(1)
	return s.Store.RenewLease(ctx, name, owner, ttl)
}

func (s *Counting) ReleaseLease(ctx context.Context, name, owner string) error {
	s.Writes.Add(1)
	return s.Store.ReleaseLease(ctx, name, owner)
}

func (s *Counting) BeginSend(ctx context.Context, id string, ttl time.Duration) (storage.SendState, error) {
	s.Writes.Add(1)
	return s.Store.BeginSend(ctx, id, ttl)
}

// CountingInbox is a [Counting] store that also counts the [storage.InboxStore] calls of
// a store that has an inbox. Make it with [Counting.WithInbox].
type CountingInbox struct {
	*Counting
	inbox storage.InboxStore
}

// WithInbox returns s as a store that keeps the wrapped store's inbox: a *CountingInbox
// when the wrapped store implements [storage.InboxStore], s itself otherwise (so a store
// without an inbox does not seem to have one).
func (s *Counting) WithInbox() storage.Store {
	if is, ok := s.Store.(storage.InboxStore); ok {
		return &CountingInbox{Counting: s, inbox: is}
	}
	return s
}

// Inbox implements [storage.InboxStore], counting a read.
func (s *CountingInbox) Inbox(ctx context.Context, a storage.Account) ([]storage.InboxEntry, error) {
	s.Reads.Add(1)
	return s.inbox.Inbox(ctx, a)
}

// Memo implements [storage.InboxStore], counting a read.
func (s *CountingInbox) Memo(ctx context.Context, key string) ([]byte, error) {
	s.Reads.Add(1)
	return s.inbox.Memo(ctx, key)
}

// PutMemo implements [storage.InboxStore], counting a write.
func (s *CountingInbox) PutMemo(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	s.Writes.Add(1)
	return s.inbox.PutMemo(ctx, key, value, ttl)
}
