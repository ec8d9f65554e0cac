package middleware_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/bot/middleware"
	"github.com/kfbot/kfbot/kf/syncmsg"
)

// record is one captured log record with its attributes, including those added with
// Logger.With, flattened by key.
type record struct {
	Level slog.Level
	Msg   string
	Attrs map[string]slog.Value
}

// captureHandler is a slog.Handler that keeps every record at or above min.
type captureHandler struct {
	min   slog.Level
	attrs []slog.Attr
	mu    *sync.Mutex
	recs  *[]record
}

func newCapture(min slog.Level) *captureHandler {
	return &captureHandler{min: min, mu: new(sync.Mutex), recs: new([]record)}
}

func (h *captureHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.min }

func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	rec := record{Level: r.Level, Msg: r.Message, Attrs: make(map[string]slog.Value)}
	for _, a := range h.attrs {
		rec.Attrs[a.Key] = a.Value.Resolve()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.Attrs[a.Key] = a.Value.Resolve()
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.recs = append(*h.recs, rec)
	return nil
}

func (h *captureHandler) WithAttrs(as []slog.Attr) slog.Handler {
	h2 := *h
	h2.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &h2
}

func (h *captureHandler) WithGroup(string) slog.Handler { return h }

// records returns the captured records whose message is msg.
func (h *captureHandler) records(msg string) []record {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []record
	for _, r := range *h.recs {
		if r.Msg == msg {
			out = append(out, r)
		}
	}
	return out
}

const handledMsg = "message handled"

func TestLogger(t *testing.T) {
	t0 := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	const took = 1500 * time.Millisecond
	tests := []struct {
		name      string
		cfg       middleware.LoggerConfig // Now is set by the test
		min       slog.Level              // the handler's minimum level
		msg       func() syncmsg.Message
		fail      bool // the handler returns errBoom
		wantLevel slog.Level
		wantNone  bool // no record: the level is disabled
		wantAttrs map[string]any
	}{
		{
			name: "defaults: a text at Info", cfg: middleware.DefaultLoggerConfig(),
			msg:       func() syncmsg.Message { return text(testKF, customer, "m-text", "hi") },
			wantLevel: slog.LevelInfo,
			wantAttrs: map[string]any{bot.LogKeyMsgType: "text", "origin": int64(3), bot.LogKeyMsgID: "m-text",
				bot.LogKeyOpenKFID: testKF, bot.LogKeyExternalUserID: customer},
		},
		{
			name: "defaults: an error switches to Warn and is attached", cfg: middleware.DefaultLoggerConfig(),
			msg: func() syncmsg.Message { return text(testKF, customer, "", "hi") }, fail: true,
			wantLevel: slog.LevelWarn,
		},
		{
			name: "zero config behaves as the defaults", cfg: middleware.LoggerConfig{},
			msg: func() syncmsg.Message { return text(testKF, customer, "", "hi") }, fail: true,
			wantLevel: slog.LevelWarn,
		},
		{
			name: "an event carries its event type", cfg: middleware.DefaultLoggerConfig(),
			msg:       func() syncmsg.Message { return enterSession(testKF, customer) },
			wantLevel: slog.LevelInfo,
			wantAttrs: map[string]any{bot.LogKeyMsgType: "event", bot.LogKeyEventType: "enter_session", "origin": int64(4)},
		},
		{
			name: "custom levels", cfg: middleware.LoggerConfig{Level: slog.LevelDebug, ErrorLevel: slog.LevelError},
			min: slog.LevelDebug, msg: func() syncmsg.Message { return text(testKF, customer, "", "hi") },
			wantLevel: slog.LevelDebug,
		},
		{
			name: "custom levels, error", cfg: middleware.LoggerConfig{Level: slog.LevelDebug, ErrorLevel: slog.LevelError},
			min: slog.LevelDebug, msg: func() syncmsg.Message { return text(testKF, customer, "", "hi") }, fail: true,
			wantLevel: slog.LevelError,
		},
		{
			name: "an error is never logged below the success level", cfg: middleware.LoggerConfig{Level: slog.LevelWarn},
			msg: func() syncmsg.Message { return text(testKF, customer, "", "hi") }, fail: true,
			wantLevel: slog.LevelWarn,
		},
		{
			name: "a disabled level logs nothing", cfg: middleware.LoggerConfig{Level: slog.LevelDebug, ErrorLevel: slog.LevelWarn},
			min: slog.LevelInfo, msg: func() syncmsg.Message { return text(testKF, customer, "", "hi") },
			wantNone: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock(t0)
			cfg := tt.cfg
			cfg.Now = clk.Now
			capture := newCapture(tt.min)
			b := newBot(t, offlineClient(), nil, bot.WithLogger(slog.New(capture)))
			b.Use(middleware.Logger(cfg))
			b.HandleDefault(func(*bot.Context) error {
				clk.Advance(took)
				if tt.fail {
					return errBoom
				}
				return nil
			})

			m := tt.msg()
			err := dispatch(t, b, m)
			if tt.fail {
				require.ErrorIs(t, err, errBoom, "the logger returns the handler's error")
			} else {
				require.NoError(t, err)
			}
			recs := capture.records(handledMsg)
			if tt.wantNone {
				assert.Empty(t, recs)
				return
			}
			require.Len(t, recs, 1, "one record per message")
			rec := recs[0]
			assert.Equal(t, tt.wantLevel, rec.Level)
			require.Contains(t, rec.Attrs, bot.LogKeyDuration)
			assert.Equal(t, took, rec.Attrs[bot.LogKeyDuration].Duration())
			assert.Equal(t, m.Head().MsgID, rec.Attrs[bot.LogKeyMsgID].String(), "tagged by the engine's Context.Logger")
			if tt.fail {
				require.Contains(t, rec.Attrs, bot.LogKeyError)
				assert.Equal(t, errBoom, rec.Attrs[bot.LogKeyError].Any())
			} else {
				assert.NotContains(t, rec.Attrs, bot.LogKeyError)
			}
			if m.Head().EventType == "" {
				assert.NotContains(t, rec.Attrs, bot.LogKeyEventType)
			}
			for k, want := range tt.wantAttrs {
				require.Contains(t, rec.Attrs, k)
				assert.Equal(t, want, rec.Attrs[k].Any(), "attr %s", k)
			}
		})
	}
}

func TestLoggerOneRecordPerMessage(t *testing.T) {
	capture := newCapture(slog.LevelInfo)
	b := newBot(t, offlineClient(), nil, bot.WithLogger(slog.New(capture)))
	b.Use(middleware.Logger(middleware.DefaultLoggerConfig()))
	b.Handle(bot.Text("fail"), func(*bot.Context) error { return errBoom })
	b.HandleDefault(func(*bot.Context) error { return nil })

	msgs := []syncmsg.Message{
		text(testKF, customer, "", "hi"),
		text(testKF, "wmOther", "", "fail"),
		enterSession(testKF, customer),
		servicerStatus(testKF),
		servicerText(testKF, customer),
	}
	for _, m := range msgs {
		_ = dispatch(t, b, m)
	}
	recs := capture.records(handledMsg)
	require.Len(t, recs, len(msgs))
	for i, m := range msgs {
		assert.Equal(t, m.Head().MsgID, recs[i].Attrs[bot.LogKeyMsgID].String())
	}
	assert.Equal(t, slog.LevelWarn, recs[1].Level)

	// A message dispatched again is skipped by the engine before any middleware.
	require.NoError(t, dispatch(t, b, msgs[0]))
	assert.Len(t, capture.records(handledMsg), len(msgs))
}
