package badgerstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/badgerstore"
	"github.com/kfbot/kfbot/storage/storagetest"
)

func TestBackupRestore(t *testing.T) {
	ctx := t.Context()
	clock := storagetest.NewClock(time.Time{})
	src := openDir(t, t.TempDir(), badgerstore.WithClock(clock.Now))
	const n = 2000
	for i := range n {
		id := fmt.Sprint(i)
		require.NoError(t, src.SetCursor(ctx, storage.Account{CorpID: "ww", OpenKFID: "wk" + id}, "c"+id))
		_, err := src.FirstSeen(ctx, "m"+id, time.Hour)
		require.NoError(t, err)
		require.NoError(t, src.PutSession(ctx, &storage.Session{Conversation: storage.Conversation{OpenKFID: "wk", ExternalUserID: "wm" + id}, Messages: i}, time.Hour))
	}
	require.NoError(t, src.SetSendState(ctx, "r1", storage.SendPending, time.Hour))
	_, err := src.FirstSeen(ctx, "short", time.Minute)
	require.NoError(t, err)

	var buf bytes.Buffer
	require.NoError(t, src.Backup(ctx, &buf))
	t.Logf("backup of %d keys: %d bytes", 3*n+2, buf.Len())

	// The source keeps working during and after the backup.
	_, err = src.FirstSeen(ctx, "after-backup", time.Hour)
	require.NoError(t, err)

	for name, open := range map[string]func() *badgerstore.Store{
		"disk": func() *badgerstore.Store { return openDir(t, t.TempDir(), badgerstore.WithClock(clock.Now)) },
		"memory": func() *badgerstore.Store {
			s, err := badgerstore.OpenInMemory(badgerstore.WithClock(clock.Now))
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			return s
		},
	} {
		t.Run(name, func(t *testing.T) {
			dst := open()
			require.NoError(t, dst.Restore(ctx, bytes.NewReader(buf.Bytes())))
			for i := range n {
				id := fmt.Sprint(i)
				cur, err := dst.Cursor(ctx, storage.Account{CorpID: "ww", OpenKFID: "wk" + id})
				require.NoError(t, err)
				require.Equal(t, "c"+id, cur)
				first, err := dst.FirstSeen(ctx, "m"+id, time.Hour)
				require.NoError(t, err)
				require.False(t, first, "restored msgid %d", i)
				sess, err := dst.Session(ctx, storage.Conversation{OpenKFID: "wk", ExternalUserID: "wm" + id})
				require.NoError(t, err)
				require.Equal(t, i, sess.Messages)
			}
			st, err := dst.SendState(ctx, "r1")
			require.NoError(t, err)
			assert.Equal(t, storage.SendPending, st)
			seen, err := dst.Seen(ctx, "after-backup")
			require.NoError(t, err)
			assert.False(t, seen, "written after the backup")

			// Restored entries keep their logical expiry, and the store takes new writes.
			first, err := dst.FirstSeen(ctx, "new", time.Hour)
			require.NoError(t, err)
			assert.True(t, first)
			require.NoError(t, dst.SetCursor(ctx, storage.Account{CorpID: "ww", OpenKFID: "wk0"}, "newer"))
			cur, err := dst.Cursor(ctx, storage.Account{CorpID: "ww", OpenKFID: "wk0"})
			require.NoError(t, err)
			assert.Equal(t, "newer", cur, "a write after the restore wins over restored data")
		})
	}
	clock.Advance(time.Minute)
	seen, err := src.Seen(ctx, "short")
	require.NoError(t, err)
	assert.False(t, seen)
}

func TestBackupErrors(t *testing.T) {
	s := openDir(t, t.TempDir())
	_, err := s.FirstSeen(t.Context(), "x", 0)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	assert.ErrorIs(t, s.Backup(ctx, &bytes.Buffer{}), context.Canceled)
	assert.ErrorIs(t, s.Restore(ctx, strings.NewReader("")), context.Canceled)

	werr := errors.New("disk full")
	assert.ErrorIs(t, s.Backup(t.Context(), failWriter{werr}), werr)
	assert.Error(t, s.Restore(t.Context(), strings.NewReader("definitely not a backup stream")))

	require.NoError(t, s.Close())
	assert.ErrorIs(t, s.Backup(t.Context(), &bytes.Buffer{}), storage.ErrClosed)
	assert.ErrorIs(t, s.Restore(t.Context(), strings.NewReader("")), storage.ErrClosed)
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }
