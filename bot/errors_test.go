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

type setKey struct{}

// TestContextSetHandsAMatcherResultToTheHandler: what a matcher stores with Set, the
// handler (and middleware's copies made with WithContext) get back; other messages do not.
func TestContextSetHandsAMatcherResultToTheHandler(t *testing.T) {
	e := newEnv(t)
	b := e.newBot()
	var got []any
	b.Handle(func(c *bot.Context) bool {
		assert.Nil(t, c.Get(setKey{}), "a new message starts empty")
		c.Set(setKey{}, c.Text())
		c.Set(setKey{}, "matched "+c.Text()) // replaces
		return true
	}, func(c *bot.Context) error {
		got = append(got, c.Get(setKey{}))
		return nil
	}, func(next bot.HandlerFunc) bot.HandlerFunc {
		return func(c *bot.Context) error { return next(c.WithContext(c.Context())) }
	})
	e.srv.AddText("wkA", "wmA", "one")
	e.srv.AddText("wkA", "wmA", "two")
	require.NoError(t, b.Pull(t.Context(), "wkA"))
	assert.Equal(t, []any{"matched one", "matched two"}, got)
}
