package kftest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A Server is a fake WeCom KF API server. It keeps KF accounts, their
// message logs, sessions, access tokens, media and the sends it accepted,
// and enforces WeCom's rules on the wire (see the package documentation).
//
// All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL of the listening server, "http://127.0.0.1:port",
	// without a trailing slash. It is empty for a server that was never
	// started (see [NewUnstartedServer]).
	URL string

	cfg config

	listener net.Listener
	httpSrv  *http.Server
	httpTr   *http.Transport
	closed   atomic.Bool
	closeMu  sync.Mutex
	connMu   sync.Mutex
	conns    map[net.Conn]http.ConnState

	calls      map[string]*atomic.Int64 // known endpoints; read-only map
	slow       atomic.Bool              // faults, latency or overrides configured
	hintSeq    atomic.Uint64
	cursorSalt uint64 // immutable after construction

	hook     atomic.Pointer[func(openKFID, callbackToken string)]
	sendHook atomic.Pointer[func(Sent)]

	cb callbackState

	// access tokens: self-checking (tokens.go), no record per token
	tokenSalt      uint64 // immutable after construction
	tokenSeq       atomic.Uint64
	expiredThrough atomic.Uint64 // tokens with seq ≤ this are expired (ExpireTokens)

	// everything else
	mu           sync.Mutex
	rng          *rand.Rand
	accounts     map[string]*account
	accountOrder []*account
	customers    map[string]*customer
	codes        map[string]*eventCode
	media        map[string]*mediaObject
	sent         []Sent
	msgSeq       uint64
	cbSeq        uint64 // callback tokens issued
	forgotten    uint64 // log items forgotten, over all accounts
	sendSeq      uint64
	codeSeq      uint64
	mediaSeq     uint64
	otherCalls   map[string]int
	maxPage      int
	emptyRate    float64
	faults       map[string][]fault
	faultRate    float64
	faultCodes   []int
	latency      time.Duration
	overrides    map[string]http.Handler
	contacts     externalContactState
}

// endpoint names, relative to /cgi-bin/.
const (
	pathGetToken       = "gettoken"
	pathSyncMsg        = "kf/sync_msg"
	pathSendMsg        = "kf/send_msg"
	pathSendMsgOnEvent = "kf/send_msg_on_event"
	pathStateGet       = "kf/service_state/get"
	pathStateTrans     = "kf/service_state/trans"
	pathAccountList    = "kf/account/list"
	pathCustomerGet    = "kf/customer/batchget"
	pathServicerList   = "kf/servicer/list"
	pathMediaUpload    = "media/upload"
	pathMediaGet       = "media/get"
	pathWelcomeMsg     = "externalcontact/send_welcome_msg"
	pathContactGet     = "externalcontact/get"
)

type handlerFunc func(s *Server, w http.ResponseWriter, r *http.Request)

var endpoints = map[string]handlerFunc{
	pathGetToken:       (*Server).handleGetToken,
	pathSyncMsg:        (*Server).handleSyncMsg,
	pathSendMsg:        (*Server).handleSendMsg,
	pathSendMsgOnEvent: (*Server).handleSendMsgOnEvent,
	pathStateGet:       (*Server).handleStateGet,
	pathStateTrans:     (*Server).handleStateTrans,
	pathAccountList:    (*Server).handleAccountList,
	pathCustomerGet:    (*Server).handleCustomerBatchGet,
	pathServicerList:   (*Server).handleServicerList,
	pathMediaUpload:    (*Server).handleMediaUpload,
	pathMediaGet:       (*Server).handleMediaGet,
	pathWelcomeMsg:     (*Server).handleSendWelcomeMsg,
	pathContactGet:     (*Server).handleExternalContactGet,
}

// NewServer starts and returns a fake WeCom KF server listening on a
// loopback port, like httptest.NewServer. Point a client at [Server.URL] (or
// use [Server.Client] or [Server.Transport]); call [Server.Close] when done.
// It panics if it cannot listen, as httptest does.
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
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	seed := uint64(cfg.seed)
	if !cfg.seeded {
		seed = rand.Uint64()
	}
	s := &Server{
		cfg:        cfg,
		calls:      make(map[string]*atomic.Int64, len(endpoints)),
		tokenSalt:  rand.New(rand.NewPCG(seed, 0x6b66746f6b656e)).Uint64(),
		rng:        rand.New(rand.NewPCG(seed, 0x6b6674657374)),
		accounts:   make(map[string]*account),
		customers:  make(map[string]*customer),
		codes:      make(map[string]*eventCode),
		media:      make(map[string]*mediaObject),
		otherCalls: make(map[string]int),
		maxPage:    DefaultPageSize,
		faults:     make(map[string][]fault),
		overrides:  make(map[string]http.Handler),
	}
	s.cursorSalt = s.rng.Uint64()
	for name := range endpoints {
		s.calls[name] = new(atomic.Int64)
	}
	return s
}

