package middleware

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestLimitersStayBounded checks what the public tests cannot see: idle limiters are
// removed, so memory is bounded by the customers active within IdleTTL.
func TestLimitersStayBounded(t *testing.T) {
	now := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	cfg := DefaultRateLimitConfig()
	cfg.IdleTTL = time.Minute
	cfg.Now = func() time.Time { return now }
	l := &limiters{cfg: cfg, m: make(map[string]*limiter)}

	for i := range 1000 {
		l.allow(fmt.Sprintf("wk\x00wm%d", i))
	}
	assert.Len(t, l.m, 1000)

	now = now.Add(30 * time.Second)
	l.allow("wk\x00wm0") // active again
	assert.Len(t, l.m, 1000, "nobody is idle for longer than IdleTTL yet")

	now = now.Add(31 * time.Second) // t0+61s: the others have been idle for 61s
	l.allow("wk\x00new")
	assert.Len(t, l.m, 2, "only customers active within IdleTTL are kept")
	assert.Contains(t, l.m, "wk\x00wm0")
	assert.Contains(t, l.m, "wk\x00new")

	// Sweeps run at most once per IdleTTL, so a limiter lives less than twice IdleTTL.
	now = now.Add(2*time.Minute + time.Second)
	l.allow("wk\x00new")
	assert.Len(t, l.m, 1)
	assert.Contains(t, l.m, "wk\x00new")
}
