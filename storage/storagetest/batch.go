package storagetest

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
)

// testBatchApply: a batch writes the session, the processed id and the done sends, each
// readable as if written by its own method, with the batch's TTLs.
func testBatchApply(t *testing.T, s storage.Store, c *Clock) {
	ctx := t.Context()
	conv := storage.Conversation{CorpID: "ww1", OpenKFID: "wk1", ExternalUserID: "wm1"}
	sess := &storage.Session{Conversation: conv, Messages: 3, Vars: map[string]any{"name": "Li"}}
	require.NoError(t, s.SetSendState(ctx, "out-0", storage.SendPending, time.Hour))
	require.NoError(t, s.Apply(ctx, &storage.Batch{
		Session: sess, SessionTTL: time.Hour,
		Seen: "in-1", Sent: []string{"out-0", "out-1"}, DedupTTL: 2 * time.Hour,
	}))
	checkBatch(t, s, conv, true)

	c.Advance(time.Hour - time.Nanosecond)
	got, err := s.Session(ctx, conv)
	require.NoError(t, err)
	assert.Equal(t, 3, got.Messages)
	assert.Equal(t, "Li", got.Vars["name"])
	c.Advance(time.Nanosecond)
	_, err = s.Session(ctx, conv)
	require.ErrorIs(t, err, storage.ErrNotFound, "the session expires after SessionTTL")
	checkBatch(t, s, conv, false) // the rest lives DedupTTL
	c.Advance(time.Hour)
	seen, err := s.Seen(ctx, "in-1")
	require.NoError(t, err)
	assert.False(t, seen, "the id expires after DedupTTL")
	st, err := s.SendState(ctx, "out-1")
	require.NoError(t, err)
	assert.Equal(t, storage.SendNone, st, "the sends expire after DedupTTL")

	// Defaults, and a batch of sends alone.
	require.NoError(t, s.Apply(ctx, &storage.Batch{Session: sess, Seen: "in-2"}))
	require.NoError(t, s.Apply(ctx, &storage.Batch{Sent: []string{"out-2"}}))
	c.Advance(storage.DefaultSessionTTL - time.Second)
	_, err = s.Session(ctx, conv)
	require.NoError(t, err, "SessionTTL 0 means DefaultSessionTTL")
	c.Advance(storage.DefaultDedupTTL - storage.DefaultSessionTTL)
	seen, err = s.Seen(ctx, "in-2")
	require.NoError(t, err)
	assert.True(t, seen, "DedupTTL 0 means DefaultDedupTTL")
	st, err = s.SendState(ctx, "out-2")
	require.NoError(t, err)
	assert.Equal(t, storage.SendDone, st)

	// A recorded id stays recorded: FirstSeen after a batch is not first.
	first, err := s.FirstSeen(ctx, "in-2", time.Hour)
	require.NoError(t, err)
	assert.False(t, first)
	require.NoError(t, s.Apply(ctx, &storage.Batch{}), "an empty batch writes nothing and is fine")
}

// realBatchApply is testBatchApply in real time: the writes land, and the TTLs are the
// batch's.
func realBatchApply(t *testing.T, s storage.Store, rt *realTime) {
	ctx := t.Context()
	conv := storage.Conversation{CorpID: "ww1", OpenKFID: "wk1", ExternalUserID: "wm1"}
	require.NoError(t, s.Apply(ctx, &storage.Batch{
		Session: &storage.Session{Conversation: conv, Messages: 3}, SessionTTL: rt.ttl,
		Seen: "in-1", Sent: []string{"out-0", "out-1"},
	}))
	checkBatch(t, s, conv, true)
	rt.expire(t, "batch session", func() (bool, error) {
		_, err := s.Session(ctx, conv)
		if errors.Is(err, storage.ErrNotFound) {
			return true, nil
		}
		return false, err
	})
	checkBatch(t, s, conv, false) // DedupTTL 0: the default, which outlives rt.ttl
}

