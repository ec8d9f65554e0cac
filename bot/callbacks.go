package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/kfbot/kfbot/kf/callback"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

// CallbackResult says what became of a callback notification, for [Observer.Callback].
type CallbackResult string

// Results of a callback notification.
const (
	// CallbackHandled: the handlers ran (Observer.Handled has their error).
	CallbackHandled CallbackResult = "handled"
	// CallbackRecovered: found pending at start (a crash came between recording and
	// handling) and handled then.
	CallbackRecovered CallbackResult = "recovered"
	// CallbackDuplicate: a retry of a recorded notification, accepted without handling.
	CallbackDuplicate CallbackResult = "duplicate"
	// CallbackUnrouted: no route was registered with HandleCallback; not recorded.
	CallbackUnrouted CallbackResult = "unrouted"
	// CallbackFailed: the record could not be written; the router answers 500 and WeCom
	// retries.
	CallbackFailed CallbackResult = "failed"
)

// LogKeyCallback is the log key of a notification's kind (InfoType or Event), and
// LogKeyCallbackKey the key of its dedup key.
const (
	LogKeyCallback    = "callback"
	LogKeyCallbackKey = "callback_key"
	LogKeyCorp        = "corp"
	LogKeyChangeType  = "change_type"
)

// maxQueuedCallbacks bounds the notifications waiting in memory for a worker; beyond it
// they wait in the store, pending, for the next start.
const maxQueuedCallbacks = 10_000

// callbackWorkers is how many notifications are handled at once.
const callbackWorkers = 4

// ErrNoCallbackStore is returned by [Bot.Receive] when the store cannot record
// notifications (it does not implement [storage.CallbackStore]).
var ErrNoCallbackStore = errors.New("bot: the store does not record callback notifications (storage.CallbackStore); use the memory or Badger store")

// HandleCallback registers h for callback notifications that are not KF pokes —
// provider, address-book and external-contact events (see [callback.Notification]) —
// that m matches, such as [Callback] and [ChangeType]. Only these routes see
// notifications, and they see nothing else; global middleware ([Bot.Use]) sees both.
// In the handler [Context.Notification] is the notification; [Context.Session] is nil
// and replies are refused ([ErrNoConversation]).
func (b *Bot) HandleCallback(m Matcher, h HandlerFunc, mw ...Middleware) {
	b.addRoute(nil, m, h, mw, routeCallback)
}

// HandleCallback is [Bot.HandleCallback] for routes of g.
func (g *Group) HandleCallback(m Matcher, h HandlerFunc, mw ...Middleware) {
	g.bot.addRoute(g, m, h, mw, routeCallback)
}

// Callback matches notifications of any of the given kinds: the InfoType or Event
// name, such as "change_external_contact", "change_contact" or "suite_ticket".
func Callback(kinds ...string) Matcher {
	return func(c *Context) bool {
		return c.note != nil && slices.Contains(kinds, NotificationKind(c.note))
	}
}

// ChangeType matches notifications whose ChangeType is one of types (for example
// callback.ChangeAddExternalContact); notifications without one never match.
func ChangeType(types ...string) Matcher {
	return func(c *Context) bool {
		t := NotificationChangeType(c.note)
		return t != "" && slices.Contains(types, t)
	}
}

// ContactState matches external-contact changes whose State (the 「联系我」 channel's
// state, so each QR code can have its own handler) is one of states.
func ContactState(states ...string) Matcher {
	return func(c *Context) bool {
		e, ok := c.note.(*callback.ExternalContactChange)
		return ok && slices.Contains(states, e.State)
	}
}

// NotificationKind returns n's InfoType, or its Event for the Event form.
func NotificationKind(n callback.Notification) string {
	if n == nil {
		return ""
	}
	h := n.Head()
	if h.InfoType != "" {
		return h.InfoType
	}
	return h.Event
}

// NotificationChangeType returns the ChangeType of the notifications that have one, else "".
func NotificationChangeType(n callback.Notification) string {
	switch e := n.(type) {
	case *callback.ExternalContactChange:
		return e.ChangeType
	case *callback.ContactChange:
		return e.ChangeType
	case *callback.ExternalChatChange:
		return e.ChangeType
	case *callback.ExternalTagChange:
		return e.ChangeType
	case *callback.CustomerAcquisition:
		return e.ChangeType
	}
	return ""
}

// Notification returns the callback notification a [Bot.HandleCallback] route is
// handling, or nil for a KF message.
func (c *Context) Notification() callback.Notification { return c.note }

// Received returns when the router accepted the notification (for a KF message, the
// zero time).
func (c *Context) Received() time.Time { return c.received }

