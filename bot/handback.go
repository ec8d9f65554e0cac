package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

// DefaultOwnerCheckInterval is how often at most the bot asks WeCom who owns a conversation
// the customer writes into while the bot believes a person owns it ([Handback]).
const DefaultOwnerCheckInterval = 30 * time.Second

// Handback is the policy that gives a person's conversation back to the bot. While a
// person owns a conversation (a servicer picked it up, typed in it, or it waits in the pool
// for one) nothing of the bot runs for the customer's messages but global middleware and
// routes registered with [Bot.HandleHuman]. The conversation comes back when:
//   - a servicer ends it (the session_status_change event);
//   - WeCom says so: when the customer writes, the bot confirms its belief with
//     kf/service_state/get, at most once per conversation per CheckInterval; states 0, 1
//     and 4 give the conversation back, and that very message is answered. So a session
//     ended by another system, which emits no event, is answered on the customer's next
//     message;
//   - by policy: it waited in the pool longer than PoolTimeout, or no servicer wrote in it
//     for IdleTimeout. The bot then ends the session (service state 4), sends ClosingText
//     with the closing msg_code, and answers the customer's next message. WeCom refusing
//     to end it (95016 and the like) is logged and changes nothing.
//
// The timeouts are watched while [Bot.Run] runs, for the conversations whose messages it
// handled; after a restart a conversation is watched again from its next message, and the
// customer's next message finds an expired timeout in any case.
//
// The zero Handback checks every 30 seconds and has no timeouts.
type Handback struct {
	// CheckInterval is the least time between two service_state/get calls for one
	// conversation. 0 means [DefaultOwnerCheckInterval]; a negative value never asks:
	// only the session_status_change event gives a conversation back.
	CheckInterval time.Duration
	// PoolTimeout, when positive, ends sessions that waited in the pool (service state 2)
	// longer than this.
	PoolTimeout time.Duration
	// IdleTimeout, when positive, ends sessions a servicer owns (service state 3) in which
	// no servicer wrote for this long (counted from the hand-over when none wrote yet).
	IdleTimeout time.Duration
	// ClosingText, when not empty, is sent with the closing msg_code of a session the bot
	// ended by PoolTimeout or IdleTimeout (at most [MaxTextBytes]).
	ClosingText string
}

func (h Handback) interval() time.Duration {
	if h.CheckInterval == 0 {
		return DefaultOwnerCheckInterval
	}
	return h.CheckInterval
}

// timed reports whether h has a timeout to watch.
func (h Handback) timed() bool { return h.PoolTimeout > 0 || h.IdleTimeout > 0 }

// deadline is when the session must be ended by policy (zero: never).
func (h Handback) deadline(pooled bool, since, servicerLast time.Time) time.Time {
	if since.IsZero() {
		return time.Time{}
	}
	if pooled {
		if h.PoolTimeout <= 0 {
			return time.Time{}
		}
		return since.Add(h.PoolTimeout)
	}
	if h.IdleTimeout <= 0 {
		return time.Time{}
	}
	last := since
	if servicerLast.After(last) {
		last = servicerLast
	}
	return last.Add(h.IdleTimeout)
}

// Validate reports what is wrong with h.
func (h Handback) Validate() error {
	var errs []error
	if h.PoolTimeout < 0 {
		errs = append(errs, fmt.Errorf("bot: Handback.PoolTimeout %v: must not be negative (0 turns it off)", h.PoolTimeout))
	}
	if h.IdleTimeout < 0 {
		errs = append(errs, fmt.Errorf("bot: Handback.IdleTimeout %v: must not be negative (0 turns it off)", h.IdleTimeout))
	}
	if len(h.ClosingText) > MaxTextBytes {
		errs = append(errs, fmt.Errorf("bot: Handback.ClosingText is %d bytes; WeCom takes at most %d", len(h.ClosingText), MaxTextBytes))
	}
	return errors.Join(errs...)
}

// WithHandback sets the policy that gives a person's conversation back to the bot.
// Default: the zero [Handback].
func WithHandback(h Handback) Option { return func(o *options) { o.handback = h } }

// SetHandback replaces the hand-back policy, like [WithHandback]; plugins (a rule file's
// `handback` section) call it from Install. It must be called before the bot starts.
func (b *Bot) SetHandback(h Handback) error {
	if err := h.Validate(); err != nil {
		return err
	}
	b.mustNotRun("SetHandback")
	b.mu.Lock()
	b.opts.handback = h
	b.mu.Unlock()
	return nil
}

// Handback returns the hand-back policy in force.
func (b *Bot) Handback() Handback {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opts.handback
}

// HumanOwned reports that a person owns the conversation of this customer message: only
// global middleware and routes registered with [Bot.HandleHuman] see it.
func (c *Context) HumanOwned() bool { return c.human }

