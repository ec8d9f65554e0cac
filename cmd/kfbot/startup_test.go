package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
)

const credFailedLog = "kfbot: credentials check failed; kfbot keeps running and /readyz answers 503 until a pull succeeds"

// waitReadyz polls /readyz until it answers want and returns the body.
func waitReadyz(tb testing.TB, base string, want int) string {
	tb.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		code, body := httpGet(tb, base+"/readyz")
		if code == want {
			return body
		}
		if time.Now().After(deadline) {
			tb.Fatalf("/readyz: %d %q, want %d", code, body, want)
		}
		time.Sleep(20 * time.Millisecond) // polling an HTTP endpoint; nothing to block on
	}
}

// TestRunStartupCredentialCheck runs the binary with credentials WeCom refuses, or an API
// it cannot reach: the failure is logged once at Error with what to do, callbacks are still
// answered 200, and /readyz is 503 with the reason.
func TestRunStartupCredentialCheck(t *testing.T) {
	tests := []struct {
		name     string
		env      func(srv *kftest.Server) []string
		errcode  float64 // 0: the log must carry no errcode
		inReason []string
		inHint   string
	}{
		{"wrong secret", func(*kftest.Server) []string { return []string{"KFBOT_SECRET=not-the-secret"} },
			40001, []string{"errcode 40001", "KFBOT_SECRET"}, "应用管理"},
		{"unreachable API", func(*kftest.Server) []string { return []string{"KFBOT_API_BASE=http://127.0.0.1:1"} },
			0, []string{"cannot reach the WeCom API at http://127.0.0.1:1", "KFBOT_API_BASE"}, "KFBOT_API_BASE"},
		{"untrusted IP", func(srv *kftest.Server) []string {
			srv.FailNext("gettoken", 60020)
			return nil
		}, 60020, []string{"errcode 60020", "企业可信IP"}, "企业可信IP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := kftest.NewServer()
			t.Cleanup(srv.Close)
			dir := t.TempDir()
			rulesPath := filepath.Join(dir, "rules.yaml")
			require.NoError(t, os.WriteFile(rulesPath, []byte(testRules("v1")), 0o600))
			env := append(kftestEnv(srv, dir, rulesPath), "KFBOT_RULES_WATCH=false")
			env = append(env, tt.env(srv)...) // later entries win
			p := startKfbot(t, env, "run")
			base := "http://" + p.waitLog(t, "kfbot: ready")["addr"].(string)

			rec := p.waitLog(t, credFailedLog)
			assert.Equal(t, "ERROR", rec["level"])
			assert.Contains(t, rec["hint"], tt.inHint)
			if tt.errcode != 0 {
				assert.Equal(t, tt.errcode, rec["errcode"])
			} else {
				assert.NotContains(t, rec, "errcode", "a network error has no errcode")
			}
			body := waitReadyz(t, base, http.StatusServiceUnavailable)
			for _, s := range tt.inReason {
				assert.Contains(t, body, s)
			}

			// Callbacks are still acknowledged.
			req, err := srv.NewCallbackRequest(base+"/callback", "wkStartup")
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)

			assert.Equal(t, 1, p.countLogs(credFailedLog), "logged once")
		})
	}
}

// TestRunReadyAfterCredentialsRecover: the start-up check fails (60020) once; the next
// callback's pull succeeds, and /readyz turns 200.
func TestRunReadyAfterCredentialsRecover(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rulesPath, []byte(testRules("v1")), 0o600))
	srv.FailNext("gettoken", 60020)
	p := startKfbot(t, append(kftestEnv(srv, dir, rulesPath), "KFBOT_RULES_WATCH=false"), "run")
	base := "http://" + p.waitLog(t, "kfbot: ready")["addr"].(string)
	p.waitLog(t, credFailedLog)
	assert.Contains(t, waitReadyz(t, base, http.StatusServiceUnavailable), "60020")

	sends := make(chan kftest.Sent, 8)
	srv.OnSend(func(s kftest.Sent) { sends <- s })
	statuses := callbackPoster(srv, base)
	srv.AddText("wkRecover", "wmCustomer", "ping")
	require.Equal(t, http.StatusOK, recv(t, statuses, "callback answer"))
	assert.Equal(t, "pong v1", recv(t, sends, "reply").Text)
	assert.Equal(t, "ready\n", waitReadyz(t, base, http.StatusOK))
	p.waitLog(t, "kfbot: a pull succeeded; the credentials work now")
}

func TestCredentialHint(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&kf.APIError{Op: "gettoken", Code: 40001}, "KFBOT_SECRET"},
		{&kf.APIError{Op: "gettoken", Code: 40013}, "KFBOT_CORP_ID"},
		{&kf.APIError{Op: "gettoken", Code: 60020}, "企业可信IP"},
		{&kf.APIError{Op: "gettoken", Code: 48002}, "可调用接口的应用"},
		{&kf.APIError{Op: "gettoken", Code: 45009}, "wait"},
		{&kf.APIError{Op: "gettoken", Code: 12345}, "errcode 12345"},
		{fmt.Errorf("kf: ping: %w", &kf.HTTPError{Op: "gettoken", StatusCode: 404, Status: "404 Not Found"}), "HTTP 404"},
		{errors.New("dial tcp: connection refused"), "cannot reach the WeCom API at http://x"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			assert.Contains(t, credentialHint(tt.err, "http://x"), tt.want)
		})
	}
}
