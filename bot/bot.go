package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/storage"
)

// Client is the part of the WeCom KF API the engine uses. *kf.Client satisfies it; tests
// may pass a fake.
type Client interface {
	// CorpID names the corp; it keys cursors and leases, so one store may serve several.
	CorpID() string
	SyncMsg(ctx context.Context, req kf.SyncMsgRequest) (*kf.SyncMsgResponse, error)
	SendMsg(ctx context.Context, req kf.SendMsgRequest) (*kf.SendMsgResponse, error)
	SendMsgOnEvent(ctx context.Context, req kf.SendMsgOnEventRequest) (*kf.SendMsgOnEventResponse, error)
	ServiceState(ctx context.Context, req kf.ServiceStateRequest) (*kf.ServiceStateResponse, error)
	TransServiceState(ctx context.Context, req kf.TransServiceStateRequest) (*kf.TransServiceStateResponse, error)
	GetMedia(ctx context.Context, req kf.GetMediaRequest) (*kf.Media, error)
	BatchGetCustomer(ctx context.Context, req kf.BatchGetCustomerRequest) (*kf.BatchGetCustomerResponse, error)
}

// Bot is the engine: it pulls messages for every KF account it is told about, runs them
// through middleware and handlers, and sends the replies. Create one with [New], register
// handlers, then call [Bot.Run]. Registration methods panic when called after the bot has
// started; [Bot.Notify] and [Bot.Dispatch] are safe for concurrent use.
type Bot struct {
	client Client
	store  storage.Store
	opts   options
	log    *slog.Logger
	corpID string
	owner  string
	media  *MediaCache // Bot.Media

	callbacks callbackQueue // callback notifications to handle (Receive)
	cbRoutes  bool          // some route was registered with HandleCallback (set by freeze)

	mu       sync.Mutex
	routes   []*route
	global   []Middleware
	fallback HandlerFunc
	onStart  []func(context.Context) error
	onStop   []func(context.Context) error
	plugins  []string
	frozen   bool
	root     HandlerFunc
	running  bool
	stopping bool
	accounts map[string]*account

	// Set while running (nil before Run has set up, and after it returned).
	pullCtx context.Context // cancelled when shutdown starts: no new pulls or messages
	workCtx context.Context // cancelled when the shutdown grace period ends
	pullers sync.WaitGroup
	workers *workers   // handle conversations, at most WithConcurrency at once
	done    *doneMarks // done marks of confirmed sends, written in batches while running
	owners  *watcher   // deadlines of the conversations people own (see Handback)
	lanes   *lanes     // conversations whose handling was deferred (Context.Defer)

	profiles profiles // customer profile fetching (see Context.Customer)
}

// New returns a bot that pulls and replies through client and keeps its state in store.
// The store is required: it holds the cursors, whose loss replays up to three days of
// messages. New does no I/O; it returns every option problem at once.
func New(client Client, store storage.Store, opts ...Option) (*Bot, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	var errs []error
	if client == nil {
		errs = append(errs, errors.New("bot: a Client is required (usually a *kf.Client)"))
	}
	if store == nil {
		errs = append(errs, errors.New("bot: a Store is required: it keeps the cursors (use badgerstore.Open, or storage.NewMemory in tests)"))
	}
	var corpID string
	if client != nil {
		if corpID = client.CorpID(); corpID == "" {
			errs = append(errs, errors.New("bot: the client has an empty CorpID"))
		}
	}
	if err := o.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := o.validateTranscripts(store); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.observer == nil {
		o.observer = NopObserver{}
	}
	if o.owner == "" {
		o.owner = defaultOwner()
	}
	b := &Bot{
		client:   client,
		store:    store,
		opts:     o,
		log:      o.logger,
		corpID:   corpID,
		owner:    o.owner,
		accounts: make(map[string]*account),
		workers:  newWorkers(o.concurrency),
		done:     newDoneMarks(),
		owners:   newWatcher(),
		lanes:    newLanes(),
	}
	up, _ := client.(Uploader)
	b.media = NewMediaCache(up, o.now)
	for _, id := range o.accounts {
		b.accountLocked(id)
	}
	return b, nil
}

