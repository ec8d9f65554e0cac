// Command slowclients measures the resident memory of a kfbot binary while n slow clients
// trickle callback bodies at 1 byte per second, on loopback only.
//
//	go build -o /tmp/kfbot ./cmd/kfbot
//	go run ./cmd/kfbot/testdata/slowclients -bin /tmp/kfbot -n 3000 -hold 30s
//
// It starts a fake WeCom (kftest) and the binary against it, opens n connections that
// each send a callback's headers and then one body byte per second, and after -hold
// prints the binary's VmRSS, how many slow connections the server still holds, and whether
// a real, signed callback is answered meanwhile. Everything stops when it returns.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kfbot/kfbot/kf/kftest"
)

func main() {
	bin := flag.String("bin", "", "path of the kfbot binary")
	n := flag.Int("n", 3000, "slow connections")
	hold := flag.Duration("hold", 30*time.Second, "how long to trickle before measuring")
	flag.Parse()
	if err := run(*bin, *n, *hold); err != nil {
		fmt.Fprintln(os.Stderr, "slowclients:", err)
		os.Exit(1)
	}
}

var addrRE = regexp.MustCompile(`"msg":"kfbot: ready".*?"addr":"([^"]+)"`)

func run(bin string, n int, hold time.Duration) error {
	if bin == "" {
		return errors.New("-bin is required")
	}
	srv := kftest.NewServer()
	defer srv.Close()
	dir, err := os.MkdirTemp("", "slowclients-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rules := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rules, []byte("version: 1\nrules:\n  - name: ping\n    when: msg.text == \"ping\"\n    then:\n      - reply: pong\n"), 0o600); err != nil {
		return err
	}
	token, key := srv.CallbackConfig()
	cmd := exec.Command(bin, "run")
	cmd.Env = []string{"KFBOT_CORP_ID=" + srv.CorpID(), "KFBOT_SECRET=" + srv.Secret(),
		"KFBOT_CALLBACK_TOKEN=" + token, "KFBOT_ENCODING_AES_KEY=" + key, "KFBOT_API_BASE=" + srv.URL,
		"KFBOT_LISTEN=127.0.0.1:0", "KFBOT_DATA_DIR=" + filepath.Join(dir, "data"), "KFBOT_RULES=" + rules,
		"KFBOT_LOG_FORMAT=json", "KFBOT_RULES_WATCH=false"}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
		}
	}()
	var addr string
	select {
	case addr = <-addrc:
	case <-time.After(30 * time.Second):
		return errors.New("kfbot did not log its address within 30s")
	}
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		return fmt.Errorf("refusing a non-loopback address %s", addr)
	}
	pid := cmd.Process.Pid
	fmt.Printf("idle:            VmRSS %s\n", procStatus(pid, "VmRSS"))

	ctx, cancel := context.WithTimeout(context.Background(), hold)
	defer cancel()
	var open, dialFailed atomic.Int64
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			dialFailed.Add(1)
			continue
		}
		open.Add(1)
		go trickle(ctx, c, &open)
	}
	fmt.Printf("opened:          %d connections (%d dials failed)\n", int64(n)-dialFailed.Load(), dialFailed.Load())

	// A real callback while the slow clients trickle.
	time.Sleep(hold / 2)
	status, took := realCallback(srv, addr)
	fmt.Printf("real callback:   %s after %s (at %s)\n", status, took.Round(time.Millisecond), hold/2)
	<-ctx.Done()
	fmt.Printf("after %-9s VmRSS %s (peak VmHWM %s); slow connections still open: %d of %d\n",
		hold.String()+":", procStatus(pid, "VmRSS"), procStatus(pid, "VmHWM"), open.Load(), n)
	return nil
}

// trickle sends a callback's headers, then one byte of its body per second until ctx
// ends or the server closes the connection.
func trickle(ctx context.Context, c net.Conn, open *atomic.Int64) {
	defer c.Close()
	closed := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, c); close(closed) }() // EOF: the server cut us off
	if _, err := fmt.Fprint(c, "POST /callback?msg_signature=x&timestamp=1&nonce=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"); err != nil {
		open.Add(-1)
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-closed:
			open.Add(-1)
			return
		case <-t.C:
			if _, err := c.Write([]byte("<")); err != nil {
				open.Add(-1)
				return
			}
		}
	}
}

func realCallback(srv *kftest.Server, addr string) (string, time.Duration) {
	start := time.Now()
	req, err := srv.NewCallbackRequest("http://"+addr+"/callback", "wkSLOW")
	if err != nil {
		return "error: " + err.Error(), 0
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return "error: " + err.Error(), time.Since(start)
	}
	resp.Body.Close()
	return resp.Status, time.Since(start)
}

// procStatus returns the field (VmRSS, VmHWM) of /proc/pid/status.
func procStatus(pid int, field string) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
