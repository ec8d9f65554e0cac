package middleware_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/bot/middleware"
	"github.com/kfbot/kfbot/kf/syncmsg"
)

func TestAllowAndBlock(t *testing.T) {
	const (
		kfA, kfB     = "wkA", "wkB"
		alice, mal   = "wmAlice", "wmMallory"
		otherUser    = "wmOther"
		noCustomer   = ""
		allowed, not = true, false
	)
	msg := func(openKFID, user string) syncmsg.Message {
		if user == noCustomer {
			return servicerStatus(openKFID)
		}
		return text(openKFID, user, "", "hi")
	}
	tests := []struct {
		name        string
		mw          bot.Middleware
		openKFID    string
		user        string
		wantHandled bool
	}{
		{"allow nothing listed: everything passes", middleware.Allow(middleware.AccessConfig{}), kfA, alice, allowed},
		{"allow account: listed", middleware.Allow(middleware.AccessConfig{OpenKFIDs: []string{kfA}}), kfA, otherUser, allowed},
		{"allow account: other account", middleware.Allow(middleware.AccessConfig{OpenKFIDs: []string{kfA}}), kfB, alice, not},
		{"allow account: event without customer", middleware.Allow(middleware.AccessConfig{OpenKFIDs: []string{kfA}}), kfA, noCustomer, allowed},
		{"allow customer: listed, any account", middleware.Allow(middleware.AccessConfig{ExternalUserIDs: []string{alice}}), kfB, alice, allowed},
		{"allow customer: other customer", middleware.Allow(middleware.AccessConfig{ExternalUserIDs: []string{alice}}), kfA, otherUser, not},
		{"allow customer: event without customer", middleware.Allow(middleware.AccessConfig{ExternalUserIDs: []string{alice}}), kfA, noCustomer, not},
		{"allow both: both listed", middleware.Allow(middleware.AccessConfig{OpenKFIDs: []string{kfA}, ExternalUserIDs: []string{alice}}), kfA, alice, allowed},
		{"allow both: customer on another account", middleware.Allow(middleware.AccessConfig{OpenKFIDs: []string{kfA}, ExternalUserIDs: []string{alice}}), kfB, alice, not},
		{"allow both: other customer on the account", middleware.Allow(middleware.AccessConfig{OpenKFIDs: []string{kfA}, ExternalUserIDs: []string{alice}}), kfA, otherUser, not},
		{"allow: empty entries are ignored", middleware.Allow(middleware.AccessConfig{ExternalUserIDs: []string{""}}), kfA, otherUser, allowed},

		{"block nothing listed", middleware.Block(middleware.AccessConfig{}), kfA, alice, allowed},
		{"block customer: listed", middleware.Block(middleware.AccessConfig{ExternalUserIDs: []string{mal}}), kfA, mal, not},
		{"block customer: on every account", middleware.Block(middleware.AccessConfig{ExternalUserIDs: []string{mal}}), kfB, mal, not},
		{"block customer: others pass", middleware.Block(middleware.AccessConfig{ExternalUserIDs: []string{mal}}), kfA, alice, allowed},
		{"block customer: event without customer passes", middleware.Block(middleware.AccessConfig{ExternalUserIDs: []string{mal}}), kfA, noCustomer, allowed},
		{"block account: every customer of it", middleware.Block(middleware.AccessConfig{OpenKFIDs: []string{kfB}}), kfB, alice, not},
		{"block account: its events too", middleware.Block(middleware.AccessConfig{OpenKFIDs: []string{kfB}}), kfB, noCustomer, not},
		{"block either: the account suffices", middleware.Block(middleware.AccessConfig{OpenKFIDs: []string{kfB}, ExternalUserIDs: []string{mal}}), kfB, alice, not},
		{"block either: the customer suffices", middleware.Block(middleware.AccessConfig{OpenKFIDs: []string{kfB}, ExternalUserIDs: []string{mal}}), kfA, mal, not},
		{"block either: neither listed", middleware.Block(middleware.AccessConfig{OpenKFIDs: []string{kfB}, ExternalUserIDs: []string{mal}}), kfA, alice, allowed},
		{"block: an empty entry does not block customerless events", middleware.Block(middleware.AccessConfig{ExternalUserIDs: []string{""}}), kfA, noCustomer, allowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var handled counter
			var errs errorLog
			b := newBot(t, offlineClient(), &errs)
			b.Use(tt.mw)
			b.HandleDefault(handled.handler)

			m := msg(tt.openKFID, tt.user)
			require.NoError(t, dispatch(t, b, m), "a stopped message is not an error")
			if tt.wantHandled {
				assert.Equal(t, []string{m.Head().MsgID}, handled.seen())
			} else {
				assert.Empty(t, handled.seen())
			}
			assert.Empty(t, errs.all())

			// Either way the message was processed: dispatching it again reaches nothing.
			require.NoError(t, dispatch(t, b, m))
			assert.LessOrEqual(t, len(handled.seen()), 1)
		})
	}
}

func TestAllowAndBlockCopyTheirLists(t *testing.T) {
	users := []string{"wmAlice"}
	var handled counter
	b := newBot(t, offlineClient(), nil)
	b.Use(middleware.Allow(middleware.AccessConfig{ExternalUserIDs: users}))
	b.HandleDefault(handled.handler)
	users[0] = "wmMallory" // changing the caller's slice later has no effect

	require.NoError(t, dispatch(t, b, text(testKF, "wmAlice", "from-alice", "hi")))
	require.NoError(t, dispatch(t, b, text(testKF, "wmMallory", "from-mallory", "hi")))
	assert.Equal(t, []string{"from-alice"}, handled.seen())
}
