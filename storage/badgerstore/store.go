package badgerstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/kfbot/kfbot/storage"
)

// maxAttempts bounds the retries of a read-modify-write transaction that keeps
// conflicting with concurrent writers of the same key.
const maxAttempts = 100

var (
	errEmptyID    = errors.New("badgerstore: empty id")
	errNilSession = errors.New("badgerstore: nil session")
	errConflicts  = errors.New("badgerstore: too many transaction conflicts")
)

// Store is a [storage.Store] backed by Badger. It is safe for concurrent use by many
// goroutines of one process; Badger allows one process per directory.
type Store struct {
	db    *badger.DB
	now   func() time.Time
	log   *slog.Logger
	dir   string      // absolute; "" in memory
	lock  *dirLock    // nil in memory
	space *spaceGuard // nil in memory or when disabled

	// mu orders Close (and Restore) after the calls in flight: calls hold it for
	// reading, Close and Restore for writing.
	mu     sync.RWMutex
	closed bool

	closing   sync.Once
	closeDone chan struct{}
	closeErr  error
	stopGC    chan struct{}
	gcDone    chan struct{}
}

var _ storage.Store = (*Store)(nil)

// Open opens the store in dir, creating the directory (mode 0700) and the store if
// needed. It fails at once with a [*LockedError] (matching [ErrLocked]) when another
// process or another open Store holds dir, and with an error matching
// [ErrMemTableShrink] instead of letting Badger abort the process when the requested
// memtable is smaller than the store's (see [WithMemTableSize]).
//
// Open starts the value-log GC goroutine ([WithGCInterval]); Close stops it.
func Open(dir string, opts ...Option) (*Store, error) {
	if dir == "" {
		return nil, errors.New("badgerstore: open: empty directory (use OpenInMemory for a store without one)")
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("badgerstore: open %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("badgerstore: open %s: %w", abs, err)
	}
	lock, err := lockDir(abs)
	if err != nil {
		if _, ok := errors.AsType[*LockedError](err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("badgerstore: open %s: lock: %w", abs, err)
	}
	s, err := open(abs, lock, o)
	if err != nil {
		_ = lock.release()
		return nil, err
	}
	return s, nil
}

func open(abs string, lock *dirLock, o options) (*Store, error) {
	log := logger(o)
	removed, err := removeEmptyWALs(abs)
	if err != nil {
		return nil, fmt.Errorf("badgerstore: open %s: remove empty write-ahead logs: %w", abs, err)
	}
	if len(removed) > 0 {
		log.Warn("removed empty write-ahead logs left by a killed process", keyDir, abs, keyFiles, removed)
	}
	writeMetaFile, err := checkMemTable(abs, o.memTableSize)
	if err != nil {
		return nil, fmt.Errorf("badgerstore: open %s: %w", abs, err)
	}
	start := time.Now()
	db, err := badger.Open(o.badgerOptions(abs, log))
	if badgerLockError(err) {
		return nil, &LockedError{Dir: abs}
	}
	if err != nil {
		return nil, fmt.Errorf("badgerstore: open %s: %w", abs, err)
	}
	space := newSpaceGuard(abs, o)
	if err := space.check(); err != nil {
		// Dropping the leases writes; the pull leases of the previous process expire
		// by themselves meanwhile.
		log.Warn("disk nearly full: writes are refused until space is freed", keyDir, abs, keyErr, err)
	} else if err := dropLeases(db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("badgerstore: open %s: drop stale leases: %w", abs, err)
	}
	if writeMetaFile {
		if err := writeMeta(abs, meta{Format: formatVersion, MemTableSize: o.memTableSize}); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("badgerstore: open %s: write %s: %w", abs, optionsFile, err)
		}
	}
	s := newStore(db, o, log)
	s.dir, s.lock, s.space = abs, lock, space
	s.log.Info("opened", keyDir, abs, keyDuration, time.Since(start))
	if o.gcInterval > 0 {
		go s.gcLoop(o.gcInterval)
	} else {
		close(s.gcDone)
	}
	return s, nil
}

// OpenInMemory opens a store that keeps everything in memory, for tests. It never runs
// the value-log GC; [WithMemTableSize] still sizes its memtable.
func OpenInMemory(opts ...Option) (*Store, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	log := logger(o)
	db, err := badger.Open(o.badgerOptions("", log))
	if err != nil {
		return nil, fmt.Errorf("badgerstore: open in memory: %w", err)
	}
	s := newStore(db, o, log)
	close(s.gcDone)
	return s, nil
}

func logger(o options) *slog.Logger {
	if o.logger != nil {
		return o.logger
	}
	return slog.Default()
}

func newStore(db *badger.DB, o options, log *slog.Logger) *Store {
	return &Store{
		db:        db,
		now:       o.now,
		log:       log.With(keyComponent, "badgerstore"),
		closeDone: make(chan struct{}),
		stopGC:    make(chan struct{}),
		gcDone:    make(chan struct{}),
	}
}

// Dir returns the absolute data directory, or "" for an in-memory store.
func (s *Store) Dir() string { return s.dir }

// Close stops the GC goroutine, closes Badger (flushing the memtable, so the next open
// replays nothing) and releases the directory. It is idempotent: later calls wait for
// the first to finish and return nil. Calls in flight finish first; later calls return
// an error matching [storage.ErrClosed].
func (s *Store) Close() error {
	first := false
	s.closing.Do(func() {
		first = true
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.stopGC)
		<-s.gcDone
		err := s.db.Close()
		if rerr := s.lock.release(); rerr != nil {
			err = errors.Join(err, rerr)
		}
		if err != nil {
			s.closeErr = fmt.Errorf("badgerstore: close: %w", err)
		} else if s.dir != "" {
			s.log.Info("closed", keyDir, s.dir)
		}
		close(s.closeDone)
	})
	<-s.closeDone
	if first {
		return s.closeErr
	}
	return nil
}

