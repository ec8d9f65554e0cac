package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/badgerstore"
)

// testVersion is stamped into the test binary with -ldflags.
const testVersion = "v0.0.0-blackbox"

// quietLog discards the logs of stores the tests open themselves.
var quietLog = slog.New(slog.DiscardHandler)

// waitLimit bounds every wait of the black-box tests.
const waitLimit = 20 * time.Second

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// kfbotBinary builds the kfbot binary once per test run and returns its path.
func kfbotBinary(tb testing.TB) string {
	tb.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "kfbot-bin-")
		if binErr != nil {
			return
		}
		// go test puts its own GOROOT/bin first on PATH.
		goTool, err := exec.LookPath("go")
		if err != nil {
			binErr = fmt.Errorf("no go command on PATH to build kfbot: %w", err)
			return
		}
		binPath = filepath.Join(binDir, "kfbot")
		cmd := exec.Command(goTool, "build", "-ldflags", "-X main.version="+testVersion, "-o", binPath, ".")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	require.NoError(tb, binErr)
	return binPath
}

// logSink collects JSON log lines and lets tests wait for one. It is an io.Writer.
type logSink struct {
	mu      sync.Mutex
	text    strings.Builder
	partial []byte
	records []map[string]any
	changed chan struct{} // closed and replaced on every new line
	closed  chan struct{} // closed when no more lines will come
}

func newLogSink() *logSink {
	return &logSink{changed: make(chan struct{}), closed: make(chan struct{})}
}

// Write implements io.Writer: complete lines are parsed as JSON records.
func (l *logSink) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		l.text.WriteString(line + "\n")
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil {
			l.records = append(l.records, rec)
		}
		close(l.changed)
		l.changed = make(chan struct{})
	}
}

func (l *logSink) output() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.text.String()
}

func (l *logSink) find(msg string) map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.records {
		if r["msg"] == msg {
			return r
		}
	}
	return nil
}

// waitLog waits for a log record whose msg is msg and returns it.
func (l *logSink) waitLog(tb testing.TB, msg string) map[string]any {
	tb.Helper()
	deadline := time.After(waitLimit)
	for {
		if r := l.find(msg); r != nil {
			return r
		}
		l.mu.Lock()
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-l.closed:
			if r := l.find(msg); r != nil {
				return r
			}
			tb.Fatalf("kfbot stopped before logging %q", msg)
		case <-deadline:
			tb.Fatalf("no log %q within %s", msg, waitLimit)
		}
	}
}

// countLogs counts the records whose msg is msg.
func (l *logSink) countLogs(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.records {
		if r["msg"] == msg {
			n++
		}
	}
	return n
}

// proc is a running kfbot binary whose JSON logs (standard error) are collected.
type proc struct {
	*logSink
	cmd  *exec.Cmd
	done chan struct{} // closed when the process exited
	err  error         // cmd.Wait's result, set before done closes
}

