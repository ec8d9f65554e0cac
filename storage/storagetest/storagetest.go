package storagetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
)

// DedupWorkers and DedupIDs size the concurrent FirstSeen test: DedupWorkers goroutines
// each ask about the same DedupIDs ids, and exactly DedupIDs calls must win.
const (
	DedupWorkers = 8
	DedupIDs     = 5000
)

// Run runs the conformance suite against the stores made by newStore, one fresh store
// per subtest. newStore must return an empty store whose expiry decisions use now (a
// fake [Clock]), or, with [WithRealTime], one that keeps expiry itself; it may register
// cleanups on t, and Run closes every store it gets.
//
// It checks round trips, not-found, TTL expiry to the nanosecond, concurrent FirstSeen
// ([DedupWorkers] × [DedupIDs]), leases, corps sharing nothing, cancellation and Close.
//
// When the store also implements [storage.TranscriptStore], the Transcript group checks
// it too: order, idempotent replay, the cap per conversation ([TranscriptTurns] turns
// with MaxTurns [TranscriptCap]), TTL expiry, isolation of corps and conversations,
// ScanTurns' filters, concurrency and invalid turns. When it implements
// [storage.InboxStore], the Inbox and Memo groups check the parked messages (round trip,
// order, isolation, atomic batches, TTL) and memos (round trip, copies, TTL, invalid).
// When it implements [storage.CallbackStore], the Callbacks group checks the recorded
// notifications (once per key, pending order and copies, TTL, concurrency, invalid).
// For other stores those subtests are skipped.
func Run(t *testing.T, newStore func(t *testing.T, now func() time.Time) storage.Store, opts ...Option) {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.rt != nil && o.rt.ttl <= 0 {
		t.Fatalf("storagetest: WithRealTime(%v): the ttl must be positive", o.rt.ttl)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s storage.Store, c *Clock)
		real func(t *testing.T, s storage.Store, rt *realTime) // instead of fn in real time; nil: fn does not move c
	}{
		{"Cursor/RoundTrip", testCursorRoundTrip, nil},
		{"Cursor/KeysDoNotCollide", testCursorKeys, nil},
		{"Dedup/FirstSeen", testFirstSeen, nil},
		{"Dedup/TTL", testDedupTTL, realDedupTTL},
		{"Dedup/DefaultTTL", testDedupDefaultTTL, realDedupDefaultTTL},
		{"Dedup/Concurrent", testDedupConcurrent, nil},
		{"Dedup/Invalid", testDedupInvalid, nil},
		{"Session/NotFound", testSessionNotFound, nil},
		{"Session/RoundTrip", testSessionRoundTrip, nil},
		{"Session/Copies", testSessionCopies, nil},
		{"Session/TTL", testSessionTTL, realSessionTTL},
		{"Session/Delete", testSessionDelete, nil},
		{"Session/Invalid", testSessionInvalid, nil},
		{"SendLog/States", testSendStates, nil},
		{"SendLog/TTL", testSendTTL, realSendTTL},
		{"SendLog/Invalid", testSendInvalid, nil},
		{"SendLog/BeginSend", testBeginSend, realBeginSend},
		{"Lease/Exclusive", testLeaseExclusive, realLeaseExclusive},
		{"Lease/Expiry", testLeaseExpiry, realLeaseExpiry},
		{"Lease/Concurrent", testLeaseConcurrent, nil},
		{"Lease/Invalid", testLeaseInvalid, nil},
		{"Batch/Apply", testBatchApply, realBatchApply},
		{"Batch/Invalid", testBatchInvalid, nil},
		{"Batch/Load", testBatchLoad, realBatchLoad},
		{"Corp/Isolation", testCorpIsolation, nil},
		{"Context/Canceled", testCanceled, nil},
		{"Close", testClose, nil},
	}
	for _, tt := range transcriptTests {
		tests = append(tests, struct {
			name string
			fn   func(t *testing.T, s storage.Store, c *Clock)
			real func(t *testing.T, s storage.Store, rt *realTime)
		}{tt.name, asTranscripts(tt.fn), asRealTranscripts(tt.real)})
	}
	for _, tt := range inboxTests {
		tests = append(tests, struct {
			name string
			fn   func(t *testing.T, s storage.Store, c *Clock)
			real func(t *testing.T, s storage.Store, rt *realTime)
		}{tt.name, asInbox(tt.fn), asRealInbox(tt.real)})
	}
	for _, tt := range callbackTests {
		tests = append(tests, struct {
			name string
			fn   func(t *testing.T, s storage.Store, c *Clock)
			real func(t *testing.T, s storage.Store, rt *realTime)
		}{tt.name, asCallbacks(tt.fn), asRealCallbacks(tt.real)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClock(time.Time{})
			now := c.Now
			if o.rt != nil {
				c, now = NewClock(time.Now()), time.Now // c only dates sample data
			}
			s := newStore(t, now)
			require.NotNil(t, s, "newStore returned nil")
			t.Cleanup(func() { _ = s.Close() })
			if o.rt != nil && tt.real != nil {
				tt.real(t, s, o.rt)
				return
			}
			tt.fn(t, s, c)
		})
	}
}

