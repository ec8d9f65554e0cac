package kf_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf"
)

func TestConcurrentCallsFetchOneToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		f := newFake()
		f.beforeToken = holdUntil(release) // hold the fetch until every caller waits
		f.on("kf/account/list", seq(okJSON(`"account_list":[]`)))
		cl := newClient(f)

		const callers = 100
		var wg sync.WaitGroup
		errs := make(chan error, callers)
		for range callers {
			wg.Go(func() {
				_, err := cl.AccountList(t.Context(), kf.AccountListRequest{})
				errs <- err
			})
		}
		synctest.Wait() // all 100 are blocked: one in gettoken, the rest waiting for it
		close(release)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		assert.Equal(t, 1, f.tokensIssued(), "exactly one gettoken for 100 concurrent calls")
		assert.Equal(t, callers, f.count("kf/account/list"))
	})
}

func TestTokenCachedUntilRefreshMargin(t *testing.T) {
	tests := []struct {
		name       string
		expiresIn  int
		opts       []kf.Option
		stillFresh time.Duration // a call after this long reuses the token
		refreshBy  time.Duration // a call after this long fetches a new one
	}{
		{"default margin 5 min", 7200, nil, 7200*time.Second - 5*time.Minute - time.Second, 7200*time.Second - 5*time.Minute},
		{"custom margin", 7200, []kf.Option{kf.WithTokenRefreshMargin(time.Hour)}, time.Hour - time.Second, time.Hour},
		{"lifetime shorter than margin: half life", 200, nil, 99 * time.Second, 100 * time.Second},
		{"missing expires_in means 7200 s", 0, nil, 7200*time.Second - 5*time.Minute - time.Second, 7200*time.Second - 5*time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFake()
				f.expiresIn = tt.expiresIn
				f.on("kf/account/list", seq(okJSON("")))
				cl := newClient(f, tt.opts...)
				start := time.Now()
				call := func() {
					_, err := cl.AccountList(t.Context(), kf.AccountListRequest{})
					require.NoError(t, err)
				}
				call()
				require.Equal(t, 1, f.tokensIssued())
				time.Sleep(tt.stillFresh - time.Since(start)) // advances the bubble's fake clock
				call()
				assert.Equal(t, 1, f.tokensIssued(), "token still fresh")
				time.Sleep(tt.refreshBy - time.Since(start))
				call()
				assert.Equal(t, 2, f.tokensIssued(), "token refreshed before expiry")
				assert.Equal(t, []string{"tok-1", "tok-1", "tok-2"}, f.tokensSeen("kf/account/list"))
			})
		})
	}
}

func TestTokenRejectedRefreshesAndRetriesOnce(t *testing.T) {
	for _, code := range []int{40014, 42001, 41001} {
		t.Run(kf.CodeText(code), func(t *testing.T) {
			f := newFake()
			f.on("kf/send_msg", seq(errJSON(code, "token rejected"), okJSON(`"msgid":"m1"`)))
			cl := newClient(f)
			resp, err := cl.SendMsg(t.Context(), kf.SendMsgRequest{ToUser: "wm1", OpenKFID: "wk1", Message: kf.Text{Content: "hi"}})
			require.NoError(t, err)
			assert.Equal(t, "m1", resp.MsgID)
			assert.Equal(t, 2, f.tokensIssued(), "the rejected token was replaced")
			assert.Equal(t, []string{"tok-1", "tok-2"}, f.tokensSeen("kf/send_msg"), "retried once with the new token")
		})
	}
}

func TestSecondTokenRejectionIsReturned(t *testing.T) {
	f := newFake()
	f.on("kf/sync_msg", seq(errJSON(42001, "access_token expired")))
	cl := newClient(f)
	_, err := cl.SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: "wk1"})
	require.ErrorIs(t, err, kf.ErrAccessTokenExpired)
	assert.Equal(t, 2, f.count("kf/sync_msg"), "one retry, no loop")
	assert.Equal(t, 2, f.tokensIssued())
}