func defaultOwner() string {
	host, _ := os.Hostname()
	var r [4]byte
	_, _ = rand.Read(r[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(r[:]))
}

// Use adds global middleware. It runs, in order, for every message before matching, so it
// sees unmatched messages too.
func (b *Bot) Use(mw ...Middleware) {
	b.mustNotRun("Use")
	for _, m := range mw {
		if m == nil {
			panic("bot: Use: nil middleware")
		}
	}
	b.mu.Lock()
	b.global = append(b.global, mw...)
	b.mu.Unlock()
}

// Handle registers h, wrapped in mw, for messages that m matches. The first registered
// handler whose matcher matches takes the message; later ones are not tried.
//
// While a person owns a conversation ([Handback]), its customer messages are offered only
// to routes registered with [Bot.HandleHuman], never to these or to the default handler.
func (b *Bot) Handle(m Matcher, h HandlerFunc, mw ...Middleware) {
	b.addRoute(nil, m, h, mw, routeMessage)
}

// HandleHuman registers h, wrapped in mw, for the customer messages that m matches and
// that come while a person owns the conversation ([Context.HumanOwned]): the only routes
// those messages are offered to, first match first. Use it for what must see them, e.g.
// to record or forward them; replies are refused ([ErrHumanOwned]). Global middleware
// ([Bot.Use]) sees every message, whoever owns the conversation.
func (b *Bot) HandleHuman(m Matcher, h HandlerFunc, mw ...Middleware) {
	b.addRoute(nil, m, h, mw, routeHuman)
}

// HandleDefault sets the handler for messages no matcher took. Default: none (the message
// is only marked processed).
func (b *Bot) HandleDefault(h HandlerFunc) {
	if h == nil {
		panic("bot: HandleDefault: nil handler")
	}
	b.mustNotRun("HandleDefault")
	b.mu.Lock()
	b.fallback = h
	b.mu.Unlock()
}

// Group returns a group of routes that all require m.
func (b *Bot) Group(m Matcher) *Group {
	if m == nil {
		panic("bot: Group: nil matcher")
	}
	b.mustNotRun("Group")
	return &Group{bot: b, match: m}
}

// Install installs plugins in order and stops at the first failure.
func (b *Bot) Install(plugins ...Plugin) error {
	for _, p := range plugins {
		if p == nil {
			return errors.New("bot: Install: nil plugin")
		}
		if err := p.Install(b); err != nil {
			return fmt.Errorf("bot: install plugin %s: %w", p.Name(), err)
		}
		b.mu.Lock()
		b.plugins = append(b.plugins, p.Name())
		b.mu.Unlock()
		b.log.Info("bot: plugin installed", slog.String(LogKeyPlugin, p.Name()))
	}
	return nil
}

// OnStart registers fn to run when [Bot.Run] starts, before any pull. An error stops Run.
func (b *Bot) OnStart(fn func(ctx context.Context) error) {
	b.mustNotRun("OnStart")
	b.mu.Lock()
	b.onStart = append(b.onStart, fn)
	b.mu.Unlock()
}

// OnStop registers fn to run when [Bot.Run] stops, after every handler has finished.
func (b *Bot) OnStop(fn func(ctx context.Context) error) {
	b.mustNotRun("OnStop")
	b.mu.Lock()
	b.onStop = append(b.onStop, fn)
	b.mu.Unlock()
}

// Store returns the bot's store.
func (b *Bot) Store() storage.Store { return b.store }

// Client returns the bot's API client.
func (b *Bot) Client() Client { return b.client }

// Logger returns the bot's logger.
func (b *Bot) Logger() *slog.Logger { return b.log }

// account is the store's name for the KF account openKFID of the bot's corp.
func (b *Bot) account(openKFID string) storage.Account {
	return storage.Account{CorpID: b.corpID, OpenKFID: openKFID}
}

func (b *Bot) addRoute(g *Group, m Matcher, h HandlerFunc, mw []Middleware, kind routeKind) {
	if m == nil {
		panic("bot: Handle: nil matcher")
	}
	if h == nil {
		panic("bot: Handle: nil handler")
	}
	for _, x := range mw {
		if x == nil {
			panic("bot: Handle: nil middleware")
		}
	}
	b.mustNotRun("Handle")
	b.mu.Lock()
	defer b.mu.Unlock()
	r := &route{match: m, handler: h, group: g, mws: mw, kind: kind}
	if g != nil {
		ms, _ := g.collect()
		r.match = And(append(ms, m)...)
	}
	b.routes = append(b.routes, r)
}

func (b *Bot) mustNotRun(op string) {
	b.mu.Lock()
	frozen := b.frozen
	b.mu.Unlock()
	if frozen {
		panic("bot: " + op + " called after the bot started: register everything before Run or Dispatch")
	}
}

// freeze composes every chain once; registration is closed afterwards.
func (b *Bot) freeze() HandlerFunc {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.frozen {
		return b.root
	}
	b.frozen = true
	for _, r := range b.routes {
		var mws []Middleware
		if r.group != nil {
			_, mws = r.group.collect()
		}
		r.chain = compose(r.handler, append(mws, r.mws...))
		b.cbRoutes = b.cbRoutes || r.kind == routeCallback
	}
	routes, fallback := b.routes, b.fallback
	match := func(c *Context) error {
		for _, r := range routes {
			if r.kind == c.routeKind() && r.match(c) {
				return r.chain(c)
			}
		}
		if fallback != nil && c.routeKind() == routeMessage {
			return fallback(c)
		}
		return nil
	}
	b.root = compose(match, b.global)
	return b.root
}

// Run pulls and handles messages until ctx is cancelled, then shuts down gracefully: it
// stops pulling, lets in-flight handlers finish within the shutdown timeout
// ([WithShutdownTimeout]), cancels them after that, saves what was done and returns nil.
// It returns an error only when an OnStart hook fails or the bot is already running.
func (b *Bot) Run(ctx context.Context) error {
	b.freeze()
	b.mu.Lock()
	if b.running || b.stopping {
		b.mu.Unlock()
		return ErrAlreadyRunning
	}
	b.running = true
	onStart, onStop := b.onStart, b.onStop
	b.mu.Unlock()

	for _, fn := range onStart {
		if err := fn(ctx); err != nil {
			b.mu.Lock()
			b.running = false
			b.mu.Unlock()
			return fmt.Errorf("bot: start hook: %w", err)
		}
	}

	pullCtx, cancelPull := context.WithCancel(ctx)
	defer cancelPull()
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()

	b.mu.Lock()
	b.pullCtx, b.workCtx = pullCtx, workCtx
	for id, a := range b.accounts {
		b.triggerLocked(id, a)
	}
	n := len(b.accounts)
	b.mu.Unlock()
	b.log.Info("bot: running", slog.Int("accounts", n), slog.Int("concurrency", b.opts.concurrency))
	b.recoverCallbacks(pullCtx)
	b.callbacks.start(b)

	var poll sync.WaitGroup
	if b.opts.pollInterval > 0 {
		poll.Go(func() { b.poll(pullCtx) })
	}
	flushCtx, stopFlush := context.WithCancel(context.WithoutCancel(ctx))
	var flush sync.WaitGroup
	b.done.setOn(true)
	flush.Go(func() { b.flushDone(flushCtx) })
	if b.opts.handback.timed() {
		poll.Go(func() { b.watchHandback(pullCtx) })
	}

	<-ctx.Done()
	b.mu.Lock()
	b.stopping = true
	b.mu.Unlock()
	b.log.Info("bot: stopping: waiting for in-flight handlers", slog.Duration("timeout", b.opts.shutdownTimeout))

	done := make(chan struct{})
	go func() {
		b.pullers.Wait()
		b.lanes.wait()
		b.callbacks.wait()
		poll.Wait()
		close(done)
	}()
	timer := time.NewTimer(b.opts.shutdownTimeout)
	select {
	case <-done:
		timer.Stop()
	case <-timer.C:
		b.log.Warn("bot: shutdown timeout: cancelling in-flight handlers")
		cancelWork()
		<-done
	}
	b.workers.drain()
	b.done.setOn(false)
	stopFlush()
	flush.Wait()

	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.opts.shutdownTimeout)
	defer cancel()
	var errs []error
	for _, fn := range onStop {
		if err := fn(stopCtx); err != nil {
			errs = append(errs, err)
		}
	}
	b.mu.Lock()
	b.running, b.stopping = false, false
	b.pullCtx, b.workCtx = nil, nil
	b.mu.Unlock()
	b.log.Info("bot: stopped")
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bot: stop hook: %w", err)
	}
	return nil
}

// poll pulls every known account every poll interval.
func (b *Bot) poll(ctx context.Context) {
	t := time.NewTicker(b.opts.pollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.Notify("", "")
		}
	}
}

// Ready is nil while the bot runs and its pulls succeed, else why not: not started, shutting
// down, or every pulled account's last pass failed (each account and its error). GET
// /readyz of the binary answers with it.
func (b *Bot) Ready(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case !b.running || b.pullCtx == nil:
		return errors.New("bot: not running")
	case b.stopping:
		return errors.New("bot: shutting down")
	}
	var failing []error
	for _, id := range slices.Sorted(maps.Keys(b.accounts)) {
		switch a := b.accounts[id]; {
		case !a.passed:
			continue // not pulled yet
		case a.lastErr == nil:
			return nil // this account works
		}
		failing = append(failing, fmt.Errorf("%s: %w", id, b.accounts[id].lastErr))
	}
	if len(failing) == 0 {
		return nil
	}
	return fmt.Errorf("bot: every pull is failing: %w", errors.Join(failing...))
}
