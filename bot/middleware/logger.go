package middleware

import (
	"log/slog"
	"time"

	"github.com/kfbot/kfbot/bot"
)

// LoggerConfig configures [Logger].
type LoggerConfig struct {
	// Level is the level of the line logged for every message. Default: slog.LevelInfo.
	Level slog.Level
	// ErrorLevel is the level used when the handler returned an error; it is never lower
	// than Level. Default (when Level and ErrorLevel are both left zero): slog.LevelWarn (the
	// engine's error handler logs the error itself at Error).
	ErrorLevel slog.Level
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// DefaultLoggerConfig returns the defaults of [LoggerConfig].
func DefaultLoggerConfig() LoggerConfig {
	return LoggerConfig{Level: slog.LevelInfo, ErrorLevel: slog.LevelWarn, Now: time.Now}
}

// Logger logs one line per message through [bot.Context.Logger] (tagged with msgid,
// open_kfid and external_userid): msgtype, event type, origin, duration and error.
func Logger(cfg LoggerConfig) bot.Middleware {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ErrorLevel == 0 && cfg.Level == 0 {
		cfg.ErrorLevel = slog.LevelWarn
	}
	cfg.ErrorLevel = max(cfg.ErrorLevel, cfg.Level) // an error is never quieter than success
	return func(next bot.HandlerFunc) bot.HandlerFunc {
		return func(c *bot.Context) error {
			start := cfg.Now()
			err := next(c)
			level := cfg.Level
			if err != nil {
				level = cfg.ErrorLevel
			}
			log := c.Logger()
			if !log.Enabled(c.Context(), level) {
				return err
			}
			h := c.Header()
			attrs := []slog.Attr{
				slog.String(bot.LogKeyMsgType, string(h.MsgType)),
				slog.Int("origin", int(h.Origin)),
				slog.Duration(bot.LogKeyDuration, cfg.Now().Sub(start)),
			}
			if h.EventType != "" {
				attrs = append(attrs, slog.String(bot.LogKeyEventType, string(h.EventType)))
			}
			if err != nil {
				attrs = append(attrs, slog.Any(bot.LogKeyError, err))
			}
			log.LogAttrs(c.Context(), level, "message handled", attrs...)
			return err
		}
	}
}