// begin checks ctx and takes the read side of mu; the caller must call s.mu.RUnlock
// when it returns nil.
func (s *Store) begin(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return storage.ErrClosed
	}
	return nil
}

// beginWrite is begin for a call that writes: it also refuses, with a [*NoSpaceError],
// while the disk is nearly full.
func (s *Store) beginWrite(ctx context.Context) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := s.space.check(); err != nil {
		s.mu.RUnlock()
		return err
	}
	return nil
}

// entry makes an entry whose Badger TTL (real clock, second resolution) ends no sooner
// than ttl from now, so that physical removal never precedes the logical expiry of a
// real-clock store.
func entry(key, value []byte, ttl time.Duration) *badger.Entry {
	e := badger.NewEntry(key, value)
	e.ExpiresAt = uint64(time.Now().Add(ttl).Unix()) + 1
	return e
}

// update runs fn in a read-write transaction, retrying on conflicts. fn gets the
// store's time for this attempt.
func (s *Store) update(ctx context.Context, fn func(txn *badger.Txn, now time.Time) error) error {
	for range maxAttempts {
		err := s.db.Update(func(txn *badger.Txn) error { return fn(txn, s.now()) })
		if !errors.Is(err, badger.ErrConflict) {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return errConflicts
}

// Cursor implements [storage.CursorStore].
func (s *Store) Cursor(ctx context.Context, a storage.Account) (string, error) {
	if err := s.begin(ctx); err != nil {
		return "", fmt.Errorf("badgerstore: get cursor: %w", err)
	}
	defer s.mu.RUnlock()
	var cur string
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(cursorKey(a))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			cur = string(v)
			return nil
		})
	})
	if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
		return "", fmt.Errorf("badgerstore: get cursor of %s/%s: %w", a.CorpID, a.OpenKFID, err)
	}
	return cur, nil
}

