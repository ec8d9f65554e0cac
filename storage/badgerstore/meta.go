package badgerstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// optionsFile records, in the data directory, what a later Open must respect.
const optionsFile = "kfbot-options.json"

// ErrMemTableShrink matches the error of [Open] when the requested memtable size is
// smaller than the one the directory was written with. See [WithMemTableSize].
var ErrMemTableShrink = errors.New("badgerstore: memtable size smaller than the store's")

// ErrFormat matches the error of [Open] when the directory holds a data format this
// version does not know, or an unreadable options file.
var ErrFormat = errors.New("badgerstore: unsupported data format")

// meta is the content of the options file.
type meta struct {
	// Format is the data format version (the first byte of every key).
	Format int `json:"format"`
	// MemTableSize is the largest memtable size the directory was opened with.
	MemTableSize int64 `json:"mem_table_size"`
}

// readMeta reads the options file; ok is false when there is none.
func readMeta(dir string) (m meta, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, optionsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return meta{}, false, nil
	}
	if err != nil {
		return meta{}, false, err
	}
	return parseMeta(b)
}

func parseMeta(b []byte) (m meta, ok bool, err error) {
	if err := json.Unmarshal(b, &m); err != nil {
		return meta{}, false, sentinelf(ErrFormat, "unreadable %s: %v", optionsFile, err)
	}
	if m.Format != formatVersion {
		return meta{}, false, sentinelf(ErrFormat, "%s says data format %d, this version reads format %d",
			optionsFile, m.Format, formatVersion)
	}
	if m.MemTableSize < 0 {
		return meta{}, false, sentinelf(ErrFormat, "%s: negative mem_table_size", optionsFile)
	}
	return m, true, nil
}

// writeMeta replaces the options file atomically: temp file, fsync, rename, fsync dir.
func writeMeta(dir string, m meta) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, optionsFile+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, optionsFile)); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil && strings.Contains(err.Error(), "invalid argument") {
		return nil // some platforms cannot fsync a directory
	}
	return err
}

// walMemTableSize returns the largest memtable size implied by the write-ahead logs
// (*.mem) in dir: Badger creates each one at twice the memtable size it runs with, and
// replaying a log into a smaller memtable aborts the process. A clean Close removes
// them, so they exist only after a crash or while the store is open.
func walMemTableSize(dir string) (int64, error) {
	wals, err := writeAheadLogs(dir)
	var size int64
	for _, w := range wals {
		size = max(size, (w.Size()+1)/2)
	}
	return size, err
}

// removeEmptyWALs deletes the empty write-ahead logs (*.mem) in dir and returns their
// names. A process killed between creating a log and sizing it leaves one; it holds
// nothing, and Badger refuses to open a directory that has one (dgraph-io/badger#2207).
func removeEmptyWALs(dir string) ([]string, error) {
	wals, err := writeAheadLogs(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, w := range wals {
		if w.Size() != 0 {
			continue
		}
		if err := os.Remove(filepath.Join(dir, w.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, err
		}
		removed = append(removed, w.Name())
	}
	return removed, nil
}

// writeAheadLogs returns the regular files *.mem in dir (those removed meanwhile left out).
func writeAheadLogs(dir string) ([]fs.FileInfo, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []fs.FileInfo
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".mem") || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, info)
	}
	return out, nil
}

// checkMemTable refuses a memtable size smaller than the one recorded in the options
// file or implied by a write-ahead log, before Badger sees it. It reports whether the
// options file must be (re)written after a successful open.
func checkMemTable(dir string, want int64) (write bool, err error) {
	m, ok, err := readMeta(dir)
	if err != nil {
		return false, err
	}
	wal, err := walMemTableSize(dir)
	if err != nil {
		return false, fmt.Errorf("scan write-ahead logs: %w", err)
	}
	if have := max(m.MemTableSize, wal); want < have {
		src := optionsFile
		if wal > m.MemTableSize {
			src = "its write-ahead log"
		}
		return false, sentinelf(ErrMemTableShrink, "memtable size %d is smaller than the %d bytes the store "+
			"was written with (per %s), and Badger would abort the process replaying its log; "+
			"open it with WithMemTableSize(%d) or more, or Backup and Restore into a new directory to shrink",
			want, have, src, have)
	}
	return !ok || m.MemTableSize != want, nil
}

// sentinelError carries its own message and matches a sentinel, so that wrapped messages
// do not repeat the sentinel's text.
type sentinelError struct {
	sentinel error
	msg      string
}

func sentinelf(sentinel error, format string, args ...any) error {
	return &sentinelError{sentinel: sentinel, msg: fmt.Sprintf(format, args...)}
}

func (e *sentinelError) Error() string { return e.msg }
func (e *sentinelError) Unwrap() error { return e.sentinel }
