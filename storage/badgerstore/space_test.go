package badgerstore

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
)

// TestSpaceGuardRefusesWritesBelowTheReserve runs everywhere (no root): free space is
// injected, and so is the guard's clock.
func TestSpaceGuardRefusesWritesBelowTheReserve(t *testing.T) {
	const reserve = 100 << 20
	var free atomic.Uint64
	free.Store(reserve * 2)
	s, err := Open(t.TempDir(), WithMinFreeSpace(reserve), WithGCInterval(0),
		withStatfs(func(string) (uint64, error) { return free.Load(), nil }))
	require.NoError(t, err)
	defer s.Close()
	now := time.Now().Add(time.Hour) // after the reading Open took
	s.space.now = func() time.Time { return now }
	ctx := t.Context()
	acct := storage.Account{CorpID: "ww1", OpenKFID: "wk1"}
	conv := storage.Conversation{OpenKFID: "wk1", ExternalUserID: "wm1"}

	require.NoError(t, s.SetCursor(ctx, acct, "c1"))
	_, err = s.AcquireLease(ctx, "pull", "me", time.Minute)
	require.NoError(t, err)

	free.Store(reserve - 1)
	now = now.Add(spaceCheckInterval) // the cached reading has aged
	writes := map[string]func() error{
		"SetCursor":     func() error { return s.SetCursor(ctx, acct, "c2") },
		"FirstSeen":     func() error { _, err := s.FirstSeen(ctx, "m1", 0); return err },
		"PutSession":    func() error { return s.PutSession(ctx, &storage.Session{Conversation: conv}, 0) },
		"DeleteSession": func() error { return s.DeleteSession(ctx, conv) },
		"SetSendState":  func() error { return s.SetSendState(ctx, "r1", storage.SendDone, 0) },
		"AcquireLease":  func() error { _, err := s.AcquireLease(ctx, "other", "me", time.Minute); return err },
		"RenewLease":    func() error { _, err := s.RenewLease(ctx, "pull", "me", time.Minute); return err },
	}
	for name, write := range writes {
		err := write()
		var ns *NoSpaceError
		require.ErrorAs(t, err, &ns, name)
		assert.ErrorIs(t, err, storage.ErrNoSpace, name)
		assert.Equal(t, uint64(reserve-1), ns.Free)
	}
	// Reads still work, and the lease can be given back.
	cur, err := s.Cursor(ctx, acct)
	require.NoError(t, err)
	assert.Equal(t, "c1", cur)
	require.NoError(t, s.ReleaseLease(ctx, "pull", "me"))
	assert.ErrorIs(t, s.CheckSpace(), storage.ErrNoSpace)
	got, ok := s.FreeSpace()
	assert.True(t, ok)
	assert.Equal(t, uint64(reserve-1), got)

	free.Store(reserve)
	require.NoError(t, s.CheckSpace()) // a fresh reading
	first, err := s.FirstSeen(ctx, "m1", 0)
	require.NoError(t, err)
	assert.True(t, first)
}

func TestSpaceGuardReadingIsCachedBriefly(t *testing.T) {
	var calls int
	g := &spaceGuard{dir: "d", margin: 10, now: func() time.Time { return time.Unix(0, 0) },
		statfs: func(string) (uint64, error) { calls++; return 100, nil }}
	for range spaceCheckWrites * 3 {
		require.NoError(t, g.check())
	}
	assert.Equal(t, 3, calls, "one reading per %d writes within the interval", spaceCheckWrites)

	g.statfs = func(string) (uint64, error) { return 0, errors.New("statfs: not supported") }
	_, err := g.fresh()
	assert.NoError(t, err, "a filesystem that cannot be measured is not refused")
	assert.Nil(t, (*spaceGuard)(nil).check())
}

func TestMinFreeSpaceDisabled(t *testing.T) {
	s, err := Open(t.TempDir(), WithMinFreeSpace(-1), WithGCInterval(0),
		withStatfs(func(string) (uint64, error) { return 0, nil }))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, s.CheckSpace())
	_, err = s.FirstSeen(t.Context(), "m", 0)
	require.NoError(t, err)
	_, ok := s.FreeSpace()
	assert.False(t, ok)
}
