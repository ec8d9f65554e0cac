package router_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/callback"
	"github.com/kfbot/kfbot/router"
)

// The official WeCom test vector (vector A of https://developer.work.weixin.qq.com/document/path/90968).
const (
	testToken  = "QDG6eK"
	testAESKey = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	testCorpID = "wx5823bf96d3bd56c7"
)

type poke struct{ openKFID, token string }

// recordingNotifier remembers every Notify and AccountsChanged call.
type recordingNotifier struct {
	mu      sync.Mutex
	pokes   []poke
	added   []string
	removed []string
}

func (n *recordingNotifier) Notify(openKFID, token string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.pokes = append(n.pokes, poke{openKFID, token})
}

func (n *recordingNotifier) AccountsChanged(added, removed []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.added = append(n.added, added...)
	n.removed = append(n.removed, removed...)
}

func (n *recordingNotifier) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.pokes)
}

var fixedNow = time.Unix(1_800_000_000, 0)

func newHandler(t *testing.T, mutate func(*router.Config)) (http.Handler, *recordingNotifier) {
	t.Helper()
	cfg := router.Config{Token: testToken, EncodingAESKey: testAESKey, CorpID: testCorpID,
		Now: func() time.Time { return fixedNow }, Logger: slog.New(slog.DiscardHandler)}
	if mutate != nil {
		mutate(&cfg)
	}
	n := &recordingNotifier{}
	h, err := router.New(cfg, n)
	require.NoError(t, err)
	return h, n
}

func kfEvent(openKFID, token string) []byte {
	return []byte("<xml><ToUserName><![CDATA[" + testCorpID + "]]></ToUserName><CreateTime>1348831860</CreateTime>" +
		"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>" +
		"<Token><![CDATA[" + token + "]]></Token><OpenKfId><![CDATA[" + openKFID + "]]></OpenKfId></xml>")
}

// signedPost builds a POST callback for inner, encrypted for receiveID.
func signedPost(t *testing.T, receiveID string, inner []byte, ts time.Time, nonce string) *http.Request {
	t.Helper()
	c, err := callback.New(testToken, testAESKey, receiveID)
	require.NoError(t, err)
	tsStr := strconv.FormatInt(ts.Unix(), 10)
	body, sig, err := c.EncryptMessage(inner, tsStr, nonce)
	require.NoError(t, err)
	q := url.Values{"msg_signature": {sig}, "timestamp": {tsStr}, "nonce": {nonce}}
	return httptest.NewRequest(http.MethodPost, "/callback?"+q.Encode(), strings.NewReader(string(body)))
}

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestVerifyURLOfficialVector(t *testing.T) {
	h, n := newHandler(t, nil)
	r := httptest.NewRequest(http.MethodGet, "/callback?msg_signature=5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"+
		"&timestamp=1409659589&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D", nil)
	w := serve(h, r)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "1616140317555161061", w.Body.String(), "the body must be the plaintext alone")
	assert.Equal(t, 0, n.count(), "URL verification triggers no pull")
}

func TestVerifyURLRejectsTamperedSignature(t *testing.T) {
	h, _ := newHandler(t, nil)
	r := httptest.NewRequest(http.MethodGet, "/callback?msg_signature=a3567deea162f83e2f283a6c4b3f2e03f6fc3292"+
		"&timestamp=1409659589&nonce=263014780&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D", nil)
	w := serve(h, r)
	assert.Equal(t, http.StatusForbidden, w.Code)
	assert.NotContains(t, w.Body.String(), "1616140317555161061")
}

func TestPostNotifies(t *testing.T) {
	h, n := newHandler(t, nil)
	w := serve(h, signedPost(t, testCorpID, kfEvent("wkAAA", "ENCtok"), fixedNow, "123"))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "success", w.Body.String())
	assert.Equal(t, []poke{{"wkAAA", "ENCtok"}}, n.pokes)
}