func testCursorRoundTrip(t *testing.T, s storage.Store, _ *Clock) {
	ctx := t.Context()
	a := storage.Account{CorpID: "ww1234567890", OpenKFID: "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q"}
	got, err := s.Cursor(ctx, a)
	require.NoError(t, err)
	assert.Empty(t, got, "a new store has no cursor")

	for _, cur := range []string{"4gw7MepFLfgF2VC5npN", "next", strings.Repeat("c", 4096), "游标\x00end"} {
		require.NoError(t, s.SetCursor(ctx, a, cur))
		got, err := s.Cursor(ctx, a)
		require.NoError(t, err)
		assert.Equal(t, cur, got)
	}

	require.NoError(t, s.SetCursor(ctx, a, ""))
	got, err = s.Cursor(ctx, a)
	require.NoError(t, err)
	assert.Empty(t, got, "saving an empty cursor forgets it")
}

func testCursorKeys(t *testing.T, s storage.Store, _ *Clock) {
	ctx := t.Context()
	// Pairs that a naive concatenation or separator would confuse.
	accounts := []storage.Account{
		{CorpID: "corp", OpenKFID: "wk1"},
		{CorpID: "corp2", OpenKFID: "wk1"},
		{CorpID: "corp", OpenKFID: "wk2"},
		{CorpID: "ab", OpenKFID: "c"},
		{CorpID: "a", OpenKFID: "bc"},
		{CorpID: "a\x00b", OpenKFID: "c"},
		{CorpID: "a", OpenKFID: "\x00bc"},
		{CorpID: "a/b", OpenKFID: "c"},
		{CorpID: "a", OpenKFID: "b/c"},
		{CorpID: "", OpenKFID: "abc"},
		{CorpID: "abc", OpenKFID: ""},
	}
	for i, a := range accounts {
		require.NoError(t, s.SetCursor(ctx, a, fmt.Sprintf("cursor-%d", i)))
	}
	for i, a := range accounts {
		got, err := s.Cursor(ctx, a)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("cursor-%d", i), got, "account %+v", a)
	}
	// A dedup id, a send msgid and a lease name equal to a cursor's parts are separate.
	seen, err := s.Seen(ctx, "corp")
	require.NoError(t, err)
	assert.False(t, seen)
	st, err := s.SendState(ctx, "wk1")
	require.NoError(t, err)
	assert.Equal(t, storage.SendNone, st)
}

func testFirstSeen(t *testing.T, s storage.Store, _ *Clock) {
	ctx := t.Context()
	const id = "from_msgid_4622416642169452483"
	seen, err := s.Seen(ctx, id)
	require.NoError(t, err)
	assert.False(t, seen)
	seen, err = s.Seen(ctx, id)
	require.NoError(t, err)
	assert.False(t, seen, "Seen must not record the id")

	first, err := s.FirstSeen(ctx, id, time.Hour)
	require.NoError(t, err)
	assert.True(t, first)
	for range 3 {
		first, err = s.FirstSeen(ctx, id, time.Hour)
		require.NoError(t, err)
		assert.False(t, first)
	}
	seen, err = s.Seen(ctx, id)
	require.NoError(t, err)
	assert.True(t, seen)

	first, err = s.FirstSeen(ctx, id+"x", time.Hour)
	require.NoError(t, err)
	assert.True(t, first, "ids are independent")
}

