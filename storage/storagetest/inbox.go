package storagetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
)

// inboxTests are [Run]'s tests of [storage.InboxStore], skipped for stores that do not
// implement it.
var inboxTests = []struct {
	name string
	fn   func(t *testing.T, s storage.Store, is storage.InboxStore, c *Clock)
	real func(t *testing.T, s storage.Store, is storage.InboxStore, rt *realTime)
}{
	{"Inbox/RoundTrip", testInboxRoundTrip, nil},
	{"Inbox/Isolation", testInboxIsolation, nil},
	{"Inbox/Atomic", testInboxAtomic, nil},
	{"Inbox/TTL", testInboxTTL, realInboxTTL},
	{"Memo/RoundTrip", testMemoRoundTrip, nil},
	{"Memo/TTL", testMemoTTL, realMemoTTL},
	{"Memo/Invalid", testMemoInvalid, nil},
}

func asRealInbox(fn func(*testing.T, storage.Store, storage.InboxStore, *realTime)) func(*testing.T, storage.Store, *realTime) {
	if fn == nil {
		return nil
	}
	return func(t *testing.T, s storage.Store, rt *realTime) {
		is, ok := s.(storage.InboxStore)
		if !ok {
			t.Skipf("%T does not implement storage.InboxStore", s)
		}
		fn(t, s, is, rt)
	}
}

func realInboxTTL(t *testing.T, s storage.Store, is storage.InboxStore, rt *realTime) {
	ctx := t.Context()
	require.NoError(t, s.Apply(ctx, &storage.Batch{Park: []storage.InboxEntry{inboxEntry("wmA", 1, "m1", time.Now())}, DedupTTL: rt.ttl}))
	rt.expire(t, "inbox entry", func() (bool, error) {
		got, err := is.Inbox(ctx, inboxAcct)
		return len(got) == 0, err
	})
}

func realMemoTTL(t *testing.T, _ storage.Store, is storage.InboxStore, rt *realTime) {
	ctx := t.Context()
	key := storage.MemoKey(inboxAcct, "m1", "ai")
	require.NoError(t, is.PutMemo(ctx, key, []byte("v"), rt.ttl))
	rt.expire(t, "memo", func() (bool, error) {
		_, err := is.Memo(ctx, key)
		if errors.Is(err, storage.ErrNotFound) {
			return true, nil
		}
		return false, err
	})
}

func asInbox(fn func(*testing.T, storage.Store, storage.InboxStore, *Clock)) func(*testing.T, storage.Store, *Clock) {
	return func(t *testing.T, s storage.Store, c *Clock) {
		is, ok := s.(storage.InboxStore)
		if !ok {
			t.Skipf("%T does not implement storage.InboxStore", s)
		}
		fn(t, s, is, c)
	}
}

var inboxAcct = storage.Account{CorpID: "ww1234567890", OpenKFID: "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q"}

func inboxEntry(customer string, seq uint64, msgID string, at time.Time) storage.InboxEntry {
	return storage.InboxEntry{Conversation: storage.Conversation{CorpID: inboxAcct.CorpID, OpenKFID: inboxAcct.OpenKFID, ExternalUserID: customer},
		Seq: seq, MsgID: msgID, Message: []byte(`{"msgid":"` + msgID + `","msgtype":"text"}`), Arrived: at}
}

func testInboxRoundTrip(t *testing.T, s storage.Store, is storage.InboxStore, c *Clock) {
	ctx := t.Context()
	at := c.Now().Add(1234567 * time.Nanosecond)
	b2 := inboxEntry("wmB", 7, "m3", at)
	b2.Observed = true
	entries := []storage.InboxEntry{inboxEntry("wmB", 9, "m4", at), inboxEntry("wmA", 2, "m2", at), b2, inboxEntry("wmA", 1, "m1", at)}
	require.NoError(t, s.Apply(ctx, &storage.Batch{Park: entries}))
	got, err := is.Inbox(ctx, inboxAcct)
	require.NoError(t, err)
	require.Len(t, got, 4)
	var ids []string
	for _, e := range got {
		ids = append(ids, e.MsgID)
	}
	assert.Equal(t, []string{"m1", "m2", "m3", "m4"}, ids, "by conversation, then Seq")
	assert.Equal(t, entries[3].Message, got[0].Message)
	assert.True(t, got[0].Arrived.Equal(at), "arrival time round-trips: %v != %v", got[0].Arrived, at)
	assert.True(t, got[2].Observed)
	assert.False(t, got[3].Observed)
	assert.Equal(t, uint64(7), got[2].Seq)

	got[0].Message[0] = 'X' // a copy
	again, err := is.Inbox(ctx, inboxAcct)
	require.NoError(t, err)
	assert.Equal(t, byte('{'), again[0].Message[0])

	// Re-parking an entry replaces it; Unpark removes exactly the named ones.
	re := inboxEntry("wmA", 1, "m1", at)
	re.Observed = true
	require.NoError(t, s.Apply(ctx, &storage.Batch{Park: []storage.InboxEntry{re}, Unpark: []storage.InboxEntry{entries[0], entries[1]}}))
	got, err = is.Inbox(ctx, inboxAcct)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "m1", got[0].MsgID)
	assert.True(t, got[0].Observed)
	assert.Equal(t, "m3", got[1].MsgID)
}