func TestRefreshAfterRejectionKeepsNewerToken(t *testing.T) {
	// Caller A's stale token is rejected after caller B already refreshed:
	// A's invalidation must not drop B's fresh token.
	f := newFake()
	f.on("kf/account/list", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("access_token") == "tok-1" {
			reply(w, errJSON(40014, "invalid access_token"))
			return
		}
		reply(w, okJSON(""))
	})
	cl := newClient(f)
	_, err := cl.AccountList(t.Context(), kf.AccountListRequest{})
	require.NoError(t, err)
	_, err = cl.AccountList(t.Context(), kf.AccountListRequest{})
	require.NoError(t, err)
	assert.Equal(t, 2, f.tokensIssued())
	assert.Equal(t, []string{"tok-1", "tok-2", "tok-2"}, f.tokensSeen("kf/account/list"))
}

// memSource is a TokenSource that hands out numbered tokens and records invalidations.
type memSource struct {
	mu          sync.Mutex
	n           int
	cur         string
	invalidated []string
}

func (s *memSource) Token(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == "" {
		s.n++
		s.cur = fmt.Sprintf("ext-%d", s.n)
	}
	return s.cur, nil
}

func (s *memSource) Invalidate(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalidated = append(s.invalidated, tok)
	if s.cur == tok {
		s.cur = ""
	}
}

func TestTokenSourceIsUsedAndInvalidated(t *testing.T) {
	f := newFake()
	f.on("kf/service_state/get", seq(errJSON(40014, "invalid access_token"), okJSON(`"service_state":3,"servicer_userid":"zhangsan"`)))
	src := &memSource{}
	cl := kf.NewClient("", "", kf.WithBaseURL(testBase), kf.WithLogger(quiet),
		kf.WithHTTPClient(&http.Client{Transport: handlerTransport{f}}), kf.WithTokenSource(src))

	resp, err := cl.ServiceState(t.Context(), kf.ServiceStateRequest{OpenKFID: "wk1", ExternalUserID: "wm1"})
	require.NoError(t, err)
	assert.Equal(t, kf.StateHuman, resp.ServiceState)
	assert.Equal(t, "zhangsan", resp.ServicerUserID)
	assert.Equal(t, 0, f.tokensIssued(), "no gettoken with an external source")
	assert.Equal(t, []string{"ext-1"}, src.invalidated)
	assert.Equal(t, []string{"ext-1", "ext-2"}, f.tokensSeen("kf/service_state/get"))
}

func TestCancelledWaiterDoesNotFailSharedFetch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		f := newFake()
		f.beforeToken = holdUntil(release)
		f.on("kf/account/list", seq(okJSON("")))
		cl := newClient(f)

		ctxA, cancelA := context.WithCancel(t.Context())
		errA := make(chan error, 1)
		errB := make(chan error, 1)
		go func() { _, err := cl.AccountList(ctxA, kf.AccountListRequest{}); errA <- err }() // starts the fetch
		synctest.Wait()
		go func() { _, err := cl.AccountList(t.Context(), kf.AccountListRequest{}); errB <- err }() // joins it
		synctest.Wait()

		start := time.Now()
		cancelA()
		err := <-errA
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, time.Since(start), "A returned without waiting for the fetch")

		close(release)
		require.NoError(t, <-errB, "B still got the token fetched for A")
		assert.Equal(t, 1, f.tokensIssued())
		assert.Equal(t, 1, f.count("kf/account/list"))
	})
}

func TestPingReportsBadSecret(t *testing.T) {
	f := newFake()
	cl := kf.NewClient(testCorpID, "wrong-secret", kf.WithBaseURL(testBase), kf.WithLogger(quiet),
		kf.WithHTTPClient(&http.Client{Transport: handlerTransport{f}}))
	err := cl.Ping(t.Context())
	require.ErrorIs(t, err, kf.ErrInvalidSecret)
	assert.NotContains(t, err.Error(), "wrong-secret")

	require.NoError(t, newClient(f).Ping(t.Context()))
}

func TestWithClockDrivesTokenExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }

	f := newFake().on("kf/account/list", seq(okJSON("")))
	cl := newClient(f, kf.WithClock(clock))
	for range 3 {
		_, err := cl.AccountList(t.Context(), kf.AccountListRequest{})
		require.NoError(t, err)
	}
	assert.Equal(t, 1, f.tokensIssued())
	advance(2 * time.Hour)
	_, err := cl.AccountList(t.Context(), kf.AccountListRequest{})
	require.NoError(t, err)
	assert.Equal(t, 2, f.tokensIssued())
}
