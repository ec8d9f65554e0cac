package badgerstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/kfbot/kfbot/storage"
)

// Transcript keys. A conversation's turns sit under one prefix, ordered by time and then
// by insertion; a second key per turn, its identity, makes appends idempotent; a third
// key per conversation counts its turns, so that an append below the cap reads one key
// instead of the transcript.
//
//	turn:     [v, 't', conv…, 8-byte time, 8-byte insertion seq] → expiry + storage.Turn binary
//	identity: [v, 'u', conv…, uvarint(len(msgid)), msgid, uvarint(seq), kind(, 8-byte time if no msgid)]
//	          → expiry + the turn key's 16-byte suffix
//	counter:  [v, 'T', conv…] → uvarint(count) + uvarint(next insertion seq)
//	          + the 16-byte suffix of the oldest turn key present, when there is one
//
// conv… is the corp, open_kfid and external_userid, each length-prefixed as tupleKey
// does. Times are Unix nanoseconds with the sign bit flipped, so that they sort as
// numbers.
//
// Every key carries a Badger TTL (real clock) no shorter than its logical expiry; the
// counter's is the longest of its turns'. The count is never below the number of turns
// present: Badger may remove expired turns behind its back, so a count above the cap
// triggers a walk of the conversation that recounts it. The walk starts at the oldest
// turn present, which the counter remembers: the keys below it are the tombstones of
// turns trimmed before, which Badger keeps until compaction and an iterator would step
// over one by one.
const (
	kindTurn      byte = 't'
	kindTurnID    byte = 'u'
	kindTurnCount byte = 'T'
)

// turnSuffixLen is the length of the part of a turn key after the conversation.
const turnSuffixLen = 16

// maxTurnsPerTxn is how many turns AppendTurns first tries to write in one transaction;
// it halves the number on [badger.ErrTxnTooBig].
const maxTurnsPerTxn = 1024

// scanPage is how many turns ScanTurns reads in one read transaction before it calls fn
// (without holding the transaction).
const scanPage = 256

var _ storage.TranscriptStore = (*Store)(nil)

// convPrefix is the key prefix of kind for conv: each part length-prefixed.
func convPrefix(kind byte, c storage.Conversation) []byte {
	return tupleKey(kind, c.CorpID, c.OpenKFID, c.ExternalUserID, "")
}

func sortableNanos(t time.Time) uint64 { return uint64(unixNanos(t)) ^ 1<<63 }

// turnKey is the turn key of conv's turn at t, inserted as seq.
func turnKey(prefix []byte, t time.Time, seq uint64) []byte {
	k := make([]byte, 0, len(prefix)+turnSuffixLen)
	k = append(k, prefix...)
	k = binary.BigEndian.AppendUint64(k, sortableNanos(t))
	return binary.BigEndian.AppendUint64(k, seq)
}

// turnIDKey is the identity key of t.
func turnIDKey(t *storage.Turn) []byte {
	k := tupleKey(kindTurnID, t.CorpID, t.OpenKFID, t.ExternalUserID, t.MsgID, "")
	k = binary.AppendUvarint(k, uint64(t.Seq))
	k = append(k, byte(t.Kind))
	if t.MsgID == "" {
		k = binary.BigEndian.AppendUint64(k, sortableNanos(t.Time))
	}
	return k
}

// turnCount is a conversation's counter.
type turnCount struct {
	count, next uint64
	low         []byte // suffix of the oldest turn key present; nil: none or unknown
	expiresAt   uint64 // Badger's, Unix seconds
	trim, dirty bool   // over the cap; changed by this append
}

func decodeTurnCount(v []byte) (turnCount, error) {
	count, n := binary.Uvarint(v)
	if n <= 0 {
		return turnCount{}, fmt.Errorf("%w: turn count", errBadValue)
	}
	next, m := binary.Uvarint(v[n:])
	if m <= 0 {
		return turnCount{}, fmt.Errorf("%w: turn count", errBadValue)
	}
	c := turnCount{count: count, next: next}
	switch rest := v[n+m:]; len(rest) {
	case 0:
	case turnSuffixLen:
		c.low = bytes.Clone(rest)
	default:
		return turnCount{}, fmt.Errorf("%w: turn count", errBadValue)
	}
	return c, nil
}