// checkBatch checks that the batch of testBatchApply is there (the session only if
// withSession).
func checkBatch(t *testing.T, s storage.Store, conv storage.Conversation, withSession bool) {
	t.Helper()
	ctx := t.Context()
	if withSession {
		got, err := s.Session(ctx, conv)
		require.NoError(t, err)
		assert.Equal(t, 3, got.Messages)
	}
	seen, err := s.Seen(ctx, "in-1")
	require.NoError(t, err)
	assert.True(t, seen, "the batch recorded the processed id")
	for _, id := range []string{"out-0", "out-1"} {
		st, err := s.SendState(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, storage.SendDone, st, "the batch marked %s done", id)
	}
}

// testBatchInvalid: a batch with a bad part writes nothing.
func testBatchInvalid(t *testing.T, s storage.Store, _ *Clock) {
	ctx := t.Context()
	conv := storage.Conversation{CorpID: "ww1", OpenKFID: "wk1", ExternalUserID: "wm1"}
	assert.Error(t, s.Apply(ctx, nil), "nil batch")
	for name, b := range map[string]*storage.Batch{
		"empty send id": {Seen: "in-x", Sent: []string{"out-x", ""}},
		"unencodable vars": {Seen: "in-x", Sent: []string{"out-x"},
			Session: &storage.Session{Conversation: conv, Vars: map[string]any{"bad": math.Inf(1)}}},
	} {
		require.Error(t, s.Apply(ctx, b), name)
		seen, err := s.Seen(ctx, "in-x")
		require.NoError(t, err)
		assert.False(t, seen, "%s: nothing written", name)
		st, err := s.SendState(ctx, "out-x")
		require.NoError(t, err)
		assert.Equal(t, storage.SendNone, st, "%s: nothing written", name)
		_, err = s.Session(ctx, conv)
		assert.ErrorIs(t, err, storage.ErrNotFound, "%s: nothing written", name)
	}
}

// testBeginSend: BeginSend records a new msgid as pending and reports SendNone, reports an
// existing state without changing it, starts again after expiry, and of concurrent calls
// with one msgid exactly one records it.
func testBeginSend(t *testing.T, s storage.Store, c *Clock) {
	ctx := t.Context()
	st, err := s.BeginSend(ctx, "a", time.Minute)
	require.NoError(t, err)
	assert.Equal(t, storage.SendNone, st, "a new msgid")
	st, err = s.SendState(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, storage.SendPending, st, "recorded as pending")
	st, err = s.BeginSend(ctx, "a", time.Hour)
	require.NoError(t, err)
	assert.Equal(t, storage.SendPending, st, "pending from an earlier attempt")

	require.NoError(t, s.SetSendState(ctx, "b", storage.SendDone, time.Hour))
	st, err = s.BeginSend(ctx, "b", time.Hour)
	require.NoError(t, err)
	assert.Equal(t, storage.SendDone, st)
	st, err = s.SendState(ctx, "b")
	require.NoError(t, err)
	assert.Equal(t, storage.SendDone, st, "a done send stays done")

	c.Advance(time.Minute) // a's first record expires; the second call did not extend it
	st, err = s.BeginSend(ctx, "a", 0)
	require.NoError(t, err)
	assert.Equal(t, storage.SendNone, st, "expired: recorded again")

	_, err = s.BeginSend(ctx, "", time.Hour)
	assert.Error(t, err, "empty msgid")

	const workers = 8
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range 200 {
				st, err := s.BeginSend(ctx, fmt.Sprintf("c-%d", i), time.Hour)
				if assert.NoError(t, err) && st == storage.SendNone {
					wins.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(200), wins.Load(), "exactly one call records each msgid")
}

// realBeginSend is testBeginSend without the clock: a pending record expires after ttl.
func realBeginSend(t *testing.T, s storage.Store, rt *realTime) {
	ctx := t.Context()
	st, err := s.BeginSend(ctx, "a", rt.ttl)
	require.NoError(t, err)
	assert.Equal(t, storage.SendNone, st)
	st, err = s.BeginSend(ctx, "a", rt.ttl)
	require.NoError(t, err)
	assert.Equal(t, storage.SendPending, st)
	rt.expire(t, "begun send", func() (bool, error) {
		st, err := s.SendState(ctx, "a")
		return st == storage.SendNone, err
	})
	st, err = s.BeginSend(ctx, "a", rt.ttl)
	require.NoError(t, err)
	assert.Equal(t, storage.SendNone, st, "expired: recorded again")
}
