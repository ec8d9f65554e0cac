package kf

import (
	"log/slog"
	"net/http"
	"time"
)

// DefaultBaseURL is the WeCom API origin used unless [WithBaseURL] is given.
const DefaultBaseURL = "https://qyapi.weixin.qq.com"

// DefaultTokenRefreshMargin is how long before its expiry a cached access
// token is refreshed (WeCom tokens live 7200 s; SDKs use 200–300 s margins).
const DefaultTokenRefreshMargin = 5 * time.Minute

// DefaultHTTPTimeout is the Timeout of the *http.Client used unless
// [WithHTTPClient] is given. It bounds one HTTP exchange, including the body
// of a [Client.UploadMedia]; give your own client for large uploads on slow
// links.
const DefaultHTTPTimeout = 30 * time.Second

// tokenFetchTimeout bounds one gettoken request. The fetch runs detached from
// the caller's ctx (see tokenCache), so it needs its own bound.
const tokenFetchTimeout = 15 * time.Second

// Option configures a [Client] in [NewClient].
type Option func(*Client)

// WithBaseURL sets the API origin, e.g. the URL of a kftest fake server.
// "/cgi-bin/<path>" is appended to it. Default [DefaultBaseURL]. An invalid
// URL makes every call fail with an error that says so.
func WithBaseURL(baseURL string) Option {
	return func(cl *Client) { cl.baseURL = baseURL }
}

// DefaultMaxIdleConnsPerHost is how many idle connections to WeCom the default HTTP
// client keeps.
const DefaultMaxIdleConnsPerHost = 64

// WithHTTPClient sets the HTTP client used for every request; it is shared by
// all calls and never modified. Default: an *http.Client with
// [DefaultHTTPTimeout] and a clone of [http.DefaultTransport] that keeps
// [DefaultMaxIdleConnsPerHost] idle connections. nil restores the default.
func WithHTTPClient(hc *http.Client) Option {
	return func(cl *Client) { cl.hc = hc }
}

// WithTokenSource makes the client take access tokens from src (for example a
// token service shared by several processes) instead of calling gettoken
// itself. corpID and secret given to [NewClient] are then unused. When an
// API call answers 40014/42001/41001 the client calls src's
// Invalidate(token) if src implements [TokenInvalidator], asks src for a
// token again and retries the call once. nil restores the built-in cache.
func WithTokenSource(src TokenSource) Option {
	return func(cl *Client) { cl.tokens = src }
}

// WithLogger sets the logger. nil (the default) means [slog.Default] at the
// time of each log call. The client logs every API call at Debug (op,
// errcode, HTTP status, duration, attempt; never bodies, URLs with the
// token, or secrets) and every retry at Warn.
func WithLogger(l *slog.Logger) Option {
	return func(cl *Client) { cl.logger = l }
}

// WithRetry sets the retry policy. Zero fields take their value from
// [DefaultRetryPolicy]; MaxAttempts 1 disables retries (the once-only retry
// after a token refresh still happens).
func WithRetry(p RetryPolicy) Option {
	return func(cl *Client) { cl.retry = p }
}

// WithClock sets the clock used for token expiry and call durations.
// Default [time.Now]. Mostly for tests; [testing/synctest] makes it
// unnecessary in most of them.
func WithClock(now func() time.Time) Option {
	return func(cl *Client) { cl.now = now }
}

// WithTokenRefreshMargin sets how long before expiry the built-in cache
// fetches a new access token. Default [DefaultTokenRefreshMargin]. If a
// token's lifetime is not longer than the margin, it is refreshed after half
// its lifetime instead. Ignored with [WithTokenSource].
func WithTokenRefreshMargin(d time.Duration) Option {
	return func(cl *Client) { cl.margin = d }
}

// RetryPolicy bounds how the client repeats a failed call: with capped exponential
// back-off and full jitter, the errcodes of [RetryableCode] (45009 waits RateLimitDelay
// more), HTTP 5xx/429 and transport errors; nothing else. A bad token ([TokenCode]) is
// refreshed and the call repeated once, not counted as an attempt. A call that may have
// reached WeCom (transport error, 5xx) is repeated only when safe: [Client.SendMsg] and
// [Client.SendMsgOnEvent] with a MsgID (WeCom rejects a duplicate), [Client.UploadMedia]
// with a rewindable body. A done ctx ends every wait; the error then matches ctx.Err().
type RetryPolicy struct {
	// MaxAttempts is the total number of attempts for retryable failures,
	// counting the first. Default 3 (WeCom's advice for -1).
	MaxAttempts int
	// BaseDelay caps the first back-off; the cap doubles per retry. Default 200ms.
	BaseDelay time.Duration
	// MaxDelay caps every back-off. Default 5s.
	MaxDelay time.Duration
	// RateLimitDelay is added to the back-off after 45009. Default 10s.
	RateLimitDelay time.Duration
}

// DefaultRetryPolicy returns the policy used unless [WithRetry] is given:
// 3 attempts, back-off 200ms doubling up to 5s, 10s extra after 45009.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:    3,
		BaseDelay:      200 * time.Millisecond,
		MaxDelay:       5 * time.Second,
		RateLimitDelay: 10 * time.Second,
	}
}

// withDefaults fills zero (or negative) fields from DefaultRetryPolicy.
func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = d.MaxDelay
	}
	if p.RateLimitDelay <= 0 {
		p.RateLimitDelay = d.RateLimitDelay
	}
	return p
}