// SetCursor implements [storage.CursorStore].
func (s *Store) SetCursor(ctx context.Context, a storage.Account, cursor string) error {
	if err := s.beginWrite(ctx); err != nil {
		return fmt.Errorf("badgerstore: set cursor: %w", err)
	}
	defer s.mu.RUnlock()
	err := s.db.Update(func(txn *badger.Txn) error {
		if cursor == "" {
			return txn.Delete(cursorKey(a))
		}
		return txn.Set(cursorKey(a), []byte(cursor))
	})
	if err != nil {
		return fmt.Errorf("badgerstore: set cursor of %s/%s: %w", a.CorpID, a.OpenKFID, err)
	}
	return nil
}

// FirstSeen implements [storage.Deduper]: it reads and writes the id in one
// transaction, and retries on a conflict, which then sees the winner's record.
func (s *Store) FirstSeen(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if id == "" {
		return false, errEmptyID
	}
	if ttl <= 0 {
		ttl = storage.DefaultDedupTTL
	}
	if err := s.beginWrite(ctx); err != nil {
		return false, fmt.Errorf("badgerstore: first seen: %w", err)
	}
	defer s.mu.RUnlock()
	key := idKey(kindSeen, id)
	var first bool
	err := s.update(ctx, func(txn *badger.Txn, now time.Time) error {
		first = false
		if ok, err := liveKey(txn, key, now); err != nil || ok {
			return err
		}
		first = true
		return txn.SetEntry(entry(key, appendExpiry(nil, now.Add(ttl)), ttl))
	})
	if err != nil {
		return false, fmt.Errorf("badgerstore: first seen %s: %w", id, err)
	}
	return first, nil
}

// liveKey reports whether key holds a value with an expiry prefix that has not expired.
func liveKey(txn *badger.Txn, key []byte, now time.Time) (bool, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var ok bool
	err = item.Value(func(v []byte) error {
		exp, _, err := splitValue(v)
		ok = live(exp, now)
		return err
	})
	return ok, err
}

// Seen implements [storage.Deduper].
func (s *Store) Seen(ctx context.Context, id string) (bool, error) {
	if err := s.begin(ctx); err != nil {
		return false, fmt.Errorf("badgerstore: seen: %w", err)
	}
	defer s.mu.RUnlock()
	var ok bool
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		ok, err = liveKey(txn, idKey(kindSeen, id), s.now())
		return err
	})
	if err != nil {
		return false, fmt.Errorf("badgerstore: seen %s: %w", id, err)
	}
	return ok, nil
}

// Session implements [storage.SessionStore].
func (s *Store) Session(ctx context.Context, c storage.Conversation) (*storage.Session, error) {
	if err := s.begin(ctx); err != nil {
		return nil, fmt.Errorf("badgerstore: get session: %w", err)
	}
	defer s.mu.RUnlock()
	var sess *storage.Session
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		sess, err = getSession(txn, c, s.now())
		return err
	})
	if err == nil && sess == nil {
		err = storage.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("badgerstore: get session %s/%s/%s: %w", c.CorpID, c.OpenKFID, c.ExternalUserID, err)
	}
	return sess, nil
}

// getSession returns the unexpired session of c, or nil when there is none.
func getSession(txn *badger.Txn, c storage.Conversation, now time.Time) (*storage.Session, error) {
	item, err := txn.Get(sessionKey(c))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var sess *storage.Session
	err = item.Value(func(v []byte) error {
		exp, data, err := splitValue(v)
		if err != nil || !live(exp, now) {
			return err
		}
		sess = new(storage.Session)
		return sess.UnmarshalBinary(data) // copies what it keeps
	})
	return sess, err
}

// PutSession implements [storage.SessionStore].
func (s *Store) PutSession(ctx context.Context, sess *storage.Session, ttl time.Duration) error {
	if sess == nil {
		return errNilSession
	}
	if ttl <= 0 {
		ttl = storage.DefaultSessionTTL
	}
	if err := s.beginWrite(ctx); err != nil {
		return fmt.Errorf("badgerstore: put session: %w", err)
	}
	defer s.mu.RUnlock()
	v, err := sess.AppendBinary(appendExpiry(make([]byte, 0, 256), s.now().Add(ttl)))
	if err == nil {
		err = s.db.Update(func(txn *badger.Txn) error {
			return txn.SetEntry(entry(sessionKey(sess.Conversation), v, ttl))
		})
	}
	if err != nil {
		return fmt.Errorf("badgerstore: put session %s/%s/%s: %w", sess.CorpID, sess.OpenKFID, sess.ExternalUserID, err)
	}
	return nil
}

