package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
)

// Option changes how [Run] tests a store.
type Option func(*options)

type options struct {
	rt *realTime // nil: expiry follows the fake clock
}

// WithRealTime tells [Run] the store keeps expiry in real time (a server's TTLs; now is
// [time.Now]). ttl is its shortest TTL (100ms, or 2s for one-second TTLs): such entries
// must vanish within 10×ttl+10s; Lease.Expires may be 1s off; nanoseconds go unchecked.
func WithRealTime(ttl time.Duration) Option {
	return func(o *options) { o.rt = &realTime{ttl: ttl} }
}

// clockSkew is how far a real-time store's Lease.Expires may be from the caller's clock.
const clockSkew = time.Second

// realTime runs the expiry tests against a store whose clock the suite cannot move.
type realTime struct {
	ttl time.Duration
}

// wait is how long an entry written with rt.ttl may take to vanish.
func (rt *realTime) wait() time.Duration { return 10*rt.ttl + 10*time.Second }

// expire polls until expired reports true, and fails the test if that takes longer than
// rt.wait or expired returns an error.
func (rt *realTime) expire(t *testing.T, what string, expired func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(rt.wait())
	tick := time.NewTicker(min(max(rt.ttl/20, time.Millisecond), 100*time.Millisecond))
	defer tick.Stop()
	for {
		done, err := expired()
		require.NoError(t, err, what)
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still live %v after it was written with ttl %v", what, rt.wait(), rt.ttl)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("%s: %v", what, t.Context().Err())
		case <-tick.C:
		}
	}
}

// fresh runs try with fresh names until one run takes less than rt.ttl/2, so that what
// it wrote with rt.ttl was certainly live throughout, then runs the checks that run
// returned and returns its name. A slower run proves nothing either way.
func (rt *realTime) fresh(t *testing.T, prefix string, try func(name string) (check func())) string {
	t.Helper()
	const attempts = 10
	for i := range attempts {
		name := fmt.Sprintf("%s-%d", prefix, i)
		start := time.Now()
		check := try(name)
		if time.Since(start) < rt.ttl/2 {
			check()
			return name
		}
	}
	t.Fatalf("%d runs each took longer than half the ttl %v: pass a longer ttl to WithRealTime", attempts, rt.ttl)
	return ""
}

// expires checks that l, acquired or renewed for ttl by a call made between before and
// after, expires then, give or take the clock skew.
func (rt *realTime) expires(t *testing.T, l storage.Lease, before, after time.Time, ttl time.Duration) {
	t.Helper()
	lo, hi := before.Add(ttl-clockSkew), after.Add(ttl+clockSkew)
	assert.True(t, !l.Expires.Before(lo) && !l.Expires.After(hi), "expires %v, want within [%v, %v]", l.Expires, lo, hi)
}

func realDedupTTL(t *testing.T, s storage.Store, rt *realTime) {
	ctx := t.Context()
	id := rt.fresh(t, "m", func(id string) func() {
		first, err1 := s.FirstSeen(ctx, id, rt.ttl)
		seen, err2 := s.Seen(ctx, id)
		again, err3 := s.FirstSeen(ctx, id, time.Hour)
		return func() {
			require.NoError(t, errors.Join(err1, err2, err3))
			require.True(t, first)
			assert.True(t, seen, "before expiry")
			assert.False(t, again, "before expiry; must not extend the TTL")
		}
	})
	rt.expire(t, "dedup id", func() (bool, error) { seen, err := s.Seen(ctx, id); return !seen, err })

	first, err := s.FirstSeen(ctx, id, time.Hour)
	require.NoError(t, err)
	assert.True(t, first, "an expired id is first again")
	first, err = s.FirstSeen(ctx, id, time.Hour)
	require.NoError(t, err)
	assert.False(t, first, "and recorded again")

	// The new record has a fresh TTL: it outlives one written after it with ttl.
	first, err = s.FirstSeen(ctx, "marker", rt.ttl)
	require.NoError(t, err)
	require.True(t, first)
	rt.expire(t, "marker", func() (bool, error) { seen, err := s.Seen(ctx, "marker"); return !seen, err })
	seen, err := s.Seen(ctx, id)
	require.NoError(t, err)
	assert.True(t, seen, "the new record has a fresh TTL")
}

