package router

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/kfbot/kfbot/internal/netlimit"
)

// Defaults of [ServerConfig], used by [NewServer] for zero fields. They are sized for
// WeCom callbacks (a few hundred bytes, answered at once) and health checks.
const (
	// DefaultReadHeaderTimeout bounds how long a client may take to send the request
	// line and headers.
	DefaultReadHeaderTimeout = 5 * time.Second
	// DefaultReadTimeout bounds how long a client may take to send the whole request,
	// body included: a body trickled a byte at a time is cut off after it.
	DefaultReadTimeout = 10 * time.Second
	// DefaultWriteTimeout bounds how long writing a response may take.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultIdleTimeout is how long an idle keep-alive connection stays open.
	DefaultIdleTimeout = 2 * time.Minute
	// DefaultMaxHeaderBytes caps the request line and headers; larger ones are answered
	// 431. Real callbacks carry well under 1 KiB.
	DefaultMaxHeaderBytes = 16 << 10
	// DefaultMaxConns bounds the connections served at once.
	DefaultMaxConns = 1024
	// DefaultEvictAfter: when MaxConns connections are open, a new one closes the oldest
	// if it has been open this long (a real callback takes milliseconds), so a crowd of
	// slow clients cannot keep real callbacks waiting.
	DefaultEvictAfter = time.Second
)

// ServerConfig configures [NewServer] and [LimitListener]. Every zero field takes its default;
// a negative duration turns that timeout off (not recommended on a public address).
type ServerConfig struct {
	// ReadHeaderTimeout: see [DefaultReadHeaderTimeout].
	ReadHeaderTimeout time.Duration
	// ReadTimeout: see [DefaultReadTimeout].
	ReadTimeout time.Duration
	// WriteTimeout: see [DefaultWriteTimeout].
	WriteTimeout time.Duration
	// IdleTimeout: see [DefaultIdleTimeout].
	IdleTimeout time.Duration
	// MaxHeaderBytes: see [DefaultMaxHeaderBytes].
	MaxHeaderBytes int
	// MaxConns: see [DefaultMaxConns]. Used by [LimitListener], not by NewServer.
	MaxConns int
	// EvictAfter: see [DefaultEvictAfter]; negative never evicts (new connections wait
	// for one to close). Used by [LimitListener], not by NewServer.
	EvictAfter time.Duration
	// Logger receives the server's own errors (TLS handshakes, accept errors) at Warn.
	// Default: slog.Default().
	Logger *slog.Logger
}

func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0 // net/http: zero means no timeout
	}
	return d
}

// NewServer returns an *http.Server for h hardened against slow and oversized clients:
// header and whole-request read deadlines, a write deadline, an idle timeout and a header
// size cap. Serve it on a listener from [LimitListener] to bound the connections as well:
//
//	srv := router.NewServer(h, router.ServerConfig{})
//	ln, err := net.Listen("tcp", ":8080")
//	if err != nil { ... }
//	err = srv.Serve(router.LimitListener(ln, router.ServerConfig{}))
//	if !errors.Is(err, http.ErrServerClosed) { ... }
func NewServer(h http.Handler, sc ServerConfig) *http.Server {
	logger := sc.Logger
	if logger == nil {
		logger = slog.Default()
	}
	maxHeader := sc.MaxHeaderBytes
	if maxHeader <= 0 {
		maxHeader = DefaultMaxHeaderBytes
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: orDefault(sc.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       orDefault(sc.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      orDefault(sc.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       orDefault(sc.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    maxHeader,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// LimitListener returns ln holding at most sc.MaxConns connections at once. When that
// many are open, accepting a new one closes the oldest if it has been open for
// sc.EvictAfter, else waits (the kernel's accept queue holds new connections meanwhile).
func LimitListener(ln net.Listener, sc ServerConfig) net.Listener {
	n := sc.MaxConns
	if n <= 0 {
		n = DefaultMaxConns
	}
	return netlimit.Listener(ln, n, orDefault(sc.EvictAfter, DefaultEvictAfter))
}
