package kftest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/callback"
	"github.com/kfbot/kfbot/kf/kftest"
)

func TestNewCallbackRequest(t *testing.T) {
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now), kftest.WithCorpID("wwCORP"))
	srv.AddText(acct, user, "hi")
	token, key := srv.CallbackConfig()
	assert.Equal(t, kftest.DefaultCallbackToken, token)
	assert.Len(t, key, 43)
	c, err := callback.New(token, key, "wwCORP")
	require.NoError(t, err)

	var gotBody []byte
	var gotQuery url.Values
	router := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotBody, _ = io.ReadAll(r.Body)
		gotQuery = r.URL.Query()
	})
	rt := httptest.NewServer(router)
	defer rt.Close()

	req, err := srv.NewCallbackRequest(rt.URL+"/callback?keep=v", acct)
	require.NoError(t, err)
	assert.Equal(t, http.MethodPost, req.Method)
	resp, err := rt.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()

	assert.Equal(t, "v", gotQuery.Get("keep"))
	plain, err := c.DecryptMessage(gotQuery.Get("msg_signature"), gotQuery.Get("timestamp"), gotQuery.Get("nonce"), gotBody)
	require.NoError(t, err)
	got, err := callback.ParseEvent(plain)
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, callback.EventKFMsgOrEvent, got.Event)
	assert.Equal(t, acct, got.OpenKFID)
	assert.Equal(t, "wwCORP", got.ToUserName)
	assert.Equal(t, "event", got.MsgType)
	assert.Equal(t, t0.Unix(), got.CreateTime)
	assert.Equal(t, srv.CallbackToken(acct), got.Token)

	// The token is accepted by sync_msg for that account.
	r := newAPI(t, srv).sync(acct, map[string]any{"token": got.Token})
	assert.Equal(t, 0, r.ErrCode, r.ErrMsg)
	assert.Len(t, r.MsgList, 1)
}

func TestCallbackBodyIssuesTokenWhenNeeded(t *testing.T) {
	srv := kftest.NewUnstartedServer(kftest.WithCallback("tok123", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"))
	c, err := callback.New("tok123", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", srv.CorpID())
	require.NoError(t, err)
	assert.Empty(t, srv.CallbackToken(acct))
	q, body, err := srv.CallbackBody(acct)
	require.NoError(t, err)
	plain, err := c.DecryptMessage(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), body)
	require.NoError(t, err)
	ev, err := callback.ParseEvent(plain)
	require.NoError(t, err)
	assert.NotEmpty(t, ev.Token)
	assert.Equal(t, srv.CallbackToken(acct), ev.Token)
	assert.Equal(t, 0, newAPI(t, srv).sync(acct, map[string]any{"token": ev.Token}).ErrCode)
}

func TestCallbackBadKey(t *testing.T) {
	srv := kftest.NewUnstartedServer(kftest.WithCallback("tok", "short"))
	_, err := srv.NewCallbackRequest("http://x/cb", acct)
	require.ErrorIs(t, err, callback.ErrBadAESKey)
}

func TestNewVerifyRequest(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	token, key := srv.CallbackConfig()
	c, err := callback.New(token, key, srv.CorpID())
	require.NoError(t, err)
	req, echo, err := srv.NewVerifyRequest("http://bot.example/cb")
	require.NoError(t, err)
	assert.Equal(t, http.MethodGet, req.Method)
	q := req.URL.Query()
	plain, err := c.VerifyURL(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), q.Get("echostr"))
	require.NoError(t, err)
	assert.Equal(t, echo, string(plain))
}

func TestNewRawCallbackRequest(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	token, key := srv.CallbackConfig()
	c, err := callback.New(token, key, srv.CorpID())
	require.NoError(t, err)
	xml := []byte(`<xml><ToUserName><![CDATA[` + srv.CorpID() + `]]></ToUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_account_auth_change]]></Event><AuthAddOpenKfId><![CDATA[wkA]]></AuthAddOpenKfId><AuthAddOpenKfId><![CDATA[wkB]]></AuthAddOpenKfId></xml>`)
	req, err := srv.NewRawCallbackRequest("http://bot.example/cb", xml)
	require.NoError(t, err)
	body, err := io.ReadAll(req.Body)
	require.NoError(t, err)
	q := req.URL.Query()
	plain, err := c.DecryptMessage(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), body)
	require.NoError(t, err)
	ev, err := callback.ParseEvent(plain)
	require.NoError(t, err)
	assert.Equal(t, []string{"wkA", "wkB"}, ev.AuthAddOpenKFID)
}
