package bot_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/storage/storagetest"
)

// TestCustomerProfileIsCachedForTheTTL: Context.Customer fetches the profile once, keeps it
// in the session for the TTL, and fetches it again after.
func TestCustomerProfileIsCachedForTheTTL(t *testing.T) {
	e := newEnv(t)
	clk := storagetest.NewClock(time.Now())
	b := e.newBot(bot.WithClock(clk.Now), bot.WithProfileTTL(time.Hour))
	var names []string
	b.Handle(bot.MsgType("text"), func(c *bot.Context) error {
		names = append(names, c.Customer().Nickname)
		return nil
	})
	e.srv.AddCustomer("wmA", "Alice")
	for range 3 {
		e.srv.AddText(testKF, "wmA", "hi")
		require.NoError(t, b.Pull(t.Context(), testKF))
	}
	assert.Equal(t, 1, e.srv.Calls("kf/customer/batchget"))
	e.srv.AddCustomer("wmA", "Alice B.")
	clk.Advance(time.Hour)
	e.srv.AddText(testKF, "wmA", "hi")
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Equal(t, 2, e.srv.Calls("kf/customer/batchget"))
	assert.Equal(t, []string{"Alice", "Alice", "Alice", "Alice B."}, names)
	assert.Equal(t, "Alice B.", e.session(t, "wmA").Customer.Nickname, "kept in the session")
}
