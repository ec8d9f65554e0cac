//go:build linux

package badgerstore_test

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/badgerstore"
)

// smallDisk mounts a tmpfs of sizeMiB at a new directory and fills it until freeMiB are
// left, returning the directory and the filler's path. It skips the test where tmpfs
// cannot be mounted (not root, no mount namespace).
func smallDisk(t *testing.T, sizeMiB, freeMiB int) (dir, filler string) {
	t.Helper()
	mnt := t.TempDir()
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size="+strconv.Itoa(sizeMiB)+"m"); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (%v): run as root (as .ci/run does) to test a really full disk", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Logf("unmount %s: %v", mnt, err)
			_ = syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	})
	filler = filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	require.NoError(t, err)
	chunk := make([]byte, 1<<20)
	for i := 0; i < sizeMiB-freeMiB; i++ {
		_, err := f.Write(chunk)
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
	return filepath.Join(mnt, "data"), filler
}

// fillDisk runs the fill-disk child on dir and returns how many writes it acknowledged,
// its last line and its exit error.
func fillDisk(t *testing.T, dir, minFree string) (acks int, last, stderrText string, err error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"=fill-disk", envDir+"="+dir, envMinFree+"="+minFree)
	out, perr := cmd.StdoutPipe()
	require.NoError(t, perr)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		last = sc.Text()
		if strings.HasPrefix(last, "ack ") {
			acks++
		}
	}
	err = cmd.Wait()
	return acks, last, stderr.String(), err
}

// TestFullDiskIsRefusedNotFatal fills a real, small filesystem: the store refuses writes
// with ErrNoSpace before Badger writes into pages the disk cannot back, keeps every
// acknowledged write, and accepts writes again once space is freed.
func TestFullDiskIsRefusedNotFatal(t *testing.T) {
	margin := badgerstore.DefaultMinFreeSpace(badgerstore.DefaultMemTableSize) >> 20
	dir, filler := smallDisk(t, int(margin)+64, int(margin)+24)

	acks, last, stderr, err := fillDisk(t, dir, "")
	require.NoError(t, err, "the child must not crash on a full disk: %s", stderr)
	require.True(t, strings.HasPrefix(last, "nospace "), "last line %q", last)
	assert.Contains(t, last, "free space on that disk")
	require.Positive(t, acks)
	t.Logf("%d sessions of 4 KiB written before the store refused: %s", acks, last)

	s, err := badgerstore.Open(dir) // opens on the full disk, reads work
	require.NoError(t, err)
	for _, i := range []int{0, acks / 2, acks - 1} {
		sess, err := s.Session(t.Context(), crashConv(i))
		require.NoError(t, err, "acknowledged session %d", i)
		assert.Len(t, sess.Vars["pad"], 4<<10)
	}
	// Closing the child flushed its memtable and freed its log; fill the disk below the
	// reserve again, now under this store.
	free, ok := s.FreeSpace()
	require.True(t, ok)
	reserve := uint64(badgerstore.DefaultMinFreeSpace(badgerstore.DefaultMemTableSize))
	if free >= reserve {
		require.NoError(t, os.WriteFile(filler+"2", make([]byte, free-reserve+1<<20), 0o600))
	}
	require.ErrorIs(t, s.CheckSpace(), storage.ErrNoSpace)
	_, err = s.FirstSeen(t.Context(), "one-more", 0)
	var nospace *badgerstore.NoSpaceError
	require.ErrorAs(t, err, &nospace)
	assert.ErrorIs(t, err, storage.ErrNoSpace)

	require.NoError(t, os.Remove(filler))
	_ = os.Remove(filler + "2")
	require.NoError(t, s.CheckSpace())
	first, err := s.FirstSeen(t.Context(), "one-more", 0)
	require.NoError(t, err)
	assert.True(t, first)
	require.NoError(t, s.Close())
}

// TestFullDiskWithoutTheGuardKillsTheProcess shows what the guard prevents: with the
// check disabled, Badger writes into a memory-mapped page the full tmpfs cannot back, and
// the kernel kills the process with SIGBUS.
func TestFullDiskWithoutTheGuardKillsTheProcess(t *testing.T) {
	dir, _ := smallDisk(t, 64, 24)
	_, last, stderr, err := fillDisk(t, dir, "-1")
	var exit *exec.ExitError
	require.True(t, errors.As(err, &exit), "the unguarded child should die, got %v (last line %q)", err, last)
	// Go turns the SIGBUS into a fatal error: "fatal error: fault [signal SIGBUS …]".
	assert.Contains(t, stderr, "signal SIGBUS")
	assert.False(t, strings.HasPrefix(last, "nospace"))
}
