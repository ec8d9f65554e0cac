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
	acct := storage.Account{CorpID: "ww1", OpenKFID: "wk1"}
	other := &storage.Session{Conversation: storage.Conversation{CorpID: "ww1", OpenKFID: "wk1", ExternalUserID: "wm2"}, Messages: 7}
	require.NoError(t, s.Apply(ctx, &storage.Batch{
		Sessions: []*storage.Session{sess, other}, SessionTTL: time.Hour,
		Seen: []string{"in-1", "in-1b"}, Sent: []string{"out-0", "out-1"}, DedupTTL: 2 * time.Hour,
		Cursor: &storage.CursorUpdate{Account: acct, Cursor: "page-2"},
	}))
	checkBatch(t, s, conv, true)
	got, err := s.Session(ctx, other.Conversation)
	require.NoError(t, err)
	assert.Equal(t, 7, got.Messages, "every session of the batch is stored")
	seen, err := s.Seen(ctx, "in-1b")
	require.NoError(t, err)
	assert.True(t, seen, "every processed id of the batch is recorded")
	cur, err := s.Cursor(ctx, acct)
	require.NoError(t, err)
	assert.Equal(t, "page-2", cur, "the batch saved the cursor")
	require.NoError(t, s.Apply(ctx, &storage.Batch{Cursor: &storage.CursorUpdate{Account: acct}}))
	cur, err = s.Cursor(ctx, acct)
	require.NoError(t, err)
	assert.Empty(t, cur, "a batch saving the cursor \"\" forgets it")

	c.Advance(time.Hour - time.Nanosecond)
	got, err = s.Session(ctx, conv)
	require.NoError(t, err)
	assert.Equal(t, 3, got.Messages)
	assert.Equal(t, "Li", got.Vars["name"])
	c.Advance(time.Nanosecond)
	_, err = s.Session(ctx, conv)
	require.ErrorIs(t, err, storage.ErrNotFound, "the session expires after SessionTTL")
	checkBatch(t, s, conv, false) // the rest lives DedupTTL
	c.Advance(time.Hour)
	seen, err = s.Seen(ctx, "in-1")
	require.NoError(t, err)
	assert.False(t, seen, "the id expires after DedupTTL")
	st, err := s.SendState(ctx, "out-1")
	require.NoError(t, err)
	assert.Equal(t, storage.SendNone, st, "the sends expire after DedupTTL")

	// Defaults, and a batch of sends alone.
	require.NoError(t, s.Apply(ctx, &storage.Batch{Sessions: []*storage.Session{sess}, Seen: []string{"in-2"}}))
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
		Sessions: []*storage.Session{{Conversation: conv, Messages: 3}}, SessionTTL: rt.ttl,
		Seen: []string{"in-1"}, Sent: []string{"out-0", "out-1"},
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
		"empty send id":      {Seen: []string{"in-x"}, Sent: []string{"out-x", ""}},
		"empty processed id": {Seen: []string{"in-x", ""}, Sent: []string{"out-x"}},
		"empty pending id":   {Seen: []string{"in-x"}, Sent: []string{"out-x"}, Pending: []string{""}},
		"nil session": {Seen: []string{"in-x"}, Sent: []string{"out-x"},
			Sessions: []*storage.Session{{Conversation: conv}, nil}},
		"unencodable vars": {Seen: []string{"in-x"}, Sent: []string{"out-x"},
			Sessions: []*storage.Session{{Conversation: conv, Vars: map[string]any{"bad": math.Inf(1)}}}},
	} {
		b.Cursor = &storage.CursorUpdate{Account: storage.Account{CorpID: "ww1", OpenKFID: "wk1"}, Cursor: "x"}
		require.Error(t, s.Apply(ctx, b), name)
		seen, err := s.Seen(ctx, "in-x")
		require.NoError(t, err)
		assert.False(t, seen, "%s: nothing written", name)
		st, err := s.SendState(ctx, "out-x")
		require.NoError(t, err)
		assert.Equal(t, storage.SendNone, st, "%s: nothing written", name)
		_, err = s.Session(ctx, conv)
		assert.ErrorIs(t, err, storage.ErrNotFound, "%s: nothing written", name)
		cur, err := s.Cursor(ctx, b.Cursor.Account)
		require.NoError(t, err)
		assert.Empty(t, cur, "%s: nothing written", name)
	}
}

