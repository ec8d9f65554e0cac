package storagetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
)

// callbackTests are [Run]'s tests of [storage.CallbackStore], skipped for stores that do
// not implement it.
var callbackTests = []struct {
	name string
	fn   func(t *testing.T, s storage.Store, cs storage.CallbackStore, c *Clock)
	real func(t *testing.T, s storage.Store, cs storage.CallbackStore, rt *realTime)
}{
	{"Callbacks/Once", testCallbacksOnce, nil},
	{"Callbacks/Pending", testCallbacksPending, nil},
	{"Callbacks/TTL", testCallbacksTTL, realCallbacksTTL},
	{"Callbacks/Concurrent", testCallbacksConcurrent, nil},
	{"Callbacks/Invalid", testCallbacksInvalid, nil},
}

func asCallbacks(fn func(*testing.T, storage.Store, storage.CallbackStore, *Clock)) func(*testing.T, storage.Store, *Clock) {
	return func(t *testing.T, s storage.Store, c *Clock) {
		cs, ok := s.(storage.CallbackStore)
		if !ok {
			t.Skipf("%T does not implement storage.CallbackStore", s)
		}
		fn(t, s, cs, c)
	}
}

func asRealCallbacks(fn func(*testing.T, storage.Store, storage.CallbackStore, *realTime)) func(*testing.T, storage.Store, *realTime) {
	if fn == nil {
		return nil
	}
	return func(t *testing.T, s storage.Store, rt *realTime) {
		cs, ok := s.(storage.CallbackStore)
		if !ok {
			t.Skipf("%T does not implement storage.CallbackStore", s)
		}
		fn(t, s, cs, rt)
	}
}

func callbackEntry(key string, at time.Time) storage.CallbackEntry {
	return storage.CallbackEntry{Key: key, Payload: []byte("<xml><Event>" + key + "</Event></xml>"), ReceiveID: "ww1234567890", Received: at}
}

// testCallbacksOnce: the first record wins; a retry, pending or handled, is refused.
func testCallbacksOnce(t *testing.T, _ storage.Store, cs storage.CallbackStore, c *Clock) {
	ctx := t.Context()
	e := callbackEntry("cb1:a", c.Now())
	ok, err := cs.RecordCallback(ctx, e, time.Hour)
	require.NoError(t, err)
	assert.True(t, ok, "first record")
	ok, err = cs.RecordCallback(ctx, e, time.Hour)
	require.NoError(t, err)
	assert.False(t, ok, "a retry while pending")
	require.NoError(t, cs.CallbackHandled(ctx, e.Key))
	ok, err = cs.RecordCallback(ctx, e, time.Hour)
	require.NoError(t, err)
	assert.False(t, ok, "a retry after it was handled")
	require.NoError(t, cs.CallbackHandled(ctx, "cb1:never-recorded"), "marking an unknown key")
}

// testCallbacksPending: pending entries come back whole, in order, as copies, and leave
// when handled.
func testCallbacksPending(t *testing.T, _ storage.Store, cs storage.CallbackStore, c *Clock) {
	ctx := t.Context()
	got, err := cs.PendingCallbacks(ctx)
	require.NoError(t, err)
	assert.Empty(t, got)
	t0 := c.Now()
	es := []storage.CallbackEntry{callbackEntry("cb1:b", t0.Add(time.Second)), callbackEntry("cb1:a", t0.Add(time.Second)), callbackEntry("cb1:c", t0)}
	for _, e := range es {
		ok, err := cs.RecordCallback(ctx, e, time.Hour)
		require.NoError(t, err)
		require.True(t, ok)
	}
	es[0].Payload[0] = 'X' // the store kept its own copy
	got, err = cs.PendingCallbacks(ctx)
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, []string{"cb1:c", "cb1:a", "cb1:b"}, []string{got[0].Key, got[1].Key, got[2].Key})
	assert.Equal(t, "<xml><Event>cb1:b</Event></xml>", string(got[2].Payload))
	assert.Equal(t, "ww1234567890", got[2].ReceiveID)
	assert.True(t, got[2].Received.Equal(t0.Add(time.Second)), "received %v", got[2].Received)
	got[0].Payload[0] = 'Y'
	require.NoError(t, cs.CallbackHandled(ctx, "cb1:a"))
	got, err = cs.PendingCallbacks(ctx)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "cb1:c", got[0].Key)
	assert.Equal(t, "<xml><Event>cb1:c</Event></xml>", string(got[0].Payload), "a returned entry is a copy")
	assert.Equal(t, "cb1:b", got[1].Key)
}

// testCallbacksTTL: after the TTL the key may be recorded again and nothing is pending.
func testCallbacksTTL(t *testing.T, _ storage.Store, cs storage.CallbackStore, c *Clock) {
	ctx := t.Context()
	e := callbackEntry("cb1:ttl", c.Now())
	ok, err := cs.RecordCallback(ctx, e, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	c.Advance(59 * time.Second)
	ok, err = cs.RecordCallback(ctx, e, time.Minute)
	require.NoError(t, err)
	assert.False(t, ok, "inside the TTL")
	c.Advance(2 * time.Second)
	got, err := cs.PendingCallbacks(ctx)
	require.NoError(t, err)
	assert.Empty(t, got, "an expired entry is not pending")
	ok, err = cs.RecordCallback(ctx, e, 0)
	require.NoError(t, err)
	assert.True(t, ok, "after the TTL")
	c.Advance(storage.DefaultCallbackTTL - time.Second)
	got, err = cs.PendingCallbacks(ctx)
	require.NoError(t, err)
	assert.Len(t, got, 1, "ttl 0 means DefaultCallbackTTL")
}

func realCallbacksTTL(t *testing.T, _ storage.Store, cs storage.CallbackStore, rt *realTime) {
	ctx := t.Context()
	e := callbackEntry("cb1:real-ttl", time.Now())
	ok, err := cs.RecordCallback(ctx, e, rt.ttl)
	require.NoError(t, err)
	require.True(t, ok)
	rt.expire(t, "callback mark", func() (bool, error) {
		return cs.RecordCallback(ctx, e, rt.ttl)
	})
}

// testCallbacksConcurrent: of concurrent records of one key exactly one wins.
func testCallbacksConcurrent(t *testing.T, _ storage.Store, cs storage.CallbackStore, c *Clock) {
	ctx := t.Context()
	for k := range 5 {
		e := callbackEntry(fmt.Sprintf("cb1:race-%d", k), c.Now())
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				ok, err := cs.RecordCallback(ctx, e, time.Hour)
				assert.NoError(t, err)
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), wins.Load(), e.Key)
	}
}

func testCallbacksInvalid(t *testing.T, _ storage.Store, cs storage.CallbackStore, c *Clock) {
	ctx := t.Context()
	_, err := cs.RecordCallback(ctx, storage.CallbackEntry{Payload: []byte("x")}, time.Hour)
	assert.Error(t, err, "no key")
	_, err = cs.RecordCallback(ctx, storage.CallbackEntry{Key: "cb1:x"}, time.Hour)
	assert.Error(t, err, "no payload")
	assert.Error(t, cs.CallbackHandled(ctx, ""), "empty key")
	got, err := cs.PendingCallbacks(ctx)
	require.NoError(t, err)
	assert.Empty(t, got, "nothing invalid was recorded")
}
