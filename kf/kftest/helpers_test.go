package kftest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/kftest"
)

const (
	acct  = "wkACCOUNT0001"
	acct2 = "wkACCOUNT0002"
	user  = "wmCUSTOMER0001"
	user2 = "wmCUSTOMER0002"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// result is the union of the response fields the tests read.
type result struct {
	ErrCode     int               `json:"errcode"`
	ErrMsg      string            `json:"errmsg"`
	AccessToken string            `json:"access_token"`
	ExpiresIn   int               `json:"expires_in"`
	NextCursor  string            `json:"next_cursor"`
	HasMore     *int              `json:"has_more"` // a number, never a bool
	MsgList     []json.RawMessage `json:"msg_list"`
	MsgID       string            `json:"msgid"`
	MsgCode     string            `json:"msg_code"`
	State       *int              `json:"service_state"`
	Servicer    string            `json:"servicer_userid"`
	MediaID     string            `json:"media_id"`
	CreatedAt   *string           `json:"created_at"` // a string, never a number
	Type        string            `json:"type"`

	Status int    `json:"-"`
	Body   []byte `json:"-"`
}

// api is a raw wire client for the fake.
type api struct {
	t     testing.TB
	srv   *kftest.Server
	c     *http.Client
	base  string
	token string
}

// newAPI talks to srv in process (Transport) with WeCom's real base URL.
func newAPI(t testing.TB, srv *kftest.Server) *api {
	return &api{t: t, srv: srv, c: &http.Client{Transport: srv.Transport()}, base: "https://qyapi.weixin.qq.com"}
}

func (a *api) do(method, path string, q url.Values, body []byte, contentType string) result {
	a.t.Helper()
	u := a.base + "/cgi-bin/" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(a.t.Context(), method, u, rd)
	require.NoError(a.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.c.Do(req)
	require.NoError(a.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(a.t, err)
	var r result
	if resp.StatusCode == http.StatusOK && bytes.HasPrefix(raw, []byte("{")) {
		require.NoError(a.t, json.Unmarshal(raw, &r), "body %s", raw)
	}
	r.Status, r.Body = resp.StatusCode, raw
	return r
}

func (a *api) getToken() string {
	a.t.Helper()
	if a.token == "" {
		r := a.do(http.MethodGet, "gettoken", url.Values{"corpid": {a.srv.CorpID()}, "corpsecret": {a.srv.Secret()}}, nil, "")
		require.Equal(a.t, 0, r.ErrCode, r.ErrMsg)
		a.token = r.AccessToken
	}
	return a.token
}

// post sends body (a string is sent verbatim, anything else as JSON).
func (a *api) post(path string, body any) result {
	a.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		raw, err = json.Marshal(body)
		require.NoError(a.t, err)
	}
	r := a.do(http.MethodPost, path, url.Values{"access_token": {a.getToken()}}, raw, "application/json")
	if r.ErrCode == 42001 { // a test clock moved past the token's lifetime
		a.token = ""
		r = a.do(http.MethodPost, path, url.Values{"access_token": {a.getToken()}}, raw, "application/json")
	}
	return r
}

func (a *api) sync(openKFID string, fields map[string]any) result {
	a.t.Helper()
	body := map[string]any{"open_kfid": openKFID}
	for k, v := range fields {
		body[k] = v
	}
	return a.post("kf/sync_msg", body)
}

func (a *api) sendText(openKFID, toUser, msgID, text string) result {
	a.t.Helper()
	body := map[string]any{"touser": toUser, "open_kfid": openKFID, "msgtype": "text", "text": map[string]any{"content": text}}
	if msgID != "" {
		body["msgid"] = msgID
	}
	return a.post("kf/send_msg", body)
}

func (a *api) sendOnEvent(code, msgType string) result {
	a.t.Helper()
	body := map[string]any{"code": code, "msgtype": msgType}
	switch msgType {
	case "text":
		body["text"] = map[string]any{"content": "hi"}
	case "msgmenu":
		body["msgmenu"] = map[string]any{"head_content": "pick", "list": []any{
			map[string]any{"type": "click", "click": map[string]any{"id": "1", "content": "one"}},
		}}
	}
	return a.post("kf/send_msg_on_event", body)
}

func (a *api) trans(openKFID, u string, state int, servicer string) result {
	a.t.Helper()
	body := map[string]any{"open_kfid": openKFID, "external_userid": u, "service_state": state}
	if servicer != "" {
		body["servicer_userid"] = servicer
	}
	return a.post("kf/service_state/trans", body)
}

// drain pages through the account's log from cursor and returns the msgids
// and the final cursor.
func (a *api) drain(openKFID, cursor string) (ids []string, next string, pages int) {
	a.t.Helper()
	for range 100000 {
		fields := map[string]any{}
		if cursor != "" {
			fields["cursor"] = cursor
		}
		r := a.sync(openKFID, fields)
		require.Equal(a.t, 0, r.ErrCode, r.ErrMsg)
		require.NotNil(a.t, r.HasMore)
		pages++
		for _, it := range r.MsgList {
			ids = append(ids, msgID(a.t, it))
		}
		cursor = r.NextCursor
		if *r.HasMore == 0 {
			return ids, cursor, pages
		}
		require.Equal(a.t, 1, *r.HasMore)
	}
	a.t.Fatal("paging did not end")
	return nil, "", 0
}

func msgID(t testing.TB, item json.RawMessage) string {
	t.Helper()
	var h struct {
		MsgID string `json:"msgid"`
	}
	require.NoError(t, json.Unmarshal(item, &h))
	return h.MsgID
}
