package middleware_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/bot/middleware"
	"github.com/kfbot/kfbot/kf/syncmsg"
)

var rlStart = time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)

// limitedBot returns a bot with RateLimit(cfg) whose handled and limited msgids are
// recorded. cfg.OnLimited, if set, runs after the recording.
func limitedBot(t *testing.T, cfg middleware.RateLimitConfig) (b *bot.Bot, handled, limited *counter) {
	t.Helper()
	handled, limited = new(counter), new(counter)
	user := cfg.OnLimited
	cfg.OnLimited = func(c *bot.Context) error {
		_ = limited.handler(c)
		if user != nil {
			return user(c)
		}
		return nil
	}
	b = newBot(t, offlineClient(), nil)
	b.Use(middleware.RateLimit(cfg))
	b.HandleDefault(handled.handler)
	return b, handled, limited
}

func TestRateLimitBurstThenLimited(t *testing.T) {
	clk := newClock(rlStart)
	b, handled, limited := limitedBot(t, middleware.RateLimitConfig{Every: time.Minute, Burst: 3, Now: clk.Now})

	var ids []string
	for i := range 5 {
		m := text(testKF, customer, fmt.Sprintf("burst-%d", i), "spam")
		ids = append(ids, m.MsgID)
		require.NoError(t, dispatch(t, b, m))
	}
	assert.Equal(t, ids[:3], handled.seen(), "the burst passes")
	assert.Equal(t, ids[3:], limited.seen(), "the rest goes to OnLimited")

	// One message per Every comes back.
	clk.Advance(59 * time.Second)
	require.NoError(t, dispatch(t, b, text(testKF, customer, "early", "x")))
	clk.Advance(time.Second)
	require.NoError(t, dispatch(t, b, text(testKF, customer, "refilled", "x")))
	require.NoError(t, dispatch(t, b, text(testKF, customer, "again-too-soon", "x")))
	assert.Equal(t, append(ids[:3:3], "refilled"), handled.seen())
	assert.Equal(t, append(ids[3:5:5], "early", "again-too-soon"), limited.seen())
}

func TestRateLimitIsPerCustomer(t *testing.T) {
	clk := newClock(rlStart)
	b, handled, limited := limitedBot(t, middleware.RateLimitConfig{Every: time.Hour, Burst: 1, Now: clk.Now})

	tests := []struct {
		openKFID, user, msgID string
		wantHandled           bool
	}{
		{testKF, "wmAlice", "a1", true},
		{testKF, "wmAlice", "a2", false},
		{testKF, "wmBob", "b1", true},             // another customer has their own allowance
		{"wkOtherAccount", "wmAlice", "a3", true}, // the same customer on another KF account too
		{"wkOtherAccount", "wmAlice", "a4", false},
		{testKF, "wmBob", "b2", false},
	}
	for _, tt := range tests {
		require.NoError(t, dispatch(t, b, text(tt.openKFID, tt.user, tt.msgID, "hi")))
	}
	var wantHandled, wantLimited []string
	for _, tt := range tests {
		if tt.wantHandled {
			wantHandled = append(wantHandled, tt.msgID)
		} else {
			wantLimited = append(wantLimited, tt.msgID)
		}
	}
	assert.Equal(t, wantHandled, handled.seen())
	assert.Equal(t, wantLimited, limited.seen())
}

func TestRateLimitOnlyCountsCustomerMessages(t *testing.T) {
	clk := newClock(rlStart)
	b, handled, limited := limitedBot(t, middleware.RateLimitConfig{Every: time.Hour, Burst: 1, Now: clk.Now})

	msgs := []syncmsg.Message{
		enterSession(testKF, customer),   // events pass and use no allowance
		servicerStatus(testKF),           // names no customer
		servicerText(testKF, customer),   // a servicer typed it
		sessionEnd(testKF, customer),     // and ended the session: the bot answers again
		text(testKF, customer, "c1", ""), // the customer's one message
		enterSession(testKF, customer),   // still passes after the customer is limited
		text(testKF, customer, "c2", ""), // limited
	}
	for _, m := range msgs {
		require.NoError(t, dispatch(t, b, m))
	}
	assert.Equal(t, []string{msgs[0].Head().MsgID, msgs[1].Head().MsgID, msgs[2].Head().MsgID, msgs[3].Head().MsgID, "c1", msgs[5].Head().MsgID},
		handled.seen())
	assert.Equal(t, []string{"c2"}, limited.seen())
}

