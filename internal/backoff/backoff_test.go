package backoff

import (
	"context"
	"fmt"
	"math"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCeilingDoublesAndCaps(t *testing.T) {
	tests := []struct {
		name      string
		base, max time.Duration
		wantCeils []time.Duration
	}{
		{"doubles then caps", 100 * time.Millisecond, time.Second,
			[]time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}},
		{"max below base uses base", time.Second, time.Millisecond,
			[]time.Duration{time.Second, time.Second}},
		{"zero base never waits", 0, time.Second, []time.Duration{0, 0, 0}},
		{"huge values do not overflow", time.Duration(math.MaxInt64 / 3), time.Duration(math.MaxInt64),
			[]time.Duration{time.Duration(math.MaxInt64 / 3), time.Duration(math.MaxInt64/3) * 2, time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(tt.base, tt.max)
			for i, want := range tt.wantCeils {
				assert.Equal(t, want, b.Ceiling(), "delay %d", i)
				b.Next()
			}
		})
	}
}

func TestNextIsFullJitterWithinCeiling(t *testing.T) {
	b := New(10*time.Millisecond, 80*time.Millisecond)
	var asked []int64
	b.rand = func(n int64) int64 { asked = append(asked, n); return n - 1 } // the largest value
	for range 5 {
		b.Next()
	}
	ms := int64(time.Millisecond)
	assert.Equal(t, []int64{10*ms + 1, 20*ms + 1, 40*ms + 1, 80*ms + 1, 80*ms + 1}, asked)

	b.rand = func(int64) int64 { return 0 }
	assert.Equal(t, time.Duration(0), b.Next(), "full jitter may wait zero")

	for range 1000 { // real randomness stays in range
		b.rand = nil
		d := b.Next()
		require.GreaterOrEqual(t, d, time.Duration(0))
		require.LessOrEqual(t, d, 80*time.Millisecond)
	}
}

func TestResetRestartsSequence(t *testing.T) {
	b := New(time.Millisecond, time.Hour)
	for range 5 {
		b.Next()
	}
	assert.Equal(t, 5, b.Attempt())
	assert.Equal(t, 32*time.Millisecond, b.Ceiling())
	b.Reset()
	assert.Equal(t, 0, b.Attempt())
	assert.Equal(t, time.Millisecond, b.Ceiling())
}

func TestSleepWaitsFullDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		require.NoError(t, Sleep(t.Context(), 3*time.Second))
		assert.Equal(t, 3*time.Second, time.Since(start))
	})
}

func TestSleepReturnsPromptlyOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		start := time.Now()
		done := make(chan error, 1)
		go func() { done <- Sleep(ctx, time.Hour) }()
		synctest.Wait() // the sleeper is blocked in its select
		cancel()
		err := <-done
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, time.Since(start), "no time passed: the hour-long timer was abandoned")
	})
}

func TestSleepNonPositiveOnlyChecksContext(t *testing.T) {
	require.NoError(t, Sleep(t.Context(), 0))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	require.ErrorIs(t, Sleep(ctx, -time.Second), context.Canceled)
	require.ErrorIs(t, Sleep(ctx, time.Hour), context.Canceled)
}

func TestWaitUsesNext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := New(time.Second, time.Minute)
		b.rand = func(n int64) int64 { return n - 1 }
		start := time.Now()
		require.NoError(t, b.Wait(t.Context()))
		require.NoError(t, b.Wait(t.Context()))
		assert.Equal(t, 3*time.Second, time.Since(start))
	})
}

func ExampleBackoff() {
	b := New(100*time.Millisecond, time.Second)
	for range 6 {
		fmt.Println(b.Ceiling())
		b.Next()
	}
	// Output:
	// 100ms
	// 200ms
	// 400ms
	// 800ms
	// 1s
	// 1s
}