func testInboxIsolation(t *testing.T, s storage.Store, is storage.InboxStore, c *Clock) {
	ctx := t.Context()
	e := inboxEntry("wmA", 1, "m1", c.Now())
	otherCorp := e
	otherCorp.Conversation.CorpID = "wwOther"
	otherKF := e
	otherKF.Conversation.OpenKFID = "wkOther"
	require.NoError(t, s.Apply(ctx, &storage.Batch{Park: []storage.InboxEntry{e, otherCorp, otherKF}}))
	for _, a := range []storage.Account{inboxAcct, {CorpID: "wwOther", OpenKFID: inboxAcct.OpenKFID}, {CorpID: inboxAcct.CorpID, OpenKFID: "wkOther"}} {
		got, err := is.Inbox(ctx, a)
		require.NoError(t, err)
		require.Len(t, got, 1, "account %v", a)
		assert.Equal(t, a.CorpID, got[0].Conversation.CorpID)
		assert.Equal(t, a.OpenKFID, got[0].Conversation.OpenKFID)
	}
	got, err := is.Inbox(ctx, storage.Account{CorpID: "wwNone", OpenKFID: "wkNone"})
	require.NoError(t, err)
	assert.Empty(t, got)
}

func testInboxAtomic(t *testing.T, s storage.Store, is storage.InboxStore, c *Clock) {
	ctx := t.Context()
	bad := []storage.InboxEntry{
		{Conversation: storage.Conversation{OpenKFID: inboxAcct.OpenKFID}, MsgID: "m", Message: []byte("{}")},
		{Conversation: storage.Conversation{OpenKFID: inboxAcct.OpenKFID, ExternalUserID: "wmA"}, Message: []byte("{}")},
		{Conversation: storage.Conversation{OpenKFID: inboxAcct.OpenKFID, ExternalUserID: "wmA"}, MsgID: "m"},
	}
	for i, b := range bad {
		err := s.Apply(ctx, &storage.Batch{Park: []storage.InboxEntry{inboxEntry("wmA", 1, "ok", c.Now()), b},
			Seen: []string{"seen-1"}, Cursor: &storage.CursorUpdate{Account: inboxAcct, Cursor: "cur"}})
		require.Error(t, err, "entry %d", i)
	}
	got, err := is.Inbox(ctx, inboxAcct)
	require.NoError(t, err)
	assert.Empty(t, got, "nothing of a refused batch is written")
	seen, err := s.Seen(ctx, "seen-1")
	require.NoError(t, err)
	assert.False(t, seen)
	cur, err := s.Cursor(ctx, inboxAcct)
	require.NoError(t, err)
	assert.Empty(t, cur)

	// Park, Seen and the cursor land together.
	require.NoError(t, s.Apply(ctx, &storage.Batch{Park: []storage.InboxEntry{inboxEntry("wmA", 1, "ok", c.Now())},
		Seen: []string{"seen-1"}, Cursor: &storage.CursorUpdate{Account: inboxAcct, Cursor: "cur"}}))
	got, err = is.Inbox(ctx, inboxAcct)
	require.NoError(t, err)
	assert.Len(t, got, 1)
	cur, err = s.Cursor(ctx, inboxAcct)
	require.NoError(t, err)
	assert.Equal(t, "cur", cur)
}

func testInboxTTL(t *testing.T, s storage.Store, is storage.InboxStore, c *Clock) {
	ctx := t.Context()
	require.NoError(t, s.Apply(ctx, &storage.Batch{Park: []storage.InboxEntry{inboxEntry("wmA", 1, "m1", c.Now())}, DedupTTL: time.Hour}))
	c.Advance(time.Hour - time.Nanosecond)
	got, err := is.Inbox(ctx, inboxAcct)
	require.NoError(t, err)
	assert.Len(t, got, 1)
	c.Advance(time.Nanosecond)
	got, err = is.Inbox(ctx, inboxAcct)
	require.NoError(t, err)
	assert.Empty(t, got, "gone after DedupTTL")
}

func testMemoRoundTrip(t *testing.T, _ storage.Store, is storage.InboxStore, _ *Clock) {
	ctx := t.Context()
	key := storage.MemoKey(inboxAcct, "m1", "ai")
	_, err := is.Memo(ctx, key)
	require.ErrorIs(t, err, storage.ErrNotFound)
	v := []byte(`{"parts":["a"]}`)
	require.NoError(t, is.PutMemo(ctx, key, v, 0))
	v[0] = 'X' // stored a copy
	got, err := is.Memo(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, `{"parts":["a"]}`, string(got))
	got[0] = 'Y' // returned a copy
	require.NoError(t, is.PutMemo(ctx, key, []byte("second"), 0))
	got, err = is.Memo(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "second", string(got), "replaced")
	_, err = is.Memo(ctx, storage.MemoKey(inboxAcct, "m2", "ai"))
	assert.ErrorIs(t, err, storage.ErrNotFound, "keys do not collide")
}

func testMemoTTL(t *testing.T, _ storage.Store, is storage.InboxStore, c *Clock) {
	ctx := t.Context()
	key := storage.MemoKey(inboxAcct, "m1", "ai")
	require.NoError(t, is.PutMemo(ctx, key, []byte("v"), time.Minute))
	c.Advance(time.Minute - time.Nanosecond)
	_, err := is.Memo(ctx, key)
	require.NoError(t, err)
	c.Advance(time.Nanosecond)
	_, err = is.Memo(ctx, key)
	assert.ErrorIs(t, err, storage.ErrNotFound)
}

func testMemoInvalid(t *testing.T, _ storage.Store, is storage.InboxStore, _ *Clock) {
	assert.Error(t, is.PutMemo(t.Context(), "", []byte("v"), 0))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := is.Memo(ctx, "k")
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
	assert.Error(t, is.PutMemo(ctx, "k", []byte("v"), 0))
	_, err = is.Inbox(ctx, inboxAcct)
	assert.Error(t, err)
}
