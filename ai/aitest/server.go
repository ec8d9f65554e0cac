package aitest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A Server is a fake OpenAI-compatible chat completions server (and a fake
// Dify chat API). It checks the bearer key and the model, answers from
// scripts, and records every request.
//
// All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the listening server, "http://127.0.0.1:port",
	// without a trailing slash and without "/v1". It is empty for a server
	// that was never started (see [NewUnstartedServer]).
	URL string

	apiKey  string
	maxBody int64

	listener net.Listener
	httpSrv  *http.Server
	httpTr   *http.Transport
	closeMu  sync.Mutex
	closed   atomic.Bool
	done     chan struct{} // closed by Close: ends delays and streams

	mu         sync.Mutex
	models     map[string]Model
	queue      []Reply
	scripts    map[string][]Reply
	defaultFn  func(*Request) Reply
	faults     []APIError
	latency    time.Duration
	chunkDelay time.Duration
	requests   []*Request
	calls      map[string]int
	seq        uint64 // completion and tool call ids

	dify difyState
}

// DefaultAPIKey is the bearer key a server accepts when [WithAPIKey] is not
// given.
const DefaultAPIKey = "sk-aitest"

// DefaultMaxBodyBytes bounds a request body (images travel inline as
// base64); larger bodies are refused with a 413.
const DefaultMaxBodyBytes = 32 << 20

// An Option configures a [Server].
type Option func(*Server)

// WithAPIKey sets the bearer key the server accepts (default
// [DefaultAPIKey]). A request without it, or with another key, gets a 401.
// The empty key accepts any Authorization header, or none, as Ollama and
// LM Studio do.
func WithAPIKey(key string) Option { return func(s *Server) { s.apiKey = key } }

// WithModels sets the models the server knows, replacing [DefaultModel]. A
// request for any other model gets a 404 model_not_found.
func WithModels(models ...Model) Option {
	return func(s *Server) {
		s.models = make(map[string]Model, len(models))
		for _, m := range models {
			s.models[m.ID] = m
		}
	}
}

// WithMaxBodyBytes bounds request bodies (default [DefaultMaxBodyBytes]).
func WithMaxBodyBytes(n int64) Option { return func(s *Server) { s.maxBody = n } }

// NewServer starts and returns a server listening on a loopback port, like
// httptest.NewServer. Point the SDK at [Server.BaseURL] with
// [Server.APIKey]; call [Server.Close] when done. It panics if it cannot
// listen, as httptest does.
func NewServer(opts ...Option) *Server {
	s := NewUnstartedServer(opts...)
	if err := s.Start(); err != nil {
		panic(err.Error())
	}
	return s
}

// NewUnstartedServer returns a server that does not listen. It serves
// requests through [Server.Transport] and [Server.Handler] only — which is
// what tests inside a testing/synctest bubble want — until [Server.Start]
// is called. It does no I/O.
func NewUnstartedServer(opts ...Option) *Server {
	s := &Server{
		apiKey:  DefaultAPIKey,
		maxBody: DefaultMaxBodyBytes,
		done:    make(chan struct{}),
		models:  map[string]Model{DefaultModel: {ID: DefaultModel}},
		scripts: make(map[string][]Reply),
		calls:   make(map[string]int),
	}
	s.dify.init()
	for _, o := range opts {
		if o != nil {
			o(s)
		}
	}
	return s
}

// Start makes an unstarted server listen on a loopback port and sets
// [Server.URL]. It fails if the server was already started or closed.
func (s *Server) Start() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.listener != nil {
		return errors.New("aitest: start: already started")
	}
	if s.closed.Load() {
		return errors.New("aitest: start: server closed; create a new one")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		var err6 error
		if l, err6 = net.Listen("tcp6", "[::1]:0"); err6 != nil {
			return fmt.Errorf("aitest: start: listen on loopback: %w", err)
		}
	}
	s.listener = l
	s.URL = "http://" + l.Addr().String()
	s.httpSrv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	addr := l.Addr().String()
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	s.httpTr = &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "tcp", addr)
		},
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
	}
	go func() { _ = s.httpSrv.Serve(l) }()
	return nil
}