// DeleteSession implements [storage.SessionStore].
func (s *Store) DeleteSession(ctx context.Context, c storage.Conversation) error {
	if err := s.beginWrite(ctx); err != nil {
		return fmt.Errorf("badgerstore: delete session: %w", err)
	}
	defer s.mu.RUnlock()
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Delete(sessionKey(c)) }); err != nil {
		return fmt.Errorf("badgerstore: delete session %s/%s/%s: %w", c.CorpID, c.OpenKFID, c.ExternalUserID, err)
	}
	return nil
}

// SendState implements [storage.SendLog].
func (s *Store) SendState(ctx context.Context, msgID string) (storage.SendState, error) {
	if err := s.begin(ctx); err != nil {
		return storage.SendNone, fmt.Errorf("badgerstore: send state: %w", err)
	}
	defer s.mu.RUnlock()
	var st storage.SendState
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		st, err = sendState(txn, idKey(kindSend, msgID), s.now())
		return err
	})
	if err != nil {
		return storage.SendNone, fmt.Errorf("badgerstore: send state %s: %w", msgID, err)
	}
	return st, nil
}

// SetSendState implements [storage.SendLog].
func (s *Store) SetSendState(ctx context.Context, msgID string, st storage.SendState, ttl time.Duration) error {
	if msgID == "" {
		return errEmptyID
	}
	if !st.Valid() {
		return fmt.Errorf("badgerstore: set send state %s: invalid state %d", msgID, st)
	}
	if ttl <= 0 {
		ttl = storage.DefaultDedupTTL
	}
	if err := s.beginWrite(ctx); err != nil {
		return fmt.Errorf("badgerstore: set send state: %w", err)
	}
	defer s.mu.RUnlock()
	key := idKey(kindSend, msgID)
	err := s.db.Update(func(txn *badger.Txn) error {
		if st == storage.SendNone {
			return txn.Delete(key)
		}
		return txn.SetEntry(entry(key, sendValue(s.now().Add(ttl), st), ttl))
	})
	if err != nil {
		return fmt.Errorf("badgerstore: set send state %s: %w", msgID, err)
	}
	return nil
}

// sendState reads the unexpired send-log state under key, SendNone when there is none.
func sendState(txn *badger.Txn, key []byte, now time.Time) (storage.SendState, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return storage.SendNone, nil
	}
	if err != nil {
		return storage.SendNone, err
	}
	st := storage.SendNone
	err = item.Value(func(v []byte) error {
		exp, got, err := decodeSend(v)
		if err == nil && live(exp, now) {
			st = got
		}
		return err
	})
	return st, err
}

// BeginSend implements [storage.SendLog]: it reads and writes msgID in one transaction,
// and retries on a conflict, which then sees the winner's record.
func (s *Store) BeginSend(ctx context.Context, msgID string, ttl time.Duration) (storage.SendState, error) {
	if msgID == "" {
		return storage.SendNone, errEmptyID
	}
	if ttl <= 0 {
		ttl = storage.DefaultDedupTTL
	}
	if err := s.beginWrite(ctx); err != nil {
		return storage.SendNone, fmt.Errorf("badgerstore: begin send: %w", err)
	}
	defer s.mu.RUnlock()
	key := idKey(kindSend, msgID)
	prior := storage.SendNone
	err := s.update(ctx, func(txn *badger.Txn, now time.Time) error {
		var err error
		if prior, err = sendState(txn, key, now); err != nil || prior != storage.SendNone {
			return err
		}
		return txn.SetEntry(entry(key, sendValue(now.Add(ttl), storage.SendPending), ttl))
	})
	if err != nil {
		return storage.SendNone, fmt.Errorf("badgerstore: begin send %s: %w", msgID, err)
	}
	return prior, nil
}

