package badgerstore_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/badgerstore"
	"github.com/kfbot/kfbot/storage/storagetest"
)

// testLogger sends the store's (and Badger's) warnings to the test output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func openDir(t testing.TB, dir string, opts ...badgerstore.Option) *badgerstore.Store {
	t.Helper()
	s, err := badgerstore.Open(dir, append([]badgerstore.Option{badgerstore.WithLogger(testLogger(t))}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformanceInMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, now func() time.Time) storage.Store {
		s, err := badgerstore.OpenInMemory(badgerstore.WithClock(now), badgerstore.WithLogger(testLogger(t)))
		require.NoError(t, err)
		return s
	})
}

func TestConformanceOnDisk(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, now func() time.Time) storage.Store {
		return openDir(t, t.TempDir(), badgerstore.WithClock(now))
	})
}

// The real-time variant of the suite: expiry on the real clock, as a server would keep it.
func TestConformanceRealTime(t *testing.T) {
	storagetest.Run(t, func(t *testing.T, _ func() time.Time) storage.Store {
		s, err := badgerstore.OpenInMemory(badgerstore.WithLogger(testLogger(t)))
		require.NoError(t, err)
		return s
	}, storagetest.WithRealTime(100*time.Millisecond))
}

// TestReopen checks that everything written survives Close and Open, expiry included.
func TestReopen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	clock := storagetest.NewClock(time.Time{})
	acct := storage.Account{CorpID: "ww1", OpenKFID: "wk1"}
	sess := &storage.Session{
		Conversation: storage.Conversation{OpenKFID: "wk1", ExternalUserID: "wm1"},
		Vars:         map[string]any{"step": "ask"}, Messages: 3, RepliesLeft: 2,
		LastSeen: clock.Now(), WindowStart: clock.Now(),
	}

	s := openDir(t, dir, badgerstore.WithClock(clock.Now))
	require.NoError(t, s.SetCursor(ctx, acct, "cursor-1"))
	_, err := s.FirstSeen(ctx, "m1", time.Hour)
	require.NoError(t, err)
	require.NoError(t, s.PutSession(ctx, sess, time.Hour))
	require.NoError(t, s.SetSendState(ctx, "r1", storage.SendPending, time.Hour))
	_, err = s.AcquireLease(ctx, "pull/wk1", "me", time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s = openDir(t, dir, badgerstore.WithClock(clock.Now))
	cur, err := s.Cursor(ctx, acct)
	require.NoError(t, err)
	assert.Equal(t, "cursor-1", cur)
	first, err := s.FirstSeen(ctx, "m1", time.Hour)
	require.NoError(t, err)
	assert.False(t, first)
	got, err := s.Session(ctx, sess.Conversation)
	require.NoError(t, err)
	assert.Equal(t, sess.Vars, got.Vars)
	assert.Equal(t, 3, got.Messages)
	assert.True(t, sess.WindowStart.Equal(got.WindowStart))
	st, err := s.SendState(ctx, "r1")
	require.NoError(t, err)
	assert.Equal(t, storage.SendPending, st)
	_, err = s.AcquireLease(ctx, "pull/wk1", "other", time.Minute)
	require.NoError(t, err, "leases do not survive a restart: their holder is gone")

	clock.Advance(time.Hour)
	_, err = s.Session(ctx, sess.Conversation)
	require.ErrorIs(t, err, storage.ErrNotFound)
}

func TestSecondOpenFails(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir)
	abs, err := filepath.Abs(dir)
	require.NoError(t, err)
	assert.Equal(t, abs, s.Dir())

	start := time.Now()
	s2, err := badgerstore.Open(dir, badgerstore.WithLogger(testLogger(t)))
	elapsed := time.Since(start)
	require.Error(t, err)
	assert.Nil(t, s2)
	require.ErrorIs(t, err, badgerstore.ErrLocked)
	locked, ok := errors.AsType[*badgerstore.LockedError](err)
	require.True(t, ok)
	assert.Equal(t, abs, locked.Dir)
	assert.Contains(t, err.Error(), abs)
	assert.Contains(t, err.Error(), "another kfbot process")
	t.Logf("second open: %v (after %v)", err, elapsed)

	// The failed open changed nothing: the first store works, and after its Close the
	// directory opens again.
	_, err = s.FirstSeen(t.Context(), "x", time.Minute)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	s3 := openDir(t, dir)
	seen, err := s3.Seen(t.Context(), "x")
	require.NoError(t, err)
	assert.True(t, seen)
}