// Start makes an unstarted server listen on a loopback port and sets
// [Server.URL]. It fails if the server was already started or closed.
func (s *Server) Start() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.listener != nil {
		return errors.New("kftest: start: already started")
	}
	if s.closed.Load() {
		return errors.New("kftest: start: server closed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		var err6 error
		if l, err6 = net.Listen("tcp6", "[::1]:0"); err6 != nil {
			return fmt.Errorf("kftest: start: listen: %w", err)
		}
	}
	s.listener = l
	s.URL = "http://" + l.Addr().String()
	s.httpSrv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnState:         s.trackConn,
	}
	addr := l.Addr().String()
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	s.httpTr = &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "tcp", addr)
		},
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     90 * time.Second,
	}
	go func() { _ = s.httpSrv.Serve(l) }()
	return nil
}

// Close stops a started server: it stops listening, waits up to 5 seconds
// for running requests, then closes all connections. Afterwards
// [Server.Transport] fails every request. Close is idempotent; the state
// (logs, recorded sends) stays readable.
func (s *Server) Close() {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed.Swap(true) {
		return
	}
	if s.httpSrv != nil {
		s.httpTr.CloseIdleConnections()
		// Like httptest: close connections that carry no request now (a
		// dialled but unused connection would hold Shutdown for 5 s), and
		// let running requests finish.
		s.connMu.Lock()
		for c, st := range s.conns {
			if st == http.StateNew || st == http.StateIdle {
				_ = c.Close()
			}
		}
		s.connMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.httpSrv.Shutdown(ctx); err != nil {
			_ = s.httpSrv.Close()
		}
		cancel()
		s.httpTr.CloseIdleConnections()
	}
}

// trackConn records connection states so that Close can close unused ones;
// connections that become idle after Close are closed at once.
func (s *Server) trackConn(c net.Conn, st http.ConnState) {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if s.conns == nil {
		s.conns = make(map[net.Conn]http.ConnState)
	}
	switch st {
	case http.StateNew, http.StateActive, http.StateIdle:
		s.conns[c] = st
		if st != http.StateActive && s.closed.Load() {
			_ = c.Close()
		}
	default:
		delete(s.conns, c)
	}
}

// Client returns an HTTP client for the server. For a started server it
// talks to the listener over loopback with a connection pool sized for many
// concurrent requests (whatever host the request names); for an unstarted
// server it uses [Server.Transport].
func (s *Server) Client() *http.Client {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.httpTr != nil {
		return &http.Client{Transport: s.httpTr}
	}
	return &http.Client{Transport: s.Transport()}
}

// Handler returns the server's http.Handler, for mounting it elsewhere. It
// serves paths under /cgi-bin/ and answers 404 otherwise.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Transport returns an http.RoundTripper that serves each request in
// process, on the calling goroutine, without sockets — usable inside a
// testing/synctest bubble. It ignores the scheme and host, so a client may
// keep WeCom's real base URL. It honours the request context (a cancelled
// context fails the round trip) and closes the request body.
func (s *Server) Transport() http.RoundTripper { return inProcess{s} }

// CorpID returns the corp ID gettoken accepts.
func (s *Server) CorpID() string { return s.cfg.corpID }

// Secret returns the corpsecret gettoken accepts.
func (s *Server) Secret() string { return s.cfg.secret }

// CallbackConfig returns the callback Token and EncodingAESKey the server
// signs and encrypts callbacks with; configure the receiving router with
// them and [Server.CorpID] as the receive ID.
func (s *Server) CallbackConfig() (token, encodingAESKey string) {
	return s.cfg.cbToken, s.cfg.cbAESKey
}

// normalizePath maps "send_msg", "kf/send_msg" and "/cgi-bin/kf/send_msg" to
// the endpoint name "kf/send_msg".
func normalizePath(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimPrefix(p, "/")
	p = strings.TrimPrefix(p, "cgi-bin/")
	if _, ok := endpoints[p]; ok {
		return p
	}
	if _, ok := endpoints["kf/"+p]; ok {
		return "kf/" + p
	}
	return p
}

