// Package middleware holds kfbot's built-in middlewares: Recover, Logger, RateLimit,
// Allow/Block lists and BusinessHours. Each takes a XxxConfig (with a DefaultXxxConfig)
// so the kfbot binary can build it from YAML, and returns a [bot.Middleware]:
//
//	b.Use(middleware.Logger(middleware.DefaultLoggerConfig()))
//	b.Use(middleware.RateLimit(middleware.RateLimitConfig{Every: 2 * time.Second, Burst: 3}))
//
// The engine already recovers handler panics; [Recover] exists for custom recovery. For
// metrics, pass a [bot.Observer] to [bot.WithObserver]: it sees pulls, messages, replies
// and handler latency.
package middleware