// setHuman records that a person (or the pool, when pooled) holds s from at: a new
// holder, whose pool and idle timeouts count from then. It logs and reports a change of
// hands when the bot owned s.
func (b *Bot) setHuman(s *storage.Session, h *syncmsg.Header, pooled bool, at time.Time, why string) {
	wasHuman := s.Human
	s.Human, s.Pooled, s.HumanSince = true, pooled, at
	if !wasHuman {
		b.ownershipChanged(h.OpenKFID, h.ExternalUserID, h.MsgID, true, why)
	}
}

// setBot records that the bot owns s again, logging and reporting the change of hands.
func (b *Bot) setBot(s *storage.Session, h *syncmsg.Header, why string) {
	if !s.Human {
		return
	}
	releaseSession(s)
	b.ownershipChanged(h.OpenKFID, h.ExternalUserID, h.MsgID, false, why)
}

func releaseSession(s *storage.Session) {
	s.Human, s.Pooled, s.HumanSince = false, false, time.Time{}
}

// ownershipChanged logs and reports that a conversation changed hands.
func (b *Bot) ownershipChanged(openKFID, externalUserID, msgID string, human bool, why string) {
	msg := "bot: the conversation is back with the bot"
	if human {
		msg = "bot: a person owns the conversation now; the bot keeps out"
	}
	b.log.Info(msg, slog.String(LogKeyOpenKFID, openKFID), slog.String(LogKeyExternalUserID, externalUserID),
		slog.String(LogKeyMsgID, msgID), slog.String("reason", why))
	b.opts.observer.Ownership(openKFID, human)
}

// confirmOwner runs before a customer message of a conversation the session says a person
// owns: it asks WeCom (at most once per check interval) and ends the session when a
// timeout passed. The session says afterwards who
// owns it.
func (b *Bot) confirmOwner(ctx context.Context, s *storage.Session, h *syncmsg.Header) {
	hb := b.opts.handback
	now := b.opts.now()
	if hb.interval() < 0 || (!s.OwnerChecked.IsZero() && now.Sub(s.OwnerChecked) < hb.interval()) {
		return
	}
	s.OwnerChecked = now
	st, err := b.client.ServiceState(ctx, kf.ServiceStateRequest{OpenKFID: h.OpenKFID, ExternalUserID: h.ExternalUserID})
	if err != nil {
		b.log.Warn("bot: cannot ask WeCom who owns the conversation; it stays with the person for now",
			slog.String(LogKeyOpenKFID, h.OpenKFID), slog.String(LogKeyExternalUserID, h.ExternalUserID),
			slog.String(LogKeyMsgID, h.MsgID), slog.Any(LogKeyError, err), slog.Duration("next_check_in", hb.interval()))
		return
	}
	switch st.ServiceState {
	case kf.StatePool, kf.StateHuman:
		s.Pooled = st.ServiceState == kf.StatePool
		if d := hb.deadline(s.Pooled, s.HumanSince, s.ServicerLast); !d.IsZero() && !now.Before(d) {
			if b.endByPolicy(ctx, storage.Conversation{CorpID: b.corpID, OpenKFID: h.OpenKFID, ExternalUserID: h.ExternalUserID}, s.Pooled) {
				b.owners.forget(s.Conversation)
				releaseSession(s)
			}
		}
	default:
		b.setBot(s, h, fmt.Sprintf("WeCom says the session is in state %d (%s)", int(st.ServiceState), st.ServiceState))
	}
}

// endByPolicy ends a session by the hand-back policy and sends the closing text; it
// reports whether the session was ended.
func (b *Bot) endByPolicy(ctx context.Context, conv storage.Conversation, pooled bool) bool {
	hb := b.opts.handback
	why := fmt.Sprintf("no servicer wrote for %v", hb.IdleTimeout)
	if pooled {
		why = fmt.Sprintf("it waited in the pool longer than %v", hb.PoolTimeout)
	}
	log := b.log.With(slog.String(LogKeyOpenKFID, conv.OpenKFID), slog.String(LogKeyExternalUserID, conv.ExternalUserID))
	resp, err := b.client.TransServiceState(ctx, kf.TransServiceStateRequest{
		OpenKFID: conv.OpenKFID, ExternalUserID: conv.ExternalUserID, ServiceState: kf.StateEnded,
	})
	if err != nil {
		log.Warn("bot: WeCom refused to end the session; it stays with the person", slog.String("reason", why),
			slog.Any(LogKeyError, err), slog.Int(LogKeyErrCode, errCode(err)))
		return false
	}
	b.ownershipChanged(conv.OpenKFID, conv.ExternalUserID, "", false, "the bot ended the session: "+why)
	if hb.ClosingText != "" && resp.MsgCode != "" {
		outID := OutMsgID(conv.OpenKFID, conv.ExternalUserID+"\x00"+resp.MsgCode, "c") // closing
		if _, err := b.client.SendMsgOnEvent(ctx, kf.SendMsgOnEventRequest{
			Code: resp.MsgCode, MsgID: outID, Message: kf.Text{Content: hb.ClosingText},
		}); err != nil {
			log.Warn("bot: the closing message was not sent", slog.Any(LogKeyError, err), slog.Int(LogKeyErrCode, errCode(err)))
		}
	}
	return true
}

