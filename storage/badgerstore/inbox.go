package badgerstore

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/kfbot/kfbot/storage"
)

// Key kinds of the inbox and memos ([storage.InboxStore]).
const (
	kindInbox byte = 'i' // (corp, open_kfid, external_userid, seq as 8 bytes) → expiry + storage.InboxEntry binary
	kindMemo  byte = 'm' // memo key → expiry + value
)

var _ storage.InboxStore = (*Store)(nil)

// inboxPrefix is the key prefix of account a's inbox entries.
func inboxPrefix(a storage.Account) []byte { return tupleKey(kindInbox, a.CorpID, a.OpenKFID, "") }

// inboxKey is the key of the entry of c with sequence seq.
func inboxKey(c storage.Conversation, seq uint64) []byte {
	var s [8]byte
	binary.BigEndian.PutUint64(s[:], seq)
	return tupleKey(kindInbox, c.CorpID, c.OpenKFID, c.ExternalUserID, string(s[:]))
}

// parseInboxKey reads the customer and sequence after the account's prefix.
func parseInboxKey(rest []byte) (externalUserID string, seq uint64, err error) {
	l, n := binary.Uvarint(rest)
	if n <= 0 || l > uint64(len(rest)-n) || len(rest)-n-int(l) != 8 {
		return "", 0, fmt.Errorf("%w: inbox key", errBadValue)
	}
	return string(rest[n : n+int(l)]), binary.BigEndian.Uint64(rest[n+int(l):]), nil
}

// parkEntries writes b's Park and removes its Unpark entries inside txn.
func parkEntries(txn *badger.Txn, b *storage.Batch, now time.Time) error {
	for i := range b.Park {
		e := &b.Park[i]
		v, err := e.AppendBinary(appendExpiry(make([]byte, 0, 64+len(e.Message)), now.Add(b.DedupTTL)))
		if err != nil {
			return err
		}
		if err := txn.SetEntry(entry(inboxKey(e.Conversation, e.Seq), v, b.DedupTTL)); err != nil {
			return err
		}
	}
	for _, e := range b.Unpark {
		if err := txn.Delete(inboxKey(e.Conversation, e.Seq)); err != nil {
			return err
		}
	}
	return nil
}

// Inbox implements [storage.InboxStore]: one prefix scan of the account's entries.
func (s *Store) Inbox(ctx context.Context, a storage.Account) ([]storage.InboxEntry, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fmt.Errorf("badgerstore: inbox: %w", err)
	}
	defer s.mu.RUnlock()
	now := s.now()
	prefix := inboxPrefix(a)
	var out []storage.InboxEntry
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			ext, seq, err := parseInboxKey(item.Key()[len(prefix):])
			if err != nil {
				return err
			}
			conv := storage.Conversation{CorpID: a.CorpID, OpenKFID: a.OpenKFID, ExternalUserID: ext}
			err = item.Value(func(v []byte) error {
				exp, payload, err := splitValue(v)
				if err != nil || !live(exp, now) {
					return err
				}
				e, err := storage.DecodeInboxEntry(conv, seq, payload)
				if err == nil {
					out = append(out, e)
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("entry %s/%d: %w", ext, seq, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: inbox of %s/%s: %w", a.CorpID, a.OpenKFID, err)
	}
	storage.SortInbox(out) // keys sort by length-prefixed customer, not by the customer alone
	return out, nil
}

// Memo implements [storage.InboxStore].
func (s *Store) Memo(ctx context.Context, key string) ([]byte, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fmt.Errorf("badgerstore: memo: %w", err)
	}
	defer s.mu.RUnlock()
	now := s.now()
	var out []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(idKey(kindMemo, key))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return storage.ErrNotFound
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			exp, payload, err := splitValue(v)
			if err != nil {
				return err
			}
			if !live(exp, now) {
				return storage.ErrNotFound
			}
			out = append([]byte{}, payload...)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: memo %q: %w", key, err)
	}
	return out, nil
}

// PutMemo implements [storage.InboxStore].
func (s *Store) PutMemo(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if key == "" {
		return fmt.Errorf("badgerstore: put memo: empty key")
	}
	if ttl <= 0 {
		ttl = storage.DefaultDedupTTL
	}
	if err := s.beginWrite(ctx); err != nil {
		return fmt.Errorf("badgerstore: put memo: %w", err)
	}
	defer s.mu.RUnlock()
	v := append(appendExpiry(make([]byte, 0, expiryLen+len(value)), s.now().Add(ttl)), value...)
	err := s.db.Update(func(txn *badger.Txn) error {
		return txn.SetEntry(entry(idKey(kindMemo, key), v, ttl))
	})
	if err != nil {
		return fmt.Errorf("badgerstore: put memo %q: %w", key, err)
	}
	return nil
}
