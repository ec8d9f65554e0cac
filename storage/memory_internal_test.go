package storage

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemorySweep checks that expired entries of every kind are removed by later
// writes, so a long-running Memory stays bounded by its live entries.
func TestMemorySweep(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	m := NewMemory(WithClock(func() time.Time { return now }))
	const n = 5000
	for i := range n {
		_, err := m.FirstSeen(ctx, fmt.Sprintf("old-%d", i), time.Minute)
		require.NoError(t, err)
		require.NoError(t, m.PutSession(ctx, &Session{Conversation: Conversation{OpenKFID: "wk", ExternalUserID: fmt.Sprint(i)}}, time.Minute))
		require.NoError(t, m.SetSendState(ctx, fmt.Sprintf("s-%d", i), SendPending, time.Minute))
		_, err = m.AcquireLease(ctx, fmt.Sprintf("l-%d", i), "me", time.Minute)
		require.NoError(t, err)
	}
	require.Equal(t, n, len(m.seen.m))

	now = now.Add(2 * time.Minute)
	for i := range 4 * n { // enough writes to trigger a sweep whatever the phase
		_, err := m.FirstSeen(ctx, fmt.Sprintf("new-%d", i), time.Hour)
		require.NoError(t, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	assert.LessOrEqual(t, len(m.seen.m), 4*n, "expired ids swept")
	for k := range m.seen.m {
		assert.NotContains(t, k, "old-", "expired id %s left", k)
	}
	assert.Empty(t, m.sessions.m, "expired sessions swept")
	assert.Empty(t, m.sends.m, "expired sends swept")
	assert.Empty(t, m.leases.m, "expired leases swept")
}

// TestMemorySweepKeepsLive checks that a sweep never drops an unexpired entry.
func TestMemorySweepKeepsLive(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	m := NewMemory(WithClock(func() time.Time { return now }))
	for i := range 3000 {
		_, err := m.FirstSeen(ctx, fmt.Sprint(i), time.Hour)
		require.NoError(t, err)
		now = now.Add(time.Millisecond)
	}
	for i := range 3000 {
		seen, err := m.Seen(ctx, fmt.Sprint(i))
		require.NoError(t, err)
		require.True(t, seen, "id %d", i)
	}
}

// TestMemorySweepWorkPerWriteIsBounded: however many entries expired, one write removes
// only a few, so no write holds the lock for a time that grows with the store.
func TestMemorySweepWorkPerWriteIsBounded(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	m := NewMemory(WithClock(func() time.Time { return now }))
	const n = 10000
	for i := range n {
		_, err := m.FirstSeen(ctx, fmt.Sprintf("old-%d", i), time.Minute)
		require.NoError(t, err)
	}
	now = now.Add(2 * time.Minute)
	for i := range n {
		before := len(m.seen.m)
		_, err := m.FirstSeen(ctx, fmt.Sprintf("new-%d", i), time.Hour)
		require.NoError(t, err)
		require.LessOrEqual(t, before+1-len(m.seen.m), sweepStep, "write %d removed more than a step", i)
	}
	assert.Len(t, m.seen.m, n, "after n writes every expired id is gone")
	assert.Len(t, m.seen.keys, n)
	for i, k := range m.seen.keys {
		require.Equal(t, i, m.seen.m[k].slot, "key %s", k)
	}
}

// TestTableDeleteKeepsSlots: deleting from the middle and re-adding keeps keys and slots
// in step.
func TestTableDeleteKeepsSlots(t *testing.T) {
	tb := newTable[string, int]()
	exp := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 100 {
		tb.put(fmt.Sprint(i), i, exp)
	}
	for i := 0; i < 100; i += 3 {
		tb.del(fmt.Sprint(i))
	}
	tb.del("absent")
	tb.put("5", 55, exp) // overwrite keeps the slot
	tb.put("0", 0, exp)  // re-added
	require.Len(t, tb.keys, len(tb.m))
	for i, k := range tb.keys {
		require.Equal(t, i, tb.m[k].slot)
	}
	v, ok := tb.get("5", exp.Add(-time.Second))
	assert.True(t, ok)
	assert.Equal(t, 55, v)
	_, ok = tb.get("5", exp)
	assert.False(t, ok, "expired at its expiry")
}
