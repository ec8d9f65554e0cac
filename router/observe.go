package router

import (
	"log/slog"
	"net/http"
)

// observer wraps the whole mux so that logging and Config.Observe see every answer,
// 404 and 405 included.
type observer struct {
	next http.Handler
	cfg  Config
}

func (o *observer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := o.cfg.Now()
	rec := &recorder{ResponseWriter: w}
	o.next.ServeHTTP(rec, r)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	d := o.cfg.Now().Sub(start)
	if o.cfg.Logger.Enabled(r.Context(), slog.LevelDebug) {
		o.cfg.Logger.LogAttrs(r.Context(), slog.LevelDebug, "http request",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.String("result", string(rec.result)),
			slog.Duration("duration", d))
	}
	if o.cfg.Observe != nil {
		o.cfg.Observe(Observation{Method: r.Method, Path: r.URL.Path, Status: rec.status, Result: rec.result, Duration: d})
	}
}

// recorder captures the status code and the result a handler set.
type recorder struct {
	http.ResponseWriter
	status int
	result Result
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// setResult records how the request ended, when w is the observer's recorder.
func setResult(w http.ResponseWriter, res Result) {
	if rec, ok := w.(*recorder); ok {
		rec.result = res
	}
}

// markResult sets res before calling h.
func markResult(res Result, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setResult(w, res)
		h.ServeHTTP(w, r)
	})
}