func TestPostAccountAuthChange(t *testing.T) {
	h, n := newHandler(t, nil)
	inner := []byte("<xml><ToUserName>" + testCorpID + "</ToUserName><FromUserName><![CDATA[sys]]></FromUserName>" +
		"<CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_account_auth_change]]></Event>" +
		"<AuthAddOpenKfId><![CDATA[wk1]]></AuthAddOpenKfId><AuthAddOpenKfId><![CDATA[wk2]]></AuthAddOpenKfId>" +
		"<AuthDelOpenKfId><![CDATA[wk3]]></AuthDelOpenKfId></xml>")
	w := serve(h, signedPost(t, testCorpID, inner, fixedNow, "n1"))
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, []string{"wk1", "wk2"}, n.added)
	assert.Equal(t, []string{"wk3"}, n.removed)
	assert.Equal(t, 0, n.count())
}

func TestPostUnrelatedEventIsAcknowledged(t *testing.T) {
	h, n := newHandler(t, nil)
	inner := []byte("<xml><ToUserName>" + testCorpID + "</ToUserName><MsgType>event</MsgType><Event>change_contact</Event></xml>")
	w := serve(h, signedPost(t, testCorpID, inner, fixedNow, "n2"))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, 0, n.count())
}

func TestPostBadInputGets4xxAndNoPull(t *testing.T) {
	good := func(t *testing.T) *http.Request {
		return signedPost(t, testCorpID, kfEvent("wkA", "tok"), fixedNow, "nonce-1")
	}
	withQuery := func(r *http.Request, key, value string) *http.Request {
		q := r.URL.Query()
		q.Set(key, value)
		r.URL.RawQuery = q.Encode()
		return r
	}
	tests := []struct {
		name   string
		req    func(t *testing.T) *http.Request
		status int
	}{
		{"forged signature", func(t *testing.T) *http.Request {
			return withQuery(good(t), "msg_signature", "0000000000000000000000000000000000000000")
		}, http.StatusForbidden},
		{"stale timestamp", func(t *testing.T) *http.Request {
			return signedPost(t, testCorpID, kfEvent("wkA", "tok"), fixedNow.Add(-6*time.Minute), "n")
		}, http.StatusForbidden},
		{"timestamp from the future", func(t *testing.T) *http.Request {
			return signedPost(t, testCorpID, kfEvent("wkA", "tok"), fixedNow.Add(6*time.Minute), "n")
		}, http.StatusForbidden},
		{"timestamp not a number", func(t *testing.T) *http.Request { return withQuery(good(t), "timestamp", "soon") }, http.StatusBadRequest},
		{"missing signature", func(t *testing.T) *http.Request { return withQuery(good(t), "msg_signature", "") }, http.StatusBadRequest},
		{"wrong receive id", func(t *testing.T) *http.Request {
			return signedPost(t, "wwSomeoneElse", kfEvent("wkA", "tok"), fixedNow, "n")
		}, http.StatusForbidden},
		{"oversized body", func(t *testing.T) *http.Request {
			r := good(t)
			r.Body = http.NoBody
			big := strings.Repeat("x", router.DefaultMaxBodyBytes+1)
			return httptest.NewRequest(http.MethodPost, r.URL.String(), strings.NewReader(big))
		}, http.StatusRequestEntityTooLarge},
		{"garbage body", func(t *testing.T) *http.Request {
			r := good(t)
			return httptest.NewRequest(http.MethodPost, r.URL.String(), strings.NewReader("\x00\x01 not xml"))
		}, http.StatusBadRequest},
		{"empty body", func(t *testing.T) *http.Request {
			r := good(t)
			return httptest.NewRequest(http.MethodPost, r.URL.String(), http.NoBody)
		}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, n := newHandler(t, nil)
			w := serve(h, tt.req(t))
			assert.Equal(t, tt.status, w.Code, w.Body.String())
			assert.Equal(t, 0, n.count(), "bad input must trigger no pull")
		})
	}
}

func TestPostReplayedNonceRefused(t *testing.T) {
	h, n := newHandler(t, nil)
	first := signedPost(t, testCorpID, kfEvent("wkA", "tok"), fixedNow, "same-nonce")
	replay := signedPost(t, testCorpID, kfEvent("wkA", "tok"), fixedNow, "same-nonce")
	require.Equal(t, http.StatusOK, serve(h, first).Code)
	assert.Equal(t, http.StatusForbidden, serve(h, replay).Code)
	assert.Equal(t, 1, n.count())

	// The same nonce with another timestamp is another callback.
	other := signedPost(t, testCorpID, kfEvent("wkA", "tok"), fixedNow.Add(-time.Second), "same-nonce")
	assert.Equal(t, http.StatusOK, serve(h, other).Code)
	assert.Equal(t, 2, n.count())
}

