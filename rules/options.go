package rules

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/bot"
)

// Default limits, see [WithMaxNodes], [WithMemoryBudget] and [WithDebounce].
const (
	DefaultMaxNodes     = 1000
	DefaultMemoryBudget = 100_000
	DefaultDebounce     = 200 * time.Millisecond
)

// Option configures [Load], [LoadFile] and [Open] (and rulestest.RunFile). Options do no I/O.
type Option func(*options)

// Uploader uploads temporary media; *kf.Client satisfies it. See [WithUploader]. It is
// [bot.Uploader], which the media cache uploads through.
type Uploader = bot.Uploader

type options struct {
	handlers      map[string]bot.HandlerFunc
	uploader      Uploader
	log           *slog.Logger
	now           func() time.Time
	loc           *time.Location
	maxNodes      uint
	memoryBudget  uint
	baseDir       string
	debounce      time.Duration
	onReload      func(*Set, error)
	onWhenError   func(rule string, err error) // conversation tests: a when failed
	onRule        func(c *bot.Context, rule string)
	media         *bot.MediaCache // WithUploader's; nil: the bot's
	model         ai.Backend      // WithModel's
	webhookClient *http.Client    // WithWebhookClient's; nil: http.DefaultClient
	aiOpts        []ai.Option
	errs          []error
}

func newOptions(opts []Option) options {
	o := options{
		handlers:     map[string]bot.HandlerFunc{},
		now:          time.Now,
		maxNodes:     DefaultMaxNodes,
		memoryBudget: DefaultMemoryBudget,
		debounce:     DefaultDebounce,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	if o.media == nil && o.uploader != nil {
		o.media = bot.NewMediaCache(o.uploader, nil)
	}
	return o
}

// WithHandler registers a Go handler that rules call by name with the `handler`
// action. A rule naming a handler that is not registered fails to load. Registering a
// name twice keeps the last handler; an empty name or a nil handler is a load error.
func WithHandler(name string, h bot.HandlerFunc) Option {
	return func(o *options) {
		if name == "" || h == nil {
			o.errs = append(o.errs, fmt.Errorf("rules: WithHandler(%q): empty name or nil handler", name))
			return
		}
		o.handlers[name] = h
	}
}

// WithUploader sets what uploads the local files and URLs that media replies and
// thumbnails name (`file`, `thumb_file`), through a media cache of the set's own (shared
// by the reloads of a [Live]). Each source is uploaded once and its media_id reused until
// it is about to expire (3 days) or the file changes; see [bot.MediaCache].
// Default: the bot's media cache ([bot.Bot.Media]), which uploads through the bot's
// client (as *kf.Client can) and is shared with the bot's handlers
// ([bot.Context.ReplyMedia]).
func WithUploader(u Uploader) Option {
	return func(o *options) { o.uploader = u }
}

// WithLogger sets the logger for rule evaluation problems, refused replies and reloads.
// Default: slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// WithClock sets the clock that gives expressions their `now`. Default: time.Now.
// Conversation tests override it with a test's `now`.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.now = now
		}
	}
}

// WithLocation sets the time zone of `now` and of the message times seen by
// expressions (and so of hour(now), weekday(now), …) when the file has no `timezone`
// key; the file's key wins. Default: time.Local.
func WithLocation(loc *time.Location) Option {
	return func(o *options) { o.loc = loc }
}

// WithMaxNodes caps the size of every expression (its AST nodes); a larger one fails to
// load. Default: [DefaultMaxNodes].
func WithMaxNodes(n uint) Option {
	return func(o *options) {
		if n > 0 {
			o.maxNodes = n
		}
	}
}

// WithMemoryBudget caps the memory one expression evaluation may allocate, in expr's
// units (elements of arrays, ranges, maps and strings built); an evaluation over budget
// fails and counts as false (or as an action error). Default: [DefaultMemoryBudget].
func WithMemoryBudget(n uint) Option {
	return func(o *options) {
		if n > 0 {
			o.memoryBudget = n
		}
	}
}

// WithBaseDir sets the directory that relative file paths in the rules (`file`,
// `thumb_file`, `rules_file`) are resolved against. Default: the directory of the name
// given to [Load], the file's directory for [LoadFile].
func WithBaseDir(dir string) Option {
	return func(o *options) { o.baseDir = dir }
}

// WithDebounce sets how long [Live.Watch] waits after the last change in the rule file's
// directory before it reloads. Default: [DefaultDebounce]. Used only by [Open].
func WithDebounce(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.debounce = d
		}
	}
}

// WithReloadFunc sets a function called after every reload attempt of a [Live] set,
// from [Live.Reload] or [Live.Watch]: with the new set on success, or with the current
// set and the errors when the file did not load (the current set then stays). It runs on
// the reloading goroutine. Default: none. Used only by [Open].
func WithReloadFunc(fn func(s *Set, err error)) Option {
	return func(o *options) { o.onReload = fn }
}

// withMedia shares a media cache between the sets a Live loads (nil: the bot's).
func withMedia(c *bot.MediaCache) Option {
	return func(o *options) { o.media = c }
}

// WithRuleFunc calls f with the name of each rule whose actions run for a message, before
// they run (for example to show which rule answered, as `kfbot simulate -v` does). f
// runs on the engine's goroutines and must be quick and safe for concurrent use.
func WithRuleFunc(f func(c *bot.Context, rule string)) Option {
	return func(o *options) { o.onRule = f }
}

// WithWebhookClient sets the HTTP client of the webhook actions (default:
// http.DefaultClient; each attempt is bounded by the action's timeout).
func WithWebhookClient(c *http.Client) Option { return func(o *options) { o.webhookClient = c } }
