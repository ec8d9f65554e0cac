package kf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kfbot/kfbot/internal/backoff"
)

// maxResponseBytes caps how much of a response body is read. The largest
// legitimate answer, a sync_msg page of 1000 items, is far below it.
const maxResponseBytes = 8 << 20

// apiStatus is the errcode/errmsg pair every WeCom answer carries. Wire
// structs embed it; it never reaches the exported response types.
type apiStatus struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func (s *apiStatus) status() *apiStatus { return s }

// result is a wire struct that embeds apiStatus.
type result interface{ status() *apiStatus }

// call describes one API operation; do runs it with token handling and retries.
type call struct {
	op     string // e.g. "send_msg"; used in errors and logs
	method string
	path   string // below /cgi-bin/, e.g. "kf/send_msg"
	query  string // extra query parameters, already encoded; may be ""
	// body returns a fresh request body for each attempt with its length
	// (-1 if unknown) and content type. nil for no body.
	body func(ctx context.Context) (io.Reader, int64, string, error)
	// replayable reports whether body may be called again (false for an
	// upload from a reader that cannot be rewound).
	replayable bool
	// idempotent reports whether repeating a request that may have reached
	// WeCom is harmless.
	idempotent bool
	// json, if not nil, is the pooled JSON body (instead of body), read
	// through getBody, its GetBody.
	json    *reqBody
	getBody func() (io.ReadCloser, error)
	// header, if not "", is the request's Range header.
	header string
}

// streamer is a result that may take an answer's body over instead of having it
// decoded (media/get): take reports whether it did, and then owns resp.Body.
type streamer interface {
	take(resp *http.Response) bool
}

// doJSON encodes req (validated by the caller) into a pooled body and runs
// the call into out.
func (cl *Client) doJSON(ctx context.Context, op, path string, req any, idempotent bool, out result) error {
	b := newReqBody()
	defer b.end() // open readers keep the body until they are closed
	if err := b.encode(op, req); err != nil {
		return err
	}
	b.c = call{op: op, method: http.MethodPost, path: path, replayable: true, idempotent: idempotent, json: b, getBody: b.getBody()}
	return cl.do(ctx, &b.c, out)
}

// do runs c until it succeeds, fails permanently, exhausts the retry policy
// or ctx ends.
func (cl *Client) do(ctx context.Context, c *call, out result) error {
	if cl.cfgErr != nil {
		return fmt.Errorf("kf: %s: %w", c.op, cl.cfgErr)
	}
	p := cl.retry
	bo := backoff.New(p.BaseDelay, p.MaxDelay)
	refreshed := false
	failures := 0
	for attempt := 1; ; attempt++ {
		tok, sent, err := cl.attempt(ctx, c, attempt, out)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return err // the attempt was cut short by ctx; err matches ctx.Err()
		}
		if !c.replayable && sent {
			return err // the body is consumed and cannot be rewound
		}
		var ae *APIError
		if sent && errors.As(err, &ae) && TokenCode(ae.Code) {
			if refreshed {
				return err // a second rejection: do not loop
			}
			refreshed = true
			cl.logRefresh(ctx, c.op, ae.Code)
			cl.invalidate(tok)
			continue
		}
		failures++
		delay, retry := retryDelay(err, sent, c.idempotent, bo, p)
		if !retry || failures >= p.MaxAttempts {
			return err
		}
		cl.logRetry(ctx, c.op, attempt, delay, err)
		if werr := backoff.Sleep(ctx, delay); werr != nil {
			return fmt.Errorf("kf: %s: %w while waiting to retry after attempt %d; last error: %w", c.op, werr, attempt, err)
		}
	}
}

// TokenCode reports the bad-token errcodes (40014, 42001, 41001) the [Client] repairs.
func TokenCode(code int) bool {
	return code == 40014 || code == 42001 || code == 41001
}

