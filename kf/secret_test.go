package kf_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf"
)

// assertNoSecrets fails if s holds the secret or an issued token.
func assertNoSecrets(t *testing.T, s string) {
	t.Helper()
	assert.NotContains(t, s, testSecret)
	assert.NotContains(t, s, url.QueryEscape(testSecret))
	assert.NotContains(t, s, "tok-")
}

func TestTransportErrorsDoNotLeakTokenOrSecret(t *testing.T) {
	tests := []struct {
		name    string
		failOn  string // path whose request fails in the transport
		wantURL string // redacted URL fragment in the *url.Error
	}{
		{"api call: access_token in URL", "/cgi-bin/kf/send_msg", "access_token=REDACTED"},
		{"gettoken: corpsecret in URL", "/cgi-bin/gettoken", "corpsecret=REDACTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake().on("kf/send_msg", seq(okJSON("")))
			rt := rtFunc(func(r *http.Request) (*http.Response, error) {
				if r.URL.Path == tt.failOn {
					return nil, errors.New("dial tcp 10.0.0.1:443: i/o timeout")
				}
				return handlerTransport{f}.RoundTrip(r)
			})
			var logs bytes.Buffer
			cl := kf.NewClient(testCorpID, testSecret, kf.WithBaseURL(testBase),
				kf.WithHTTPClient(&http.Client{Transport: rt}), kf.WithRetry(kf.RetryPolicy{MaxAttempts: 1}),
				kf.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			_, err := cl.SendMsg(t.Context(), kf.SendMsgRequest{ToUser: "wm1", OpenKFID: "wk1", MsgID: "m1", Message: kf.Text{Content: "hi"}})
			require.Error(t, err)
			assertNoSecrets(t, err.Error())
			assert.Contains(t, err.Error(), "i/o timeout", "the cause is kept")

			var ue *url.Error
			require.ErrorAs(t, err, &ue)
			assert.Contains(t, ue.URL, tt.wantURL)
			assertNoSecrets(t, ue.URL)
			assertNoSecrets(t, fmt.Sprintf("%v %+v %#v", err, err, ue))
			assertNoSecrets(t, logs.String())
		})
	}
}

// A short secret that also occurs inside the corp ID must be removed where it
// stands alone, and must leave the corp ID intact, in every error form.
func TestShortSecretRedactsOnlyWholeValues(t *testing.T) {
	const (
		corpID = "ww0123abcdef"
		secret = "abc"
	)
	tests := []struct {
		name string
		rt   rtFunc
		want []string // in err.Error()
	}{
		{
			name: "transport error: the gettoken URL",
			rt: func(*http.Request) (*http.Response, error) {
				return nil, errors.New("dial tcp 10.0.0.1:443: i/o timeout")
			},
			want: []string{"corpid=" + corpID, "corpsecret=REDACTED"},
		},
		{
			name: "errmsg echoing the request",
			rt: func(r *http.Request) (*http.Response, error) {
				q := r.URL.Query()
				body := fmt.Sprintf(`{"errcode":40001,"errmsg":"invalid credential, corpid %s, corpsecret %s, hint: [1]"}`, q.Get("corpid"), q.Get("corpsecret"))
				return &http.Response{StatusCode: 200, Status: "200 OK", Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}, nil
			},
			want: []string{"corpid " + corpID + ",", "corpsecret REDACTED,"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			cl := kf.NewClient(corpID, secret, kf.WithBaseURL(testBase),
				kf.WithHTTPClient(&http.Client{Transport: tt.rt}), kf.WithRetry(kf.RetryPolicy{MaxAttempts: 1}),
				kf.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			err := cl.Ping(t.Context())
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), logs.String()} {
				assert.NotContains(t, s, "REDACTEDdef", "the corp ID was rewritten")
				assert.NotRegexp(t, `(^|[^0-9A-Za-z_-])abc([^0-9A-Za-z_-]|$)`, s, "the secret is left as a whole value")
			}
			var ue *url.Error
			if errors.As(err, &ue) {
				assert.Contains(t, ue.URL, "corpid="+corpID)
				assert.Contains(t, ue.URL, "corpsecret=REDACTED")
			}
		})
	}
}

func TestErrmsgEchoingTheTokenIsScrubbed(t *testing.T) {
	f := newFake().on("kf/sync_msg", seq(errJSON(40058, "invalid parameter near access_token=tok-1")))
	_, err := newClient(f).SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: "wk1"})
	require.ErrorIs(t, err, kf.ErrInvalidParameter)
	assert.Equal(t, "kf: sync_msg: errcode 40058: invalid parameter near access_token=REDACTED; what to do: "+kf.CodeHint(40058), err.Error())
}

func TestDebugLogPerCallWithoutSecrets(t *testing.T) {
	var logs bytes.Buffer
	f := newFake().on("kf/send_msg", seq(errJSON(42001, "expired tok-1"), okJSON(`"msgid":"m1"`)))
	cl := newClient(f, kf.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	_, err := cl.SendMsg(t.Context(), kf.SendMsgRequest{ToUser: "wm1", OpenKFID: "wk1", Message: kf.Text{Content: "a body that must not be logged"}})
	require.NoError(t, err)
	out := logs.String()
	assertNoSecrets(t, out)
	assert.NotContains(t, out, "a body that must not be logged")

	var records []map[string]any
	for line := range strings.Lines(out) {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		if rec["level"] == "DEBUG" {
			records = append(records, rec)
		}
	}
	require.Len(t, records, 4, "gettoken, send_msg (42001), gettoken, send_msg")
	want := []struct {
		op      string
		errcode float64
	}{{"gettoken", 0}, {"send_msg", 42001}, {"gettoken", 0}, {"send_msg", 0}}
	for i, w := range want {
		assert.Equal(t, w.op, records[i]["op"])
		assert.Equal(t, w.errcode, records[i]["errcode"])
		assert.Contains(t, records[i], "duration")
		assert.Contains(t, records[i], "attempt")
	}
}

func TestSecretTypesAreRedacted(t *testing.T) {
	sec, tok := kf.Secret("real-secret"), kf.AccessToken("real-token")
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("cfg", "secret", sec, "token", tok,
		"nested", struct{ S kf.Secret }{sec})
	js, err := json.Marshal(struct {
		S kf.Secret
		T kf.AccessToken
	}{sec, tok})
	require.NoError(t, err)
	for _, s := range []string{
		fmt.Sprint(sec, tok), fmt.Sprintf("%v %s %q %#v %+v %x", sec, sec, sec, sec, tok, tok),
		logs.String(), string(js),
	} {
		assert.NotContains(t, s, "real-")
	}
	assert.Contains(t, logs.String(), `"secret":"REDACTED"`)
	assert.Equal(t, "real-secret", string(sec), "the value itself is intact")

	cl := kf.NewClient(testCorpID, testSecret)
	assertNoSecrets(t, fmt.Sprintf("%v %+v %#v %s", cl, cl, cl, cl))
	assert.Equal(t, `kf.Client{corpID: "wwcorp0001", baseURL: "https://qyapi.weixin.qq.com"}`, cl.String())
}
