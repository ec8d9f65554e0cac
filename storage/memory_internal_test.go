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
	require.Equal(t, n, len(m.seen))

	now = now.Add(2 * time.Minute)
	for i := range 4 * n { // enough writes to trigger a sweep whatever the phase
		_, err := m.FirstSeen(ctx, fmt.Sprintf("new-%d", i), time.Hour)
		require.NoError(t, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	assert.LessOrEqual(t, len(m.seen), 4*n, "expired ids swept")
	for k := range m.seen {
		assert.NotContains(t, k, "old-", "expired id %s left", k)
	}
	assert.Empty(t, m.sessions, "expired sessions swept")
	assert.Empty(t, m.sends, "expired sends swept")
	assert.Empty(t, m.leases, "expired leases swept")
}

// TestMemorySweepKeepsLive checks that a sweep never drops an unexpired entry.
func TestMemorySweepKeepsLive(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	m := NewMemory(WithClock(func() time.Time { return now }))
	for i := range 3 * minSweep {
		_, err := m.FirstSeen(ctx, fmt.Sprint(i), time.Hour)
		require.NoError(t, err)
		now = now.Add(time.Millisecond)
	}
	for i := range 3 * minSweep {
		seen, err := m.Seen(ctx, fmt.Sprint(i))
		require.NoError(t, err)
		require.True(t, seen, "id %d", i)
	}
}
