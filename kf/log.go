package kf

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Attribute keys used in the client's log records.
const (
	keyOp       = "op"
	keyAttempt  = "attempt"
	keyErrCode  = "errcode"
	keyStatus   = "status"
	keyDuration = "duration"
	keyDelay    = "delay"
	keyError    = "error"
)

// logCall writes the Debug record of one HTTP exchange. err is already
// redacted; bodies and URLs are never logged.
func (cl *Client) logCall(ctx context.Context, op string, attempt, status int, d time.Duration, err error) {
	l := cl.log()
	if !l.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := make([]slog.Attr, 0, 6)
	attrs = append(attrs, slog.String(keyOp, op), slog.Int(keyAttempt, attempt))
	if status != 0 {
		attrs = append(attrs, slog.Int(keyStatus, status))
	}
	var ae *APIError
	switch {
	case err == nil:
		attrs = append(attrs, slog.Int(keyErrCode, 0))
	case errors.As(err, &ae):
		attrs = append(attrs, slog.Int(keyErrCode, ae.Code))
	default:
		attrs = append(attrs, slog.String(keyError, err.Error()))
	}
	attrs = append(attrs, slog.Duration(keyDuration, d))
	l.LogAttrs(ctx, slog.LevelDebug, "kf: api call", attrs...)
}

// logRetry writes the Warn record before a retry.
func (cl *Client) logRetry(ctx context.Context, op string, attempt int, delay time.Duration, err error) {
	cl.log().LogAttrs(ctx, slog.LevelWarn, "kf: api call failed, retrying",
		slog.String(keyOp, op), slog.Int(keyAttempt, attempt),
		slog.Duration(keyDelay, delay), slog.String(keyError, err.Error()))
}

// logRefresh writes the Warn record when a rejected token is refreshed.
func (cl *Client) logRefresh(ctx context.Context, op string, code int) {
	cl.log().LogAttrs(ctx, slog.LevelWarn, "kf: access token rejected, refreshing and retrying once",
		slog.String(keyOp, op), slog.Int(keyErrCode, code))
}
