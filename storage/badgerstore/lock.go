package badgerstore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// lockFile is the name of the lock file in a data directory.
const lockFile = "kfbot.lock"

// ErrLocked matches the error of [Open] when another process (or another open Store in
// this process) holds the directory. The error itself is a [*LockedError].
var ErrLocked = errors.New("badgerstore: data directory in use")

// LockedError reports that a data directory is held by another kfbot process. Badger
// allows one process per directory.
type LockedError struct {
	Dir string // absolute path of the data directory
	PID int    // the holder's process id, or 0 if unknown
}

// Error names the directory and the holder.
func (e *LockedError) Error() string {
	holder := "another kfbot process"
	switch {
	case e.PID != 0 && e.PID == os.Getpid():
		holder = fmt.Sprintf("another kfbot process or store (pid %d, this process)", e.PID)
	case e.PID != 0:
		holder = fmt.Sprintf("another kfbot process (pid %d)", e.PID)
	}
	return fmt.Sprintf("badgerstore: open %s: %s holds this data directory; stop it or use another directory", e.Dir, holder)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

type dirLock struct{ f *os.File }

func lockPath(dir string) string { return filepath.Join(dir, lockFile) }

func readPID(f *os.File) int {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 32))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

func writePID(f *os.File) {
	// Best effort: the pid only improves the error message of a second Open.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
}

// badgerLockError recognises Badger's own lock failure, which it does not wrap.
func badgerLockError(err error) bool {
	return err != nil && strings.Contains(err.Error(), "Cannot acquire directory lock")
}