// Receive takes a callback notification that is not a KF poke (the router calls it) and
// records it in the store under its key before returning, so the router answers WeCom
// only once it cannot be lost; it is then handled asynchronously, once, through the
// global middleware and the routes registered with [Bot.HandleCallback]. A retry of a
// recorded notification returns nil and is not handled again. With no such route it
// returns nil at once. It returns an error only when the record could not be written
// (the router then answers 500, so WeCom retries). Receive never calls WeCom.
func (b *Bot) Receive(ctx context.Context, n callback.Notification, received time.Time) error {
	b.freeze()
	if !b.cbRoutes {
		b.opts.observer.Callback(NotificationKind(n), CallbackUnrouted)
		return nil
	}
	recorded, err := b.recordCallback(ctx, n, received)
	if err != nil || !recorded {
		return err
	}
	b.callbacks.push(b, callbackJob{note: n, received: received})
	return nil
}

// DispatchCallback handles n synchronously, as Receive and a worker would: it records n
// (a recorded one is skipped and nil returned), runs the handler chain and marks it
// handled. It returns the handler's error (which also went to the error handler) or a
// store failure. It exists for tests, `kfbot simulate` and custom transports.
func (b *Bot) DispatchCallback(ctx context.Context, n callback.Notification, received time.Time) error {
	root := b.freeze()
	kind := NotificationKind(n)
	if !b.cbRoutes {
		b.opts.observer.Callback(kind, CallbackUnrouted)
		return nil
	}
	recorded, err := b.recordCallback(ctx, n, received)
	if err != nil || !recorded {
		return err
	}
	_, herr := b.handleCallback(ctx, ctx, root, callbackJob{note: n, received: received})
	return herr
}

// recordCallback records n in the store and reports whether this call recorded it (a
// retry of a recorded one is not), observing failures and duplicates.
func (b *Bot) recordCallback(ctx context.Context, n callback.Notification, received time.Time) (bool, error) {
	h := n.Head()
	kind := NotificationKind(n)
	cs, ok := b.store.(storage.CallbackStore)
	if !ok {
		b.opts.observer.Callback(kind, CallbackFailed)
		return false, ErrNoCallbackStore
	}
	e := storage.CallbackEntry{Key: h.Key, Payload: h.Raw, ReceiveID: h.ReceiveID, Received: received}
	recorded, err := cs.RecordCallback(ctx, e, b.opts.callbackTTL)
	if err != nil {
		b.opts.observer.Callback(kind, CallbackFailed)
		b.callbackLog(n).Error("bot: could not record a callback notification; answering WeCom with an error so it retries",
			slog.Any(LogKeyError, err))
		return false, fmt.Errorf("bot: record callback %s: %w", kind, err)
	}
	if !recorded {
		b.opts.observer.Callback(kind, CallbackDuplicate)
		b.callbackLog(n).Debug("bot: callback notification already recorded (a WeCom retry); not handled again")
	}
	return recorded, nil
}

// callbackJob is one recorded notification waiting to be handled.
type callbackJob struct {
	note      callback.Notification
	received  time.Time
	recovered bool
}

// callbackQueue holds the notifications to handle in this process, FIFO, and runs up
// to callbackWorkers of them at once while the bot runs.
type callbackQueue struct {
	mu      sync.Mutex
	active  map[string]bool // keys queued or being handled here: recovery skips them
	jobs    []callbackJob
	workers int
	wg      sync.WaitGroup
}

// push queues j and starts a worker if the bot runs and one is free.
func (q *callbackQueue) push(b *Bot, j callbackJob) {
	key := j.note.Head().Key
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.active == nil {
		q.active = make(map[string]bool)
	}
	if q.active[key] {
		return
	}
	if len(q.jobs) >= maxQueuedCallbacks {
		b.callbackLog(j.note).Warn("bot: too many callback notifications waiting; this one stays recorded and is handled at the next start")
		return
	}
	q.active[key] = true
	q.jobs = append(q.jobs, j)
	q.startLocked(b)
}

// startLocked starts workers for the queued jobs while the bot runs. Called with q.mu held.
func (q *callbackQueue) startLocked(b *Bot) {
	b.mu.Lock()
	stop, work := b.pullCtx, b.workCtx
	stopping := b.stopping
	b.mu.Unlock()
	if stop == nil || stopping {
		return // Run starts them
	}
	root := b.freeze()
	for q.workers < callbackWorkers && q.workers < len(q.jobs) {
		q.workers++
		q.wg.Go(func() { q.work(b, stop, work, root) })
	}
}

// start starts the workers for what was queued before Run.
func (q *callbackQueue) start(b *Bot) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.startLocked(b)
}