// watcher keeps the deadlines of the conversations people own, while Run runs, and the
// hand-backs it did for the conversations' next messages. Safe for concurrent use.
type watcher struct {
	mu    sync.Mutex
	watch map[storage.Conversation]watched
	ended map[storage.Conversation]time.Time // sessions the watcher ended, and when
	next  time.Time                          // the earliest deadline the loop waits for
	wake  chan struct{}
}

type watched struct {
	deadline time.Time
	pooled   bool
}

func newWatcher() *watcher {
	return &watcher{watch: map[storage.Conversation]watched{}, ended: map[storage.Conversation]time.Time{}, wake: make(chan struct{}, 1)}
}

// update watches s after one of its messages was handled under policy hb.
func (w *watcher) update(hb Handback, s *storage.Session) {
	if !hb.timed() {
		return
	}
	d := time.Time{}
	if s.Human {
		d = hb.deadline(s.Pooled, s.HumanSince, s.ServicerLast)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if d.IsZero() {
		delete(w.watch, s.Conversation)
		return
	}
	w.watch[s.Conversation] = watched{deadline: d, pooled: s.Pooled}
	if w.next.IsZero() || d.Before(w.next) {
		w.next = d
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (w *watcher) forget(conv storage.Conversation) {
	w.mu.Lock()
	delete(w.watch, conv)
	w.mu.Unlock()
}

// released applies a hand-back the watcher did to s, the session of a later message, and
// reports whether it did. A person who took the conversation after the watcher ended the
// session keeps it.
func (w *watcher) released(s *storage.Session) bool {
	w.mu.Lock()
	at, ok := w.ended[s.Conversation]
	delete(w.ended, s.Conversation)
	w.mu.Unlock()
	if !ok || !s.Human || s.HumanSince.After(at) {
		return false
	}
	releaseSession(s)
	return true
}

// due takes the conversations whose deadline is not after now, and returns them with the
// next deadline to wait for (zero: none).
func (w *watcher) due(now time.Time) (due map[storage.Conversation]watched, next time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for conv, at := range w.ended {
		if now.Sub(at) > ReplyWindow {
			delete(w.ended, conv) // the customer never wrote again; the session is long gone
		}
	}
	for conv, x := range w.watch {
		if !x.deadline.After(now) {
			if due == nil {
				due = map[storage.Conversation]watched{}
			}
			due[conv] = x
			delete(w.watch, conv)
			continue
		}
		if next.IsZero() || x.deadline.Before(next) {
			next = x.deadline
		}
	}
	w.next = next
	return due, next
}

func (w *watcher) markEnded(conv storage.Conversation, at time.Time) {
	w.mu.Lock()
	w.ended[conv] = at
	w.mu.Unlock()
}

// watchHandback ends the sessions whose timeouts pass, until ctx is done.
func (b *Bot) watchHandback(ctx context.Context) {
	w := b.owners
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		due, next := w.due(b.opts.now())
		for conv, x := range due {
			b.expire(ctx, conv, x)
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(b.opts.now()), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-timer.C:
		}
	}
}

// expire handles a conversation whose timeout passed: WeCom's state decides (the person
// may have picked it up, or someone ended it), then the session is ended by policy.
func (b *Bot) expire(ctx context.Context, conv storage.Conversation, x watched) {
	st, err := b.client.ServiceState(ctx, kf.ServiceStateRequest{OpenKFID: conv.OpenKFID, ExternalUserID: conv.ExternalUserID})
	if err != nil {
		b.log.Warn("bot: cannot ask WeCom who owns the conversation whose timeout passed; the customer's next message checks again",
			slog.String(LogKeyOpenKFID, conv.OpenKFID), slog.String(LogKeyExternalUserID, conv.ExternalUserID), slog.Any(LogKeyError, err))
		return
	}
	now := b.opts.now()
	switch st.ServiceState {
	case kf.StatePool, kf.StateHuman:
		pooled := st.ServiceState == kf.StatePool
		if pooled != x.pooled {
			// Picked up from the pool since (its event is on its way), or pooled again:
			// the customer's next message or the event sets the right deadline.
			return
		}
		if b.endByPolicy(ctx, conv, pooled) {
			b.owners.markEnded(conv, now)
		}
	default:
		b.ownershipChanged(conv.OpenKFID, conv.ExternalUserID, "", false,
			fmt.Sprintf("WeCom says the session is in state %d (%s)", int(st.ServiceState), st.ServiceState))
		b.owners.markEnded(conv, now)
	}
}
