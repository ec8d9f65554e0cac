// Package badgerstore is the default [storage.Store]: an embedded Badger v4 database in
// one directory, for a single kfbot process.
//
//	store, err := badgerstore.Open("./data", badgerstore.WithLogger(log))
//	if err != nil {
//		return err
//	}
//	defer store.Close()
//
// # Footprint and options
//
// Badger is opened with a small-footprint profile (8 MiB memtable, 2 memtables, 8 MiB
// block cache, 16 MiB value-log files): about 11 MiB of heap after Open instead of the
// ~86 MiB of Badger's defaults. Badger's log goes to the slog logger at Warn and above.
//
// # Durability
//
// Writes are not fsynced by default ([WithSyncWrites] false): Badger writes through a
// memory-mapped write-ahead log, so every acknowledged write survives a crash or kill of
// the process; only a power loss or kernel crash can lose the last writes. The tests
// prove the former by killing a writing child process with SIGKILL.
//
// # One process per directory
//
// [Open] takes an exclusive lock on the directory and fails at once with a
// [*LockedError] (matching [ErrLocked]) that names the directory, when another process,
// or another Store in this process, has it open. Rolling deploys that overlap on one
// volume must wait for the old process to exit. Leases ([storage.Leaser]) therefore only
// exclude goroutines of this process; several replicas need a shared store. For the same
// reason Open drops every lease left in the directory: their holder is gone (perhaps
// killed before it could release them), and keeping them would stall the new process
// until they expired.
//
// # Expiry
//
// Dedup records, sessions, sends and leases carry their logical expiry, on the store's
// clock ([WithClock]), inside the value, and reads check it; Badger's native TTL removes
// them physically at compaction. Cursors never expire.
//
// # Layout
//
// Every key starts with the data format version (1) and one byte per concern: 'c'
// cursors, 'd' dedup ids, 'S' sessions (by corp; v1's 's' is not read), 'o' outbound
// sends, 'l' leases. The directory also holds kfbot.lock and kfbot-options.json, which records the format and the
// memtable size the store was written with: [Open] refuses a smaller memtable
// ([ErrMemTableShrink]) because Badger would call log.Fatal replaying the write-ahead
// log of a store closed uncleanly.
//
// # Maintenance
//
// The store runs Badger's value-log GC every [DefaultGCInterval] on a goroutine it owns
// and stops in Close. [Store.Backup] streams an online snapshot to an io.Writer and
// [Store.Restore] loads one.
package badgerstore
