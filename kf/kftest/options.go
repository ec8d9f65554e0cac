package kftest

import (
	"time"
)

// Defaults used by [NewServer] when no option overrides them.
const (
	// DefaultCorpID is the corp ID the server accepts in gettoken and writes as
	// ToUserName (and receive ID) into callbacks.
	DefaultCorpID = "wwkftest0000000001"
	// DefaultSecret is the corpsecret the server accepts in gettoken.
	DefaultSecret = "kftest-secret-0123456789abcdefghij"
	// DefaultCallbackToken is the callback Token used to sign callbacks.
	DefaultCallbackToken = "kftestCallbackToken"
	// DefaultEncodingAESKey is the 43-character EncodingAESKey used to encrypt
	// callbacks.
	DefaultEncodingAESKey = "kftestEncodingAESKey0123456789abcdefghijklm"
	// DefaultTokenTTL is the lifetime of an access token (expires_in 7200).
	DefaultTokenTTL = 7200 * time.Second
	// DefaultPageSize is the default and maximum sync_msg page size.
	DefaultPageSize = 1000

	// CallbackTokenTTL is how long a callback Token issued by the server is
	// accepted as the sync_msg token (10 minutes, as in WeCom).
	CallbackTokenTTL = 10 * time.Minute
	// WelcomeCodeTTL is the validity of an enter_session welcome_code.
	WelcomeCodeTTL = 20 * time.Second
	// ClosingCodeTTL is the validity of a msg_code obtained when a session ends.
	ClosingCodeTTL = 20 * time.Second
	// ReplyCodeTTL is the validity of a msg_code obtained when a session is put
	// into the waiting pool or given to a servicer.
	ReplyCodeTTL = 48 * time.Hour
	// SendWindow is how long after the customer's last message send_msg is
	// allowed.
	SendWindow = 48 * time.Hour
	// SendsPerCustomerMessage is the number of send_msg calls allowed after
	// each customer message.
	SendsPerCustomerMessage = 5
	// Retention is how far back sync_msg reaches when called without a cursor.
	Retention = 72 * time.Hour
	// MediaTTL is the lifetime of a media_id.
	MediaTTL = 72 * time.Hour
)

// An Option configures a [Server] at construction.
type Option func(*config)

type config struct {
	corpID      string
	secret      string
	cbToken     string
	cbAESKey    string
	clock       func() time.Time
	seed        int64
	seeded      bool
	tokenTTL    time.Duration
	strictAccts bool
	retention   time.Duration
}

func defaultConfig() config {
	return config{
		corpID:    DefaultCorpID,
		secret:    DefaultSecret,
		cbToken:   DefaultCallbackToken,
		cbAESKey:  DefaultEncodingAESKey,
		clock:     time.Now,
		tokenTTL:  DefaultTokenTTL,
		retention: Retention,
	}
}

// WithCorpID sets the corp ID accepted by gettoken and used as the callback
// receive ID. The default is [DefaultCorpID].
func WithCorpID(corpID string) Option {
	return func(c *config) { c.corpID = corpID }
}

// WithSecret sets the corpsecret accepted by gettoken. The default is
// [DefaultSecret].
func WithSecret(secret string) Option {
	return func(c *config) { c.secret = secret }
}

// WithCallback sets the callback Token and EncodingAESKey used to sign and
// encrypt the callbacks built by [Server.NewCallbackRequest]. The defaults are
// [DefaultCallbackToken] and [DefaultEncodingAESKey]. An invalid key is
// reported by the callback builders, not by [NewServer].
func WithCallback(token, encodingAESKey string) Option {
	return func(c *config) { c.cbToken, c.cbAESKey = token, encodingAESKey }
}

// WithClock sets the clock that stamps send_time, expires tokens and codes and
// measures the 48-hour window. The default is time.Now, which inside a
// testing/synctest bubble is the bubble's fake clock. A nil clock is ignored.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.clock = now
		}
	}
}

// WithSeed seeds the server's random source (cursor nonce, tokens, codes,
// empty pages and random faults), making a single-goroutine run reproducible.
// Without it the seed is random.
func WithSeed(seed int64) Option {
	return func(c *config) { c.seed, c.seeded = seed, true }
}

// WithTokenTTL sets the access token lifetime reported as expires_in. The
// default is [DefaultTokenTTL]; values below one second are ignored.
func WithTokenTTL(d time.Duration) Option {
	return func(c *config) {
		if d >= time.Second {
			c.tokenTTL = d
		}
	}
}

// WithStrictAccounts makes API calls naming an open_kfid that was never
// created (by [Server.AddAccount] or an append helper) fail with 95004. By
// default such accounts are created on first use.
func WithStrictAccounts() Option {
	return func(c *config) { c.strictAccts = true }
}

// WithRetention sets how long the server keeps what a client may present
// again after a crash or restart:
//
//   - the items a cursor can reach: a sync_msg cursor handed out (as
//     next_cursor) or presented within d keeps working. Items before every
//     such cursor's position, and before the newest next_cursor, are
//     forgotten; a cursor pointing before them then fails with
//     [ErrCodeCursorExpired]. Items no next_cursor has passed yet are
//     always kept.
//   - the outbound msgids accepted by send_msg and send_msg_on_event: a
//     msgid is rejected as a duplicate for d after it was accepted, then
//     forgotten.
//
// The default is [Retention] (72 hours, as long as WeCom keeps sync_msg
// data), under which a request without a cursor still sees every item of
// the last 3 days. A long in-process load run sets a short d (seconds to a
// minute: longer than the bot under test ever takes between pulling a page
// and presenting its saved cursor again) to keep memory flat; see
// [Server.Stats]. d ≤ 0 is ignored.
func WithRetention(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.retention = d
		}
	}
}