// Close stops the server: delays and streams in progress end at once (a
// stream is cut without [DONE]), the listener closes and, afterwards,
// [Server.Transport] fails every request. Close is idempotent; recorded
// requests stay readable.
func (s *Server) Close() {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed.Swap(true) {
		return
	}
	close(s.done)
	if s.httpSrv != nil {
		s.httpTr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.httpSrv.Shutdown(ctx); err != nil {
			_ = s.httpSrv.Close()
		}
		cancel()
	}
}

// BaseURL returns the base URL to give the SDK: [Server.URL] + "/v1" (for
// a started server), or "http://aitest.invalid/v1" for an unstarted one,
// whose [Server.Transport] ignores the host.
func (s *Server) BaseURL() string {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.URL == "" {
		return "http://aitest.invalid/v1"
	}
	return s.URL + "/v1"
}

// APIKey returns the bearer key the server accepts ("" when it accepts
// any).
func (s *Server) APIKey() string { return s.apiKey }

// Client returns an HTTP client for the server: for a started server it
// talks to the listener over loopback (whatever host the request names);
// for an unstarted server it uses [Server.Transport].
func (s *Server) Client() *http.Client {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.httpTr != nil {
		return &http.Client{Transport: s.httpTr}
	}
	return &http.Client{Transport: s.Transport()}
}

// Handler returns the server's http.Handler, for mounting it elsewhere.
// It serves:
//
//   - POST /v1/chat/completions and POST /chat/completions
//   - GET /v1/models and GET /models
//   - POST /v1/chat-messages and POST /chat-messages (Dify)
//
// and answers anything else with a 404 in OpenAI's shape.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Calls returns how many requests reached an endpoint, including refused
// and failed ones: path is "chat/completions", "models" or
// "chat-messages", with or without a leading "/v1/" or "/".
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[endpointName(path)]
}

// endpointName maps "/v1/chat/completions", "v1/chat/completions",
// "/chat/completions" and "chat/completions" to "chat/completions".
func endpointName(p string) string {
	p = strings.TrimPrefix(p, "/")
	p = strings.TrimPrefix(p, "v1/")
	return strings.TrimSuffix(p, "/")
}

const (
	epChat   = "chat/completions"
	epModels = "models"
	epDify   = "chat-messages"
)

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	name := endpointName(r.URL.Path)
	s.mu.Lock()
	s.calls[name]++
	s.mu.Unlock()
	switch {
	case name == epChat && r.Method == http.MethodPost:
		s.serveChat(w, r)
	case name == epModels && r.Method == http.MethodGet:
		s.serveModels(w, r)
	case name == epDify && r.Method == http.MethodPost:
		s.serveDify(w, r)
	default:
		writeError(w, &APIError{Status: http.StatusNotFound, Type: "invalid_request_error",
			Message: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path)})
	}
}

// authorize checks the bearer key and answers a 401 itself when it is
// wrong.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	if s.apiKey == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || got == "" {
		writeError(w, &APIError{Status: http.StatusUnauthorized, Type: "invalid_request_error",
			Message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."})
		return false
	}
	if got != s.apiKey {
		e := ErrorFor(http.StatusUnauthorized)
		e.Message = "Incorrect API key provided: " + redact(got) + ". You can find your API key at https://platform.openai.com/account/api-keys."
		writeError(w, &e)
		return false
	}
	return true
}

// redact shows a key's first 3 and last 4 characters, as OpenAI does.
func redact(key string) string {
	if len(key) <= 8 {
		return "***"
	}
	return key[:3] + "*****" + key[len(key)-4:]
}

// wait sleeps d on the time package's clock; it reports false when the
// request's context was cancelled or the server closed first.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// readBody reads a request body up to the server's limit; it answers the
// error itself and reports false when the body is too large or unreadable.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, &APIError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error",
				Message: fmt.Sprintf("Request body too large: the limit is %d bytes.", s.maxBody)})
		} else {
			writeError(w, invalid("", "", "aitest: reading the request body: "+err.Error()))
		}
		return nil, false
	}
	return body, true
}
