package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// buildKfbot builds github.com/kfbot/kfbot/cmd/kfbot into dir with the go command and
// returns the binary's path. The current directory must be inside the kfbot module.
func buildKfbot(ctx context.Context, dir string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("no go command on PATH to build kfbot (install Go, or pass -bin PATH): %w", err)
	}
	out := filepath.Join(dir, "kfbot")
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", out, "github.com/kfbot/kfbot/cmd/kfbot")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/kfbot (run kfbench inside the kfbot module, or pass -bin PATH): %w\n%s", err, b)
	}
	return out, nil
}

// binConfig is how the kfbot binary is started against the fake.
type binConfig struct {
	path        string
	dataDir     string
	rulesFile   string
	accounts    []string
	concurrency int
	logLevel    string
	pagesAhead  int // KFBOT_PAGES_IN_FLIGHT; 0: the binary's default
}

// env returns the binary's whole environment: nothing else is inherited but the Go
// runtime's tuning variables.
func (c binConfig) env(f *fake) []string {
	token, key := f.srv.CallbackConfig()
	env := []string{
		"KFBOT_CORP_ID=" + f.srv.CorpID(),
		"KFBOT_SECRET=" + f.srv.Secret(),
		"KFBOT_CALLBACK_TOKEN=" + token,
		"KFBOT_ENCODING_AES_KEY=" + key,
		"KFBOT_API_BASE=" + f.url,
		"KFBOT_LISTEN=127.0.0.1:0",
		"KFBOT_DATA_DIR=" + c.dataDir,
		"KFBOT_RULES=" + c.rulesFile,
		"KFBOT_RULES_WATCH=false",
		"KFBOT_LOG_FORMAT=json",
		"KFBOT_LOG_LEVEL=" + c.logLevel,
		"KFBOT_COLD_START_AGE=0",
		"KFBOT_CONCURRENCY=" + strconv.Itoa(c.concurrency),
		"KFBOT_ACCOUNTS=" + strings.Join(c.accounts, ","),
	}
	if c.pagesAhead > 0 {
		env = append(env, "KFBOT_PAGES_IN_FLIGHT="+strconv.Itoa(c.pagesAhead))
	}
	for _, k := range []string{"GOMAXPROCS", "GOGC", "GOMEMLIMIT", "GODEBUG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// binProc is one run of the kfbot binary.
type binProc struct {
	cmd     *exec.Cmd
	addr    string // host:port it listens on, once ready
	started time.Time
	ready   time.Duration // from exec to the "kfbot: ready" line
	exited  chan struct{}
	waitErr error

	warnings atomic.Int64 // log lines at WARN
	errors   atomic.Int64 // log lines at ERROR
	refused  atomic.Int64 // log lines about a reply the engine refused (quota, window, …)

	mu   sync.Mutex
	tail []string // the last log lines
}

const tailLines = 30

// startBin starts the binary and waits until it logs "kfbot: ready".
func startBin(ctx context.Context, f *fake, c binConfig) (*binProc, error) {
	cmd := exec.Command(c.path, "run")
	cmd.Env = c.env(f)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	p := &binProc{cmd: cmd, exited: make(chan struct{}), started: time.Now()}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", c.path, err)
	}
	ready := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		p.scan(stderr, ready)
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it all first
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	timer := time.NewTimer(60 * time.Second)
	defer timer.Stop()
	select {
	case p.addr = <-ready:
		p.ready = time.Since(p.started)
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("kfbot exited before it was ready (%v):\n%s", p.waitErr, p.logTail())
	case <-timer.C:
	case <-ctx.Done():
	}
	p.kill()
	return nil, fmt.Errorf("kfbot not ready within 60 s:\n%s", p.logTail())
}

// scan reads the binary's JSON log lines: the ready line's address, level counts and a
// tail for error messages.
func (p *binProc) scan(r io.Reader, ready chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case bytes.Contains(line, []byte(`"level":"WARN"`)):
			p.warnings.Add(1)
		case bytes.Contains(line, []byte(`"level":"ERROR"`)):
			p.errors.Add(1)
		}
		if bytes.Contains(line, []byte(`action refused`)) || bytes.Contains(line, []byte(`reply quota exceeded`)) {
			p.refused.Add(1)
		}
		if !sent && bytes.Contains(line, []byte(`"kfbot: ready"`)) {
			var rec struct {
				Addr string `json:"addr"`
			}
			if json.Unmarshal(line, &rec) == nil && rec.Addr != "" {
				ready <- rec.Addr
				sent = true
			}
		}
		p.mu.Lock()
		if len(p.tail) == tailLines {
			p.tail = append(p.tail[:0], p.tail[1:]...)
		}
		p.tail = append(p.tail, string(line))
		p.mu.Unlock()
	}
}

func (p *binProc) logTail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

func (p *binProc) pid() int { return p.cmd.Process.Pid }

// callbackURL is the binary's callback endpoint.
func (p *binProc) callbackURL() string { return "http://" + p.addr + "/callback" }

// metricsURL is the binary's Prometheus endpoint.
func (p *binProc) metricsURL() string { return "http://" + p.addr + "/metrics" }

// kill sends SIGKILL and waits for the process to be gone.
func (p *binProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop sends SIGTERM and waits up to timeout for a clean exit, then kills.
func (p *binProc) stop(timeout time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.exited:
		if p.waitErr != nil {
			return fmt.Errorf("kfbot exited with %v:\n%s", p.waitErr, p.logTail())
		}
		return nil
	case <-t.C:
		p.kill()
		return fmt.Errorf("kfbot did not stop within %s after SIGTERM", timeout)
	}
}

// binTarget is a target backed by the binary (one run).
type binTarget struct {
	f   *fake
	p   *binProc
	hc  *http.Client
	dir string // removed on close, if set
}

func (t *binTarget) poker() poker { return callbackPoker(t.f, t.p.callbackURL(), t.hc) }

func (t *binTarget) stats(ctx context.Context) procStats {
	return pidStats(ctx, t.p.pid(), t.p.metricsURL())
}

func (t *binTarget) close() error {
	t.hc.CloseIdleConnections() // or kfbot's graceful shutdown waits for them
	err := t.p.stop(30 * time.Second)
	if t.dir != "" {
		err = errors.Join(err, os.RemoveAll(t.dir))
	}
	return err
}

// resolveBin returns the binary to drive: path itself, or, for "build" (or "" when
// required is set), a fresh build in a temporary directory that cleanup removes.
func resolveBin(ctx context.Context, path string, required bool) (bin string, cleanup func(), err error) {
	if path != "build" && (path != "" || !required) {
		return path, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "kfbench-bin-")
	if err != nil {
		return "", nil, err
	}
	bin, err = buildKfbot(ctx, dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}
