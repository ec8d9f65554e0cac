//go:build unix

package badgerstore_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/badgerstore"
)

// The child process is this test binary, re-executed with these variables set.
const (
	envChild = "KFBOT_BADGERSTORE_CHILD" // the child's job: "write", "fill-wal" or "raw-open"
	envDir   = "KFBOT_BADGERSTORE_DIR"
	// envMinFree is the fill-disk child's WithMinFreeSpace (unset: the default).
	envMinFree = "KFBOT_BADGERSTORE_MINFREE"
)

// crashAcks is how many acknowledged writes the parent waits for before the SIGKILL.
const crashAcks = 500

// walCursors cursors of 100 KiB each leave 16 MB in the log, more than fits an 8 MiB
// memtable.
const walCursors = 160

// bigMemTable is the memtable of the store whose write-ahead log the trap test leaves.
const bigMemTable = 64 << 20

func crashAccount(i int) storage.Account {
	return storage.Account{CorpID: "ww" + strconv.Itoa(i%7), OpenKFID: "wk" + strconv.Itoa(i)}
}

func crashConv(i int) storage.Conversation {
	return storage.Conversation{OpenKFID: "wk" + strconv.Itoa(i%7), ExternalUserID: "wm" + strconv.Itoa(i)}
}

// TestChildProcess is the body of the child processes; it skips in a normal run.
func TestChildProcess(t *testing.T) {
	job := os.Getenv(envChild)
	if job == "" {
		t.Skip("runs only as a child process of the crash tests")
	}
	dir := os.Getenv(envDir)
	ctx := context.Background()
	out := bufio.NewWriter(os.Stdout)
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	switch job {
	case "write":
		// Each iteration writes one of everything, then acknowledges key i. Runs until
		// killed.
		s, err := badgerstore.Open(dir)
		if err != nil {
			fail(err)
		}
		for i := 0; ; i++ {
			err := s.SetCursor(ctx, crashAccount(i), "cursor-"+strconv.Itoa(i))
			if err == nil {
				_, err = s.FirstSeen(ctx, "msg-"+strconv.Itoa(i), 0)
			}
			if err == nil {
				err = s.PutSession(ctx, &storage.Session{Conversation: crashConv(i), Messages: i, Vars: map[string]any{"i": float64(i)}}, 0)
			}
			if err == nil {
				err = s.SetSendState(ctx, "r-"+strconv.Itoa(i), storage.SendDone, 0)
			}
			if err != nil {
				fail(err)
			}
			fmt.Fprintf(out, "ack %d\n", i)
			if err := out.Flush(); err != nil {
				fail(err)
			}
		}
	case "fill-wal":
		// Leaves ~16 MB in the write-ahead log of a 64 MiB memtable, reports, and
		// waits to be killed.
		s, err := badgerstore.Open(dir, badgerstore.WithMemTableSize(bigMemTable))
		if err != nil {
			fail(err)
		}
		big := strings.Repeat("x", 100<<10)
		for i := range walCursors {
			if err := s.SetCursor(ctx, crashAccount(i), big+strconv.Itoa(i)); err != nil {
				fail(err)
			}
		}
		fmt.Fprintln(out, "filled")
		if err := out.Flush(); err != nil {
			fail(err)
		}
		_, _ = io.Copy(io.Discard, os.Stdin) // until killed
		os.Exit(4)
	case "fill-disk":
		// Writes sessions of 4 KiB until the store refuses with ErrNoSpace (exit 0,
		// "nospace"), acknowledging each. KFBOT_BADGERSTORE_MINFREE=-1 disables the guard.
		var opts []badgerstore.Option
		if v := os.Getenv(envMinFree); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				fail(err)
			}
			opts = append(opts, badgerstore.WithMinFreeSpace(n))
		}
		s, err := badgerstore.Open(dir, opts...)
		if err != nil {
			fail(err)
		}
		pad := strings.Repeat("p", 4<<10)
		for i := range 1 << 20 {
			err := s.PutSession(ctx, &storage.Session{Conversation: crashConv(i), Vars: map[string]any{"pad": pad}}, 0)
			if errors.Is(err, storage.ErrNoSpace) {
				fmt.Fprintln(out, "nospace", err)
				_ = out.Flush()
				if err := s.Close(); err != nil {
					fail(err)
				}
				os.Exit(0)
			}
			if err != nil {
				fail(err)
			}
			fmt.Fprintf(out, "ack %d\n", i)
		}
		_ = out.Flush()
		fail(errors.New("the disk never filled"))
	case "raw-open":
		// Opens the directory with Badger directly and the small memtable, bypassing
		// the guard: Badger is expected to abort the process.
		db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).WithMemTableSize(8 << 20))
		if err != nil {
			fail(err)
		}
		_ = db.Close()
		fmt.Fprintln(out, "opened")
		_ = out.Flush()
		os.Exit(0)
	default:
		fail(fmt.Errorf("unknown job %q", job))
	}
}

// child starts the test binary as a child process doing job on dir.
func child(t *testing.T, job, dir string) (cmd *exec.Cmd, stdout *bufio.Scanner, stderr *bytes.Buffer, stdin io.WriteCloser) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"="+job, envDir+"="+dir)
	stderr = new(bytes.Buffer)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stdin, err = cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, bufio.NewScanner(out), stderr, stdin
}

// kill sends SIGKILL and waits for the child to die of it.
func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	err := cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	ws, ok := exit.Sys().(syscall.WaitStatus)
	require.True(t, ok)
	require.True(t, ws.Signaled() && ws.Signal() == syscall.SIGKILL, "child status %v", ws)
}

