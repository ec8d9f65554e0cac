package kftest_test

import (
	"net/http"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/kftest"
)

func TestGetToken(t *testing.T) {
	srv := kftest.NewUnstartedServer(kftest.WithCorpID("wwCORP"), kftest.WithSecret("s3cret"))
	a := newAPI(t, srv)
	tests := []struct {
		name  string
		query url.Values
		code  int
	}{
		{"ok", url.Values{"corpid": {"wwCORP"}, "corpsecret": {"s3cret"}}, 0},
		{"wrong corpid", url.Values{"corpid": {"wwOTHER"}, "corpsecret": {"s3cret"}}, 40013},
		{"wrong secret", url.Values{"corpid": {"wwCORP"}, "corpsecret": {"nope"}}, 40001},
		{"missing corpid", url.Values{"corpsecret": {"s3cret"}}, 41002},
		{"missing secret", url.Values{"corpid": {"wwCORP"}}, 41004},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(http.MethodGet, "gettoken", tt.query, nil, "")
			require.Equal(t, tt.code, r.ErrCode, r.ErrMsg)
			if tt.code == 0 {
				assert.NotEmpty(t, r.AccessToken)
				assert.Equal(t, 7200, r.ExpiresIn)
				assert.Equal(t, "ok", r.ErrMsg)
			} else {
				assert.Contains(t, r.ErrMsg, "more info at")
			}
		})
	}
	assert.Equal(t, len(tests), srv.TokenRequests())
	assert.Equal(t, "wwCORP", srv.CorpID())
	assert.Equal(t, "s3cret", srv.Secret())
}

func TestAccessTokenChecks(t *testing.T) {
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now), kftest.WithTokenTTL(time.Hour))
	a := newAPI(t, srv)
	body := []byte(`{"open_kfid":"wk1"}`)
	call := func(q url.Values) int {
		return a.do(http.MethodPost, "kf/sync_msg", q, body, "application/json").ErrCode
	}

	assert.Equal(t, 41001, call(nil), "missing")
	assert.Equal(t, 40014, call(url.Values{"access_token": {"forged"}}), "unknown")

	tok := a.getToken()
	assert.Equal(t, 0, call(url.Values{"access_token": {tok}}))

	clk.Advance(time.Hour - time.Second)
	assert.Equal(t, 0, call(url.Values{"access_token": {tok}}), "still valid")
	clk.Advance(time.Second)
	assert.Equal(t, 42001, call(url.Values{"access_token": {tok}}), "expired by time")

	a.token = ""
	fresh := a.getToken()
	assert.NotEqual(t, tok, fresh)
	assert.Equal(t, 0, call(url.Values{"access_token": {fresh}}))

	srv.ExpireTokens()
	assert.Equal(t, 42001, call(url.Values{"access_token": {fresh}}), "ExpireTokens")
	a.token = ""
	assert.Equal(t, 0, call(url.Values{"access_token": {a.getToken()}}), "token issued after ExpireTokens")
	assert.Equal(t, 3, srv.TokenRequests())
}

// TestTokenExpirySynctest runs the server in a synctest bubble through the
// socket-less Transport with the default clock.
func TestTokenExpirySynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := kftest.NewUnstartedServer()
		defer srv.Close()
		a := newAPI(t, srv)
		tok := a.getToken()
		q := url.Values{"access_token": {tok}}
		body := []byte(`{"open_kfid":"wk1"}`)
		require.Equal(t, 0, a.do(http.MethodPost, "kf/sync_msg", q, body, "").ErrCode)

		time.Sleep(kftest.DefaultTokenTTL - time.Second) // fake time
		require.Equal(t, 0, a.do(http.MethodPost, "kf/sync_msg", q, body, "").ErrCode)
		time.Sleep(time.Second)
		require.Equal(t, 42001, a.do(http.MethodPost, "kf/sync_msg", q, body, "").ErrCode)
	})
}