// startKfbot starts the binary with exactly env (nothing inherited) and args.
func startKfbot(tb testing.TB, env []string, args ...string) *proc {
	tb.Helper()
	cmd := exec.Command(kfbotBinary(tb), args...)
	cmd.Env = env
	p := &proc{logSink: newLogSink(), cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = p.logSink
	require.NoError(tb, cmd.Start())
	go func() {
		p.err = cmd.Wait() // returns once standard error is copied
		close(p.logSink.closed)
		close(p.done)
	}()
	tb.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if tb.Failed() {
			tb.Logf("kfbot stderr:\n%s", p.output())
		}
	})
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(tb testing.TB) int {
	tb.Helper()
	select {
	case <-p.done:
	case <-time.After(waitLimit):
		tb.Fatalf("kfbot did not exit within %s", waitLimit)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	require.NoError(tb, p.err)
	return 0
}

// testRules is a small rule file whose answers carry tag, to tell reloads apart.
func testRules(tag string) string {
	return fmt.Sprintf(`version: 1
rules:
  - name: welcome
    when: msg.event == "enter_session"
    then:
      - welcome: "welcome %[1]s"
  - name: ping
    when: msg.type == "text" && msg.text == "ping"
    then:
      - reply: "pong %[1]s"
`, tag)
}

// kftestEnv is the environment of a kfbot run against srv, and nothing else.
func kftestEnv(srv *kftest.Server, dir, rulesPath string) []string {
	token, key := srv.CallbackConfig()
	return []string{
		"KFBOT_CORP_ID=" + srv.CorpID(),
		"KFBOT_SECRET=" + srv.Secret(),
		"KFBOT_CALLBACK_TOKEN=" + token,
		"KFBOT_ENCODING_AES_KEY=" + key,
		"KFBOT_API_BASE=" + srv.URL,
		"KFBOT_LISTEN=127.0.0.1:0",
		"KFBOT_DATA_DIR=" + filepath.Join(dir, "data"),
		"KFBOT_RULES=" + rulesPath,
		"KFBOT_LOG_FORMAT=json",
	}
}

// callbackPoster makes srv POST a signed callback to base for every append, as WeCom
// does, and reports each answer's status on the returned channel.
func callbackPoster(srv *kftest.Server, base string) <-chan int {
	statuses := make(chan int, 64)
	srv.OnAppend(func(openKFID, _ string) {
		req, err := srv.NewCallbackRequest(base+"/callback", openKFID)
		if err != nil {
			statuses <- -1
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			statuses <- -1
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses <- resp.StatusCode
	})
	return statuses
}

func recv[T any](tb testing.TB, c <-chan T, what string) T {
	tb.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(waitLimit):
		tb.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func httpGet(tb testing.TB, url string) (int, string) {
	tb.Helper()
	resp, err := http.Get(url)
	require.NoError(tb, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	return resp.StatusCode, string(body)
}

var seriesLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$`)

// scrape reads /metrics into series → value.
func scrape(tb testing.TB, base string) map[string]float64 {
	tb.Helper()
	code, body := httpGet(tb, base+"/metrics")
	require.Equal(tb, http.StatusOK, code)
	out := map[string]float64{}
	for _, l := range strings.Split(body, "\n") {
		m := seriesLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err == nil {
			out[m[1]] = v
		}
	}
	return out
}

// waitMetrics scrapes until every want series has at least its value. The engine
// updates some counters just after the send a test waits for, so the scrape is retried.
func waitMetrics(tb testing.TB, base string, want map[string]float64) map[string]float64 {
	tb.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		got := scrape(tb, base)
		missing := ""
		for k, v := range want {
			if got[k] < v {
				missing = fmt.Sprintf("%s = %v, want ≥ %v", k, got[k], v)
				break
			}
		}
		if missing == "" {
			return got
		}
		if time.Now().After(deadline) {
			tb.Fatalf("metrics: %s", missing)
		}
		time.Sleep(20 * time.Millisecond) // polling an HTTP endpoint; nothing to block on
	}
}

// TestRunBlackBox runs the built binary against a fake WeCom with environment variables
// only: signed callbacks, replies, health, metrics, a SIGHUP reload (and a failed one),
// and a graceful SIGTERM.
func TestRunBlackBox(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rulesPath, []byte(testRules("v1")), 0o600))

	env := append(kftestEnv(srv, dir, rulesPath),
		"KFBOT_RULES_WATCH=false", // only SIGHUP reloads, so the test knows which did
		"KFBOT_LOG_LEVEL=debug",
		"KFBOT_PLUGINS=recover,logger",
		"KFBOT_TRANSCRIPTS=on",
	)
	p := startKfbot(t, env, "run")
	ready := p.waitLog(t, "kfbot: ready")
	base := "http://" + ready["addr"].(string)

	sends := make(chan kftest.Sent, 64)
	srv.OnSend(func(s kftest.Sent) { sends <- s })
	statuses := callbackPoster(srv, base)

	code, body := httpGet(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code, body)
	p.waitLog(t, "kfbot: credentials checked: WeCom issued an access token")
	code, _ = httpGet(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, code)

	const kfid, user = "wkBlackBox", "wmCustomer1"

	// The customer opens the chat: the welcome goes out with the welcome code.
	srv.EnterSession(kfid, user, "ad", "")
	require.Equal(t, http.StatusOK, recv(t, statuses, "callback answer"))
	s := recv(t, sends, "welcome")
	assert.Equal(t, "send_msg_on_event", s.Path)
	assert.Equal(t, "welcome v1", s.Text)

	// A text gets its reply.
	srv.AddText(kfid, user, "ping")
	require.Equal(t, http.StatusOK, recv(t, statuses, "callback answer"))
	s = recv(t, sends, "reply")
	assert.Equal(t, "send_msg", s.Path)
	assert.Equal(t, user, s.ToUser)
	assert.Equal(t, "pong v1", s.Text)

	// A forged callback is refused and counted.
	forged := fmt.Sprintf("%s/callback?msg_signature=%s&timestamp=%d&nonce=n1", base, strings.Repeat("0", 40), time.Now().Unix())
	resp, err := http.Post(forged, "text/xml", strings.NewReader("<xml><Encrypt>AAAA</Encrypt></xml>"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.GreaterOrEqual(t, resp.StatusCode, 400)

	m := waitMetrics(t, base, map[string]float64{
		`kfbot_callbacks_total{result="notified"}`:                 2,
		`kfbot_callbacks_total{result="bad_signature"}`:            1,
		`kfbot_replies_total{errcode="0",result="ok"}`:             2,
		`kfbot_messages_total{event="enter_session",type="event"}`: 1,
		`kfbot_messages_total{event="",type="text"}`:               1,
		`kfbot_pulls_total{result="ok"}`:                           2,
		`kfbot_pulled_items_total`:                                 2,
		`kfbot_pull_lag_seconds_count`:                             2,
		`kfbot_handler_duration_seconds_count{result="ok"}`:        2,
		`kfbot_rules`:          2,
		`kfbot_ready`:          1,
		`kfbot_store_writable`: 1,
		`kfbot_build_info{goversion="` + runtime.Version() + `",version="` + testVersion + `"}`: 1,
	})
	for _, series := range []string{"kfbot_duplicates_total", `kfbot_reply_refusals_total{reason="quota"}`, `kfbot_pulls_total{result="error"}`,
		`kfbot_ownership_changes_total{owner="human"}`, `kfbot_ownership_changes_total{owner="bot"}`} {
		_, ok := m[series]
		assert.True(t, ok, "series %s is exported", series)
	}
	assert.Zero(t, m[`kfbot_pulls_total{result="error"}`])
	assert.Positive(t, m[`kfbot_store_free_bytes`], "free bytes of the data directory's disk")

	// SIGHUP reloads a changed rule file.
	require.NoError(t, os.WriteFile(rulesPath, []byte(testRules("v2")), 0o600))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	p.waitLog(t, "rules: reloaded")
	srv.AddText(kfid, user, "ping")
	require.Equal(t, http.StatusOK, recv(t, statuses, "callback answer"))
	assert.Equal(t, "pong v2", recv(t, sends, "reply after reload").Text)

	// A broken rule file is refused on SIGHUP; the current rules stay.
	require.NoError(t, os.WriteFile(rulesPath, []byte("version: 1\nrules:\n  - name: x\n    when: nosuch.name\n"), 0o600))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGHUP))
	p.waitLog(t, "rules: reload failed; keeping the current rules")
	srv.AddText(kfid, user, "ping")
	require.Equal(t, http.StatusOK, recv(t, statuses, "callback answer"))
	assert.Equal(t, "pong v2", recv(t, sends, "reply after a failed reload").Text)
	waitMetrics(t, base, map[string]float64{
		`kfbot_rules_reloads_total{result="ok"}`:    1,
		`kfbot_rules_reloads_total{result="error"}`: 1,
	})

	// SIGTERM drains and exits 0.
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	assert.Equal(t, 0, p.wait(t), "exit code after SIGTERM")
	assert.Equal(t, 1, p.countLogs("kfbot: stopped"))
	assert.Equal(t, 4, p.countLogs("message handled"), "the logger plugin logs every message")

	// The transcripts the run kept come out of the stopped data directory.
	export := exec.Command(kfbotBinary(t), "transcripts", "export", "-data", filepath.Join(dir, "data"), "-since", "1h", "-format", "jsonl")
	jsonl, err := export.Output()
	require.NoError(t, err)
	var texts []string
	for _, line := range strings.Split(strings.TrimSpace(string(jsonl)), "\n") {
		var turn struct{ Kind, Text string }
		require.NoError(t, json.Unmarshal([]byte(line), &turn), line)
		texts = append(texts, turn.Kind+": "+turn.Text)
	}
	assert.Equal(t, []string{"bot: welcome v1", "customer: ping", "bot: pong v1", "customer: ping", "bot: pong v2", "customer: ping", "bot: pong v2"}, texts)

	out := p.output()
	token, key := srv.CallbackConfig()
	for _, secret := range []string{srv.Secret(), token, key} {
		assert.NotContains(t, out, secret, "a secret was logged")
	}
}

// TestRunBadConfiguration: every problem is listed in one message, exit 2, and no
// secret value is echoed.
func TestRunBadConfiguration(t *testing.T) {
	const badToken, badKey = "not a token!", "shortkey10"
	env := []string{
		"KFBOT_CORP_ID=ww0123456789",
		"KFBOT_CALLBACK_TOKEN=" + badToken,
		"KFBOT_ENCODING_AES_KEY=" + badKey,
		"KFBOT_RULES=" + filepath.Join(t.TempDir(), "missing.yaml"),
		"KFBOT_CONCURRENCY=lots",
		"KFBOT_LOG_FORMAT=xml",
		"KFBOT_PLUGINS=recover,ratelimt",
	}
	p := startKfbot(t, env, "run")
	assert.Equal(t, 2, p.wait(t))
	out := p.output()
	for _, want := range []string{
		"invalid configuration (7 problems)",
		"KFBOT_CONCURRENCY: \"lots\" is not a whole number",
		"secret: missing; set KFBOT_SECRET",
		"callback_token: is set but is not 1-32 letters and digits",
		"encoding_aes_key: must be 43 characters, it has 10",
		`log_format: "xml" is not text or json`,
		`unknown plugin "ratelimt" (did you mean "ratelimit"?)`,
		"missing.yaml does not exist; set KFBOT_RULES",
	} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, badToken)
	assert.NotContains(t, out, badKey)
}

// TestRunDataDirInUse: a data directory held by another process is a clear startup
// error, exit 1.
func TestRunDataDirInUse(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rulesPath, []byte(testRules("v1")), 0o600))
	store, err := badgerstore.Open(filepath.Join(dir, "data"), badgerstore.WithLogger(quietLog))
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })

	p := startKfbot(t, kftestEnv(srv, dir, rulesPath), "run")
	assert.Equal(t, 1, p.wait(t))
	assert.Contains(t, p.output(), "is in use by another kfbot process")
}

// TestVersionCommand: the -ldflags version is printed.
func TestVersionCommand(t *testing.T) {
	out, err := exec.Command(kfbotBinary(t), "version").Output()
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(out), "kfbot "+testVersion+" go"), string(out))
}

// BenchmarkStartToHealthz measures, on a store of 100k keys, the time from starting
// the binary to the first 200 from /healthz, and the idle RSS once it has settled.
//
//	go test -run '^$' -bench StartToHealthz -benchtime 5x ./cmd/kfbot
func BenchmarkStartToHealthz(b *testing.B) {
	srv := kftest.NewServer()
	b.Cleanup(srv.Close)
	dir := b.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	require.NoError(b, os.WriteFile(rulesPath, []byte(testRules("v1")), 0o600))
	fillStore(b, filepath.Join(dir, "data"), 100_000)
	env := kftestEnv(srv, dir, rulesPath)
	kfbotBinary(b)

	var total time.Duration
	var rss float64
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		start := time.Now()
		p := startKfbot(b, env, "run")
		addr := p.waitLog(b, "kfbot: listening")["addr"].(string)
		for {
			resp, err := http.Get("http://" + addr + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
		}
		total += time.Since(start)
		n++
		b.StopTimer()
		time.Sleep(2 * time.Second) // let start-up garbage settle before reading RSS
		rss = max(rss, vmRSS(b, p.cmd.Process.Pid))
		require.NoError(b, p.cmd.Process.Signal(syscall.SIGTERM))
		require.Equal(b, 0, p.wait(b))
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(n), "ms-to-healthz")
	b.ReportMetric(rss, "MiB-idle-rss")
}

// fillStore writes n keys into a new Badger store at dir: dedup ids, sends, sessions
// and cursors, as a busy bot leaves them.
func fillStore(tb testing.TB, dir string, n int) {
	tb.Helper()
	store, err := badgerstore.Open(dir, badgerstore.WithLogger(quietLog))
	require.NoError(tb, err)
	ctx := context.Background()
	var wg sync.WaitGroup
	const workers = 8
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				var err error
				switch i % 4 {
				case 0, 1:
					_, err = store.FirstSeen(ctx, fmt.Sprintf("msg%08d", i), storage.DefaultDedupTTL)
				case 2:
					err = store.SetSendState(ctx, fmt.Sprintf("out/%08d", i), storage.SendDone, storage.DefaultDedupTTL)
				default:
					err = store.PutSession(ctx, &storage.Session{Conversation: storage.Conversation{
						OpenKFID: "wkBench", ExternalUserID: fmt.Sprintf("wm%08d", i)}}, 48*time.Hour)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	require.NoError(tb, <-errs)
	require.NoError(tb, store.SetCursor(ctx, storage.Account{CorpID: kftest.DefaultCorpID, OpenKFID: "wkBench"}, "cursor"))
	require.NoError(tb, store.Close())
}

// vmRSS reads the resident set size of pid in MiB from /proc.
func vmRSS(tb testing.TB, pid int) float64 {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			require.NoError(tb, err)
			return kb / 1024
		}
	}
	tb.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// TestRunInProcess runs `kfbot run` through Main in process (so the race detector sees
// it): accounts named in KFBOT_ACCOUNTS are pulled at start, the rule file is reloaded
// when it changes (KFBOT_RULES_WATCH defaults to true), and cancelling the context
// stops it with exit code 0.
func TestRunInProcess(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rulesPath, []byte(testRules("v1")), 0o600))
	env := map[string]string{"KFBOT_ACCOUNTS": "wkEarly,wkOther", "KFBOT_CONCURRENCY": "4"}
	for _, kv := range kftestEnv(srv, dir, rulesPath) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	sends := make(chan kftest.Sent, 16)
	srv.OnSend(func(s kftest.Sent) { sends <- s })
	// Written before kfbot starts: no callback will announce it.
	srv.AddText("wkEarly", "wmEarly", "ping")

	logs := newLogSink()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	exit := make(chan int, 1)
	go func() {
		exit <- (&Main{Stderr: logs, LookupEnv: lookupIn(env)}).Run(ctx, []string{"run"})
		close(logs.closed)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kfbot stderr:\n%s", logs.output())
		}
	})
	base := "http://" + logs.waitLog(t, "kfbot: ready")["addr"].(string)
	s := recv(t, sends, "reply to the message written before start")
	assert.Equal(t, "wmEarly", s.ToUser)
	assert.Equal(t, "pong v1", s.Text)

	statuses := callbackPoster(srv, base)
	require.NoError(t, os.WriteFile(rulesPath, []byte(testRules("v2")), 0o600))
	logs.waitLog(t, "rules: reloaded")
	srv.AddText("wkOther", "wmLate", "ping")
	require.Equal(t, http.StatusOK, recv(t, statuses, "callback answer"))
	assert.Equal(t, "pong v2", recv(t, sends, "reply after the file changed").Text)

	cancel()
	assert.Equal(t, 0, recv(t, exit, "exit code"))
	assert.Equal(t, 1, logs.countLogs("kfbot: stopped"))
}