// badgerExpiry is the Badger TTL (Unix seconds, real clock) of an entry whose logical
// expiry, on the store's clock, is exp: as [entry] sets it.
func badgerExpiry(exp, now time.Time) uint64 {
	return uint64(time.Now().Add(exp.Sub(now)).Unix()) + 1
}

// AppendTurns implements [storage.TranscriptStore]. It writes up to 1024 turns per
// transaction, and fewer (halving) when Badger finds a transaction too big; the cap is
// applied in each transaction, in which the oldest turns beyond it are deleted.
func (s *Store) AppendTurns(ctx context.Context, turns []storage.Turn, opt storage.TranscriptLimits) error {
	if err := storage.CheckTurns(turns); err != nil {
		return fmt.Errorf("badgerstore: append turns: %w", err)
	}
	opt = opt.Limits()
	if err := s.beginWrite(ctx); err != nil {
		return fmt.Errorf("badgerstore: append turns: %w", err)
	}
	defer s.mu.RUnlock()
	n := min(len(turns), maxTurnsPerTxn)
	for len(turns) > 0 {
		part := turns[:min(n, len(turns))]
		err := s.update(ctx, func(txn *badger.Txn, now time.Time) error { return appendTurns(txn, part, opt, now) })
		if errors.Is(err, badger.ErrTxnTooBig) && len(part) > 1 {
			n = len(part) / 2
			continue
		}
		if errors.Is(err, badger.ErrTxnTooBig) {
			return fmt.Errorf("badgerstore: append turns: turn of msgid %q: %w (%w)", part[0].MsgID, storage.ErrBatchTooBig, err)
		}
		if err != nil {
			return fmt.Errorf("badgerstore: append turns: %w", err)
		}
		turns = turns[len(part):]
		if err := ctx.Err(); err != nil && len(turns) > 0 {
			return fmt.Errorf("badgerstore: append turns: %w", err)
		}
	}
	return nil
}

// appendTurns writes turns in txn, then trims the conversations over the cap.
func appendTurns(txn *badger.Txn, turns []storage.Turn, opt storage.TranscriptLimits, now time.Time) error {
	counts := make(map[storage.Conversation]*turnCount)
	var order []storage.Conversation // the touched conversations, for a deterministic write order
	for i := range turns {
		t := turns[i]
		t.Time = t.Time.UTC()
		exp := t.Time.Add(opt.TTL)
		if !live(unixNanos(exp), now) {
			continue
		}
		c, ok := counts[t.Conversation]
		if !ok {
			var err error
			if c, err = readTurnCount(txn, t.Conversation); err != nil {
				return err
			}
			counts[t.Conversation] = c
			order = append(order, t.Conversation)
		}
		idKey := turnIDKey(&t)
		dup, err := liveTurnID(txn, idKey, now)
		if err != nil {
			return err
		}
		if dup {
			continue
		}
		prefix := convPrefix(kindTurn, t.Conversation)
		key := turnKey(prefix, t.Time, c.next)
		c.next++
		c.count++
		c.dirty = true
		if suffix := key[len(prefix):]; c.low == nil || bytes.Compare(suffix, c.low) < 0 {
			c.low = suffix
		}
		v, _ := t.AppendBinary(appendExpiry(make([]byte, 0, 96+len(t.Text)), exp)) // never fails
		at := badgerExpiry(exp, now)
		c.expiresAt = max(c.expiresAt, at)
		e := badger.NewEntry(key, v)
		e.ExpiresAt = at
		if err := txn.SetEntry(e); err != nil {
			return err
		}
		e = badger.NewEntry(idKey, append(appendExpiry(make([]byte, 0, expiryLen+turnSuffixLen), exp), key[len(prefix):]...))
		e.ExpiresAt = at
		if err := txn.SetEntry(e); err != nil {
			return err
		}
		if c.count > uint64(opt.MaxTurns) {
			c.trim = true
		}
	}
	for _, conv := range order {
		c := counts[conv]
		if !c.dirty {
			continue // replayed turns only
		}
		if c.trim {
			if err := trimTurns(txn, conv, c, opt.MaxTurns, now); err != nil {
				return err
			}
		}
		key := convPrefix(kindTurnCount, conv)
		if c.count == 0 {
			if err := txn.Delete(key); err != nil {
				return err
			}
			continue
		}
		e := badger.NewEntry(key, append(binary.AppendUvarint(binary.AppendUvarint(nil, c.count), c.next), c.low...))
		e.ExpiresAt = c.expiresAt
		if err := txn.SetEntry(e); err != nil {
			return err
		}
	}
	return nil
}