// Apply implements [storage.Batcher]: one transaction writes the whole batch. A batch
// beyond Badger's transaction limit (about 15 % of the memtable) fails with
// [storage.ErrBatchTooBig].
func (s *Store) Apply(ctx context.Context, b *storage.Batch) error {
	if err := storage.CheckBatch(b); err != nil {
		return fmt.Errorf("badgerstore: apply: %w", err)
	}
	if err := s.beginWrite(ctx); err != nil {
		return fmt.Errorf("badgerstore: apply: %w", err)
	}
	defer s.mu.RUnlock()
	now := s.now()
	sessions := make([][]byte, len(b.Sessions))
	for i, sess := range b.Sessions {
		var err error
		if sessions[i], err = sess.AppendBinary(appendExpiry(make([]byte, 0, 256), now.Add(b.SessionTTL))); err != nil {
			return fmt.Errorf("badgerstore: apply: put session: %w", err)
		}
	}
	seen := appendExpiry(nil, now.Add(b.DedupTTL)) // entries only read the value
	done := sendValue(now.Add(b.DedupTTL), storage.SendDone)
	pending := sendValue(now.Add(b.DedupTTL), storage.SendPending)
	err := s.db.Update(func(txn *badger.Txn) error {
		for i, sess := range b.Sessions {
			if err := txn.SetEntry(entry(sessionKey(sess.Conversation), sessions[i], b.SessionTTL)); err != nil {
				return err
			}
		}
		for _, id := range b.Seen {
			if err := txn.SetEntry(entry(idKey(kindSeen, id), seen, b.DedupTTL)); err != nil {
				return err
			}
		}
		for _, id := range b.Sent {
			if err := txn.SetEntry(entry(idKey(kindSend, id), done, b.DedupTTL)); err != nil {
				return err
			}
		}
		for _, id := range b.Pending {
			if err := txn.SetEntry(entry(idKey(kindSend, id), pending, b.DedupTTL)); err != nil {
				return err
			}
		}
		if err := parkEntries(txn, b, now); err != nil {
			return err
		}
		if c := b.Cursor; c != nil {
			if c.Cursor == "" {
				return txn.Delete(cursorKey(c.Account))
			}
			return txn.Set(cursorKey(c.Account), []byte(c.Cursor))
		}
		return nil
	})
	if errors.Is(err, badger.ErrTxnTooBig) {
		return fmt.Errorf("badgerstore: apply: %d sessions, %d processed ids, %d sends, %d inbox entries: %w (%w)",
			len(b.Sessions), len(b.Seen), len(b.Sent)+len(b.Pending), len(b.Park)+len(b.Unpark), storage.ErrBatchTooBig, err)
	}
	if err != nil {
		return fmt.Errorf("badgerstore: apply: %w", err)
	}
	return nil
}

// Load implements [storage.Batcher]: one read-only transaction answers the whole lookup.
func (s *Store) Load(ctx context.Context, l *storage.Lookup) error {
	if err := storage.CheckLookup(l); err != nil {
		return fmt.Errorf("badgerstore: load: %w", err)
	}
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("badgerstore: load: %w", err)
	}
	defer s.mu.RUnlock()
	now := s.now()
	err := s.db.View(func(txn *badger.Txn) error {
		for i, id := range l.Seen {
			ok, err := liveKey(txn, idKey(kindSeen, id), now)
			if err != nil {
				return fmt.Errorf("seen %s: %w", id, err)
			}
			l.SeenFound[i] = ok
		}
		for i, c := range l.Sessions {
			sess, err := getSession(txn, c, now)
			if err != nil {
				return fmt.Errorf("session %s/%s/%s: %w", c.CorpID, c.OpenKFID, c.ExternalUserID, err)
			}
			l.SessionsFound[i] = sess
		}
		for i, id := range l.Sends {
			st, err := sendState(txn, idKey(kindSend, id), now)
			if err != nil {
				return fmt.Errorf("send %s: %w", id, err)
			}
			l.SendsFound[i] = st
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("badgerstore: load: %w", err)
	}
	return nil
}

// getLease returns the unexpired lease stored under name, if any.
func getLease(txn *badger.Txn, name string, now time.Time) (storage.Lease, bool, error) {
	item, err := txn.Get(idKey(kindLease, name))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return storage.Lease{}, false, nil
	}
	if err != nil {
		return storage.Lease{}, false, err
	}
	var l storage.Lease
	err = item.Value(func(v []byte) error {
		l, err = decodeLease(name, v)
		return err
	})
	if err != nil {
		return storage.Lease{}, false, err
	}
	return l, unixNanos(now) < unixNanos(l.Expires), nil
}

