package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/kfbot/kfbot/storage"
)

// countingStore counts every call kfbot makes to its store: the store operations per
// message that issue 12 bounds (a batch counts as one write).
type countingStore struct {
	storage.Store
	reads, writes atomic.Int64
}

func (s *countingStore) Cursor(ctx context.Context, a storage.Account) (string, error) {
	s.reads.Add(1)
	return s.Store.Cursor(ctx, a)
}

func (s *countingStore) SetCursor(ctx context.Context, a storage.Account, c string) error {
	s.writes.Add(1)
	return s.Store.SetCursor(ctx, a, c)
}

func (s *countingStore) FirstSeen(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	s.writes.Add(1)
	return s.Store.FirstSeen(ctx, id, ttl)
}

func (s *countingStore) Seen(ctx context.Context, id string) (bool, error) {
	s.reads.Add(1)
	return s.Store.Seen(ctx, id)
}

func (s *countingStore) Session(ctx context.Context, c storage.Conversation) (*storage.Session, error) {
	s.reads.Add(1)
	return s.Store.Session(ctx, c)
}

func (s *countingStore) PutSession(ctx context.Context, sess *storage.Session, ttl time.Duration) error {
	s.writes.Add(1)
	return s.Store.PutSession(ctx, sess, ttl)
}

func (s *countingStore) DeleteSession(ctx context.Context, c storage.Conversation) error {
	s.writes.Add(1)
	return s.Store.DeleteSession(ctx, c)
}

func (s *countingStore) SendState(ctx context.Context, id string) (storage.SendState, error) {
	s.reads.Add(1)
	return s.Store.SendState(ctx, id)
}

func (s *countingStore) SetSendState(ctx context.Context, id string, st storage.SendState, ttl time.Duration) error {
	s.writes.Add(1)
	return s.Store.SetSendState(ctx, id, st, ttl)
}

func (s *countingStore) Load(ctx context.Context, l *storage.Lookup) error {
	s.reads.Add(1)
	return s.Store.Load(ctx, l)
}

func (s *countingStore) Apply(ctx context.Context, b *storage.Batch) error {
	s.writes.Add(1)
	return s.Store.Apply(ctx, b)
}

func (s *countingStore) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (storage.Lease, error) {
	s.writes.Add(1)
	return s.Store.AcquireLease(ctx, name, owner, ttl)
}

func (s *countingStore) RenewLease(ctx context.Context, name, owner string, ttl time.Duration) (storage.Lease, error) {
	s.writes.Add(1)
	return s.Store.RenewLease(ctx, name, owner, ttl)
}

func (s *countingStore) ReleaseLease(ctx context.Context, name, owner string) error {
	s.writes.Add(1)
	return s.Store.ReleaseLease(ctx, name, owner)
}

func (s *countingStore) BeginSend(ctx context.Context, id string, ttl time.Duration) (storage.SendState, error) {
	s.writes.Add(1)
	return s.Store.BeginSend(ctx, id, ttl)
}
