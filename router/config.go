package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// Defaults used by [DefaultConfig] and by [New] for zero fields.
const (
	// DefaultPath is where the callback is served.
	DefaultPath = "/callback"
	// DefaultTimestampWindow is how far a POST callback's timestamp may be from now.
	DefaultTimestampWindow = 5 * time.Minute
	// DefaultMaxBodyBytes caps a POST callback body. Real callbacks are well under 2 KiB.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultMaxNonces bounds the memory of the replayed-nonce check.
	DefaultMaxNonces = 100_000
)

// Config configures [New]. Token, EncodingAESKey and CorpID are required; every other
// field has a default applied when it is zero.
type Config struct {
	// Token is the callback Token configured in WeCom (≤ 32 letters and digits). It signs
	// every callback.
	Token string
	// EncodingAESKey is the 43-character EncodingAESKey configured in WeCom.
	EncodingAESKey string
	// CorpID is the receive id checked inside every decrypted callback: the CorpID (ww…) for
	// a self-built app.
	CorpID string

	// Path is the callback path. Default: "/callback".
	Path string
	// TimestampWindow is how far a POST callback's timestamp may be from now, both ways.
	// Default: 5 minutes. A negative value disables the check (and the nonce check, which
	// needs a window to bound its memory).
	TimestampWindow time.Duration
	// MaxBodyBytes caps the POST body. Default: 64 KiB.
	MaxBodyBytes int64
	// MaxNonces bounds how many accepted nonces are remembered for the replay check.
	// Default: 100,000. When full, the oldest is forgotten first.
	MaxNonces int

	// Logger receives one Debug line per request and a Warn line per refused callback.
	// Default: slog.Default().
	Logger *slog.Logger
	// Ready answers GET /readyz: nil error means ready. Default: always ready.
	Ready func(ctx context.Context) error
	// Metrics, when set, is served at GET /metrics (for example promhttp.Handler()).
	Metrics http.Handler
	// MetricsToken, when set, protects /metrics with [BearerAuth]: scrapers must send
	// "Authorization: Bearer <MetricsToken>". Default: none (metrics are open).
	MetricsToken string
	// Observe, when set, is called once per request after it has been answered, for
	// metrics. It must be fast and safe for concurrent use.
	Observe func(Observation)
	// Now returns the current time. Default: time.Now.
	Now func() time.Time
}

// DefaultConfig returns a Config with every default filled in and the credentials empty.
func DefaultConfig() Config {
	return Config{
		Path:            DefaultPath,
		TimestampWindow: DefaultTimestampWindow,
		MaxBodyBytes:    DefaultMaxBodyBytes,
		MaxNonces:       DefaultMaxNonces,
	}
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Path == "" {
		c.Path = d.Path
	}
	if c.TimestampWindow == 0 {
		c.TimestampWindow = d.TimestampWindow
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.MaxNonces == 0 {
		c.MaxNonces = d.MaxNonces
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate reports every problem with c at once, joined. The AES key itself is checked
// by [New].
func (c Config) Validate() error {
	var errs []error
	if c.Token == "" {
		errs = append(errs, errors.New("router: Token is required (the callback Token configured in WeCom)"))
	}
	if c.EncodingAESKey == "" {
		errs = append(errs, errors.New("router: EncodingAESKey is required (the 43-character key configured in WeCom)"))
	}
	if c.CorpID == "" {
		errs = append(errs, errors.New("router: CorpID is required (it is checked inside every decrypted callback)"))
	}
	if c.Path != "" && c.Path[0] != '/' {
		errs = append(errs, fmt.Errorf("router: Path %q must start with /", c.Path))
	}
	if c.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("router: MaxBodyBytes %d must not be negative", c.MaxBodyBytes))
	}
	if c.MaxNonces < 0 {
		errs = append(errs, fmt.Errorf("router: MaxNonces %d must not be negative", c.MaxNonces))
	}
	return errors.Join(errs...)
}