func testDedupTTL(t *testing.T, s storage.Store, c *Clock) {
	ctx := t.Context()
	const ttl = 10 * time.Minute
	first, err := s.FirstSeen(ctx, "m1", ttl)
	require.NoError(t, err)
	require.True(t, first)

	c.Advance(ttl - time.Nanosecond)
	seen, err := s.Seen(ctx, "m1")
	require.NoError(t, err)
	assert.True(t, seen, "one nanosecond before expiry")
	first, err = s.FirstSeen(ctx, "m1", ttl)
	require.NoError(t, err)
	assert.False(t, first, "one nanosecond before expiry; must not extend the TTL")

	c.Advance(time.Nanosecond)
	seen, err = s.Seen(ctx, "m1")
	require.NoError(t, err)
	assert.False(t, seen, "at expiry")

	first, err = s.FirstSeen(ctx, "m1", ttl)
	require.NoError(t, err)
	assert.True(t, first, "an expired id is first again")
	first, err = s.FirstSeen(ctx, "m1", ttl)
	require.NoError(t, err)
	assert.False(t, first, "and recorded again")

	c.Advance(ttl / 2)
	seen, err = s.Seen(ctx, "m1")
	require.NoError(t, err)
	assert.True(t, seen, "the new record has a fresh TTL")
}

func testDedupDefaultTTL(t *testing.T, s storage.Store, c *Clock) {
	ctx := t.Context()
	require.GreaterOrEqual(t, storage.DefaultDedupTTL, 72*time.Hour)
	for _, ttl := range []time.Duration{0, -time.Second} {
		id := fmt.Sprintf("default-%d", ttl)
		first, err := s.FirstSeen(ctx, id, ttl)
		require.NoError(t, err)
		require.True(t, first)
	}
	c.Advance(storage.DefaultDedupTTL - time.Second)
	for _, id := range []string{"default-0", "default--1000000000"} {
		seen, err := s.Seen(ctx, id)
		require.NoError(t, err)
		assert.True(t, seen, "%s before the default TTL", id)
	}
	c.Advance(2 * time.Second)
	for _, id := range []string{"default-0", "default--1000000000"} {
		seen, err := s.Seen(ctx, id)
		require.NoError(t, err)
		assert.False(t, seen, "%s after the default TTL", id)
	}
}

