package badgerstore

import (
	"context"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/kfbot/kfbot/storage"
)

// Key kinds of the callback notifications ([storage.CallbackStore]).
const (
	kindCallbackSeen    byte = 'k' // notification key → expiry: recorded (pending or handled)
	kindCallbackPending byte = 'p' // notification key → expiry + storage.CallbackEntry binary, until handled
)

var _ storage.CallbackStore = (*Store)(nil)

// RecordCallback implements [storage.CallbackStore]: the mark and the pending entry are
// written in one transaction after reading the mark, retried on a conflict (which then
// sees the winner's mark).
func (s *Store) RecordCallback(ctx context.Context, e storage.CallbackEntry, ttl time.Duration) (bool, error) {
	if err := storage.CheckCallbackEntry(&e); err != nil {
		return false, fmt.Errorf("badgerstore: record callback: %w", err)
	}
	if ttl <= 0 {
		ttl = storage.DefaultCallbackTTL
	}
	if err := s.beginWrite(ctx); err != nil {
		return false, fmt.Errorf("badgerstore: record callback: %w", err)
	}
	defer s.mu.RUnlock()
	seen := idKey(kindCallbackSeen, e.Key)
	var recorded bool
	err := s.update(ctx, func(txn *badger.Txn, now time.Time) error {
		recorded = false
		if ok, err := liveKey(txn, seen, now); err != nil || ok {
			return err
		}
		exp := appendExpiry(nil, now.Add(ttl))
		v, err := e.AppendBinary(appendExpiry(make([]byte, 0, 64+len(e.Payload)), now.Add(ttl)))
		if err != nil {
			return err
		}
		if err := txn.SetEntry(entry(seen, exp, ttl)); err != nil {
			return err
		}
		recorded = true
		return txn.SetEntry(entry(idKey(kindCallbackPending, e.Key), v, ttl))
	})
	if err != nil {
		return false, fmt.Errorf("badgerstore: record callback %s: %w", e.Key, err)
	}
	return recorded, nil
}

// PendingCallbacks implements [storage.CallbackStore]: one prefix scan of the pending
// entries (handled ones are deleted, so it reads only what waits).
func (s *Store) PendingCallbacks(ctx context.Context) ([]storage.CallbackEntry, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fmt.Errorf("badgerstore: pending callbacks: %w", err)
	}
	defer s.mu.RUnlock()
	now := s.now()
	prefix := idKey(kindCallbackPending, "")
	var out []storage.CallbackEntry
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			key := string(item.Key()[len(prefix):])
			err := item.Value(func(v []byte) error {
				exp, payload, err := splitValue(v)
				if err != nil || !live(exp, now) {
					return err
				}
				e, err := storage.DecodeCallbackEntry(key, payload)
				if err == nil {
					out = append(out, e)
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("entry %s: %w", key, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: pending callbacks: %w", err)
	}
	storage.SortCallbacks(out)
	return out, nil
}

// CallbackHandled implements [storage.CallbackStore].
func (s *Store) CallbackHandled(ctx context.Context, key string) error {
	if key == "" {
		return fmt.Errorf("badgerstore: callback handled: %w", errEmptyID)
	}
	if err := s.beginWrite(ctx); err != nil {
		return fmt.Errorf("badgerstore: callback handled: %w", err)
	}
	defer s.mu.RUnlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Delete(idKey(kindCallbackPending, key))
	})
	if err != nil {
		return fmt.Errorf("badgerstore: callback handled %s: %w", key, err)
	}
	return nil
}