// AcquireLease implements [storage.Leaser]. In Badger a lease only excludes the
// goroutines of this process, since no other process can open the directory.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (storage.Lease, error) {
	return s.putLease(ctx, "acquire", name, owner, ttl, func(held storage.Lease, ok bool) error {
		if ok && held.Owner != owner {
			return fmt.Errorf("held by %q until %s: %w", held.Owner, held.Expires.Format(time.RFC3339), storage.ErrLeaseHeld)
		}
		return nil
	})
}

// RenewLease implements [storage.Leaser].
func (s *Store) RenewLease(ctx context.Context, name, owner string, ttl time.Duration) (storage.Lease, error) {
	return s.putLease(ctx, "renew", name, owner, ttl, func(held storage.Lease, ok bool) error {
		if !ok || held.Owner != owner {
			return storage.ErrLeaseNotHeld
		}
		return nil
	})
}

// putLease writes the lease (name, owner, now+ttl) if allow, given the unexpired lease
// held now (ok false if none), returns nil; in one transaction, retried on conflicts.
func (s *Store) putLease(ctx context.Context, op, name, owner string, ttl time.Duration,
	allow func(held storage.Lease, ok bool) error,
) (storage.Lease, error) {
	if err := storage.CheckLease(name, owner, ttl); err != nil {
		return storage.Lease{}, err
	}
	if err := s.beginWrite(ctx); err != nil {
		return storage.Lease{}, fmt.Errorf("badgerstore: %s lease: %w", op, err)
	}
	defer s.mu.RUnlock()
	var l storage.Lease
	err := s.update(ctx, func(txn *badger.Txn, now time.Time) error {
		held, ok, err := getLease(txn, name, now)
		if err != nil {
			return err
		}
		if err := allow(held, ok); err != nil {
			return err
		}
		l = storage.Lease{Name: name, Owner: owner, Expires: now.Add(ttl)}
		return txn.SetEntry(entry(idKey(kindLease, name), leaseValue(l), ttl))
	})
	if err != nil {
		return storage.Lease{}, fmt.Errorf("badgerstore: %s lease %q for %q: %w", op, name, owner, err)
	}
	return l, nil
}

// ReleaseLease implements [storage.Leaser].
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	if err := storage.CheckLeaseOwner(name, owner); err != nil {
		return err
	}
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("badgerstore: release lease: %w", err)
	}
	defer s.mu.RUnlock()
	err := s.update(ctx, func(txn *badger.Txn, _ time.Time) error {
		key := idKey(kindLease, name)
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		var l storage.Lease
		if err := item.Value(func(v []byte) error {
			l, err = decodeLease(name, v)
			return err
		}); err != nil {
			return err
		}
		if l.Owner != owner {
			return nil
		}
		return txn.Delete(key)
	})
	if err != nil {
		return fmt.Errorf("badgerstore: release lease %q for %q: %w", name, owner, err)
	}
	return nil
}

// dropLeases deletes every lease left by an earlier process. A Badger directory is held by
// one process at a time (the directory lock), so any lease found at open belongs to a
// process that is gone — possibly killed before it could release it — and would otherwise
// block the new process until it expired.
func dropLeases(db *badger.DB) error {
	return db.Update(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte{formatVersion, kindLease}})
		defer it.Close()
		var keys [][]byte
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		for _, k := range keys {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}