func realDedupDefaultTTL(t *testing.T, s storage.Store, rt *realTime) {
	ctx := t.Context()
	require.GreaterOrEqual(t, storage.DefaultDedupTTL, 72*time.Hour)
	ids := []string{"default-0", "default--1s"}
	for i, ttl := range []time.Duration{0, -time.Second} {
		first, err := s.FirstSeen(ctx, ids[i], ttl)
		require.NoError(t, err)
		require.True(t, first)
	}
	first, err := s.FirstSeen(ctx, "marker", rt.ttl)
	require.NoError(t, err)
	require.True(t, first)
	rt.expire(t, "marker", func() (bool, error) { seen, err := s.Seen(ctx, "marker"); return !seen, err })
	for _, id := range ids {
		seen, err := s.Seen(ctx, id)
		require.NoError(t, err)
		assert.True(t, seen, "%s outlives ttl: it has the default TTL", id)
	}
}

func realSessionTTL(t *testing.T, s storage.Store, rt *realTime) {
	ctx := t.Context()
	conv := func(user string) storage.Conversation {
		return storage.Conversation{CorpID: "ww", OpenKFID: "wk", ExternalUserID: user}
	}
	gone := func(c storage.Conversation) func() (bool, error) {
		return func() (bool, error) {
			_, err := s.Session(ctx, c)
			if errors.Is(err, storage.ErrNotFound) {
				return true, nil
			}
			return false, err
		}
	}
	put := func(user string, ttl time.Duration) {
		t.Helper()
		require.NoError(t, s.PutSession(ctx, &storage.Session{Conversation: conv(user), Messages: 1}, ttl))
	}
	// waitTTL returns once a session put now with ttl has expired.
	waitTTL := func() {
		t.Helper()
		put("marker", rt.ttl)
		rt.expire(t, "marker session", gone(conv("marker")))
	}

	put("wm", rt.ttl)
	rt.expire(t, "session", gone(conv("wm")))

	// Each put restarts the TTL.
	put("wm", rt.ttl)
	put("wm", time.Hour)
	waitTTL()
	_, err := s.Session(ctx, conv("wm"))
	require.NoError(t, err, "the second put restarted the TTL")

	// ttl ≤ 0 means DefaultSessionTTL.
	require.Equal(t, 48*time.Hour, storage.DefaultSessionTTL)
	put("default", 0)
	waitTTL()
	_, err = s.Session(ctx, conv("default"))
	require.NoError(t, err, "a put with ttl 0 outlives ttl: it has the default TTL")

	// A put after expiry works as on a fresh store.
	put("again", rt.ttl)
	rt.expire(t, "session", gone(conv("again")))
	put("again", time.Minute)
	got, err := s.Session(ctx, conv("again"))
	require.NoError(t, err)
	assert.Equal(t, 1, got.Messages)
}

func realSendTTL(t *testing.T, s storage.Store, rt *realTime) {
	ctx := t.Context()
	require.NoError(t, s.SetSendState(ctx, "b", storage.SendDone, 0))
	require.NoError(t, s.SetSendState(ctx, "a", storage.SendPending, rt.ttl))
	rt.expire(t, "send state", func() (bool, error) {
		st, err := s.SendState(ctx, "a")
		return st == storage.SendNone, err
	})
	st, err := s.SendState(ctx, "b")
	require.NoError(t, err)
	assert.Equal(t, storage.SendDone, st, "ttl 0 means DefaultDedupTTL, which outlives ttl")
}

// taken returns a poll that reports once owner can acquire name, which it then holds.
func taken(t *testing.T, s storage.Store, name, owner string) func() (bool, error) {
	return func() (bool, error) {
		_, err := s.AcquireLease(t.Context(), name, owner, time.Minute)
		if errors.Is(err, storage.ErrLeaseHeld) {
			return false, nil
		}
		return err == nil, err
	}
}

