package bot

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kfbot/kfbot/storage"
)

// Option configures a [Bot]. Options are validated together by [New].
type Option func(*options)

type options struct {
	logger           *slog.Logger
	concurrency      int
	coldStartAge     time.Duration
	welcomeMaxAge    time.Duration
	shutdownTimeout  time.Duration
	dedupTTL         time.Duration
	sessionTTL       time.Duration
	pollInterval     time.Duration
	accounts         []string
	owner            string
	leaseTTL         time.Duration
	pageLimit        int
	pagesInFlight    int
	retryDelay       time.Duration
	maxRetryDelay    time.Duration
	now              func() time.Time
	errorHandler     func(*Context, error)
	observer         Observer
	handback         Handback
	profileTTL       time.Duration
	prefetch         bool // fetch the profiles of a page's new customers before handling it
	transcripts      TranscriptMode
	transcriptLimits storage.TranscriptLimits
	callbackTTL      time.Duration
	contact          ContactClient
}

func defaultOptions() options {
	return options{
		concurrency:     16,
		coldStartAge:    5 * time.Minute,
		welcomeMaxAge:   18 * time.Second,
		shutdownTimeout: 10 * time.Second,
		dedupTTL:        storage.DefaultDedupTTL,
		sessionTTL:      storage.DefaultSessionTTL,
		leaseTTL:        30 * time.Second,
		pageLimit:       1000,
		pagesInFlight:   4,
		retryDelay:      time.Second,
		maxRetryDelay:   time.Minute,
		now:             time.Now,
		profileTTL:      DefaultProfileTTL,
	}
}

func (o *options) validate() error {
	var errs []error
	if o.concurrency < 1 {
		errs = append(errs, fmt.Errorf("bot: WithConcurrency(%d): need at least 1", o.concurrency))
	}
	if o.coldStartAge < 0 {
		errs = append(errs, fmt.Errorf("bot: WithColdStartAge(%v): must not be negative", o.coldStartAge))
	}
	if o.welcomeMaxAge <= 0 || o.welcomeMaxAge > 20*time.Second {
		errs = append(errs, fmt.Errorf("bot: WithWelcomeMaxAge(%v): must be in (0, 20s]: welcome codes live 20 seconds", o.welcomeMaxAge))
	}
	if o.shutdownTimeout < 0 {
		errs = append(errs, fmt.Errorf("bot: WithShutdownTimeout(%v): must not be negative", o.shutdownTimeout))
	}
	if o.callbackTTL != 0 && o.callbackTTL < 10*time.Minute {
		errs = append(errs, fmt.Errorf("bot: WithCallbackTTL(%v): must be at least 10m: WeCom retries a notification for a while, and a welcome code's event must be recognised", o.callbackTTL))
	}
	if o.dedupTTL < 72*time.Hour {
		errs = append(errs, fmt.Errorf("bot: WithDedupTTL(%v): must be at least 72h: WeCom keeps messages 3 days", o.dedupTTL))
	}
	if o.sessionTTL <= 0 {
		errs = append(errs, fmt.Errorf("bot: WithSessionTTL(%v): must be positive", o.sessionTTL))
	}
	if o.pollInterval < 0 {
		errs = append(errs, fmt.Errorf("bot: WithPollInterval(%v): must not be negative", o.pollInterval))
	}
	if o.leaseTTL < time.Second {
		errs = append(errs, fmt.Errorf("bot: WithLeaseTTL(%v): must be at least 1s", o.leaseTTL))
	}
	if o.pagesInFlight < 1 || o.pagesInFlight > maxPagesInFlight {
		errs = append(errs, fmt.Errorf("bot: WithPagesInFlight(%d): must be in [1, %d]", o.pagesInFlight, maxPagesInFlight))
	}
	if o.pageLimit < 1 || o.pageLimit > 1000 {
		errs = append(errs, fmt.Errorf("bot: WithPageLimit(%d): must be in [1, 1000]", o.pageLimit))
	}
	if o.retryDelay <= 0 || o.maxRetryDelay < o.retryDelay {
		errs = append(errs, fmt.Errorf("bot: WithRetryDelay(%v, %v): need 0 < base <= max", o.retryDelay, o.maxRetryDelay))
	}
	if err := o.handback.Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.profileTTL <= 0 {
		errs = append(errs, fmt.Errorf("bot: WithProfileTTL(%v): must be positive", o.profileTTL))
	}
	if o.now == nil {
		errs = append(errs, errors.New("bot: WithClock(nil): a clock is required"))
	}
	return errors.Join(errs...)
}