// retryDelay decides whether err is worth another attempt and how long to
// wait first. sent is false when the failure happened while getting the
// token, so the API request itself was never made.
func retryDelay(err error, sent, idempotent bool, bo *backoff.Backoff, p RetryPolicy) (time.Duration, bool) {
	var (
		ae *APIError
		he *HTTPError
		te *transportError
	)
	switch {
	case errors.As(err, &ae):
		switch {
		case !RetryableCode(ae.Code):
			return 0, false
		case ae.Code == 45009: // the frequency limit
			return p.RateLimitDelay + bo.Next(), true
		}
		return bo.Next(), true
	case errors.As(err, &he):
		// WeCom may have processed the request behind a failing proxy.
		return bo.Next(), he.Retryable() && (idempotent || !sent)
	case errors.As(err, &te):
		return bo.Next(), idempotent || !sent || !te.sent
	}
	return 0, false
}

// attempt makes one HTTP exchange: token, request, response. It reports the
// token used and whether the API request was sent (false when getting the
// token failed).
func (cl *Client) attempt(ctx context.Context, c *call, n int, out result) (tok string, sent bool, err error) {
	tok, err = cl.token(ctx, c.op)
	if err != nil {
		return "", false, err
	}
	u := cl.urls.get(cl.baseURL, c.path, tok)
	if c.query != "" {
		u += "&" + c.query
	}
	var (
		body io.Reader
		size int64
		ct   string
	)
	switch {
	case c.json != nil:
		if body, err = c.getBody(); err != nil {
			return tok, false, fmt.Errorf("kf: %s: %w", c.op, err)
		}
		size, ct = int64(c.json.buf.Len()), "application/json"
	case c.body != nil:
		if body, size, ct, err = c.body(ctx); err != nil {
			return tok, false, fmt.Errorf("kf: %s: %w", c.op, err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, c.method, u, body)
	if err != nil {
		if cl, ok := body.(io.Closer); ok {
			_ = cl.Close()
		}
		return tok, false, fmt.Errorf("kf: %s: build request: %s", c.op, scrub(err.Error(), tok, string(cl.secret)))
	}
	if c.getBody != nil {
		req.GetBody = c.getBody
	}
	if c.header != "" {
		req.Header.Set("Range", c.header)
	}
	if body != nil {
		req.ContentLength = size
		if size < 0 {
			req.ContentLength = 0 // unknown: chunked
		}
		req.Header.Set("Content-Type", ct)
	}
	start := cl.now()
	status, err := cl.roundTrip(req, c.op, out, tok)
	cl.logCall(ctx, c.op, n, status, cl.now().Sub(start), err)
	return tok, true, err
}

// urlCache keeps the request URL of each API path for the current access
// token, so that a call does not build the same string again. It is
// replaced (copy on write) when the token changes or a path is added; the
// paths are the client's fixed set, so it stays small. It holds the token,
// like the token cache, and is never printed (the Client holds a pointer).
type urlCache struct {
	tok  string
	urls map[string]string // path → URL with ?access_token=
}

// apiURLs is a Client's urlCache, safe for concurrent use.
type apiURLs struct{ p atomic.Pointer[urlCache] }

// get returns base + "/cgi-bin/" + path + "?access_token=" + the escaped tok.
func (a *apiURLs) get(base, path, tok string) string {
	old := a.p.Load()
	if old != nil && old.tok == tok {
		if u, ok := old.urls[path]; ok {
			return u
		}
	}
	u := base + "/cgi-bin/" + path + "?access_token=" + url.QueryEscape(tok)
	next := &urlCache{tok: tok, urls: map[string]string{path: u}}
	if old != nil && old.tok == tok {
		maps.Copy(next.urls, old.urls)
		next.urls[path] = u
	}
	a.p.Store(next) // a concurrent Store may drop an entry: it is rebuilt next time
	return u
}

// fetchToken calls gettoken once; it is the built-in tokenCache's fetch.
func (cl *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	const op = "gettoken"
	u := cl.baseURL + "/cgi-bin/gettoken?corpid=" + url.QueryEscape(cl.corpID) +
		"&corpsecret=" + url.QueryEscape(string(cl.secret))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", 0, fmt.Errorf("kf: %s: build request: %s", op, scrub(err.Error(), string(cl.secret)))
	}
	var out struct {
		apiStatus
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	start := cl.now()
	status, err := cl.roundTrip(req, op, &out, "")
	cl.logCall(ctx, op, 1, status, cl.now().Sub(start), err)
	if err != nil {
		return "", 0, err
	}
	if out.AccessToken == "" {
		return "", 0, fmt.Errorf("kf: %s: %w: no access_token in the answer", op, ErrInvalidResponse)
	}
	return out.AccessToken, time.Duration(out.ExpiresIn) * time.Second, nil
}

// roundTrip sends req and decodes the answer into out. tok (may be "") and
// the secret are removed from every error text.
func (cl *Client) roundTrip(req *http.Request, op string, out result, tok string) (status int, err error) {
	resp, err := cl.hc.Do(req)
	if err != nil {
		return 0, newTransportError(op, err, !isDialError(err), tok, string(cl.secret))
	}
	if s, ok := out.(streamer); ok && s.take(resp) {
		return resp.StatusCode, nil
	}
	rb := readBufPool.Get().(*readBuf)
	defer func() {
		// Drain a little so the connection can be reused, then close.
		rb.lr = io.LimitedReader{R: resp.Body, N: 64 << 10}
		_, _ = io.Copy(io.Discard, &rb.lr)
		_ = resp.Body.Close()
		rb.release()
	}()
	return resp.StatusCode, decodeResponse(op, resp, rb, out, tok, string(cl.secret))
}

// readBuf is a pooled buffer for answer bodies, with the limited reader that
// fills it, so that reading an answer allocates nothing once warm.
type readBuf struct {
	buf bytes.Buffer
	lr  io.LimitedReader
}

var readBufPool = sync.Pool{New: func() any { return new(readBuf) }}

// release returns rb to the pool, unless its buffer has grown huge.
func (rb *readBuf) release() {
	rb.lr = io.LimitedReader{}
	if rb.buf.Cap() <= 256<<10 { // do not keep huge buffers alive
		rb.buf.Reset()
		readBufPool.Put(rb)
	}
}

// decodeResponse reads at most maxResponseBytes of resp into rb and decodes
// it into out, turning a non-zero errcode into *APIError and other failures
// into *HTTPError, *transportError or ErrInvalidResponse. Nothing decoded
// into out refers to rb.
func decodeResponse(op string, resp *http.Response, rb *readBuf, out result, secrets ...string) error {
	rb.buf.Reset()
	rb.lr = io.LimitedReader{R: resp.Body, N: maxResponseBytes + 1}
	n, err := rb.buf.ReadFrom(&rb.lr)
	if err != nil {
		return newTransportError(op, fmt.Errorf("read response: %w", err), true, secrets...)
	}
	if n > maxResponseBytes {
		return fmt.Errorf("kf: %s: %w: body larger than %d MiB", op, ErrInvalidResponse, maxResponseBytes>>20)
	}
	return decodeBody(op, resp.StatusCode, resp.Status, resp.Header.Get("Content-Type"), rb.buf.Bytes(), out, secrets...)
}

// decodeBody is the pure part of decodeResponse (fuzzed).
func decodeBody(op string, code int, statusLine, contentType string, data []byte, out result, secrets ...string) error {
	if code < 200 || code > 299 {
		// A gateway may still relay a WeCom JSON error.
		var st apiStatus
		if json.Unmarshal(data, &st) == nil && st.ErrCode != 0 {
			return &APIError{Op: op, Code: st.ErrCode, Message: scrub(st.ErrMsg, secrets...)}
		}
		if statusLine == "" {
			statusLine = fmt.Sprintf("%d %s", code, http.StatusText(code))
		}
		return &HTTPError{Op: op, StatusCode: code, Status: statusLine}
	}
	st := out.status()
	*st = apiStatus{}
	var target any = out
	if fd, ok := out.(fastDecoder); ok {
		if fd.decodeFast(data) {
			if st.ErrCode != 0 {
				return &APIError{Op: op, Code: st.ErrCode, Message: scrub(st.ErrMsg, secrets...)}
			}
			return nil
		}
		target = fd.jsonTarget()
	}
	if err := json.Unmarshal(data, target); err != nil {
		var only apiStatus
		if json.Unmarshal(data, &only) == nil && only.ErrCode != 0 {
			return &APIError{Op: op, Code: only.ErrCode, Message: scrub(only.ErrMsg, secrets...)}
		}
		return fmt.Errorf("kf: %s: %w (HTTP %d, Content-Type %q): %s", op, ErrInvalidResponse, code, contentType, scrub(err.Error(), secrets...))
	}
	if st.ErrCode != 0 {
		return &APIError{Op: op, Code: st.ErrCode, Message: scrub(st.ErrMsg, secrets...)}
	}
	return nil
}

// transportError is a failure to exchange HTTP with WeCom (connection,
// timeout, reading the body). Its text has the token and secret removed; the
// wrapped *url.Error has them removed from its URL.
type transportError struct {
	msg  string
	err  error
	sent bool // whether the request may have reached WeCom
}

func (e *transportError) Error() string { return e.msg }
func (e *transportError) Unwrap() error { return e.err }

func newTransportError(op string, err error, sent bool, secrets ...string) *transportError {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = redactURL(ue.URL)
	}
	return &transportError{msg: "kf: " + op + ": " + scrub(err.Error(), secrets...), err: err, sent: sent}
}

// isDialError reports a failure to connect, after which the request
// certainly did not reach the server.
func isDialError(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial"
}

// redactURL replaces the values of access_token and corpsecret in a URL.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if i := strings.IndexByte(raw, '?'); i >= 0 {
			return raw[:i] + "?REDACTED"
		}
		return raw
	}
	q := u.Query()
	changed := false
	for _, k := range [...]string{"access_token", "corpsecret"} {
		if q.Has(k) {
			q.Set(k, redacted)
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// scrub replaces the occurrences of each non-empty secret in s with REDACTED,
// also of its query-escaped form. A secret of at least minScrubAnywhere bytes
// (real secrets and tokens are far longer) is replaced wherever it stands, so
// it never leaks glued to other text. A shorter one is replaced only where it
// is whole, not part of a longer run of ID characters (see [isIDByte]): "abc"
// is replaced in "corpsecret=abc&x" or "secret abc." but leaves the corp ID
// "ww0123abcdef" and an earlier REDACTED alone.
func scrub(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec == "" {
			continue
		}
		s = replaceSecret(s, sec)
		if esc := url.QueryEscape(sec); esc != sec {
			s = replaceSecret(s, esc)
		}
	}
	return s
}

// minScrubAnywhere is the length from which scrub replaces a secret inside other text.
const minScrubAnywhere = 8

func replaceSecret(s, sec string) string {
	if len(sec) >= minScrubAnywhere {
		return strings.ReplaceAll(s, sec, redacted)
	}
	return replaceWhole(s, sec)
}

// replaceWhole replaces the whole occurrences of v in s with REDACTED. A side
// of v that ends in an ID byte must border a non-ID byte or the end of s; a
// side that ends in another byte (v = "/x") needs no border.
func replaceWhole(s, v string) string {
	var b strings.Builder
	done := 0 // s[:done] is decided
	for from := 0; ; {
		i := strings.Index(s[from:], v)
		if i < 0 {
			break
		}
		i += from
		j := i + len(v)
		before := i == 0 || !isIDByte(v[0]) || !isIDByte(s[i-1])
		after := j == len(s) || !isIDByte(v[len(v)-1]) || !isIDByte(s[j])
		if !before || !after {
			from = i + 1
			continue
		}
		b.WriteString(s[done:i])
		b.WriteString(redacted)
		done, from = j, j
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// isIDByte reports the bytes that make up WeCom IDs, secrets and tokens
// (ASCII letters, digits, '-' and '_'): a secret is only replaced where it is
// not glued to more of them.
func isIDByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}