// testBatchLoad: Load answers, in one call, which ids are recorded and unexpired and what
// the sessions are, reusing the answer slices it is given.
func testBatchLoad(t *testing.T, s storage.Store, c *Clock) {
	ctx := t.Context()
	l := checkLoad(t, s)
	c.Advance(time.Hour)
	require.NoError(t, s.Load(ctx, l))
	assert.Equal(t, []bool{false, false, true, false}, l.SeenFound, "expired ids are not found")
	assert.Equal(t, []storage.SendState{storage.SendPending, storage.SendNone, storage.SendNone, storage.SendNone}, l.SendsFound, "expired sends are not found")
	c.Advance(storage.DefaultSessionTTL)
	require.NoError(t, s.Load(ctx, l))
	assert.Equal(t, []*storage.Session{nil, nil, nil}, l.SessionsFound, "expired sessions are not found")
}

// realBatchLoad is testBatchLoad without expiry.
func realBatchLoad(t *testing.T, s storage.Store, _ *realTime) { checkLoad(t, s) }

// checkLoad writes sample data, checks what Load answers, and returns the lookup.
func checkLoad(t *testing.T, s storage.Store) *storage.Lookup {
	t.Helper()
	ctx := t.Context()
	conv := func(u string) storage.Conversation {
		return storage.Conversation{CorpID: "ww1", OpenKFID: "wk1", ExternalUserID: u}
	}
	require.NoError(t, s.Apply(ctx, &storage.Batch{
		Sessions: []*storage.Session{{Conversation: conv("a"), Messages: 1, Vars: map[string]any{"k": "v"}}, {Conversation: conv("b"), Messages: 2}},
		Seen:     []string{"in-1", "in-2"}, DedupTTL: time.Hour,
		Pending: []string{"try-1"}, Sent: []string{"out-1"},
	}))
	_, err := s.FirstSeen(ctx, "in-3", 2*time.Hour)
	require.NoError(t, err)
	require.NoError(t, s.SetSendState(ctx, "out-2", storage.SendPending, 2*time.Hour))

	l := &storage.Lookup{
		Seen:          []string{"in-1", "in-x", "in-3", "in-2"},
		Sessions:      []storage.Conversation{conv("b"), conv("none"), conv("a")},
		Sends:         []string{"out-2", "try-1", "out-x", "out-1"},
		SeenFound:     []bool{true, true, true, true, true, true}, // stale answers are replaced
		SessionsFound: make([]*storage.Session, 1),
	}
	require.NoError(t, s.Load(ctx, l))
	assert.Equal(t, []bool{true, false, true, true}, l.SeenFound)
	assert.Equal(t, []storage.SendState{storage.SendPending, storage.SendPending, storage.SendNone, storage.SendDone}, l.SendsFound)
	require.Len(t, l.SessionsFound, 3)
	require.NotNil(t, l.SessionsFound[0])
	assert.Equal(t, 2, l.SessionsFound[0].Messages)
	assert.Nil(t, l.SessionsFound[1], "no session")
	require.NotNil(t, l.SessionsFound[2])
	assert.Equal(t, conv("a"), l.SessionsFound[2].Conversation)
	assert.Equal(t, "v", l.SessionsFound[2].Vars["k"])

	l.SessionsFound[2].Vars["k"] = "changed"
	got, err := s.Session(ctx, conv("a"))
	require.NoError(t, err)
	assert.Equal(t, "v", got.Vars["k"], "Load returns copies")

	empty := &storage.Lookup{}
	require.NoError(t, s.Load(ctx, empty), "an empty lookup is fine")
	assert.Empty(t, empty.SeenFound)
	assert.Error(t, s.Load(ctx, nil), "nil lookup")
	assert.Error(t, s.Load(ctx, &storage.Lookup{Seen: []string{"in-1", ""}}), "empty id")
	assert.Error(t, s.Load(ctx, &storage.Lookup{Sends: []string{""}}), "empty send id")
	return l
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
