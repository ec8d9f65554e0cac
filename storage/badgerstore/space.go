package badgerstore

import (
	"fmt"
	"sync"
	"time"

	"github.com/kfbot/kfbot/storage"
)

// A free-space reading is trusted for spaceCheckInterval or spaceCheckWrites writes,
// whichever ends first: between two readings the store writes at most a few megabytes,
// far inside the margin, and a statfs costs about a microsecond.
const (
	spaceCheckInterval = 100 * time.Millisecond
	spaceCheckWrites   = 64
)

// valueLogFileSize is the size of Badger's value-log files (see badgerOptions).
const valueLogFileSize = 16 << 20

// DefaultMinFreeSpace returns the free space a store with the given memtable size keeps
// on its disk before it refuses writes: Badger writes through memory-mapped files that
// are created sparse (each memtable's write-ahead log is 2 × the memtable size, a value
// log file 2 × 16 MiB), and a write into a mapped page the disk cannot back kills the
// process with SIGBUS. The margin covers two full memtable logs, the table a flush writes
// and one compaction of it, and a value-log file: 6 × memtable + 32 MiB (80 MiB for the
// default 8 MiB memtable).
func DefaultMinFreeSpace(memTableSize int64) int64 {
	return 6*memTableSize + 2*valueLogFileSize
}

// newSpaceGuard returns the guard of an on-disk store at dir, or nil when o disables it.
func newSpaceGuard(dir string, o options) *spaceGuard {
	if o.minFree < 0 {
		return nil
	}
	margin := o.minFree
	if margin == 0 {
		margin = DefaultMinFreeSpace(o.memTableSize)
	}
	fn := o.statfs
	if fn == nil {
		fn = statfs
	}
	return &spaceGuard{dir: dir, margin: uint64(margin), statfs: fn, now: time.Now}
}

// spaceGuard refuses writes while the data directory's filesystem has less than margin
// bytes free. Readings are cached for spaceCheckInterval.
type spaceGuard struct {
	dir    string
	margin uint64
	statfs func(dir string) (free uint64, err error)
	now    func() time.Time // the real clock: readings age in real time

	mu     sync.Mutex
	at     time.Time
	writes int // checks since the reading
	free   uint64
	err    error // the reading's verdict: nil or an error matching storage.ErrNoSpace
}

// check returns an error matching [storage.ErrNoSpace] while free space is below the
// margin. A filesystem that cannot be measured is not refused (the error is logged by
// the caller of fresh).
func (g *spaceGuard) check() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.writes++
	if now := g.now(); g.at.IsZero() || g.writes >= spaceCheckWrites || now.Sub(g.at) >= spaceCheckInterval {
		g.readLocked(now)
	}
	return g.err
}

// fresh measures now, ignoring the cache, and returns the free bytes and the verdict.
func (g *spaceGuard) fresh() (uint64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.readLocked(g.now())
	return g.free, g.err
}

func (g *spaceGuard) readLocked(now time.Time) {
	g.at, g.writes = now, 0
	free, err := g.statfs(g.dir)
	if err != nil {
		g.free, g.err = 0, nil // unknown: do not stop the bot over a failed measurement
		return
	}
	g.free = free
	if free < g.margin {
		g.err = &NoSpaceError{Dir: g.dir, Free: free, Margin: g.margin}
	} else {
		g.err = nil
	}
}

// NoSpaceError reports that the store refused a write because the filesystem of its data
// directory has less free space than the store keeps in reserve. It matches
// [storage.ErrNoSpace]. Nothing was written; writes succeed again once space is freed.
type NoSpaceError struct {
	Dir    string // the data directory
	Free   uint64 // free bytes available to kfbot when the write was refused
	Margin uint64 // the reserve the store keeps (see [WithMinFreeSpace])
}

func (e *NoSpaceError) Error() string {
	return fmt.Sprintf("badgerstore: %s has %s free, less than the %s reserve Badger needs to write safely; free space on that disk (old logs, other files) — writes resume by themselves",
		e.Dir, mibs(e.Free), mibs(e.Margin))
}

// Unwrap makes the error match [storage.ErrNoSpace].
func (e *NoSpaceError) Unwrap() error { return storage.ErrNoSpace }

func mibs(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// CheckSpace measures the free space of the data directory's filesystem now and returns
// nil, or an error matching [storage.ErrNoSpace] (a [*NoSpaceError]) while it is below the
// reserve, when writes are refused. An in-memory store, or one opened with
// WithMinFreeSpace(-1), always returns nil.
func (s *Store) CheckSpace() error {
	if s.space == nil {
		return nil
	}
	_, err := s.space.fresh()
	return err
}

// FreeSpace returns the bytes free on the data directory's filesystem (for kfbot, not
// root), measured now; ok is false for an in-memory store, a disabled check, or a
// filesystem that cannot be measured.
func (s *Store) FreeSpace() (free uint64, ok bool) {
	if s.space == nil {
		return 0, false
	}
	free, err := s.space.statfs(s.space.dir)
	return free, err == nil
}
