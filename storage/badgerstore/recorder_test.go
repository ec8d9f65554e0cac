package badgerstore_test

import (
	"context"
	"log/slog"
	"sync"
)

type record struct {
	level     slog.Level
	msg       string
	component string
}

// recorder is a slog.Handler that keeps records, enabled at every level.
type recorder struct {
	mu      sync.Mutex
	records []record
	attrs   []slog.Attr
	parent  *recorder
}

func (h *recorder) root() *recorder {
	if h.parent != nil {
		return h.parent.root()
	}
	return h
}

func (h *recorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *recorder) Handle(_ context.Context, r slog.Record) error {
	rec := record{level: r.Level, msg: r.Message}
	for _, a := range h.attrs {
		if a.Key == "component" {
			rec.component = a.Value.String()
		}
	}
	root := h.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	root.records = append(root.records, rec)
	return nil
}

func (h *recorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &recorder{attrs: append(append([]slog.Attr{}, h.attrs...), attrs...), parent: h.root()}
}

func (h *recorder) WithGroup(string) slog.Handler { return h }

func (h *recorder) all() []record {
	root := h.root()
	root.mu.Lock()
	defer root.mu.Unlock()
	return append([]record(nil), root.records...)
}