// work handles queued jobs until none is left or shutdown starts.
func (q *callbackQueue) work(b *Bot, stop, work context.Context, root HandlerFunc) {
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 || stop.Err() != nil {
			q.workers--
			q.mu.Unlock()
			return
		}
		j := q.jobs[0]
		q.jobs[0] = callbackJob{}
		q.jobs = q.jobs[1:]
		q.mu.Unlock()

		// One that is not handled stays pending in the store: the next start handles it.
		_, _ = b.handleCallback(stop, work, root, j) // errors went to the error handler
		q.mu.Lock()
		delete(q.active, j.note.Head().Key)
		q.mu.Unlock()
	}
}

// wait waits for the workers (Run, at shutdown).
func (q *callbackQueue) wait() { q.wg.Wait() }

// recoverCallbacks queues what a crash left pending in the store.
func (b *Bot) recoverCallbacks(ctx context.Context) {
	cs, ok := b.store.(storage.CallbackStore)
	if !ok || !b.cbRoutes {
		return
	}
	pending, err := cs.PendingCallbacks(ctx)
	if err != nil {
		b.log.Error("bot: could not read the callback notifications left pending; they are handled at the next start",
			slog.Any(LogKeyError, err))
		return
	}
	for _, e := range pending {
		n, err := callback.DecodeNotification(e.Payload)
		if err == nil && n.Head().Key != e.Key {
			err = fmt.Errorf("its key is %s now (another version of kfbot recorded it)", n.Head().Key)
		}
		if err != nil {
			b.log.Error("bot: dropping a recorded callback notification that does not decode",
				slog.String(LogKeyCallbackKey, e.Key), slog.Any(LogKeyError, err))
			if err := cs.CallbackHandled(ctx, e.Key); err != nil {
				b.log.Error("bot: could not drop it", slog.String(LogKeyCallbackKey, e.Key), slog.Any(LogKeyError, err))
			}
			continue
		}
		n.Head().ReceiveID = e.ReceiveID
		b.callbacks.push(b, callbackJob{note: n, received: e.Received, recovered: true})
	}
	if len(pending) > 0 {
		b.log.Info("bot: handling callback notifications left pending by a stop", slog.Int(LogKeyCount, len(pending)))
	}
}

// handleCallback runs the handler chain for j and marks it handled. It reports false
// when the notification stays pending: shutdown interrupted it, or a transient failure
// (a store or WeCom outage) outlasted its retries; and the handler's last error.
func (b *Bot) handleCallback(stop, work context.Context, root HandlerFunc, j callbackJob) (bool, error) {
	h := j.note.Head()
	c := &Context{ctx: work, bot: b, note: j.note, received: j.received, state: &msgState{},
		head: &syncmsg.Header{MsgID: h.Key, ExternalUserID: externalUserOf(j.note)}}
	kind := NotificationKind(j.note)
	delay := b.opts.retryDelay
	var herr error
	for attempt := 1; ; attempt++ {
		start := b.opts.now()
		herr = b.runHandler(root, c)
		b.opts.observer.Handled(b.opts.now().Sub(start), herr)
		if herr != nil {
			b.handleError(c, herr)
		}
		if !isTransient(herr) || work.Err() != nil {
			break
		}
		if attempt == 3 {
			c.Logger().Warn("bot: a callback notification failed 3 times; it stays recorded and is handled at the next start")
			return false, herr
		}
		select {
		case <-stop.Done():
			return false, herr
		case <-time.After(delay):
		}
		delay *= 2
	}
	if work.Err() != nil {
		return false, herr
	}
	if err := b.store.(storage.CallbackStore).CallbackHandled(context.WithoutCancel(work), h.Key); err != nil {
		c.Logger().Error("bot: could not mark a callback notification handled; it is handled again at the next start",
			slog.Any(LogKeyError, err))
	}
	res := CallbackHandled
	if j.recovered {
		res = CallbackRecovered
	}
	b.opts.observer.Callback(kind, res)
	return true, herr
}

// externalUserOf returns the customer a notification is about, if any.
func externalUserOf(n callback.Notification) string {
	if e, ok := n.(*callback.ExternalContactChange); ok {
		return e.ExternalUserID
	}
	return ""
}

// callbackLog is the bot's logger tagged with a notification's kind, corp and key.
func (b *Bot) callbackLog(n callback.Notification) *slog.Logger {
	h := n.Head()
	l := b.log.With(slog.String(LogKeyCallback, NotificationKind(n)), slog.String(LogKeyCorp, h.Corp()),
		slog.String(LogKeyCallbackKey, h.Key))
	if t := NotificationChangeType(n); t != "" {
		l = l.With(slog.String(LogKeyChangeType, t))
	}
	return l
}
