package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/kftest"
)

func getWithToken(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestRunAdminListener: with KFBOT_ADMIN_LISTEN, /metrics (behind KFBOT_METRICS_TOKEN)
// and pprof are served on the admin address only; the callback listener keeps
// /callback, /healthz and /readyz.
func TestRunAdminListener(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rulesPath, []byte(testRules("v1")), 0o600))
	const token = "metrics-token-4f1c"
	env := append(kftestEnv(srv, dir, rulesPath), "KFBOT_RULES_WATCH=false",
		"KFBOT_ADMIN_LISTEN=127.0.0.1:0", "KFBOT_PPROF=true", "KFBOT_METRICS_TOKEN="+token)
	p := startKfbot(t, env, "run")
	adminBase := "http://" + p.waitLog(t, "kfbot: admin listening")["addr"].(string)
	base := "http://" + p.waitLog(t, "kfbot: ready")["addr"].(string)
	p.waitLog(t, "kfbot: credentials checked: WeCom issued an access token")

	code, _ := httpGet(t, base+"/metrics")
	assert.Equal(t, http.StatusNotFound, code, "metrics leave the public listener")
	code, _ = httpGet(t, base+"/debug/pprof/")
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = httpGet(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code)

	code, body := getWithToken(t, adminBase+"/metrics", "")
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.NotContains(t, body, "kfbot_")
	code, _ = getWithToken(t, adminBase+"/metrics", "wrong")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, body = getWithToken(t, adminBase+"/metrics", token)
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "kfbot_ready 1")

	code, body = httpGet(t, adminBase+"/debug/pprof/")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "goroutine")
	code, _ = httpGet(t, adminBase+"/readyz")
	assert.Equal(t, http.StatusOK, code)
	code, _ = httpGet(t, adminBase+"/healthz")
	assert.Equal(t, http.StatusOK, code)

	require.NoError(t, p.cmd.Process.Signal(os.Interrupt))
	assert.Equal(t, 0, p.wait(t))
	assert.False(t, strings.Contains(p.output(), token), "the metrics token is never printed")
}

// TestRunMetricsTokenOnMainListener: without an admin listener, metrics stay where they
// are documented, behind the token when one is set.
func TestRunMetricsTokenOnMainListener(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rulesPath, []byte(testRules("v1")), 0o600))
	p := startKfbot(t, append(kftestEnv(srv, dir, rulesPath), "KFBOT_RULES_WATCH=false", "KFBOT_METRICS_TOKEN=tok"), "run")
	base := "http://" + p.waitLog(t, "kfbot: ready")["addr"].(string)
	code, _ := getWithToken(t, base+"/metrics", "")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, body := getWithToken(t, base+"/metrics", "tok")
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "kfbot_")
}
