package bot_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/callback"
	"github.com/kfbot/kfbot/router"
	"github.com/kfbot/kfbot/storage/badgerstore"
)

// Environment of the child process of TestCallbacksAcrossSIGKILL.
const (
	envCbChild   = "KFBOT_TEST_CB_CHILD" // "wedge": handlers never return; "work": they report and return
	envCbEffects = "KFBOT_TEST_CB_EFFECTS"
	envCbToken   = "KFBOT_TEST_CB_TOKEN"
	envCbAESKey  = "KFBOT_TEST_CB_AESKEY"
)

// TestCallbacksAcrossSIGKILL: notifications posted to the real router of a child process
// on Badger are all recorded (answered 200), but the child is killed with SIGKILL before
// it handles any; the next start handles each exactly once; a third start handles none
// again, and WeCom's retries of all of them, posted to it, are answered 200 and not
// handled.
func TestCallbacksAcrossSIGKILL(t *testing.T) {
	if mode := os.Getenv(envCbChild); mode != "" {
		runCallbackChild(t, mode)
		return
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}
	e := newEnv(t)
	var mu sync.Mutex
	effects := map[string]int{}
	entered := newCounter()
	handled := newCounter()
	fx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/entered":
			entered.add(1)
		case "/effect":
			mu.Lock()
			effects[string(body)]++
			mu.Unlock()
			handled.add(1)
		}
	}))
	t.Cleanup(fx.Close)
	dir := t.TempDir()
	const n = 40
	notes := make([][]byte, n)
	for i := range notes {
		notes[i] = addContactXML(fmt.Sprintf("wmCrash%02d", i), "qr-a", fmt.Sprintf("W%02d", i), time.Now().Unix())
	}
	post := func(url string) {
		for _, x := range notes {
			req, err := e.srv.NewRawCallbackRequest(url, x)
			require.NoError(t, err)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			_ = resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
		}
	}

	// 1: every notification recorded, none handled, then SIGKILL.
	child, url := startCallbackChild(t, e, "wedge", dir, fx.URL)
	post(url)
	entered.waitAtLeast(t, 1) // the handlers are stuck, before any effect
	require.NoError(t, child.Process.Kill())
	_ = child.Wait()
	assert.Zero(t, handled.load())

	// 2: the next start handles each once.
	child, _ = startCallbackChild(t, e, "work", dir, fx.URL)
	handled.waitAtLeast(t, n)
	stopChild(t, child)

	// 3: nothing is left; retries are answered and not handled.
	child, url = startCallbackChild(t, e, "work", dir, fx.URL)
	post(url)
	stopChild(t, child) // SIGINT: the bot drains its queue before it exits
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, effects, n)
	for k, c := range effects {
		assert.Equal(t, 1, c, k)
	}
}

// startCallbackChild starts the child and returns it with its router's URL.
func startCallbackChild(t *testing.T, e *env, mode, dir, effects string) (*exec.Cmd, string) {
	t.Helper()
	token, key := e.srv.CallbackConfig()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCallbacksAcrossSIGKILL$")
	cmd.Env = append(os.Environ(), envCbChild+"="+mode, envChildDir+"="+dir, envCbEffects+"="+effects,
		envChildURL+"="+e.srv.URL, envChildCorp+"="+e.srv.CorpID(), envChildSecret+"="+e.srv.Secret(),
		envCbToken+"="+token, envCbAESKey+"="+key)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if u, ok := strings.CutPrefix(lines.Text(), "ROUTER "); ok {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return cmd, u
		}
	}
	t.Fatalf("child exited before it served: %v", lines.Err())
	return nil, ""
}

// stopChild interrupts the child and waits for it to exit cleanly.
func stopChild(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	require.NoError(t, cmd.Wait())
}

// runCallbackChild serves the router of a bot on Badger until interrupted or killed.
func runCallbackChild(t *testing.T, mode string) {
	store, err := badgerstore.Open(os.Getenv(envChildDir), badgerstore.WithLogger(quietLog()))
	require.NoError(t, err)
	defer store.Close()
	client := kf.NewClient(os.Getenv(envChildCorp), os.Getenv(envChildSecret),
		kf.WithBaseURL(os.Getenv(envChildURL)), kf.WithLogger(quietLog()))
	b, err := bot.New(client, store, bot.WithLogger(quietLog()))
	require.NoError(t, err)
	fx := os.Getenv(envCbEffects)
	b.HandleCallback(bot.ChangeType(callback.ChangeAddExternalContact), func(c *bot.Context) error {
		if mode == "wedge" {
			resp, err := http.Post(fx+"/entered", "text/plain", nil)
			if err == nil {
				_ = resp.Body.Close()
			}
			<-c.Context().Done() // until killed
			return c.Context().Err()
		}
		ec := c.Notification().(*callback.ExternalContactChange)
		resp, err := http.Post(fx+"/effect", "text/plain", strings.NewReader(ec.WelcomeCode))
		if err != nil {
			return err
		}
		return resp.Body.Close()
	})
	token, key := os.Getenv(envCbToken), os.Getenv(envCbAESKey)
	h, err := router.New(router.Config{Token: token, EncodingAESKey: key, CorpID: os.Getenv(envChildCorp), Logger: quietLog()}, b)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	ctx, cancel := signalContext(2 * time.Minute) // the timeout only guards against an orphan
	defer cancel()
	fmt.Printf("ROUTER http://%s/callback\n", ln.Addr())
	_ = b.Run(ctx)
	_ = srv.Shutdown(context.Background())
}

// signalContext is cancelled by SIGINT or after d.
func signalContext(d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	return ctx, func() { stop(); cancel() }
}
