package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/kfbot/kfbot/router"
)

// adminServer is the optional second listener of `kfbot run` (KFBOT_ADMIN_LISTEN): it
// serves /metrics, /healthz, /readyz and, with KFBOT_PPROF, /debug/pprof/, so that none of
// them needs to be on the public callback address. A nil *adminServer does nothing.
type adminServer struct {
	srv *http.Server
	ln  net.Listener
}

// adminWriteTimeout leaves room for pprof's 30-second CPU profile and trace.
const adminWriteTimeout = 90 * time.Second

// listenAdmin binds cfg.AdminListen and builds its handler; it serves nothing yet.
func listenAdmin(cfg Config, metrics http.Handler, ready func(context.Context) error, logger *slog.Logger) (*adminServer, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", router.BearerAuth(cfg.MetricsToken, metrics))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := ready(r.Context()); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	ln, err := net.Listen("tcp", cfg.AdminListen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (KFBOT_ADMIN_LISTEN, -admin-listen): %w", cfg.AdminListen, err)
	}
	logger.Info("kfbot: admin listening", "addr", ln.Addr().String(), "pprof", cfg.Pprof, "metrics_token", cfg.MetricsToken != "")
	sc := router.ServerConfig{Logger: logger, WriteTimeout: adminWriteTimeout}
	return &adminServer{srv: router.NewServer(mux, sc), ln: router.LimitListener(ln, sc)}, nil
}

// serve starts serving; the channel receives the error that ends it (never after a
// shutdown). A nil a returns a channel that never receives.
func (a *adminServer) serve() <-chan error {
	errc := make(chan error, 1)
	if a == nil {
		return errc
	}
	go func() {
		if err := a.srv.Serve(a.ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	return errc
}

// close releases the listener of a server that never served.
func (a *adminServer) close() {
	if a != nil {
		a.ln.Close()
	}
}

// shutdown stops a served admin server gracefully.
func (a *adminServer) shutdown(ctx context.Context, logger *slog.Logger) {
	if a == nil {
		return
	}
	if err := a.srv.Shutdown(ctx); err != nil {
		logger.Warn("kfbot: admin http shutdown", "err", err)
	}
}