func TestForgedRequestsDoNotBurnNonces(t *testing.T) {
	h, n := newHandler(t, nil)
	forged := signedPost(t, testCorpID, kfEvent("wkA", "tok"), fixedNow, "n-forge")
	q := forged.URL.Query()
	q.Set("msg_signature", strings.Repeat("1", 40))
	forged.URL.RawQuery = q.Encode()
	require.Equal(t, http.StatusForbidden, serve(h, forged).Code)
	assert.Equal(t, http.StatusOK, serve(h, signedPost(t, testCorpID, kfEvent("wkA", "tok"), fixedNow, "n-forge")).Code)
	assert.Equal(t, 1, n.count())
}

func TestHealthAndRouting(t *testing.T) {
	var seen []router.Observation
	var mu sync.Mutex
	ready := errors.New("store not open")
	h, _ := newHandler(t, func(c *router.Config) {
		c.Ready = func(context.Context) error { return ready }
		c.Metrics = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("metric 1\n")) })
		c.Observe = func(o router.Observation) {
			mu.Lock()
			seen = append(seen, o)
			mu.Unlock()
		}
	})
	tests := []struct {
		method, path string
		status       int
		allow        string
		result       router.Result
	}{
		{http.MethodGet, "/healthz", http.StatusOK, "", router.ResultHealth},
		{http.MethodHead, "/healthz", http.StatusOK, "", router.ResultHealth},
		{http.MethodGet, "/readyz", http.StatusServiceUnavailable, "", router.ResultNotReady},
		{http.MethodGet, "/metrics", http.StatusOK, "", router.ResultHealth},
		{http.MethodGet, "/nope", http.StatusNotFound, "", router.ResultNotFound},
		{http.MethodPut, "/callback", http.StatusMethodNotAllowed, "GET, POST", router.ResultMethodNotAllowed},
		{http.MethodPost, "/healthz", http.StatusMethodNotAllowed, "GET, HEAD", router.ResultMethodNotAllowed},
	}
	for _, tt := range tests {
		w := serve(h, httptest.NewRequest(tt.method, tt.path, nil))
		assert.Equal(t, tt.status, w.Code, "%s %s", tt.method, tt.path)
		assert.Equal(t, tt.allow, w.Header().Get("Allow"), "%s %s", tt.method, tt.path)
	}
	require.Len(t, seen, len(tests), "the observer sees every request, 404 and 405 included")
	for i, tt := range tests {
		assert.Equal(t, tt.result, seen[i].Result, "%s %s", tt.method, tt.path)
		assert.Equal(t, tt.status, seen[i].Status, "%s %s", tt.method, tt.path)
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := router.New(router.Config{Path: "callback"}, &recordingNotifier{})
	require.Error(t, err)
	for _, want := range []string{"Token", "EncodingAESKey", "CorpID", "must start with /"} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = router.New(router.Config{Token: "t", EncodingAESKey: "short", CorpID: "c"}, &recordingNotifier{})
	require.ErrorIs(t, err, callback.ErrBadAESKey)
	_, err = router.New(router.Config{Token: "t", EncodingAESKey: testAESKey, CorpID: "c"}, nil)
	require.Error(t, err)
}

func BenchmarkPostCallback(b *testing.B) {
	cfg := router.Config{Token: testToken, EncodingAESKey: testAESKey, CorpID: testCorpID, TimestampWindow: -1}
	h, err := router.New(cfg, &recordingNotifier{})
	require.NoError(b, err)
	c, err := callback.New(testToken, testAESKey, testCorpID)
	require.NoError(b, err)
	body, sig, err := c.EncryptMessage(kfEvent("wkA", "tok"), "1700000000", "1")
	require.NoError(b, err)
	target := "/callback?msg_signature=" + sig + "&timestamp=1700000000&nonce=1"
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, target, strings.NewReader(string(body))))
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

