package kftest_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/kftest"
)

func TestConcurrentAppendSendSync(t *testing.T) {
	for _, mode := range []string{"transport", "socket"} {
		t.Run(mode, func(t *testing.T) {
			srv := kftest.NewServer()
			defer srv.Close()
			newClient := func() *api {
				a := newAPI(t, srv)
				if mode == "socket" {
					a.c, a.base = srv.Client(), srv.URL
				}
				return a
			}
			var hooks atomic.Int64
			srv.OnAppend(func(string, string) { hooks.Add(1) })

			const users, perUser = 8, 100
			var accepted atomic.Int64
			var wg sync.WaitGroup
			for u := range users {
				uid := fmt.Sprint("wmU", u)
				wg.Go(func() {
					for i := range perUser {
						srv.AddText(acct, uid, fmt.Sprint("m", i))
					}
				})
				wg.Go(func() {
					a := newClient()
					for i := range perUser {
						r := a.sendText(acct, uid, fmt.Sprintf("s%d_%d", u, i), "reply")
						switch r.ErrCode {
						case 0:
							accepted.Add(1)
						case 95001, 95031:
						default:
							t.Errorf("send: %d %s", r.ErrCode, r.ErrMsg)
						}
					}
				})
			}
			// The same msgid from many goroutines: exactly one wins.
			srv.AddText(acct2, user, "hi")
			var dupWins atomic.Int64
			for range 8 {
				wg.Go(func() {
					if newClient().sendText(acct2, user, "same", "x").ErrCode == 0 {
						dupWins.Add(1)
					}
				})
			}
			// Concurrent pullers and readers.
			for range 2 {
				wg.Go(func() {
					a := newClient()
					for range 5 {
						a.drain(acct, "")
						_ = srv.Sent()
						_ = srv.SessionState(acct, "wmU0")
					}
				})
			}
			wg.Wait()

			assert.Equal(t, int64(1), dupWins.Load())
			assert.Equal(t, int64(users*perUser+1), hooks.Load())
			assert.Equal(t, int(accepted.Load())+1, len(srv.Sent()))
			ids, _, _ := newClient().drain(acct, "")
			require.Len(t, ids, users*perUser)
			seen := map[string]bool{}
			for _, id := range ids {
				assert.False(t, seen[id], "duplicate %s", id)
				seen[id] = true
			}
			for u := range users {
				assert.LessOrEqual(t, len(srv.SentTo(acct, fmt.Sprint("wmU", u))), 5*perUser)
			}
		})
	}
}
