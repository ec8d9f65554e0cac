package kf

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// TokenSource supplies access tokens to a [Client] set up with
// [WithTokenSource], for example a token service shared by several processes
// (WeCom allows one valid token per app, and gettoken is frequency-limited).
// Token must be safe for concurrent use and should return a cached token
// whenever it can.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// TokenInvalidator is implemented by a [TokenSource] that can forget a token
// WeCom rejected (40014 invalid, 42001 expired, 41001 missing). The client
// calls Invalidate with the rejected token before asking for a new one; an
// implementation should drop its cached token only if it still equals token,
// so a token refreshed meanwhile by another caller survives.
type TokenInvalidator interface {
	Invalidate(token string)
}

// redacted is what Secret and AccessToken print and log as.
const redacted = "REDACTED"

// Secret is an app secret (`corpsecret`). It prints, logs and marshals as
// REDACTED so it cannot leak through fmt, log/slog or encoding/json; convert
// with string(s) for the real value.
type Secret string

// String returns "REDACTED".
func (Secret) String() string { return redacted }

// GoString returns "REDACTED", for %#v.
func (Secret) GoString() string { return redacted }

// LogValue returns "REDACTED"; it implements [slog.LogValuer].
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText returns "REDACTED", so JSON, YAML or text logs of a struct
// holding a Secret do not reveal it.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// AccessToken is a WeCom access token. Like [Secret] it prints, logs and
// marshals as REDACTED; convert with string(t) for the real value.
type AccessToken string

// String returns "REDACTED".
func (AccessToken) String() string { return redacted }

// GoString returns "REDACTED", for %#v.
func (AccessToken) GoString() string { return redacted }

// LogValue returns "REDACTED"; it implements [slog.LogValuer].
func (AccessToken) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText returns "REDACTED".
func (AccessToken) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// defaultTokenLifetime is assumed when gettoken omits expires_in (WeCom
// documents 7200 s).
const defaultTokenLifetime = 7200 * time.Second

// tokenCache is the built-in TokenSource: one cached token, refreshed
// `margin` before expiry by a single in-flight fetch that all concurrent
// callers share.
type tokenCache struct {
	fetch  func(ctx context.Context) (token string, lifetime time.Duration, err error)
	now    func() time.Time
	margin time.Duration
	group  singleflight.Group

	mu        sync.Mutex
	token     AccessToken
	refreshAt time.Time
}

// cached returns the cached token if it is not due for refresh.
func (c *tokenCache) cached() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.now().Before(c.refreshAt) {
		return string(c.token), true
	}
	return "", false
}

// Token returns the cached token or waits for the shared fetch. A caller whose
// ctx ends stops waiting, but the fetch itself is detached from any caller's
// cancellation (it has its own timeout), so the other waiters still get the
// token.
func (c *tokenCache) Token(ctx context.Context) (string, error) {
	if tok, ok := c.cached(); ok {
		return tok, nil
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	ch := c.group.DoChan("token", func() (any, error) {
		// A fetch that finished between our cache check and DoChan already
		// stored a fresh token: do not fetch again.
		if tok, ok := c.cached(); ok {
			return tok, nil
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tokenFetchTimeout)
		defer cancel()
		tok, lifetime, err := c.fetch(fctx)
		if err != nil {
			return "", err
		}
		c.store(tok, lifetime)
		return tok, nil
	})
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	}
}

func (c *tokenCache) store(tok string, lifetime time.Duration) {
	if lifetime <= 0 {
		lifetime = defaultTokenLifetime
	}
	fresh := lifetime - c.margin
	if lifetime <= c.margin {
		fresh = lifetime / 2
	}
	c.mu.Lock()
	c.token = AccessToken(tok)
	c.refreshAt = c.now().Add(fresh)
	c.mu.Unlock()
}

// Invalidate drops the cached token if it is still tok.
func (c *tokenCache) Invalidate(tok string) {
	c.mu.Lock()
	if string(c.token) == tok {
		c.token = ""
	}
	c.mu.Unlock()
}
