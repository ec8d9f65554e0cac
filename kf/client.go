package kf

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls the WeChat Customer Service (微信客服) server API of one corp
// with one app secret. It keeps an access-token cache, retries transient
// failures (see [RetryPolicy]) and turns non-zero errcodes into [*APIError].
//
// A Client is safe for concurrent use by multiple goroutines and should be
// reused: it holds the token cache and shares one *http.Client. It owns no
// goroutines, so there is nothing to close.
type Client struct {
	corpID  string
	secret  Secret
	baseURL string // without trailing slash
	hc      *http.Client
	tokens  TokenSource
	cache   *tokenCache // the built-in TokenSource; nil with WithTokenSource
	logger  *slog.Logger
	retry   RetryPolicy
	now     func() time.Time
	margin  time.Duration
	cfgErr  error // reported by every call; NewClient does no I/O and returns no error
	urls    *apiURLs
}

// NewClient returns a Client for the corp corpID (`corpid`, "ww…") and the
// secret of the self-built app authorised for 微信客服 (`corpsecret`; see
// https://developer.work.weixin.qq.com/document/path/94670). It does no I/O; the first call fetches a token. Use
// [Client.Ping] to check the credentials at start-up.
//
// Configuration problems (an invalid base URL, a missing corpID or secret
// without [WithTokenSource]) are not lost: every call (and Ping) returns an
// error whose text says what to fix.
func NewClient(corpID, secret string, opts ...Option) *Client {
	cl := &Client{corpID: corpID, secret: Secret(secret), baseURL: DefaultBaseURL, urls: new(apiURLs)}
	for _, o := range opts {
		if o != nil {
			o(cl)
		}
	}
	if cl.hc == nil {
		cl.hc = &http.Client{Timeout: DefaultHTTPTimeout, Transport: defaultTransport}
	}
	if cl.now == nil {
		cl.now = time.Now
	}
	if cl.margin <= 0 {
		cl.margin = DefaultTokenRefreshMargin
	}
	cl.retry = cl.retry.withDefaults()
	cl.cfgErr = cl.checkConfig()
	if cl.tokens == nil {
		cl.cache = &tokenCache{fetch: cl.fetchToken, now: cl.now, margin: cl.margin}
		cl.tokens = cl.cache
	}
	return cl
}

func (cl *Client) checkConfig() error {
	var errs []error
	u, err := url.Parse(cl.baseURL)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("invalid base URL %q: %w", cl.baseURL, err))
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		errs = append(errs, fmt.Errorf("invalid base URL %q: want an absolute http(s) URL like %q, without query", cl.baseURL, DefaultBaseURL))
	default:
		cl.baseURL = strings.TrimRight(cl.baseURL, "/")
	}
	if cl.tokens == nil && (cl.corpID == "" || cl.secret == "") {
		errs = append(errs, errors.New("corpID and secret are required (the corp ID and the secret of the app authorised for 微信客服), unless WithTokenSource is used"))
	}
	return errors.Join(errs...)
}

// Ping obtains an access token (from the cache, the [TokenSource], or a
// gettoken call) and so checks the configuration and credentials. A wrong
// secret is reported as [ErrInvalidSecret] (40001).
func (cl *Client) Ping(ctx context.Context) error {
	if cl.cfgErr != nil {
		return fmt.Errorf("kf: ping: %w", cl.cfgErr)
	}
	_, err := cl.token(ctx, "ping")
	return err
}

// token returns an access token from the TokenSource, wrapping errors with op.
func (cl *Client) token(ctx context.Context, op string) (string, error) {
	tok, err := cl.tokens.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("kf: %s: get access token: %w", op, err)
	}
	if tok == "" {
		return "", fmt.Errorf("kf: %s: get access token: token source returned an empty token", op)
	}
	return tok, nil
}

// invalidate drops tok from the token source, if it supports that.
func (cl *Client) invalidate(tok string) {
	if inv, ok := cl.tokens.(TokenInvalidator); ok {
		inv.Invalidate(tok)
	}
}

func (cl *Client) log() *slog.Logger {
	if cl.logger != nil {
		return cl.logger
	}
	return slog.Default()
}

// String describes the client without its secret or token, e.g.
// `kf.Client{corpID: "ww…", baseURL: "https://qyapi.weixin.qq.com"}`.
// It keeps fmt's %v and %+v from printing the secret.
func (cl *Client) String() string {
	return fmt.Sprintf("kf.Client{corpID: %q, baseURL: %q}", cl.corpID, cl.baseURL)
}

// GoString is String, for %#v.
func (cl *Client) GoString() string { return cl.String() }

// defaultTransport is http.DefaultTransport with more idle connections per host: the
// engine sends to one host from up to WithConcurrency goroutines (16 by default), and
// the standard 2 idle connections per host would make it open and close a connection for
// most calls.
var defaultTransport = func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	return t
}()
