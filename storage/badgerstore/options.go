package badgerstore

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Defaults of the options.
const (
	// DefaultMemTableSize is the memtable size of new stores: 8 MiB, which keeps the
	// heap after Open near 11 MiB (Badger's own default, 64 MiB, costs about 86 MiB).
	DefaultMemTableSize = 8 << 20
	// DefaultGCInterval is how often the value-log GC runs.
	DefaultGCInterval = 5 * time.Minute
)

// Limits of [WithMemTableSize].
const (
	MinMemTableSize = 1 << 20
	MaxMemTableSize = 1 << 30
)

// Option configures [Open] and [OpenInMemory]. Options do no I/O.
type Option func(*options)

type options struct {
	logger       *slog.Logger
	syncWrites   bool
	now          func() time.Time
	gcInterval   time.Duration
	memTableSize int64
	minFree      int64                        // 0: DefaultMinFreeSpace; < 0: no check
	statfs       func(string) (uint64, error) // nil: the OS's
}

func defaultOptions() options {
	return options{
		now:          time.Now,
		gcInterval:   DefaultGCInterval,
		memTableSize: DefaultMemTableSize,
	}
}

// WithLogger sets the logger for the store and for Badger, whose messages are logged at
// Warn and Error only, with the attribute component=badger. Default: [slog.Default] at
// the time of Open (nil means the default).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithSyncWrites makes every commit msync the write-ahead log before returning.
// Default: false. Without it, acknowledged writes already survive a crash of the process
// (Badger writes through a memory-mapped log); with it they also survive a power loss
// or kernel crash, at about 35 times lower write throughput.
func WithSyncWrites(sync bool) Option {
	return func(o *options) { o.syncWrites = sync }
}

// WithClock sets the clock that decides logical expiry (dedup records, sessions, sends,
// leases). Default: [time.Now]; nil means the default. Badger's own TTL, which removes
// entries physically, always follows the real clock, one second behind the logical
// expiry of a real-clock store.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithGCInterval sets how often the store's goroutine runs Badger's value-log GC.
// Default: [DefaultGCInterval]; d ≤ 0 disables the loop. In-memory stores never run it.
func WithGCInterval(d time.Duration) Option {
	return func(o *options) { o.gcInterval = d }
}

// WithMemTableSize sets Badger's memtable size in bytes, between [MinMemTableSize] and
// [MaxMemTableSize]. Default: [DefaultMemTableSize]. The heap grows by about this much.
//
// A directory remembers the largest size it was opened with (in the file
// kfbot-options.json), and [Open] refuses a smaller one with an error matching
// [ErrMemTableShrink]: Badger would otherwise kill the process (log.Fatal, "Arena too
// small") when replaying a write-ahead log that no longer fits. Growing is always
// allowed. To shrink, [Store.Backup] the store and [Store.Restore] it into a new
// directory.
func WithMemTableSize(bytes int64) Option {
	return func(o *options) { o.memTableSize = bytes }
}

// WithMinFreeSpace sets the free space, in bytes, the store keeps on the data
// directory's filesystem: below it every write (except releasing a lease) fails with a
// [*NoSpaceError] matching [storage.ErrNoSpace], before Badger writes into its
// memory-mapped files, where a full disk would kill the process with SIGBUS. The engine
// then stops pulling (messages wait on WeCom) and resumes once space is freed.
// Default (0): [DefaultMinFreeSpace] of the memtable size; a negative value disables the
// check. Give the data directory a filesystem of its own where you can.
func WithMinFreeSpace(bytes int64) Option {
	return func(o *options) { o.minFree = bytes }
}

// withStatfs replaces the free-space measurement, for tests.
func withStatfs(fn func(dir string) (uint64, error)) Option {
	return func(o *options) { o.statfs = fn }
}

func (o *options) validate() error {
	var errs []error
	if o.memTableSize < MinMemTableSize || o.memTableSize > MaxMemTableSize {
		errs = append(errs, fmt.Errorf("badgerstore: memtable size %d out of range [%d, %d]",
			o.memTableSize, MinMemTableSize, MaxMemTableSize))
	}
	return errors.Join(errs...)
}

// badgerOptions is the small-footprint profile of an embedded single-process store.
func (o *options) badgerOptions(dir string, log *slog.Logger) badger.Options {
	// ValueThreshold may not exceed Badger's batch size, 15 % of the memtable.
	valueThreshold := min(int64(1<<20), o.memTableSize*15/100)
	bo := badger.DefaultOptions(dir)
	if dir == "" {
		bo = bo.WithInMemory(true)
	}
	// WithLogger comes last of the logging options: WithLoggingLevel would replace it.
	return bo.
		WithLogger(badgerLogger{log: log.With(keyComponent, "badger")}).
		WithSyncWrites(o.syncWrites).
		WithMemTableSize(o.memTableSize).
		WithValueThreshold(valueThreshold).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(4).
		WithValueLogFileSize(valueLogFileSize).
		WithBlockCacheSize(8 << 20).
		WithBaseTableSize(1 << 20).
		WithNumCompactors(2).
		WithMetricsEnabled(false).
		WithNumVersionsToKeep(1)
}