func TestMetricsToken(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("kfbot_up 1\n")) })
	tests := []struct {
		name, token, header string
		want                int
		result              router.Result
	}{
		{"no token configured", "", "", http.StatusOK, router.ResultHealth},
		{"no header", "s3cret", "", http.StatusUnauthorized, router.ResultUnauthorized},
		{"wrong token", "s3cret", "Bearer s3cre", http.StatusUnauthorized, router.ResultUnauthorized},
		{"wrong scheme", "s3cret", "Basic s3cret", http.StatusUnauthorized, router.ResultUnauthorized},
		{"right token", "s3cret", "Bearer s3cret", http.StatusOK, router.ResultHealth},
		{"scheme case-insensitive", "s3cret", "bearer s3cret", http.StatusOK, router.ResultHealth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got router.Result
			h, _ := newHandler(t, func(c *router.Config) {
				c.Metrics, c.MetricsToken = metrics, tt.token
				c.Observe = func(o router.Observation) { got = o.Result }
			})
			r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			w := serve(h, r)
			assert.Equal(t, tt.want, w.Code)
			assert.Equal(t, tt.result, got)
			if tt.want == http.StatusUnauthorized {
				assert.NotEmpty(t, w.Header().Get("WWW-Authenticate"))
				assert.NotContains(t, w.Body.String(), "kfbot_up")
			}
		})
	}
}

// receivingNotifier is a recordingNotifier that also takes notifications, failing while
// fail is set.
type receivingNotifier struct {
	recordingNotifier
	fail  bool
	notes []callback.Notification
}

func (n *receivingNotifier) Receive(_ context.Context, note callback.Notification, _ time.Time) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail {
		return errors.New("store down")
	}
	n.notes = append(n.notes, note)
	return nil
}

// TestPostNotificationIsHandedOver: a notification that is not a KF poke reaches the
// NotificationReceiver decoded, with the receive id; when it cannot be recorded the
// router answers 500, and WeCom's retry (same nonce and timestamp) is taken, not refused
// as a replay.
func TestPostNotificationIsHandedOver(t *testing.T) {
	cfg := router.Config{Token: testToken, EncodingAESKey: testAESKey, CorpID: testCorpID,
		Now: func() time.Time { return fixedNow }, Logger: slog.New(slog.DiscardHandler)}
	n := &receivingNotifier{fail: true}
	var results []router.Result
	cfg.Observe = func(o router.Observation) { results = append(results, o.Result) }
	h, err := router.New(cfg, n)
	require.NoError(t, err)
	inner := []byte("<xml><ToUserName><![CDATA[" + testCorpID + "]]></ToUserName><FromUserName>sys</FromUserName><CreateTime>1348831860</CreateTime>" +
		"<MsgType>event</MsgType><Event>change_external_contact</Event><ChangeType>add_external_contact</ChangeType>" +
		"<UserID>zhangsan</UserID><ExternalUserID>wmA</ExternalUserID><State>qr-a</State><WelcomeCode>W</WelcomeCode></xml>")
	w := serve(h, signedPost(t, testCorpID, inner, fixedNow, "n1"))
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	n.mu.Lock()
	n.fail = false
	n.mu.Unlock()
	w = serve(h, signedPost(t, testCorpID, inner, fixedNow, "n1"))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	assert.Equal(t, "success", w.Body.String())
	assert.Equal(t, []router.Result{router.ResultNotRecorded, router.ResultReceived}, results)
	require.Len(t, n.notes, 1)
	ec, ok := n.notes[0].(*callback.ExternalContactChange)
	require.True(t, ok, "%T", n.notes[0])
	assert.Equal(t, "qr-a", ec.State)
	assert.Equal(t, testCorpID, ec.ReceiveID)
	assert.Equal(t, 0, n.count(), "no pull")
	// A replay of the accepted request is still refused.
	w = serve(h, signedPost(t, testCorpID, inner, fixedNow, "n1"))
	assert.Equal(t, http.StatusForbidden, w.Code)
}
