package aitest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// Transport returns an http.RoundTripper that serves each request in
// process, without sockets — usable inside a testing/synctest bubble, where
// the server's latency and chunk delays then run on the fake clock. It
// ignores the scheme and host, so a client may keep any base URL (see
// [Server.BaseURL]).
//
// The handler runs on a goroutine of its own and the response body is a
// pipe: a stream's chunks reach the client as the server writes them, not
// at the end. Closing the body, cancelling the request's context or closing
// the server ends the handler. The caller must close the body, as with any
// HTTP response.
func (s *Server) Transport() http.RoundTripper { return inProcess{s} }

type inProcess struct{ s *Server }

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	closeBody := func() {
		if req.Body != nil {
			_ = req.Body.Close()
		}
	}
	if req.URL == nil {
		closeBody()
		return nil, errors.New("aitest: round trip: nil request URL")
	}
	if t.s.closed.Load() {
		closeBody()
		return nil, errors.New("aitest: round trip: server closed")
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody()
		return nil, err
	}
	sr := req.Clone(ctx)
	if sr.Body == nil {
		sr.Body = http.NoBody
	}
	sr.RequestURI = req.URL.RequestURI()
	if sr.Host == "" {
		sr.Host = req.URL.Host
	}
	sr.RemoteAddr = "127.0.0.1:0"

	pr, pw := io.Pipe()
	w := &pipeWriter{header: make(http.Header), pw: pw, ctx: ctx, ready: make(chan struct{})}
	go func() {
		defer func() {
			closeBody()
			w.finish()
		}()
		t.s.serveHTTP(w, sr)
	}()
	select {
	case <-w.ready:
	case <-ctx.Done():
		_ = pr.CloseWithError(ctx.Err())
		return nil, ctx.Err()
	}
	// A cancelled context fails the body's reads with its error (as
	// net/http's transport does) and the handler's writes.
	stop := context.AfterFunc(ctx, func() { _ = pw.CloseWithError(ctx.Err()) })
	return &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sent,
		Body:          &pipeBody{pr: pr, stop: stop},
		ContentLength: contentLength(w.sent),
		Request:       req,
	}, nil
}

func contentLength(h http.Header) int64 {
	if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
		return n
	}
	return -1
}

// pipeWriter is the http.ResponseWriter of an in-process request: the
// status and a copy of the headers are published on ready, the body goes
// through the pipe.
type pipeWriter struct {
	header http.Header
	sent   http.Header
	status int
	pw     *io.PipeWriter
	ctx    context.Context
	once   sync.Once
	ready  chan struct{}
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(code int) {
	w.once.Do(func() {
		w.status = code
		w.sent = w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(p)
}

// Flush publishes the status; the pipe itself does not buffer.
func (w *pipeWriter) Flush() { w.WriteHeader(http.StatusOK) }

// finish ends the body: at EOF, or with the context's error when the
// handler ended because the request was cancelled.
func (w *pipeWriter) finish() {
	w.WriteHeader(http.StatusOK)
	_ = w.pw.CloseWithError(w.ctx.Err())
}

// pipeBody is the response body: closing it ends the handler's writes.
type pipeBody struct {
	pr   *io.PipeReader
	stop func() bool
}

func (b *pipeBody) Read(p []byte) (int, error) { return b.pr.Read(p) }

func (b *pipeBody) Close() error {
	b.stop()
	return b.pr.Close()
}