// WithLogger sets the logger. Default: slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithConcurrency bounds how many conversations are handled at the same time, across all
// accounts. Messages of one conversation are always handled one at a time, in order.
// Default: 16.
func WithConcurrency(n int) Option { return func(o *options) { o.concurrency = n } }

// WithPagesInFlight sets how many sync_msg pages of one account are handled at once: the
// next page is pulled while earlier ones are handled, so that a slow conversation or
// WeCom's round trip does not leave the other workers idle. Each conversation's messages
// still run in order, and cursors are saved in page order. 1 handles each page fully
// before pulling the next. Default: 4; at most 64.
func WithPagesInFlight(n int) Option { return func(o *options) { o.pagesInFlight = n } }

// maxPagesInFlight bounds [WithPagesInFlight]: 64 pages of up to 1,000 messages.
const maxPagesInFlight = 64

// WithColdStartAge sets the cold-start policy: when an account has no cursor yet, messages
// older than d are skipped, not answered, so a fresh deploy never answers days-old history.
// Zero answers everything WeCom still holds (up to 3 days). Default: 5 minutes.
func WithColdStartAge(d time.Duration) Option { return func(o *options) { o.coldStartAge = d } }

// WithWelcomeMaxAge sets how old an enter_session event may be for its welcome_code to be
// used. Codes live 20 seconds; an older one is skipped instead of burning an API call.
// Default: 18 seconds.
func WithWelcomeMaxAge(d time.Duration) Option { return func(o *options) { o.welcomeMaxAge = d } }

// WithShutdownTimeout sets how long in-flight handlers may run after Run's context is
// cancelled before their contexts are cancelled too. Default: 10 seconds.
func WithShutdownTimeout(d time.Duration) Option { return func(o *options) { o.shutdownTimeout = d } }

// WithDedupTTL sets how long processed msgids are remembered. Default: 72 hours (WeCom
// keeps messages 3 days); shorter values are refused.
func WithDedupTTL(d time.Duration) Option { return func(o *options) { o.dedupTTL = d } }

// WithCallbackTTL sets how long a callback notification's record is kept: a retry is
// recognised for that long, and one a stop left unhandled is handled by a start within
// it. Default: [storage.DefaultCallbackTTL] (24 hours); it should stay well above
// WeCom's retry window of seconds.
func WithCallbackTTL(d time.Duration) Option { return func(o *options) { o.callbackTTL = d } }

// WithSessionTTL sets how long a conversation's session lives after its last activity.
// Default: 48 hours.
func WithSessionTTL(d time.Duration) Option { return func(o *options) { o.sessionTTL = d } }

// WithPollInterval makes the bot also pull every known account every d, as a safety net
// for lost callbacks. Such pulls carry no callback token and WeCom rate-limits them
// strictly, so keep d long (minutes). Default: 0, off.
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.pollInterval = d } }

// WithAccounts names KF accounts (open_kfid) to pull when Run starts and on every poll,
// in addition to those named by callbacks. Default: none.
func WithAccounts(openKFIDs ...string) Option {
	return func(o *options) { o.accounts = append(o.accounts, openKFIDs...) }
}

// WithOwner sets the lease owner name of this instance, for stores shared by several
// replicas. Default: hostname-pid-random.
func WithOwner(name string) Option { return func(o *options) { o.owner = name } }

// WithLeaseTTL sets how long a per-account pull lease lasts before it must be renewed.
// Default: 30 seconds.
func WithLeaseTTL(d time.Duration) Option { return func(o *options) { o.leaseTTL = d } }

// WithPageLimit sets the sync_msg page size. Default and maximum: 1000.
func WithPageLimit(n int) Option { return func(o *options) { o.pageLimit = n } }

// WithRetryDelay sets the pause after a failed pass of an account: random, up to a ceiling
// doubling per failure from base to max, reset by a success; a callback cuts it short but
// not below base; at most 5 s while the disk is full. A deferred message that failed for
// now is retried on its lane after the same pauses. Default: 1 second, up to 1 minute.
func WithRetryDelay(base, max time.Duration) Option {
	return func(o *options) { o.retryDelay, o.maxRetryDelay = base, max }
}

// WithClock sets the clock used for message ages, sessions and quotas. Default: time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithErrorHandler sets the function that receives every handler error and recovered
// panic. It must be safe for concurrent use. Default: log at Error level (Warn for reply
// refusals such as [ErrQuotaExceeded]) with the message attributes.
func WithErrorHandler(h func(c *Context, err error)) Option {
	return func(o *options) { o.errorHandler = h }
}

// WithObserver sets the receiver of engine events, for metrics. Default: none.
func WithObserver(obs Observer) Option { return func(o *options) { o.observer = obs } }
