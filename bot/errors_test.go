package bot_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
)

// TestRefusalsAreOneType: every refusal is a *RefusalError with its own reason, matched
// through wrapping by errors.Is (one refusal) and errors.As (any refusal).
func TestRefusalsAreOneType(t *testing.T) {
	tests := []struct {
		err    error
		reason string
	}{
		{bot.ErrQuotaExceeded, bot.RefusalQuota},
		{bot.ErrWindowClosed, bot.RefusalWindow},
		{bot.ErrHumanOwned, bot.RefusalHuman},
		{bot.ErrRepliesStopped, bot.RefusalStopped},
		{bot.ErrNotCustomerMessage, bot.RefusalNotCustomer},
		{bot.ErrNoConversation, bot.RefusalNoConversation},
		{bot.ErrNoEventCode, bot.RefusalNoEventCode},
		{bot.ErrCodeExpired, bot.RefusalCodeExpired},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			wrapped := fmt.Errorf("rules: rule %q: reply: %w", "hello", tt.err)
			r, ok := errors.AsType[*bot.RefusalError](wrapped)
			require.True(t, ok)
			assert.Equal(t, tt.reason, r.Reason)
			assert.ErrorIs(t, wrapped, tt.err)
			for _, other := range tests {
				if other.err != tt.err {
					assert.NotErrorIs(t, wrapped, other.err)
				}
			}
		})
	}
	_, ok := errors.AsType[*bot.RefusalError](bot.ErrAlreadyRunning)
	assert.False(t, ok, "ErrAlreadyRunning is not a refusal")
}