func TestMemTableGuard(t *testing.T) {
	dir := t.TempDir()
	mib := func(n int64) badgerstore.Option { return badgerstore.WithMemTableSize(n << 20) }
	steps := []struct {
		size   int64
		refuse bool
	}{
		{16, false}, // creates the store and records 16 MiB
		{8, true},   // shrinking is refused
		{16, false},
		{32, false}, // growing is allowed and recorded
		{16, true},
		{32, false},
	}
	for i, st := range steps {
		s, err := badgerstore.Open(dir, mib(st.size), badgerstore.WithLogger(testLogger(t)))
		if st.refuse {
			require.ErrorIs(t, err, badgerstore.ErrMemTableShrink, "step %d", i)
			assert.Contains(t, err.Error(), dir)
			assert.Contains(t, err.Error(), "WithMemTableSize")
			assert.Nil(t, s)
			continue
		}
		require.NoError(t, err, "step %d", i)
		require.NoError(t, s.Close())
	}
	b, err := os.ReadFile(filepath.Join(dir, "kfbot-options.json"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"format":1,"mem_table_size":33554432}`, string(b))
}

func TestOpenRefusesUnknownFormat(t *testing.T) {
	for _, content := range []string{`{"format":2,"mem_table_size":8388608}`, `not json`} {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "kfbot-options.json"), []byte(content), 0o600))
		_, err := badgerstore.Open(dir, badgerstore.WithLogger(testLogger(t)))
		require.ErrorIs(t, err, badgerstore.ErrFormat, content)
		// The refused open released the lock.
		require.NoError(t, os.WriteFile(filepath.Join(dir, "kfbot-options.json"), []byte(`{"format":1}`), 0o600))
		s := openDir(t, dir)
		require.NoError(t, s.Close())
	}
}

func TestInvalidOptions(t *testing.T) {
	_, err := badgerstore.Open("")
	assert.Error(t, err)
	for _, size := range []int64{0, badgerstore.MinMemTableSize - 1, badgerstore.MaxMemTableSize + 1} {
		_, err = badgerstore.Open(t.TempDir(), badgerstore.WithMemTableSize(size))
		assert.ErrorContains(t, err, "memtable size", size)
		_, err = badgerstore.OpenInMemory(badgerstore.WithMemTableSize(size))
		assert.ErrorContains(t, err, "memtable size", size)
	}
	// The smallest memtable works (ValueThreshold follows it down).
	s, err := badgerstore.OpenInMemory(badgerstore.WithMemTableSize(badgerstore.MinMemTableSize))
	require.NoError(t, err)
	require.NoError(t, s.PutSession(t.Context(), &storage.Session{Vars: map[string]any{"v": strings.Repeat("x", 100<<10)}}, 0))
	require.NoError(t, s.Close())
}

func TestOpenNotADirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(f, nil, 0o600))
	_, err := badgerstore.Open(f)
	require.Error(t, err)
	assert.Contains(t, err.Error(), f)
}

func TestSyncWrites(t *testing.T) {
	dir := t.TempDir()
	s := openDir(t, dir, badgerstore.WithSyncWrites(true))
	first, err := s.FirstSeen(t.Context(), "m", 0)
	require.NoError(t, err)
	require.True(t, first)
	require.NoError(t, s.Close())
	s = openDir(t, dir)
	seen, err := s.Seen(t.Context(), "m")
	require.NoError(t, err)
	assert.True(t, seen)
}

// TestBadgerLogsOnlyWarnings checks that Badger's Info chatter on open and close does not
// reach the logger, even one enabled at Debug.
func TestBadgerLogsOnlyWarnings(t *testing.T) {
	h := &recorder{}
	s, err := badgerstore.Open(t.TempDir(), badgerstore.WithLogger(slog.New(h)))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	for _, r := range h.all() {
		if r.component == "badger" {
			assert.GreaterOrEqual(t, r.level, slog.LevelWarn, "badger logged %q at %v", r.msg, r.level)
		}
	}
}

// TestBadgerWarningsReachLogger checks that Badger's own warnings go to the store's
// logger (a failing backup makes Badger warn "Error while sending").
func TestBadgerWarningsReachLogger(t *testing.T) {
	h := &recorder{}
	s, err := badgerstore.Open(t.TempDir(), badgerstore.WithLogger(slog.New(h)))
	require.NoError(t, err)
	defer s.Close()
	_, err = s.FirstSeen(t.Context(), "x", 0)
	require.NoError(t, err)
	require.Error(t, s.Backup(t.Context(), failWriter{errors.New("disk full")}))
	var warned bool
	for _, r := range h.all() {
		warned = warned || (r.component == "badger" && r.level == slog.LevelWarn && strings.Contains(r.msg, "disk full"))
	}
	assert.True(t, warned, "badger's warning reached the logger: %+v", h.all())
}

// TestApplyTooBig: a batch beyond one transaction fails with storage.ErrBatchTooBig and
// writes nothing, so the engine can split it.
func TestApplyTooBig(t *testing.T) {
	s := openDir(t, t.TempDir())
	ctx := t.Context()
	big := strings.Repeat("x", 64<<10)
	b := &storage.Batch{Seen: []string{"in-1"}, Cursor: &storage.CursorUpdate{Account: storage.Account{CorpID: "ww1", OpenKFID: "wk1"}, Cursor: "c"}}
	for i := range 64 { // 4 MiB of sessions against an 8 MiB memtable's ~1.2 MiB limit
		b.Sessions = append(b.Sessions, &storage.Session{
			Conversation: storage.Conversation{CorpID: "ww1", OpenKFID: "wk1", ExternalUserID: fmt.Sprint("wm", i)},
			Vars:         map[string]any{"blob": big},
		})
	}
	err := s.Apply(ctx, b)
	require.ErrorIs(t, err, storage.ErrBatchTooBig)
	seen, err := s.Seen(ctx, "in-1")
	require.NoError(t, err)
	assert.False(t, seen, "nothing of the batch was written")
	cur, err := s.Cursor(ctx, b.Cursor.Account)
	require.NoError(t, err)
	assert.Empty(t, cur)

	b.Sessions = b.Sessions[:4]
	require.NoError(t, s.Apply(ctx, b), "a smaller part fits")
}

// TestInboxSurvivesReopen: parked messages and memos are on disk.
func TestInboxSurvivesReopen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	acct := storage.Account{CorpID: "ww1", OpenKFID: "wk1"}
	e := storage.InboxEntry{Conversation: storage.Conversation{CorpID: "ww1", OpenKFID: "wk1", ExternalUserID: "wm1"},
		Seq: 3, MsgID: "m1", Message: []byte(`{"msgid":"m1"}`), Arrived: time.Now()}
	s := openDir(t, dir)
	require.NoError(t, s.Apply(ctx, &storage.Batch{Park: []storage.InboxEntry{e}}))
	require.NoError(t, s.PutMemo(ctx, "memo-1", []byte("answer"), time.Hour))
	require.NoError(t, s.Close())

	s = openDir(t, dir)
	got, err := s.Inbox(ctx, acct)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "m1", got[0].MsgID)
	v, err := s.Memo(ctx, "memo-1")
	require.NoError(t, err)
	assert.Equal(t, "answer", string(v))
}

// TestCallbacksSurviveReopen: recorded notifications, pending and handled, are on disk.
func TestCallbacksSurviveReopen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := openDir(t, dir)
	for _, k := range []string{"cb1:pending", "cb1:handled"} {
		ok, err := s.RecordCallback(ctx, storage.CallbackEntry{Key: k, Payload: []byte("<xml/>"), Received: time.Now()}, time.Hour)
		require.NoError(t, err)
		require.True(t, ok)
	}
	require.NoError(t, s.CallbackHandled(ctx, "cb1:handled"))
	require.NoError(t, s.Close())

	s = openDir(t, dir)
	got, err := s.PendingCallbacks(ctx)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "cb1:pending", got[0].Key)
	for _, k := range []string{"cb1:pending", "cb1:handled"} {
		ok, err := s.RecordCallback(ctx, storage.CallbackEntry{Key: k, Payload: []byte("<xml/>")}, time.Hour)
		require.NoError(t, err)
		assert.False(t, ok, "%s is still recorded", k)
	}
}