// readTurnCount reads conv's counter; a missing one is zero.
func readTurnCount(txn *badger.Txn, conv storage.Conversation) (*turnCount, error) {
	item, err := txn.Get(convPrefix(kindTurnCount, conv))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return &turnCount{}, nil
	}
	if err != nil {
		return nil, err
	}
	var c turnCount
	err = item.Value(func(v []byte) error {
		c, err = decodeTurnCount(v)
		return err
	})
	c.expiresAt = item.ExpiresAt()
	return &c, err
}

// liveTurnID reports whether the identity key holds an unexpired turn; an expired one is
// deleted, with the turn it points to, so the turn can be stored anew.
func liveTurnID(txn *badger.Txn, idKey []byte, now time.Time) (bool, error) {
	item, err := txn.Get(idKey)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var ok bool
	var suffix []byte
	err = item.Value(func(v []byte) error {
		exp, p, err := splitValue(v)
		if err == nil && len(p) != turnSuffixLen {
			err = fmt.Errorf("%w: turn identity", errBadValue)
		}
		ok, suffix = live(exp, now), bytes.Clone(p)
		return err
	})
	if err != nil || ok {
		return ok, err
	}
	// The expired turn is older than the live ones, so the trim's walk would delete it
	// too; doing it here keeps the identity pointing at one turn only.
	conv, err := idConversation(idKey)
	if err != nil {
		return false, err
	}
	if err := txn.Delete(append(convPrefix(kindTurn, conv), suffix...)); err != nil {
		return false, err
	}
	return false, txn.Delete(idKey)
}

// idConversation reads the conversation out of an identity key.
func idConversation(k []byte) (storage.Conversation, error) {
	k = k[2:]
	var parts [3]string
	for i := range parts {
		n, m := binary.Uvarint(k)
		if m <= 0 || uint64(len(k)-m) < n {
			return storage.Conversation{}, fmt.Errorf("%w: turn identity key", errBadValue)
		}
		parts[i] = string(k[m : m+int(n)])
		k = k[m+int(n):]
	}
	return storage.Conversation{CorpID: parts[0], OpenKFID: parts[1], ExternalUserID: parts[2]}, nil
}

// trimTurns walks conv's turns, oldest first, deletes the expired ones and then the
// oldest live ones until maxTurns are left, and sets c.count to what is left and c.low
// to the oldest turn kept. Since c.count is at least the number of turns present, only
// the expired turns and the oldest c.count-maxTurns live ones can go: only those are
// decoded (for their identity keys).
func trimTurns(txn *badger.Txn, conv storage.Conversation, c *turnCount, maxTurns int, now time.Time) error {
	type candidate struct {
		key  []byte
		turn storage.Turn
		live bool
	}
	k := int(min(c.count, uint64(math.MaxInt32))) - maxTurns
	var cands []candidate
	var beyond []byte // the key of live turn k+1, the oldest kept if k go
	liveN, liveCands := 0, 0
	prefix := convPrefix(kindTurn, conv)
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64, Prefix: prefix})
	for it.Seek(append(bytes.Clone(prefix), c.low...)); it.Valid(); it.Next() {
		item := it.Item()
		err := item.Value(func(v []byte) error {
			exp, p, err := splitValue(v)
			if err != nil {
				return err
			}
			ok := live(exp, now)
			if ok {
				liveN++
				if liveN > k {
					if liveN == k+1 {
						beyond = item.KeyCopy(nil)
					}
					return nil
				}
				liveCands++
			}
			cand := candidate{key: item.KeyCopy(nil), live: ok}
			if err := cand.turn.UnmarshalBinary(p); err != nil {
				return err
			}
			cands = append(cands, cand)
			return nil
		})
		if err != nil {
			it.Close()
			return fmt.Errorf("turn %x: %w", item.Key(), err)
		}
	}
	it.Close()
	drop := max(liveN-maxTurns, 0) // ≤ k
	c.count, c.low = uint64(liveN-drop), nil
	if drop == liveCands && beyond != nil {
		c.low = beyond[len(prefix):]
	}
	for _, cand := range cands {
		if cand.live {
			if drop == 0 {
				if c.low == nil {
					c.low = cand.key[len(prefix):]
				}
				continue
			}
			drop--
		}
		if err := txn.Delete(cand.key); err != nil {
			return err
		}
		if err := txn.Delete(turnIDKey(&cand.turn)); err != nil {
			return err
		}
	}
	return nil
}

