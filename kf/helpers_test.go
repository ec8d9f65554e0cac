package kf_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/kfbot/kfbot/kf"
)

const (
	testCorpID = "wwcorp0001"
	testSecret = "s3cr3t-app-secret"
	testBase   = "http://wecom.test"
)

// handlerTransport is an in-process http.RoundTripper that calls a handler
// directly. No sockets: it works inside a testing/synctest bubble.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	body := r.Body // the handler may replace r.Body
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	if body != nil {
		_ = body.Close() // RoundTrippers must close the request body
	}
	if err := r.Context().Err(); err != nil {
		return nil, err // like a real transport whose request was cancelled
	}
	return rec.Result(), nil
}

// rtFunc adapts a function to http.RoundTripper (for transport errors).
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) {
	body := r.Body
	resp, err := f(r)
	if body != nil {
		_ = body.Close()
	}
	return resp, err
}

// fakeWeCom is a minimal scripted WeCom: it issues tokens "tok-1", "tok-2", …
// and routes API paths (below /cgi-bin/) to per-test handlers.
type fakeWeCom struct {
	mu        sync.Mutex
	issued    int            // gettoken calls answered
	calls     map[string]int // API path → requests
	bodies    map[string][]string
	tokensIn  map[string][]string // API path → access_token query values received
	handlers  map[string]http.HandlerFunc
	expiresIn int
	// beforeToken, if set, runs at the start of every gettoken (e.g. to block).
	beforeToken func(r *http.Request)
}

func newFake() *fakeWeCom {
	return &fakeWeCom{
		calls: map[string]int{}, bodies: map[string][]string{}, tokensIn: map[string][]string{},
		handlers: map[string]http.HandlerFunc{}, expiresIn: 7200,
	}
}

// on sets the handler for an API path such as "kf/send_msg".
func (f *fakeWeCom) on(path string, h http.HandlerFunc) *fakeWeCom {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[path] = h
	return f
}

// seq answers the n-th request with replies[min(n, len-1)].
func seq(replies ...string) http.HandlerFunc {
	var mu sync.Mutex
	n := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		i := min(n, len(replies)-1)
		n++
		mu.Unlock()
		reply(w, replies[i])
	}
}

// reply writes a scripted answer: "502", "200 <html>" style status-prefixed
// bodies, or a JSON body with status 200.
func reply(w http.ResponseWriter, s string) {
	status := http.StatusOK
	if len(s) >= 3 && s[0] >= '1' && s[0] <= '5' && (len(s) == 3 || s[3] == ' ') {
		fmt.Sscan(s[:3], &status)
		s = strings.TrimPrefix(s[3:], " ")
		if strings.HasPrefix(s, "<") {
			w.Header().Set("Content-Type", "text/html")
		}
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	io.WriteString(w, s)
}

func errJSON(code int, msg string) string {
	return fmt.Sprintf(`{"errcode":%d,"errmsg":%q}`, code, msg)
}

func (f *fakeWeCom) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/cgi-bin/")
	if path == "gettoken" {
		if f.beforeToken != nil {
			f.beforeToken(r)
		}
		if r.URL.Query().Get("corpid") != testCorpID || r.URL.Query().Get("corpsecret") != testSecret {
			reply(w, errJSON(40001, "invalid credential"))
			return
		}
		f.mu.Lock()
		f.issued++
		tok := fmt.Sprintf("tok-%d", f.issued)
		exp := f.expiresIn
		f.mu.Unlock()
		reply(w, fmt.Sprintf(`{"errcode":0,"errmsg":"ok","access_token":%q,"expires_in":%d}`, tok, exp))
		return
	}
	var body []byte
	if r.Body != nil { // a GET through handlerTransport has none
		body, _ = io.ReadAll(r.Body)
	}
	f.mu.Lock()
	f.calls[path]++
	f.bodies[path] = append(f.bodies[path], string(body))
	f.tokensIn[path] = append(f.tokensIn[path], r.URL.Query().Get("access_token"))
	h := f.handlers[path]
	f.mu.Unlock()
	if h == nil {
		reply(w, errJSON(404, "no handler for "+path))
		return
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	h(w, r)
}

// holdUntil returns a beforeToken hook that blocks until release is closed
// or the request is cancelled.
func holdUntil(release <-chan struct{}) func(*http.Request) {
	return func(r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
}

func (f *fakeWeCom) tokensIssued() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issued
}

func (f *fakeWeCom) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[path]
}

func (f *fakeWeCom) lastBody(path string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.bodies[path]
	if len(b) == 0 {
		return ""
	}
	return b[len(b)-1]
}

func (f *fakeWeCom) tokensSeen(path string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.tokensIn[path]...)
}

var quiet = slog.New(slog.DiscardHandler)

// newClient returns a client talking to h in-process.
func newClient(h http.Handler, opts ...kf.Option) *kf.Client {
	base := []kf.Option{
		kf.WithBaseURL(testBase),
		kf.WithHTTPClient(&http.Client{Transport: handlerTransport{h}}),
		kf.WithLogger(quiet),
	}
	return kf.NewClient(testCorpID, testSecret, append(base, opts...)...)
}

func okJSON(fields string) string {
	if fields == "" {
		return `{"errcode":0,"errmsg":"ok"}`
	}
	return `{"errcode":0,"errmsg":"ok",` + fields + `}`
}