func testDedupConcurrent(t *testing.T, s storage.Store, _ *Clock) {
	ctx := t.Context()
	ids := make([]string, DedupIDs)
	for i := range ids {
		ids[i] = fmt.Sprintf("from_msgid_%019d", i)
	}
	wins := make([]atomic.Int32, DedupIDs)
	var total atomic.Int64
	errs := make([]error, DedupWorkers)
	var wg sync.WaitGroup
	for w := range DedupWorkers {
		wg.Go(func() {
			// Each worker walks all ids from its own offset, so workers collide on
			// the same ids at the same time.
			for j := range DedupIDs {
				i := (j + w*DedupIDs/DedupWorkers) % DedupIDs
				first, err := s.FirstSeen(ctx, ids[i], time.Hour)
				if err != nil {
					errs[w] = fmt.Errorf("worker %d, id %d: %w", w, i, err)
					return
				}
				if first {
					wins[i].Add(1)
					total.Add(1)
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	assert.Equal(t, int64(DedupIDs), total.Load(), "exactly one first per id")
	bad := 0
	for i := range wins {
		if n := wins[i].Load(); n != 1 {
			if bad++; bad <= 10 {
				t.Errorf("id %d won %d times", i, n)
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d ids in all did not win exactly once", bad)
	}
}

func testDedupInvalid(t *testing.T, s storage.Store, _ *Clock) {
	_, err := s.FirstSeen(t.Context(), "", time.Hour)
	assert.Error(t, err, "empty id")
}

func testSessionNotFound(t *testing.T, s storage.Store, _ *Clock) {
	got, err := s.Session(t.Context(), storage.Conversation{OpenKFID: "wk1", ExternalUserID: "wm1"})
	require.ErrorIs(t, err, storage.ErrNotFound)
	assert.Nil(t, got)
}

// sampleSession returns a session with every field set, whose Vars already hold the
// values JSON decoding produces, so it must round-trip exactly.
func sampleSession(c *Clock) *storage.Session {
	now := c.Now()
	return &storage.Session{
		Conversation: storage.Conversation{CorpID: "ww1234567890abcdef", OpenKFID: "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q", ExternalUserID: "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"},
		Vars: map[string]any{
			"name":   "张三",
			"step":   float64(3),
			"vip":    true,
			"none":   nil,
			"tags":   []any{"a", float64(1), false},
			"nested": map[string]any{"x": float64(1.5), "y": []any{}},
		},
		Messages:    42,
		FirstSeen:   now.Add(-time.Hour),
		LastSeen:    now,
		Human:       true,
		RepliesLeft: 4,
		WindowStart: now.Add(-time.Minute),
		Stopped:     true,
	}
}

// requireSessionEqual compares sessions, times by instant.
func requireSessionEqual(t *testing.T, want, got *storage.Session) {
	t.Helper()
	require.NotNil(t, got)
	for _, p := range []struct {
		name string
		w, g time.Time
	}{{"FirstSeen", want.FirstSeen, got.FirstSeen}, {"LastSeen", want.LastSeen, got.LastSeen}, {"WindowStart", want.WindowStart, got.WindowStart}} {
		assert.True(t, p.w.Equal(p.g), "%s: want %v, got %v", p.name, p.w, p.g)
		assert.Equal(t, p.w.IsZero(), p.g.IsZero(), "%s zero-ness", p.name)
	}
	w, g := *want, *got
	w.FirstSeen, w.LastSeen, w.WindowStart = time.Time{}, time.Time{}, time.Time{}
	g.FirstSeen, g.LastSeen, g.WindowStart = time.Time{}, time.Time{}, time.Time{}
	require.Equal(t, w, g)
}

func testSessionRoundTrip(t *testing.T, s storage.Store, c *Clock) {
	ctx := t.Context()
	shanghai := time.FixedZone("CST", 8*3600)
	full := sampleSession(c)
	tests := []struct {
		name string
		in   *storage.Session
	}{
		{"zero", &storage.Session{Conversation: storage.Conversation{OpenKFID: "wk0", ExternalUserID: "wm0"}}},
		{"full", full},
		{"negative counters and local times", &storage.Session{
			Conversation: storage.Conversation{OpenKFID: "wk1", ExternalUserID: "wm/1\x00"},
			Messages:     -1, RepliesLeft: -5,
			FirstSeen: time.Date(1999, 12, 31, 23, 59, 59, 999999999, shanghai),
			LastSeen:  c.Now().In(shanghai),
		}},
		{"large vars", &storage.Session{
			Conversation: storage.Conversation{OpenKFID: "wk2", ExternalUserID: "wm2"},
			Vars:         map[string]any{"blob": strings.Repeat("x", 64<<10)},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, s.PutSession(ctx, tt.in, time.Hour))
			got, err := s.Session(ctx, tt.in.Conversation)
			require.NoError(t, err)
			requireSessionEqual(t, tt.in, got)
		})
	}

	// Numbers of other Go types come back as JSON decodes them.
	conv := storage.Conversation{OpenKFID: "wk3", ExternalUserID: "wm3"}
	in := &storage.Session{Conversation: conv, Vars: map[string]any{"n": 7, "u": uint8(2), "s": []string{"a"}}}
	require.NoError(t, s.PutSession(ctx, in, time.Hour))
	got, err := s.Session(ctx, conv)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"n": float64(7), "u": float64(2), "s": []any{"a"}}, got.Vars)

	// Overwrite replaces every field, and conversations are independent.
	repl := &storage.Session{Conversation: full.Conversation, Messages: 1}
	require.NoError(t, s.PutSession(ctx, repl, time.Hour))
	got, err = s.Session(ctx, full.Conversation)
	require.NoError(t, err)
	requireSessionEqual(t, repl, got)
	other := storage.Conversation{OpenKFID: full.OpenKFID, ExternalUserID: "someone-else"}
	_, err = s.Session(ctx, other)
	require.ErrorIs(t, err, storage.ErrNotFound)
	swapped := storage.Conversation{OpenKFID: full.ExternalUserID, ExternalUserID: full.OpenKFID}
	_, err = s.Session(ctx, swapped)
	require.ErrorIs(t, err, storage.ErrNotFound)
}

func testSessionCopies(t *testing.T, s storage.Store, c *Clock) {
	ctx := t.Context()
	in := sampleSession(c)
	want := in.Clone()
	require.NoError(t, s.PutSession(ctx, in, time.Hour))

	// Changing the caller's value after the put changes nothing stored.
	in.Messages = 999
	in.Vars["name"] = "changed"
	in.Vars["nested"].(map[string]any)["x"] = "changed"
	got, err := s.Session(ctx, want.Conversation)
	require.NoError(t, err)
	requireSessionEqual(t, want, got)

	// Nor does changing a returned value.
	got.Messages = 0
	got.Vars["added"] = true
	got.Vars["tags"].([]any)[0] = "changed"
	again, err := s.Session(ctx, want.Conversation)
	require.NoError(t, err)
	requireSessionEqual(t, want, again)
}

func testSessionTTL(t *testing.T, s storage.Store, c *Clock) {
	ctx := t.Context()
	sess := &storage.Session{Conversation: storage.Conversation{OpenKFID: "wk", ExternalUserID: "wm"}, Messages: 1}
	require.NoError(t, s.PutSession(ctx, sess, time.Hour))
	c.Advance(time.Hour - time.Nanosecond)
	_, err := s.Session(ctx, sess.Conversation)
	require.NoError(t, err, "one nanosecond before expiry")

	// Each put restarts the TTL.
	require.NoError(t, s.PutSession(ctx, sess, time.Hour))
	c.Advance(time.Hour - time.Nanosecond)
	_, err = s.Session(ctx, sess.Conversation)
	require.NoError(t, err, "the second put restarted the TTL")
	c.Advance(time.Nanosecond)
	_, err = s.Session(ctx, sess.Conversation)
	require.ErrorIs(t, err, storage.ErrNotFound, "at expiry")

	// ttl ≤ 0 means DefaultSessionTTL.
	require.Equal(t, 48*time.Hour, storage.DefaultSessionTTL)
	require.NoError(t, s.PutSession(ctx, sess, 0))
	c.Advance(storage.DefaultSessionTTL - time.Second)
	_, err = s.Session(ctx, sess.Conversation)
	require.NoError(t, err, "before the default TTL")
	c.Advance(time.Second)
	_, err = s.Session(ctx, sess.Conversation)
	require.ErrorIs(t, err, storage.ErrNotFound, "at the default TTL")

	// A put after expiry works as on a fresh store.
	require.NoError(t, s.PutSession(ctx, sess, time.Minute))
	got, err := s.Session(ctx, sess.Conversation)
	require.NoError(t, err)
	assert.Equal(t, 1, got.Messages)
}

func testSessionDelete(t *testing.T, s storage.Store, c *Clock) {
	ctx := t.Context()
	sess := sampleSession(c)
	require.NoError(t, s.DeleteSession(ctx, sess.Conversation), "deleting a missing session")
	require.NoError(t, s.PutSession(ctx, sess, time.Hour))
	require.NoError(t, s.DeleteSession(ctx, sess.Conversation))
	_, err := s.Session(ctx, sess.Conversation)
	require.ErrorIs(t, err, storage.ErrNotFound)
	require.NoError(t, s.DeleteSession(ctx, sess.Conversation), "deleting twice")
}

func testSessionInvalid(t *testing.T, s storage.Store, c *Clock) {
	ctx := t.Context()
	assert.Error(t, s.PutSession(ctx, nil, time.Hour), "nil session")

	sess := sampleSession(c)
	require.NoError(t, s.PutSession(ctx, sess, time.Hour))
	bad := sess.Clone()
	bad.Messages = 1
	bad.Vars["ch"] = make(chan int)
	assert.Error(t, s.PutSession(ctx, bad, time.Hour), "a channel is not JSON")
	got, err := s.Session(ctx, sess.Conversation)
	require.NoError(t, err)
	requireSessionEqual(t, sess, got) // the failed put changed nothing
}

func testSendStates(t *testing.T, s storage.Store, _ *Clock) {
	ctx := t.Context()
	const id = "r_from_msgid_46224166421_0"
	st, err := s.SendState(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, storage.SendNone, st)
	for _, want := range []storage.SendState{storage.SendPending, storage.SendDone, storage.SendPending} {
		require.NoError(t, s.SetSendState(ctx, id, want, time.Hour))
		st, err = s.SendState(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, want, st)
	}
	st, err = s.SendState(ctx, id+"_1")
	require.NoError(t, err)
	assert.Equal(t, storage.SendNone, st, "msgids are independent")

	require.NoError(t, s.SetSendState(ctx, id, storage.SendNone, time.Hour))
	st, err = s.SendState(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, storage.SendNone, st, "SendNone removes the record")

	// Send msgids and dedup ids live apart.
	require.NoError(t, s.SetSendState(ctx, "shared", storage.SendDone, time.Hour))
	seen, err := s.Seen(ctx, "shared")
	require.NoError(t, err)
	assert.False(t, seen)
}

func testSendTTL(t *testing.T, s storage.Store, c *Clock) {
	ctx := t.Context()
	require.NoError(t, s.SetSendState(ctx, "a", storage.SendPending, time.Minute))
	require.NoError(t, s.SetSendState(ctx, "b", storage.SendDone, 0))
	c.Advance(time.Minute - time.Nanosecond)
	st, err := s.SendState(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, storage.SendPending, st)
	c.Advance(time.Nanosecond)
	st, err = s.SendState(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, storage.SendNone, st, "expired")

	c.Advance(storage.DefaultDedupTTL - time.Minute - time.Second)
	st, err = s.SendState(ctx, "b")
	require.NoError(t, err)
	assert.Equal(t, storage.SendDone, st, "ttl 0 means DefaultDedupTTL")
	c.Advance(time.Second)
	st, err = s.SendState(ctx, "b")
	require.NoError(t, err)
	assert.Equal(t, storage.SendNone, st)
}

func testSendInvalid(t *testing.T, s storage.Store, _ *Clock) {
	ctx := t.Context()
	assert.Error(t, s.SetSendState(ctx, "", storage.SendDone, time.Hour), "empty msgid")
	assert.Error(t, s.SetSendState(ctx, "x", storage.SendDone+1, time.Hour), "invalid state")
	st, err := s.SendState(ctx, "x")
	require.NoError(t, err)
	assert.Equal(t, storage.SendNone, st)
}

// checkLeaseHeld checks that other, which does not hold name, can neither take, renew nor
// release it, and that another name is free for it.
func checkLeaseHeld(t *testing.T, s storage.Store, name, other string) {
	t.Helper()
	ctx := t.Context()
	_, err := s.AcquireLease(ctx, name, other, time.Minute)
	require.ErrorIs(t, err, storage.ErrLeaseHeld)
	_, err = s.RenewLease(ctx, name, other, time.Minute)
	require.ErrorIs(t, err, storage.ErrLeaseNotHeld)
	require.NoError(t, s.ReleaseLease(ctx, name, other), "release by a non-owner is a no-op")
	_, err = s.AcquireLease(ctx, name, other, time.Minute)
	require.ErrorIs(t, err, storage.ErrLeaseHeld, "still held after the non-owner's release")
	_, err = s.AcquireLease(ctx, name+"2", other, time.Minute)
	require.NoError(t, err, "other names are independent")
}

// checkLeaseRelease checks that owner's release of name frees it for other, that owner
// can no longer renew it, and that releasing a lease never acquired is a no-op.
func checkLeaseRelease(t *testing.T, s storage.Store, name, owner, other string) {
	t.Helper()
	ctx := t.Context()
	require.NoError(t, s.ReleaseLease(ctx, name, owner))
	_, err := s.RenewLease(ctx, name, owner, time.Minute)
	require.ErrorIs(t, err, storage.ErrLeaseNotHeld)
	l, err := s.AcquireLease(ctx, name, other, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, other, l.Owner)
	require.NoError(t, s.ReleaseLease(ctx, "never-acquired", owner))
}

func testLeaseExclusive(t *testing.T, s storage.Store, c *Clock) {
	ctx := t.Context()
	const name = "pull/wkAJ2GCAAASSm4"
	l, err := s.AcquireLease(ctx, name, "a", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, name, l.Name)
	assert.Equal(t, "a", l.Owner)
	assert.True(t, c.Now().Add(time.Minute).Equal(l.Expires), "expires %v", l.Expires)

	checkLeaseHeld(t, s, name, "b")

	// Re-acquiring and renewing by the owner extend the lease.
	c.Advance(30 * time.Second)
	l, err = s.AcquireLease(ctx, name, "a", time.Minute)
	require.NoError(t, err)
	assert.True(t, c.Now().Add(time.Minute).Equal(l.Expires))
	c.Advance(45 * time.Second) // past the first expiry, within the second
	l, err = s.RenewLease(ctx, name, "a", 2*time.Minute)
	require.NoError(t, err)
	assert.True(t, c.Now().Add(2*time.Minute).Equal(l.Expires))
	assert.Equal(t, "a", l.Owner)
	_, err = s.AcquireLease(ctx, name, "b", time.Minute)
	require.ErrorIs(t, err, storage.ErrLeaseHeld)

	checkLeaseRelease(t, s, name, "a", "b")
}

func testLeaseExpiry(t *testing.T, s storage.Store, c *Clock) {
	ctx := t.Context()
	_, err := s.AcquireLease(ctx, "n", "a", time.Minute)
	require.NoError(t, err)
	c.Advance(time.Minute - time.Nanosecond)
	_, err = s.AcquireLease(ctx, "n", "b", time.Minute)
	require.ErrorIs(t, err, storage.ErrLeaseHeld, "one nanosecond before expiry")

	c.Advance(time.Nanosecond)
	_, err = s.RenewLease(ctx, "n", "a", time.Minute)
	require.ErrorIs(t, err, storage.ErrLeaseNotHeld, "an expired lease cannot be renewed")
	l, err := s.AcquireLease(ctx, "n", "b", time.Minute)
	require.NoError(t, err, "an expired lease can be taken")
	assert.Equal(t, "b", l.Owner)
	_, err = s.AcquireLease(ctx, "n", "a", time.Minute)
	require.ErrorIs(t, err, storage.ErrLeaseHeld)
	require.NoError(t, s.ReleaseLease(ctx, "n", "a"), "the old owner's release is a no-op")
	_, err = s.RenewLease(ctx, "n", "b", time.Minute)
	require.NoError(t, err)

	// The original owner can re-acquire its own expired lease.
	c.Advance(time.Hour)
	_, err = s.AcquireLease(ctx, "n", "a", time.Minute)
	require.NoError(t, err)
}

func testLeaseConcurrent(t *testing.T, s storage.Store, _ *Clock) {
	ctx := t.Context()
	const names, owners = 20, 8
	for n := range names {
		name := fmt.Sprintf("lease-%d", n)
		var wins atomic.Int32
		errs := make([]error, owners)
		var wg sync.WaitGroup
		for o := range owners {
			wg.Go(func() {
				_, err := s.AcquireLease(ctx, name, fmt.Sprintf("owner-%d", o), time.Minute)
				switch {
				case err == nil:
					wins.Add(1)
				case !errors.Is(err, storage.ErrLeaseHeld):
					errs[o] = err
				}
			})
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		require.Equal(t, int32(1), wins.Load(), "exactly one owner gets %s", name)
	}
}

func testLeaseInvalid(t *testing.T, s storage.Store, _ *Clock) {
	ctx := t.Context()
	for _, tt := range []struct {
		name, owner string
		ttl         time.Duration
	}{{"", "a", time.Minute}, {"n", "", time.Minute}, {"n", "a", 0}, {"n", "a", -time.Second}} {
		_, err := s.AcquireLease(ctx, tt.name, tt.owner, tt.ttl)
		assert.Error(t, err, "acquire %+v", tt)
		_, err = s.RenewLease(ctx, tt.name, tt.owner, tt.ttl)
		assert.Error(t, err, "renew %+v", tt)
	}
	_, err := s.AcquireLease(ctx, "n", "a", time.Minute)
	require.NoError(t, err, "invalid calls took nothing")
}

func testCorpIsolation(t *testing.T, s storage.Store, _ *Clock) {
	ctx := t.Context()
	// Pairs that differ only by corp, or by where the corp ends.
	pairs := [][2]storage.Conversation{
		{{CorpID: "ww1", OpenKFID: "wk", ExternalUserID: "wm"}, {CorpID: "ww2", OpenKFID: "wk", ExternalUserID: "wm"}},
		{{CorpID: "", OpenKFID: "wk", ExternalUserID: "wm"}, {CorpID: "ww1", OpenKFID: "wk", ExternalUserID: "wm"}},
		{{CorpID: "ww1/", OpenKFID: "wk", ExternalUserID: "wm"}, {CorpID: "ww1", OpenKFID: "/wk", ExternalUserID: "wm"}},
		{{CorpID: "ww1", OpenKFID: "wk", ExternalUserID: "wm"}, {CorpID: "ww", OpenKFID: "1wk", ExternalUserID: "wm"}},
	}
	for i, p := range pairs {
		c1, c2 := p[0], p[1]
		c1.ExternalUserID += strconv.Itoa(i) // each pair on its own
		c2.ExternalUserID = c1.ExternalUserID
		a1, a2 := storage.Account{CorpID: c1.CorpID, OpenKFID: c1.OpenKFID}, storage.Account{CorpID: c2.CorpID, OpenKFID: c2.OpenKFID}
		msg := fmt.Sprintf("from_msgid_%d", i)

		require.NoError(t, s.PutSession(ctx, &storage.Session{Conversation: c1, Messages: 1}, time.Hour))
		_, err := s.Session(ctx, c2)
		require.ErrorIs(t, err, storage.ErrNotFound, "%+v sees the session of %+v", c2, c1)
		require.NoError(t, s.PutSession(ctx, &storage.Session{Conversation: c2, Messages: 2}, time.Hour))
		require.NoError(t, s.DeleteSession(ctx, c2))
		got, err := s.Session(ctx, c1)
		require.NoError(t, err, "deleting %+v deleted the session of %+v", c2, c1)
		assert.Equal(t, c1, got.Conversation)
		assert.Equal(t, 1, got.Messages)

		first, err := s.FirstSeen(ctx, storage.InboundKey(a1, msg), time.Hour)
		require.NoError(t, err)
		require.True(t, first)
		seen, err := s.Seen(ctx, storage.InboundKey(a2, msg))
		require.NoError(t, err)
		assert.False(t, seen, "%+v sees the dedup record of %+v", a2, a1)
		first, err = s.FirstSeen(ctx, storage.InboundKey(a2, msg), time.Hour)
		require.NoError(t, err)
		assert.True(t, first, "%+v shares a dedup record with %+v", a2, a1)

		require.NoError(t, s.SetSendState(ctx, storage.OutboundKey(a1, "r_"+msg), storage.SendDone, time.Hour))
		st, err := s.SendState(ctx, storage.OutboundKey(a2, "r_"+msg))
		require.NoError(t, err)
		assert.Equal(t, storage.SendNone, st, "%+v sees the send state of %+v", a2, a1)

		_, err = s.AcquireLease(ctx, storage.PullLease(a1), "replica-1", time.Minute)
		require.NoError(t, err)
		_, err = s.AcquireLease(ctx, storage.PullLease(a2), "replica-2", time.Minute)
		require.NoError(t, err, "%+v shares a pull lease with %+v", a2, a1)
		require.NoError(t, s.ReleaseLease(ctx, storage.PullLease(a1), "replica-1"))
		require.NoError(t, s.ReleaseLease(ctx, storage.PullLease(a2), "replica-2"))
	}
}

// calls exercises every method but Close, returning each one's error by name.
func calls(ctx context.Context, s storage.Store) map[string]error {
	a := storage.Account{CorpID: "c", OpenKFID: "wk"}
	conv := storage.Conversation{OpenKFID: "wk", ExternalUserID: "wm"}
	errs := make(map[string]error)
	_, errs["Cursor"] = s.Cursor(ctx, a)
	errs["SetCursor"] = s.SetCursor(ctx, a, "x")
	_, errs["FirstSeen"] = s.FirstSeen(ctx, "id", time.Hour)
	_, errs["Seen"] = s.Seen(ctx, "id")
	_, errs["Session"] = s.Session(ctx, conv)
	errs["PutSession"] = s.PutSession(ctx, &storage.Session{Conversation: conv}, time.Hour)
	errs["DeleteSession"] = s.DeleteSession(ctx, conv)
	_, errs["SendState"] = s.SendState(ctx, "m")
	errs["SetSendState"] = s.SetSendState(ctx, "m", storage.SendDone, time.Hour)
	_, errs["AcquireLease"] = s.AcquireLease(ctx, "l", "o", time.Minute)
	_, errs["RenewLease"] = s.RenewLease(ctx, "l", "o", time.Minute)
	errs["ReleaseLease"] = s.ReleaseLease(ctx, "l", "o")
	return errs
}

func testCanceled(t *testing.T, s storage.Store, _ *Clock) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, err := range calls(ctx, s) {
		assert.ErrorIs(t, err, context.Canceled, name)
	}
	// Nothing was written.
	got, err := s.Cursor(t.Context(), storage.Account{CorpID: "c", OpenKFID: "wk"})
	require.NoError(t, err)
	assert.Empty(t, got)
}

func testClose(t *testing.T, s storage.Store, _ *Clock) {
	ctx := t.Context()
	for name, err := range calls(ctx, s) {
		if name == "RenewLease" { // the lease was just acquired: renewing works
			require.NoError(t, err, name)
			continue
		}
		if name == "Session" {
			require.ErrorIs(t, err, storage.ErrNotFound)
			continue
		}
		require.NoError(t, err, name)
	}
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")
	for name, err := range calls(ctx, s) {
		assert.ErrorIs(t, err, storage.ErrClosed, name)
	}
}
