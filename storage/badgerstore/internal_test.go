package badgerstore

import (
	"bytes"
	"log/slog"
	"math"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
)

func TestRunEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stop, done := make(chan struct{}), make(chan struct{})
		var passes atomic.Int32
		go runEvery(time.Minute, stop, done, func() { passes.Add(1) })

		time.Sleep(59 * time.Second)
		synctest.Wait()
		assert.Equal(t, int32(0), passes.Load(), "no pass before the first interval")
		time.Sleep(2*time.Minute + time.Second)
		synctest.Wait()
		assert.Equal(t, int32(3), passes.Load())

		close(stop)
		synctest.Wait()
		select {
		case <-done:
		default:
			t.Fatal("the loop did not exit when stopped")
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Equal(t, int32(3), passes.Load(), "no pass after stop")
	})
}

// TestCloseStopsGC checks that the GC goroutine of a real store runs and exits in Close.
func TestCloseStopsGC(t *testing.T) {
	s, err := Open(t.TempDir(), WithGCInterval(time.Millisecond), WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	_, err = s.FirstSeen(t.Context(), "x", time.Minute)
	require.NoError(t, err)
	s.gcPass() // runs beside the loop's passes without harm
	require.NoError(t, s.Close())
	select {
	case <-s.gcDone:
	default:
		t.Fatal("GC goroutine still running after Close")
	}
	s.gcPass() // a pass after Close is a no-op, not a crash
}

func TestGCDisabled(t *testing.T) {
	s, err := Open(t.TempDir(), WithGCInterval(0), WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	select {
	case <-s.gcDone:
	default:
		t.Fatal("GC loop started although disabled")
	}
	require.NoError(t, s.Close())
}

func TestBadgerLogger(t *testing.T) {
	var buf bytes.Buffer
	l := badgerLogger{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		Level:       slog.LevelDebug,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return dropTime(a) },
	}))}
	l.Errorf("disk %s\n", "full")
	l.Warningf("slow %d", 3)
	l.Infof("chatty")
	l.Debugf("chattier")
	assert.Equal(t, "level=ERROR msg=\"disk full\"\nlevel=WARN msg=\"slow 3\"\n", buf.String())

	buf.Reset()
	quiet := badgerLogger{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError}))}
	quiet.Warningf("%v", panicker{}) // not formatted when disabled
	assert.Empty(t, buf.String())
}

