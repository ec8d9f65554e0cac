package badgerstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// Log attribute keys.
const (
	keyComponent = "component"
	keyDir       = "dir"
	keyErr       = "err"
	keyOp        = "op"
	keyDuration  = "duration"
	keyRewritten = "rewritten"
	keyFiles     = "files"
)

// badgerLogger adapts Badger's Logger to slog, keeping only warnings and errors: Badger
// logs every open, compaction and flush at Info.
type badgerLogger struct{ log *slog.Logger }

func (b badgerLogger) Errorf(format string, args ...any) { b.logf(slog.LevelError, format, args) }
func (b badgerLogger) Warningf(format string, args ...any) {
	b.logf(slog.LevelWarn, format, args)
}
func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}

func (b badgerLogger) logf(level slog.Level, format string, args []any) {
	ctx := context.Background()
	if !b.log.Enabled(ctx, level) {
		return
	}
	b.log.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(format, args...)))
}