// TestCrashKeepsAcknowledgedWrites kills a writing child with SIGKILL and checks that
// every write it acknowledged is there after reopening. While the child runs, it also
// checks that a second process cannot open the directory.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	dir := t.TempDir()
	cmd, out, stderr, _ := child(t, "write", dir)

	var acked []int
	parse := func(line string) {
		n, err := strconv.Atoi(strings.TrimPrefix(line, "ack "))
		if strings.HasPrefix(line, "ack ") && err == nil {
			acked = append(acked, n)
		}
	}
	for len(acked) < crashAcks && out.Scan() {
		parse(out.Text())
	}
	require.Len(t, acked, crashAcks, "child stopped early: %s", stderr)

	// The running child holds the directory.
	_, err := badgerstore.Open(dir, badgerstore.WithLogger(testLogger(t)))
	require.ErrorIs(t, err, badgerstore.ErrLocked)
	assert.Contains(t, err.Error(), fmt.Sprintf("pid %d", cmd.Process.Pid))
	assert.Contains(t, err.Error(), dir)

	kill(t, cmd)
	for out.Scan() { // acknowledgements printed before the kill count too
		parse(out.Text())
	}
	t.Logf("child acknowledged %d iterations (4 writes each) before SIGKILL", len(acked))

	s := openDir(t, dir)
	ctx := t.Context()
	for _, i := range acked {
		cur, err := s.Cursor(ctx, crashAccount(i))
		require.NoError(t, err)
		require.Equal(t, "cursor-"+strconv.Itoa(i), cur, "cursor %d", i)
		seen, err := s.Seen(ctx, "msg-"+strconv.Itoa(i))
		require.NoError(t, err)
		require.True(t, seen, "msgid %d", i)
		sess, err := s.Session(ctx, crashConv(i))
		require.NoError(t, err, "session %d", i)
		require.Equal(t, i, sess.Messages)
		st, err := s.SendState(ctx, "r-"+strconv.Itoa(i))
		require.NoError(t, err)
		require.Equal(t, storage.SendDone, st, "send %d", i)
	}
}

// TestMemTableShrinkAfterCrash reproduces a Badger trap (also noted in cerbos/cerbos#3378): a store killed with a large
// write-ahead log, reopened with a smaller memtable. Open must return an error, never
// let Badger call log.Fatal; the raw Badger open at the end proves the trap is real.
func TestMemTableShrinkAfterCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 16 MB")
	}
	dir := t.TempDir()
	cmd, out, stderr, _ := child(t, "fill-wal", dir)
	require.True(t, out.Scan(), "child failed: %s", stderr)
	require.Equal(t, "filled", out.Text())
	kill(t, cmd)

	// Refused by the options file, then, with it gone, by the write-ahead log itself.
	_, err := badgerstore.Open(dir, badgerstore.WithLogger(testLogger(t)))
	require.ErrorIs(t, err, badgerstore.ErrMemTableShrink)
	assert.Contains(t, err.Error(), "kfbot-options.json")
	t.Logf("refused: %v", err)
	require.NoError(t, os.Rename(filepath.Join(dir, "kfbot-options.json"), filepath.Join(t.TempDir(), "saved.json")))
	_, err = badgerstore.Open(dir, badgerstore.WithLogger(testLogger(t)))
	require.ErrorIs(t, err, badgerstore.ErrMemTableShrink)
	assert.Contains(t, err.Error(), "write-ahead log")

	// Without the guard, Badger kills the process (and changes nothing on disk).
	rawCmd := exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.count=1")
	rawCmd.Env = append(os.Environ(), envChild+"=raw-open", envDir+"="+dir)
	output, err := rawCmd.CombinedOutput()
	require.Error(t, err, "raw badger open survived: %s", output)
	assert.Contains(t, string(output), "Arena too small")

	// The size the store was written with opens it, with every write.
	s := openDir(t, dir, badgerstore.WithMemTableSize(bigMemTable))
	for i := range walCursors {
		cur, err := s.Cursor(t.Context(), crashAccount(i))
		require.NoError(t, err)
		require.True(t, strings.HasSuffix(cur, "x"+strconv.Itoa(i)), "cursor %d", i)
	}
	require.NoError(t, s.Close())
	// After a clean close there is no log to replay, but the options file still
	// remembers the size.
	_, err = badgerstore.Open(dir, badgerstore.WithLogger(testLogger(t)))
	require.ErrorIs(t, err, badgerstore.ErrMemTableShrink)
}

// A process killed between creating a write-ahead log and sizing it leaves an empty
// .mem file, and Badger refuses to open such a directory (dgraph-io/badger#2207, seen
// in kfbench's crash test). The file holds nothing: Open removes it and keeps the data.
func TestOpenAfterKillLeftAnEmptyWAL(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir)
	acct := storage.Account{CorpID: "ww", OpenKFID: "wk"}
	require.NoError(t, s.SetCursor(t.Context(), acct, "cur"))
	require.NoError(t, s.Close())
	empty := filepath.Join(dir, "00007.mem")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))

	s = openDir(t, dir)
	cur, err := s.Cursor(t.Context(), acct)
	require.NoError(t, err)
	assert.Equal(t, "cur", cur)
	require.NoError(t, s.Close())
	_, err = os.Stat(empty)
	assert.ErrorIs(t, err, os.ErrNotExist)
}