// decodeTurn decodes a turn value; ok is false when it has expired at now.
func decodeTurn(v []byte, now time.Time) (t storage.Turn, ok bool, err error) {
	exp, p, err := splitValue(v)
	if err != nil || !live(exp, now) {
		return t, false, err
	}
	if err := t.UnmarshalBinary(p); err != nil {
		return t, false, err
	}
	return t, true, nil
}

// Transcript implements [storage.TranscriptStore]: one read transaction walks the
// conversation backwards from its newest turn.
func (s *Store) Transcript(ctx context.Context, conv storage.Conversation, limit int) ([]storage.Turn, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fmt.Errorf("badgerstore: transcript: %w", err)
	}
	defer s.mu.RUnlock()
	now := s.now()
	var out []storage.Turn
	err := s.db.View(func(txn *badger.Txn) error {
		prefix := convPrefix(kindTurn, conv)
		fetch := 64
		if limit > 0 {
			fetch = min(limit, fetch)
		}
		it := txn.NewIterator(badger.IteratorOptions{Reverse: true, PrefetchValues: true, PrefetchSize: fetch, Prefix: prefix})
		defer it.Close()
		last := append(bytes.Clone(prefix), bytes.Repeat([]byte{0xff}, turnSuffixLen+1)...)
		for it.Seek(last); it.Valid() && (limit <= 0 || len(out) < limit); it.Next() {
			var t storage.Turn
			var ok bool
			err := it.Item().Value(func(v []byte) error {
				var err error
				t, ok, err = decodeTurn(v, now)
				return err
			})
			if err != nil {
				return fmt.Errorf("turn %x: %w", it.Item().Key(), err)
			}
			if ok {
				out = append(out, t)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: transcript of %s/%s/%s: %w", conv.CorpID, conv.OpenKFID, conv.ExternalUserID, err)
	}
	slices.Reverse(out)
	return out, nil
}

// ScanTurns implements [storage.TranscriptStore]: it reads up to 256 turns per read
// transaction and calls fn between transactions, so fn may use the store (and a slow fn
// holds nothing). Conversations come in key order; a CorpID (and OpenKFID with it)
// narrows the keys read, an OpenKFID alone and Since filter them.
func (s *Store) ScanTurns(ctx context.Context, q storage.TurnQuery, fn func(storage.Turn) error) error {
	prefix := []byte{formatVersion, kindTurn}
	switch {
	case q.CorpID != "" && q.OpenKFID != "":
		prefix = tupleKey(kindTurn, q.CorpID, q.OpenKFID, "")
	case q.CorpID != "":
		prefix = tupleKey(kindTurn, q.CorpID, "")
	}
	from := prefix
	for {
		page, next, err := s.scanPage(ctx, prefix, from, q)
		if err != nil {
			return fmt.Errorf("badgerstore: scan turns: %w", err)
		}
		for _, t := range page {
			if err := fn(t); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		from = next
	}
}

// scanPage reads the selected turns from the key from on, up to scanPage of them, and
// returns the key to go on from (nil at the end).
func (s *Store) scanPage(ctx context.Context, prefix, from []byte, q storage.TurnQuery) (page []storage.Turn, next []byte, err error) {
	if err := s.begin(ctx); err != nil {
		return nil, nil, err
	}
	defer s.mu.RUnlock()
	now := s.now()
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64, Prefix: prefix})
		defer it.Close()
		for it.Seek(from); it.Valid(); it.Next() {
			if len(page) == scanPage {
				next = it.Item().KeyCopy(nil)
				return nil
			}
			var t storage.Turn
			var ok bool
			err := it.Item().Value(func(v []byte) error {
				var err error
				t, ok, err = decodeTurn(v, now)
				return err
			})
			if err != nil {
				return fmt.Errorf("turn %x: %w", it.Item().Key(), err)
			}
			if ok && q.Match(&t) {
				page = append(page, t)
			}
		}
		return nil
	})
	return page, next, err
}
