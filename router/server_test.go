package router_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
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

// clientLimit bounds every wait of a client in these tests; the server's own limits
// are far shorter, so reaching it means the server held a connection it should have cut.
const clientLimit = 20 * time.Second

// startServer serves a router on a loopback port with sc's limits and returns its address.
func startServer(t *testing.T, sc router.ServerConfig) (string, *recordingNotifier) {
	t.Helper()
	h, n := newHandler(t, func(c *router.Config) { c.Now = time.Now })
	srv := router.NewServer(h, sc)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(router.LimitListener(ln, sc)) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return ln.Addr().String(), n
}

// slowConn opens a connection that sends a callback's headers and one byte of a body it
// announces as 1,000 bytes long, then nothing more.
func slowConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	_, err = fmt.Fprintf(c, "POST /callback?msg_signature=x&timestamp=1&nonce=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n<")
	require.NoError(t, err)
	return c
}

// postCallback posts a correctly signed kf_msg_or_event callback and returns the status.
// It is safe to call from any goroutine.
func postCallback(addr, nonce string) (int, error) {
	c, err := callback.New(testToken, testAESKey, testCorpID)
	if err != nil {
		return 0, err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	body, sig, err := c.EncryptMessage(kfEvent("wkAAA", "tok"), ts, nonce)
	if err != nil {
		return 0, err
	}
	q := url.Values{"msg_signature": {sig}, "timestamp": {ts}, "nonce": {nonce}}
	cl := &http.Client{Timeout: clientLimit}
	resp, err := cl.Post("http://"+addr+"/callback?"+q.Encode(), "text/xml", strings.NewReader(string(body)))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// realCallback is postCallback for the test's goroutine.
func realCallback(t *testing.T, addr, nonce string) int {
	t.Helper()
	status, err := postCallback(addr, nonce)
	require.NoError(t, err)
	return status
}

// waitClosed reads c until the server closes it and returns what it answered.
func waitClosed(c net.Conn) (string, error) {
	if err := c.SetReadDeadline(time.Now().Add(clientLimit)); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

func TestServerCutsOffASlowBody(t *testing.T) {
	addr, n := startServer(t, router.ServerConfig{ReadTimeout: 200 * time.Millisecond})
	c := slowConn(t, addr)
	got, err := waitClosed(c)
	require.NoError(t, err, "the server must close a connection whose body never completes")
	assert.NotContains(t, got, "200 OK")
	assert.Zero(t, n.count(), "a cut-off body triggers no pull")
}

func TestServerRefusesOversizedHeaders(t *testing.T) {
	addr, _ := startServer(t, router.ServerConfig{MaxHeaderBytes: 4 << 10})
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 64<<10))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(clientLimit)))
	line, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	assert.Contains(t, line, "431")
}

// TestServerAnswersCallbacksUnderSlowClients opens more slow connections than the server
// may hold, then posts real callbacks: they are all answered, because slow connections are
// cut off after the read deadline and the connection bound keeps the rest waiting.
func TestServerAnswersCallbacksUnderSlowClients(t *testing.T) {
	const slow, maxConns = 300, 50
	addr, n := startServer(t, router.ServerConfig{ReadTimeout: 250 * time.Millisecond, MaxConns: maxConns})
	conns := make([]net.Conn, slow)
	for i := range conns {
		conns[i] = slowConn(t, addr)
	}

	const real = 5
	statuses := make([]int, real)
	errs := make([]error, real)
	var wg sync.WaitGroup
	for i := range real {
		wg.Go(func() { statuses[i], errs[i] = postCallback(addr, "real"+strconv.Itoa(i)) })
	}
	wg.Wait()
	for i, s := range statuses {
		require.NoError(t, errs[i], "real callback %d", i)
		assert.Equal(t, http.StatusOK, s, "real callback %d", i)
	}
	assert.Equal(t, real, n.count())

	for i, c := range conns {
		got, err := waitClosed(c)
		require.NoError(t, err, "slow connection %d must be cut off", i)
		assert.NotContains(t, got, "200 OK")
	}
}

func TestNewServerDefaults(t *testing.T) {
	srv := router.NewServer(http.NotFoundHandler(), router.ServerConfig{})
	assert.Equal(t, router.DefaultReadHeaderTimeout, srv.ReadHeaderTimeout)
	assert.Equal(t, router.DefaultReadTimeout, srv.ReadTimeout)
	assert.Equal(t, router.DefaultWriteTimeout, srv.WriteTimeout)
	assert.Equal(t, router.DefaultIdleTimeout, srv.IdleTimeout)
	assert.Equal(t, router.DefaultMaxHeaderBytes, srv.MaxHeaderBytes)

	off := router.NewServer(http.NotFoundHandler(), router.ServerConfig{ReadTimeout: -1})
	assert.Zero(t, off.ReadTimeout, "a negative timeout turns it off")
}

// TestServerEvictsSlowClientsForRealCallbacks: with a read deadline far away, the
// connection bound alone would keep real callbacks queued behind the slow clients; evicting
// the oldest connection when full lets them through.
func TestServerEvictsSlowClientsForRealCallbacks(t *testing.T) {
	const slow, maxConns = 300, 50
	addr, n := startServer(t, router.ServerConfig{ReadTimeout: time.Hour, MaxConns: maxConns, EvictAfter: 50 * time.Millisecond})
	conns := make([]net.Conn, slow)
	for i := range conns {
		conns[i] = slowConn(t, addr)
	}
	for i := range 3 {
		require.Equal(t, http.StatusOK, realCallback(t, addr, "evict"+strconv.Itoa(i)), "real callback %d", i)
	}
	assert.Equal(t, 3, n.count())
	// The first slow connections were accepted first, so they were the first to go.
	for i, c := range conns[:slow-maxConns] {
		_, err := waitClosed(c)
		require.NoError(t, err, "slow connection %d must have been evicted", i)
	}
}