func realLeaseExclusive(t *testing.T, s storage.Store, rt *realTime) {
	ctx := t.Context()
	const name = "pull/wkAJ2GCAAASSm4"
	before := time.Now()
	l, err := s.AcquireLease(ctx, name, "a", time.Minute)
	require.NoError(t, err)
	rt.expires(t, l, before, time.Now(), time.Minute)
	assert.Equal(t, name, l.Name)
	assert.Equal(t, "a", l.Owner)

	checkLeaseHeld(t, s, name, "b")

	// Re-acquiring and renewing by the owner set the expiry anew.
	before = time.Now()
	l, err = s.AcquireLease(ctx, name, "a", 2*time.Minute)
	require.NoError(t, err)
	rt.expires(t, l, before, time.Now(), 2*time.Minute)
	before = time.Now()
	l, err = s.RenewLease(ctx, name, "a", 3*time.Minute)
	require.NoError(t, err)
	rt.expires(t, l, before, time.Now(), 3*time.Minute)
	assert.Equal(t, "a", l.Owner)
	_, err = s.AcquireLease(ctx, name, "b", time.Minute)
	require.ErrorIs(t, err, storage.ErrLeaseHeld)

	// A re-acquire with a longer ttl outlives a lease taken after it with ttl; a renewal
	// with ttl makes the lease expire then.
	_, err = s.AcquireLease(ctx, "longer", "a", rt.ttl)
	require.NoError(t, err)
	_, err = s.AcquireLease(ctx, "longer", "a", time.Hour)
	require.NoError(t, err)
	_, err = s.AcquireLease(ctx, "shorter", "a", time.Hour)
	require.NoError(t, err)
	_, err = s.RenewLease(ctx, "shorter", "a", rt.ttl)
	require.NoError(t, err)
	rt.expire(t, "renewed lease", taken(t, s, "shorter", "b"))
	_, err = s.AcquireLease(ctx, "longer", "b", time.Minute)
	require.ErrorIs(t, err, storage.ErrLeaseHeld, "the re-acquire extended the lease")

	checkLeaseRelease(t, s, name, "a", "b")
}

func realLeaseExpiry(t *testing.T, s storage.Store, rt *realTime) {
	ctx := t.Context()
	n := rt.fresh(t, "n", func(n string) func() {
		_, err1 := s.AcquireLease(ctx, n, "a", rt.ttl)
		_, err2 := s.AcquireLease(ctx, n, "b", time.Minute)
		return func() {
			require.NoError(t, err1)
			require.ErrorIs(t, err2, storage.ErrLeaseHeld, "before expiry")
		}
	})
	// Once a lease taken after n with the same ttl has expired, n has too.
	_, err := s.AcquireLease(ctx, n+"-marker", "a", rt.ttl)
	require.NoError(t, err)
	rt.expire(t, "lease", taken(t, s, n+"-marker", "probe"))

	_, err = s.RenewLease(ctx, n, "a", time.Minute)
	require.ErrorIs(t, err, storage.ErrLeaseNotHeld, "an expired lease cannot be renewed")
	l, err := s.AcquireLease(ctx, n, "b", time.Minute)
	require.NoError(t, err, "an expired lease can be taken")
	assert.Equal(t, "b", l.Owner)
	_, err = s.AcquireLease(ctx, n, "a", time.Minute)
	require.ErrorIs(t, err, storage.ErrLeaseHeld)
	require.NoError(t, s.ReleaseLease(ctx, n, "a"), "the old owner's release is a no-op")
	_, err = s.RenewLease(ctx, n, "b", time.Minute)
	require.NoError(t, err)

	// The original owner can re-acquire its own expired lease.
	_, err = s.AcquireLease(ctx, "own", "a", rt.ttl)
	require.NoError(t, err)
	_, err = s.AcquireLease(ctx, "own-marker", "a", rt.ttl)
	require.NoError(t, err)
	rt.expire(t, "lease", taken(t, s, "own-marker", "probe"))
	_, err = s.AcquireLease(ctx, "own", "a", time.Minute)
	require.NoError(t, err)
}
