package badgerstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"sync"

	"github.com/kfbot/kfbot/storage"
)

// maxPendingRestoreWrites bounds the batches Restore keeps in flight.
const maxPendingRestoreWrites = 64

// Backup writes a consistent snapshot of the live (unexpired) entries to w while the
// store keeps serving, in Badger's portable backup format. Cancelling ctx stops it at
// the next write to w. Close waits for a running Backup.
func (s *Store) Backup(ctx context.Context, w io.Writer) error {
	if err := s.begin(ctx); err != nil {
		return fmt.Errorf("badgerstore: backup: %w", err)
	}
	defer s.mu.RUnlock()
	cw := &ctxWriter{ctx: ctx, w: w}
	if _, err := s.db.Backup(cw, 0); err != nil {
		// Badger may report the cancellation that followed a write error instead of it.
		if werr := cw.error(); werr != nil {
			err = werr
		}
		return fmt.Errorf("badgerstore: backup: %w", err)
	}
	return nil
}

// Restore loads a stream written by [Store.Backup] into the store, overwriting the keys
// present in both; restore into a new, empty store to reproduce a backup exactly. The
// store is unavailable to other calls while it runs. Cancelling ctx stops it at the
// next read from r, leaving a partial restore.
//
// Restore trusts its input as much as a data directory: a stream with broken framing is
// refused, but only load backups you made.
func (s *Store) Restore(ctx context.Context, r io.Reader) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("badgerstore: restore: %w", err)
	}
	// Badger's Load must not run beside other transactions: take mu exclusively.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("badgerstore: restore: %w", storage.ErrClosed)
	}
	if err := s.load(&frameReader{r: ctxReader{ctx: ctx, r: r}}); err != nil {
		return fmt.Errorf("badgerstore: restore: %w", err)
	}
	return nil
}

// load runs Badger's Load, turning a panic on a malformed stream into an error.
func (s *Store) load(r io.Reader) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed backup stream (the store may hold part of it): %v", p)
		}
	}()
	return s.db.Load(r, maxPendingRestoreWrites)
}

// maxBackupFrame bounds one frame of a backup stream. Badger's Stream writes frames of
// at most about 116 MB (its 100 MB soft limit plus one 16 MB batch).
const maxBackupFrame = 256 << 20

// frameReader passes a backup stream through while checking its framing (a uint64
// little-endian length, then that many bytes), because Badger's Load allocates whatever
// length it reads and panics on a huge one.
type frameReader struct {
	r      io.Reader
	hdr    [8]byte
	nhdr   int    // header bytes seen of the current frame
	remain uint64 // body bytes left in the current frame
}

func (f *frameReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	for b := p[:n]; len(b) > 0; {
		if f.remain > 0 {
			k := min(uint64(len(b)), f.remain)
			f.remain -= k
			b = b[k:]
			continue
		}
		k := copy(f.hdr[f.nhdr:], b)
		f.nhdr += k
		b = b[k:]
		if f.nhdr == len(f.hdr) {
			f.nhdr = 0
			f.remain = binary.LittleEndian.Uint64(f.hdr[:])
			if f.remain > maxBackupFrame {
				return 0, fmt.Errorf("not a backup stream: frame of %d bytes", f.remain)
			}
		}
	}
	return n, err
}

// ctxWriter stops writing once ctx is done and remembers the first error.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer

	mu  sync.Mutex
	err error
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	err := c.ctx.Err()
	n := 0
	if err == nil {
		n, err = c.w.Write(p)
	}
	if err != nil {
		c.mu.Lock()
		if c.err == nil {
			c.err = err
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *ctxWriter) error() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
