package middleware

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf/syncmsg"
)

// RateLimitConfig configures [RateLimit].
type RateLimitConfig struct {
	// Every is the time in which one message per customer is let through on average.
	// Default: 1 second.
	Every time.Duration
	// Burst is how many messages a customer may send at once before the limit bites.
	// Default: 5.
	Burst int
	// OnLimited handles a message over the limit. Default: drop it silently (the message is
	// still marked processed).
	OnLimited bot.HandlerFunc
	// IdleTTL is how long a customer's limiter is kept after its last message. Default: 10
	// minutes.
	IdleTTL time.Duration
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// DefaultRateLimitConfig returns the defaults of [RateLimitConfig].
func DefaultRateLimitConfig() RateLimitConfig {
	return RateLimitConfig{Every: time.Second, Burst: 5, IdleTTL: 10 * time.Minute, Now: time.Now}
}

// RateLimit lets each customer (open_kfid + external_userid) through at most one message
// per Every on average, with bursts of Burst; messages over the limit go to OnLimited.
// Only messages the customer sent (origin 3) are counted and limited: events and servicer
// messages pass untouched and use none of the customer's allowance. Idle limiters are evicted, so memory
// stays bounded by the customers active within IdleTTL.
func RateLimit(cfg RateLimitConfig) bot.Middleware {
	d := DefaultRateLimitConfig()
	if cfg.Every <= 0 {
		cfg.Every = d.Every
	}
	if cfg.Burst <= 0 {
		cfg.Burst = d.Burst
	}
	if cfg.IdleTTL <= 0 {
		cfg.IdleTTL = d.IdleTTL
	}
	if cfg.Now == nil {
		cfg.Now = d.Now
	}
	l := &limiters{cfg: cfg, m: make(map[string]*limiter)}
	return func(next bot.HandlerFunc) bot.HandlerFunc {
		return func(c *bot.Context) error {
			user := c.ExternalUserID()
			if user == "" || c.Header().Origin != syncmsg.OriginCustomer {
				return next(c)
			}
			if l.allow(c.OpenKFID() + "\x00" + user) {
				return next(c)
			}
			c.Logger().Info("rate limit: message over the per-customer limit")
			if cfg.OnLimited != nil {
				return cfg.OnLimited(c)
			}
			return nil
		}
	}
}

type limiter struct {
	lim  *rate.Limiter
	last time.Time
}

type limiters struct {
	cfg       RateLimitConfig
	mu        sync.Mutex
	m         map[string]*limiter
	lastSweep time.Time
}

func (l *limiters) allow(key string) bool {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > l.cfg.IdleTTL {
		for k, v := range l.m {
			if now.Sub(v.last) > l.cfg.IdleTTL {
				delete(l.m, k)
			}
		}
		l.lastSweep = now
	}
	x := l.m[key]
	if x == nil {
		x = &limiter{lim: rate.NewLimiter(rate.Every(l.cfg.Every), l.cfg.Burst)}
		l.m[key] = x
	}
	x.last = now
	return x.lim.AllowN(now, 1)
}