func dropTime(a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

type panicker struct{}

func (panicker) String() string { panic("formatted a disabled message") }

func TestKeysDoNotCollide(t *testing.T) {
	keys := map[string]string{}
	add := func(what string, k []byte) {
		if prev, ok := keys[string(k)]; ok {
			t.Errorf("%s and %s share key %q", prev, what, k)
		}
		keys[string(k)] = what
	}
	add("cursor ab/c", cursorKey(storage.Account{CorpID: "ab", OpenKFID: "c"}))
	add("cursor a/bc", cursorKey(storage.Account{CorpID: "a", OpenKFID: "bc"}))
	add("session ab/c", sessionKey(storage.Conversation{OpenKFID: "ab", ExternalUserID: "c"}))
	add("session ab/c of corp x", sessionKey(storage.Conversation{CorpID: "x", OpenKFID: "ab", ExternalUserID: "c"}))
	add("session xa/b/c", sessionKey(storage.Conversation{CorpID: "xa", OpenKFID: "b", ExternalUserID: "c"}))
	add("session x/a/bc", sessionKey(storage.Conversation{CorpID: "x", OpenKFID: "a", ExternalUserID: "bc"}))
	add("seen x", idKey(kindSeen, "x"))
	add("send x", idKey(kindSend, "x"))
	add("lease x", idKey(kindLease, "x"))
	for k := range keys {
		assert.Equal(t, byte(formatVersion), k[0], "every key starts with the format version")
	}
}

// Cursor keys keep the layout of format 1, so cursors survive the corp joining the
// session key; sessions moved to a new kind byte, so no v1 session key is ever read.
func TestKeyLayout(t *testing.T) {
	assert.Equal(t, []byte("\x01c\x02wwwk"), cursorKey(storage.Account{CorpID: "ww", OpenKFID: "wk"}))
	assert.Equal(t, []byte("\x01S\x02ww\x02wkwm"),
		sessionKey(storage.Conversation{CorpID: "ww", OpenKFID: "wk", ExternalUserID: "wm"}))
}

// A session written under the v1 key (no corp) is not read as anyone's: sessions start
// afresh after the upgrade, while the directory's cursors are kept.
func TestV1SessionsStartAfresh(t *testing.T) {
	ctx := t.Context()
	s, err := OpenInMemory(WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer s.Close()
	old := &storage.Session{Conversation: storage.Conversation{OpenKFID: "wk", ExternalUserID: "wm"}, Messages: 3}
	v, err := old.AppendBinary(appendExpiry(nil, s.now().Add(time.Hour)))
	require.NoError(t, err)
	v1Key := append([]byte{formatVersion, 's', 2}, "wkwm"...)
	require.NoError(t, s.db.Update(func(txn *badger.Txn) error {
		return txn.SetEntry(entry(v1Key, v, time.Hour))
	}))
	acct := storage.Account{CorpID: "ww", OpenKFID: "wk"}
	require.NoError(t, s.SetCursor(ctx, acct, "cur"))

	for _, corp := range []string{"", "ww"} {
		_, err = s.Session(ctx, storage.Conversation{CorpID: corp, OpenKFID: "wk", ExternalUserID: "wm"})
		require.ErrorIs(t, err, storage.ErrNotFound, "corp %q", corp)
	}
	cur, err := s.Cursor(ctx, acct)
	require.NoError(t, err)
	assert.Equal(t, "cur", cur)
}

func TestUnixNanosClamps(t *testing.T) {
	assert.Equal(t, int64(math.MaxInt64), unixNanos(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)))
	assert.Equal(t, int64(math.MinInt64), unixNanos(time.Time{}))
	now := time.Now()
	assert.Equal(t, now.UnixNano(), unixNanos(now))
	assert.True(t, live(unixNanos(now.Add(math.MaxInt64)), now), "a TTL beyond 2262 never expires early")
}

func TestCorruptValues(t *testing.T) {
	ctx := t.Context()
	s, err := OpenInMemory(WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.db.Update(func(txn *badger.Txn) error {
		for _, k := range [][]byte{idKey(kindSeen, "bad"), idKey(kindSend, "bad"), idKey(kindLease, "bad"),
			sessionKey(storage.Conversation{OpenKFID: "bad", ExternalUserID: "bad"})} {
			if err := txn.Set(k, []byte{1, 2, 3}); err != nil {
				return err
			}
		}
		return nil
	}))
	// Corrupt values are errors, never panics or silent successes.
	_, err = s.Seen(ctx, "bad")
	assert.Error(t, err)
	_, err = s.FirstSeen(ctx, "bad", 0)
	assert.Error(t, err)
	_, err = s.SendState(ctx, "bad")
	assert.Error(t, err)
	_, err = s.AcquireLease(ctx, "bad", "me", time.Minute)
	assert.Error(t, err)
	assert.Error(t, s.ReleaseLease(ctx, "bad", "me"))
	_, err = s.Session(ctx, storage.Conversation{OpenKFID: "bad", ExternalUserID: "bad"})
	assert.Error(t, err)
	assert.NotErrorIs(t, err, storage.ErrNotFound)
}

func FuzzDecodeValues(f *testing.F) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f.Add(sendValue(now, storage.SendDone))
	f.Add(leaseValue(storage.Lease{Name: "n", Owner: "owner", Expires: now}))
	f.Add([]byte(`{"format":1,"mem_table_size":8388608}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, v []byte) {
		if exp, st, err := decodeSend(v); err == nil {
			require.Equal(t, v, sendValue(time.Unix(0, exp), st), "send entries re-encode identically")
		}
		if l, err := decodeLease("n", v); err == nil {
			require.Equal(t, v, leaseValue(l), "leases re-encode identically")
		}
		_, _, _ = splitValue(v)
		if m, ok, err := parseMeta(v); err == nil {
			require.True(t, ok)
			require.Equal(t, formatVersion, m.Format)
		}
	})
}

// FuzzRestore feeds Restore arbitrary streams: it must return an error or succeed,
// never panic or hang.
func FuzzRestore(f *testing.F) {
	src, err := OpenInMemory(WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(f, err)
	_, err = src.FirstSeen(f.Context(), "m1", 0)
	require.NoError(f, err)
	require.NoError(f, src.SetCursor(f.Context(), storage.Account{CorpID: "c", OpenKFID: "k"}, "cur"))
	var backup bytes.Buffer
	require.NoError(f, src.Backup(f.Context(), &backup))
	require.NoError(f, src.Close())
	f.Add(backup.Bytes())
	f.Add(backup.Bytes()[:backup.Len()/2])
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{3, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3})

	dst, err := OpenInMemory(WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(f, err)
	f.Cleanup(func() { _ = dst.Close() })
	f.Fuzz(func(t *testing.T, stream []byte) {
		_ = dst.Restore(t.Context(), bytes.NewReader(stream))
		// The store still works afterwards.
		_, err := dst.FirstSeen(t.Context(), "probe", time.Nanosecond)
		require.NoError(t, err)
	})
}
