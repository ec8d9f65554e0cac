package kftest_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/kftest"
)

func TestFaultsDoNotMutateState(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	a := newAPI(t, srv)
	a.getToken()
	srv.AddText(acct, user, "hi")

	srv.FailNext("send_msg", -1)
	srv.FailNextHTTP("/cgi-bin/kf/send_msg", http.StatusBadGateway)
	srv.FailNext("kf/send_msg", 45033)

	r := a.sendText(acct, user, "m1", "x")
	assert.Equal(t, -1, r.ErrCode)
	r = a.sendText(acct, user, "m1", "x")
	assert.Equal(t, http.StatusBadGateway, r.Status)
	r = a.sendText(acct, user, "m1", "x")
	assert.Equal(t, 45033, r.ErrCode)
	assert.Empty(t, srv.Sent(), "a failed send records nothing")
	assert.Equal(t, kftest.StateUntreated, srv.SessionState(acct, user), "state unchanged")

	// The msgid was not consumed and the allowance is intact.
	for i := range 5 {
		require.Equal(t, 0, a.sendText(acct, user, fmt.Sprint("m", i+1), "x").ErrCode)
	}
	assert.Equal(t, 8, srv.Calls("send_msg"))

	// A faulted sync does not move anything either.
	srv.FailNext("sync_msg", -1)
	assert.Equal(t, -1, a.sync(acct, nil).ErrCode)
	ids, _, _ := a.drain(acct, "")
	assert.Len(t, ids, 1)

	// Faults on gettoken.
	srv.FailNext("gettoken", -1)
	a.token = ""
	r = a.do(http.MethodGet, "gettoken", map[string][]string{"corpid": {srv.CorpID()}, "corpsecret": {srv.Secret()}}, nil, "")
	assert.Equal(t, -1, r.ErrCode)
	assert.Equal(t, 2, srv.TokenRequests())
}

func TestFaultRate(t *testing.T) {
	run := func(seed int64) []int {
		srv := kftest.NewUnstartedServer(kftest.WithSeed(seed))
		a := newAPI(t, srv)
		a.getToken()
		srv.SetFaultRate(0.5, -1, 503, 45033)
		var got []int
		for range 40 {
			r := a.sync(acct, nil)
			if r.Status != http.StatusOK {
				got = append(got, r.Status)
			} else {
				got = append(got, r.ErrCode)
			}
		}
		return got
	}
	first := run(11)
	assert.Equal(t, first, run(11), "deterministic from the seed")
	assert.Contains(t, first, 0)
	assert.Contains(t, first, -1)
	assert.Contains(t, first, 503)
	assert.Contains(t, first, 45033)

	srv := kftest.NewUnstartedServer()
	a := newAPI(t, srv)
	a.getToken()
	srv.SetFaultRate(1)
	assert.Equal(t, -1, a.sync(acct, nil).ErrCode, "default code is -1")
	srv.SetFaultRate(0)
	assert.Equal(t, 0, a.sync(acct, nil).ErrCode)
}

func TestHandleOverride(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	a := newAPI(t, srv)
	srv.Handle("send_msg", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"errcode":95030,"errmsg":"forbidden type"}`))
	}))
	assert.Equal(t, 95030, a.sendText(acct, user, "", "x").ErrCode)
	srv.Handle("kf/servicer/add", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok","result_list":[]}`))
	}))
	assert.Equal(t, 0, a.post("kf/servicer/add", `{}`).ErrCode, "unknown endpoints can be added")
	assert.Equal(t, 1, srv.Calls("kf/servicer/add"))

	srv.Handle("send_msg", nil)
	srv.AddText(acct, user, "hi")
	assert.Equal(t, 0, a.sendText(acct, user, "", "x").ErrCode, "built-in restored")
	assert.Equal(t, 404, a.post("kf/nope", `{}`).Status)
}

func TestLatencyInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := kftest.NewUnstartedServer()
		a := newAPI(t, srv)
		a.getToken()
		srv.SetLatency(2 * time.Second)

		start := time.Now()
		require.Equal(t, 0, a.sync(acct, nil).ErrCode)
		assert.Equal(t, 2*time.Second, time.Since(start), "fake time advanced by the latency")

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost,
			"https://qyapi.weixin.qq.com/cgi-bin/kf/sync_msg?access_token="+a.token, nil)
		require.NoError(t, err)
		_, err = a.c.Do(req)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestCloseStopsTransport(t *testing.T) {
	srv := kftest.NewServer()
	require.NotEmpty(t, srv.URL)
	resp, err := srv.Client().Get(srv.URL + "/cgi-bin/gettoken?corpid=" + srv.CorpID() + "&corpsecret=" + srv.Secret())
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	srv.Close()
	srv.Close() // idempotent
	_, err = srv.Transport().RoundTrip(httptestRequest(t))
	assert.Error(t, err)
}

func httptestRequest(t *testing.T) *http.Request {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://x/cgi-bin/gettoken", nil)
	require.NoError(t, err)
	return req
}
