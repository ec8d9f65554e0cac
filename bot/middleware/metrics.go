package middleware

import (
	"time"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf/syncmsg"
)

// Observation describes one message that went through the [Metrics] middleware.
type Observation struct {
	MsgType   syncmsg.MsgType
	EventType syncmsg.EventType
	Origin    syncmsg.Origin
	OpenKFID  string
	Duration  time.Duration
	Err       error
}

// Metrics calls observe after every message with its type, how long the rest of the
// chain took and its error. observe must be fast and safe for concurrent use; it is the
// hook for Prometheus or any other metrics system.
func Metrics(observe func(Observation)) bot.Middleware {
	if observe == nil {
		panic("middleware: Metrics: nil observe function")
	}
	return func(next bot.HandlerFunc) bot.HandlerFunc {
		return func(c *bot.Context) error {
			start := time.Now()
			err := next(c)
			h := c.Header()
			observe(Observation{MsgType: h.MsgType, EventType: h.EventType, Origin: h.Origin,
				OpenKFID: h.OpenKFID, Duration: time.Since(start), Err: err})
			return err
		}
	}
}