// Calls returns how many requests reached path, including failed, faulted
// and overridden ones. path may be "send_msg", "kf/send_msg" or
// "/cgi-bin/kf/send_msg".
func (s *Server) Calls(path string) int {
	name := normalizePath(path)
	if c, ok := s.calls[name]; ok {
		return int(c.Load())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.otherCalls[name]
}

// TokenRequests returns how many gettoken requests reached the server
// (the same as Calls("gettoken")).
func (s *Server) TokenRequests() int { return s.Calls(pathGetToken) }

// ExpireTokens makes every access token issued so far expired: using one
// fails with 42001. Tokens issued afterwards are valid.
func (s *Server) ExpireTokens() {
	s.expiredThrough.Store(s.tokenSeq.Load())
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/cgi-bin/")
	if !ok {
		http.Error(w, "kftest: unknown path", http.StatusNotFound)
		return
	}
	ep, known := endpoints[name]
	if known {
		s.calls[name].Add(1)
	} else {
		s.mu.Lock()
		s.otherCalls[name]++
		s.mu.Unlock()
	}
	if !known || s.slow.Load() {
		if s.intercept(w, r, name) {
			return
		}
	}
	if !known {
		http.Error(w, "kftest: unknown endpoint", http.StatusNotFound)
		return
	}
	ep(s, w, r)
}

// admit is the preamble of every API handler: the access token must be valid, and, when
// post is set, the method POST. It answers the error itself and reports false then.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, post bool) bool {
	if e := s.auth(r); e != nil {
		s.writeErr(w, e)
		return false
	}
	if post && r.Method != http.MethodPost {
		s.writeErr(w, errf(ErrCodeInvalidParameter, "POST method required"))
		return false
	}
	return true
}

// auth checks the access_token query parameter.
func (s *Server) auth(r *http.Request) *apiError {
	tok := r.URL.Query().Get("access_token")
	if tok == "" {
		return errf(ErrCodeAccessTokenMissing, "access_token missing")
	}
	ok, expired := s.checkAccessToken(tok, s.now())
	switch {
	case !ok:
		return errf(ErrCodeInvalidAccessToken, "invalid access_token")
	case expired:
		return errf(ErrCodeAccessTokenExpired, "access_token expired")
	}
	return nil
}

// handleGetToken serves GET /cgi-bin/gettoken?corpid=ID&corpsecret=SECRET.
// Every successful call issues a new token with the full TTL; earlier tokens
// stay valid until they expire.
func (s *Server) handleGetToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	corpID, secret := q.Get("corpid"), q.Get("corpsecret")
	switch {
	case corpID == "":
		s.writeErr(w, errf(ErrCodeCorpIDMissing, "corpid missing"))
		return
	case corpID != s.cfg.corpID:
		s.writeErr(w, errf(ErrCodeInvalidCorpID, "invalid corpid"))
		return
	case secret == "":
		s.writeErr(w, errf(ErrCodeSecretMissing, "corpsecret missing"))
		return
	case secret != s.cfg.secret:
		s.writeErr(w, errf(ErrCodeInvalidSecret, "invalid credential, access_token is invalid or not latest"))
		return
	}
	tok := s.newAccessToken(s.now())

	extra := make([]byte, 0, 96)
	extra = append(extra, `,"access_token":"`...)
	extra = append(extra, tok...)
	extra = append(extra, `","expires_in":`...)
	extra = strconv.AppendInt(extra, int64(s.cfg.tokenTTL/time.Second), 10)
	writeOK(w, extra)
}

// inProcess is the socket-less RoundTripper of Transport.
type inProcess struct{ s *Server }

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody := func() {
		if req.Body != nil {
			_ = req.Body.Close()
		}
	}
	if req.URL == nil {
		closeBody()
		return nil, errors.New("kftest: round trip: nil request URL")
	}
	if t.s.closed.Load() {
		closeBody()
		return nil, errors.New("kftest: round trip: server closed")
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody()
		return nil, err
	}
	sr := new(http.Request)
	*sr = *req
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	if sr.Header == nil {
		sr.Header = make(http.Header)
	}
	sr.RequestURI = req.URL.RequestURI()
	if sr.Host == "" {
		sr.Host = req.URL.Host
	}
	sr.RemoteAddr = "127.0.0.1:0"
	rec := &recorder{header: make(http.Header)}
	t.s.serveHTTP(rec, sr)
	closeBody()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	body := rec.buf.Bytes()
	rec.header.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		Status:        strconv.Itoa(rec.status) + " " + http.StatusText(rec.status),
		StatusCode:    rec.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}, nil
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.buf.Write(p)
}
