package router

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/kfbot/kfbot/kf/callback"
)

// Notifier is told that a KF account has new messages or events to pull. *bot.Bot
// satisfies it. Notify must not block: the router calls it inside the HTTP request.
//
// openKFID is empty when a callback named no account (older standalone deployments); the
// engine then pulls every account it knows. token is the callback Token that authorises a
// kf/sync_msg call for 10 minutes; it may be empty.
type Notifier interface {
	Notify(openKFID, token string)
}

// AccountsNotifier is optionally implemented by a [Notifier] that wants to hear of
// kf_account_auth_change callbacks: the KF accounts this app may now manage (added) or no
// longer manage (removed).
type AccountsNotifier interface {
	AccountsChanged(added, removed []string)
}

// NotificationReceiver is optionally implemented by a [Notifier] that takes the callback
// notifications that are not KF pokes (external-contact, address-book, provider and
// license events, decoded by [callback.DecodeNotification]); *bot.Bot does. Receive must
// record n durably before it returns and must not call WeCom: the router answers 200 only
// after it returned nil, and 500 (so WeCom retries) when it failed.
type NotificationReceiver interface {
	Receive(ctx context.Context, n callback.Notification, received time.Time) error
}

// Result names how a request ended, for logs and metrics.
type Result string

// Results reported in [Observation.Result].
const (
	ResultNotified         Result = "notified"           // POST kf_msg_or_event accepted, Notify called
	ResultAccountsChanged  Result = "accounts_changed"   // POST kf_account_auth_change accepted
	ResultIgnored          Result = "ignored"            // POST with a valid but unrelated event
	ResultReceived         Result = "received"           // POST notification recorded (or a retry of one) by the NotificationReceiver
	ResultNotRecorded      Result = "not_recorded"       // POST notification the NotificationReceiver could not record (500: WeCom retries)
	ResultVerified         Result = "verified"           // GET URL verification answered
	ResultBadRequest       Result = "bad_request"        // missing query parameters or a garbage body
	ResultBadSignature     Result = "bad_signature"      // msg_signature does not match
	ResultBadPayload       Result = "bad_payload"        // signed, but does not decrypt or parse
	ResultWrongReceiver    Result = "wrong_receiver"     // decrypted receive id is not our CorpID
	ResultStaleTimestamp   Result = "stale_timestamp"    // timestamp outside the window
	ResultReplayedNonce    Result = "replayed_nonce"     // nonce already accepted in the window
	ResultTooLarge         Result = "too_large"          // body over MaxBodyBytes
	ResultHealth           Result = "health"             // /healthz, /readyz, /metrics
	ResultNotReady         Result = "not_ready"          // /readyz while not ready
	ResultUnauthorized     Result = "unauthorized"       // /metrics without the right bearer token
	ResultNotFound         Result = "not_found"          // no such path
	ResultMethodNotAllowed Result = "method_not_allowed" // path exists, method does not
)

// Observation describes one answered request. It is passed to [Config.Observe].
type Observation struct {
	Method   string
	Path     string
	Status   int
	Result   Result
	Duration time.Duration
}

// New returns the HTTP handler for cfg, calling n for every accepted callback. It returns
// every configuration problem at once, including an EncodingAESKey that is not a valid key.
// The handler is safe for concurrent use.
func New(cfg Config, n Notifier) (http.Handler, error) {
	if n == nil {
		return nil, errors.New("router: a Notifier is required (usually the *bot.Bot)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cipher, err := callback.New(cfg.Token, cfg.EncodingAESKey, cfg.CorpID)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	cb := &callbackHandler{cfg: cfg, cipher: cipher, notifier: n}
	if cfg.TimestampWindow > 0 {
		cb.nonces = newNonceSet(cfg.MaxNonces)
	}

	allowed := map[string][]string{
		cfg.Path:   {http.MethodGet, http.MethodPost},
		"/healthz": {http.MethodGet, http.MethodHead},
		"/readyz":  {http.MethodGet, http.MethodHead},
	}
	m := mux.NewRouter()
	m.HandleFunc(cfg.Path, cb.verifyURL).Methods(http.MethodGet)
	m.HandleFunc(cfg.Path, cb.receive).Methods(http.MethodPost)
	m.HandleFunc("/healthz", healthz).Methods(http.MethodGet, http.MethodHead)
	m.HandleFunc("/readyz", readyz(cfg)).Methods(http.MethodGet, http.MethodHead)
	if cfg.Metrics != nil {
		allowed["/metrics"] = []string{http.MethodGet, http.MethodHead}
		m.Handle("/metrics", markResult(ResultHealth, bearerAuth(cfg.MetricsToken, cfg.Metrics,
			func(w http.ResponseWriter) { setResult(w, ResultUnauthorized) }))).Methods(http.MethodGet, http.MethodHead)
	}
	m.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setResult(w, ResultNotFound)
		http.NotFound(w, r)
	})
	m.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setResult(w, ResultMethodNotAllowed)
		methods := append([]string(nil), allowed[r.URL.Path]...)
		sort.Strings(methods)
		w.Header().Set("Allow", strings.Join(methods, ", "))
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	})
	return &observer{next: m, cfg: cfg}, nil
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	setResult(w, ResultHealth)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func readyz(cfg Config) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if cfg.Ready != nil {
			if err := cfg.Ready(r.Context()); err != nil {
				setResult(w, ResultNotReady)
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = fmt.Fprintf(w, "not ready: %v\n", err)
				return
			}
		}
		setResult(w, ResultHealth)
		_, _ = w.Write([]byte("ready\n"))
	}
}