func TestRateLimitOnLimited(t *testing.T) {
	t.Run("its error is returned", func(t *testing.T) {
		clk := newClock(rlStart)
		b, _, limited := limitedBot(t, middleware.RateLimitConfig{Every: time.Hour, Burst: 1, Now: clk.Now,
			OnLimited: func(*bot.Context) error { return errBoom }})
		require.NoError(t, dispatch(t, b, text(testKF, customer, "", "one")))
		require.ErrorIs(t, dispatch(t, b, text(testKF, customer, "over", "two")), errBoom)
		assert.Equal(t, []string{"over"}, limited.seen())
	})
	t.Run("it may answer the customer", func(t *testing.T) {
		srv := newFake(t)
		clk := newClock(rlStart)
		b := newBot(t, fakeClient(srv), nil)
		var handled counter
		b.Use(middleware.RateLimit(middleware.RateLimitConfig{Every: time.Hour, Burst: 1, Now: clk.Now,
			OnLimited: func(c *bot.Context) error { return c.ReplyText("Slow down, please.") }}))
		b.HandleDefault(handled.handler)
		for _, content := range []string{"one", "two"} {
			id := srv.AddText(testKF, customer, content)
			require.NoError(t, dispatch(t, b, text(testKF, customer, id, content)))
		}
		assert.Len(t, handled.seen(), 1)
		sent := srv.SentTo(testKF, customer)
		require.Len(t, sent, 1)
		assert.Equal(t, "Slow down, please.", sent[0].Text)
	})
	t.Run("nil drops the message silently; it is still marked processed", func(t *testing.T) {
		clk := newClock(rlStart)
		var handled counter
		b := newBot(t, offlineClient(), nil)
		b.Use(middleware.RateLimit(middleware.RateLimitConfig{Every: time.Hour, Burst: 1, Now: clk.Now}))
		b.HandleDefault(handled.handler)
		require.NoError(t, dispatch(t, b, text(testKF, customer, "first", "one")))
		over := text(testKF, customer, "dropped", "two")
		require.NoError(t, dispatch(t, b, over))
		clk.Advance(2 * time.Hour) // the allowance is back, but the message was processed
		require.NoError(t, dispatch(t, b, over))
		assert.Equal(t, []string{"first"}, handled.seen())
	})
}

func TestRateLimitIdleEviction(t *testing.T) {
	// Every is far longer than IdleTTL, so an allowance can only come back within the test
	// by the limiter being evicted.
	clk := newClock(rlStart)
	b, handled, limited := limitedBot(t, middleware.RateLimitConfig{Every: 24 * time.Hour, Burst: 1,
		IdleTTL: time.Minute, Now: clk.Now})

	require.NoError(t, dispatch(t, b, text(testKF, customer, "first", "")))
	clk.Advance(30 * time.Second)
	require.NoError(t, dispatch(t, b, text(testKF, customer, "within-ttl", "")))
	clk.Advance(time.Minute + time.Second) // idle for longer than IdleTTL since the last message
	require.NoError(t, dispatch(t, b, text(testKF, customer, "after-eviction", "")))

	assert.Equal(t, []string{"first", "after-eviction"}, handled.seen())
	assert.Equal(t, []string{"within-ttl"}, limited.seen(), "a limited message also counts as activity")
}

func TestRateLimitDefaults(t *testing.T) {
	d := middleware.DefaultRateLimitConfig()
	assert.Equal(t, time.Second, d.Every)
	assert.Equal(t, 5, d.Burst)
	assert.Equal(t, 10*time.Minute, d.IdleTTL)
	require.NotNil(t, d.Now)

	// A zero config takes the defaults: a burst of 5 within one instant.
	clk := newClock(rlStart)
	b, handled, limited := limitedBot(t, middleware.RateLimitConfig{Now: clk.Now})
	for range 6 {
		require.NoError(t, dispatch(t, b, text(testKF, customer, "", "")))
	}
	assert.Len(t, handled.seen(), 5)
	assert.Len(t, limited.seen(), 1)
	clk.Advance(time.Second)
	require.NoError(t, dispatch(t, b, text(testKF, customer, "", "")))
	assert.Len(t, handled.seen(), 6, "one more after Every")
}

func TestRateLimitConcurrentCustomers(t *testing.T) {
	clk := newClock(rlStart)
	b, handled, limited := limitedBot(t, middleware.RateLimitConfig{Every: time.Hour, Burst: 2, Now: clk.Now})
	const customers, perCustomer = 20, 5
	var wg sync.WaitGroup
	for i := range customers {
		wg.Go(func() { // messages of one conversation in order, conversations in parallel
			for range perCustomer {
				if err := b.Dispatch(t.Context(), text(testKF, fmt.Sprintf("wm%02d", i), "", "hi")); err != nil {
					t.Errorf("dispatch: %v", err)
				}
			}
		})
	}
	wg.Wait()
	assert.Len(t, handled.seen(), customers*2)
	assert.Len(t, limited.seen(), customers*(perCustomer-2))
}
