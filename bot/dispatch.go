package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

// Dispatch handles one message synchronously, exactly as a pulled message would be:
// dedup, session, middleware, the first matching handler, replies, then marking it
// processed. It exists for tests and custom transports. It returns the handler's error
// (which also went to the error handler) or a store failure. Safe for concurrent use,
// but messages of one conversation must not be dispatched concurrently.
func (b *Bot) Dispatch(ctx context.Context, msg syncmsg.Message) error {
	root := b.freeze()
	_, err := b.process(ctx, ctx, root, msg, nil)
	return err
}

// dispatchPage handles one page: enter_session events first (their welcome codes live
// 20 s), then everything else; each conversation in order, conversations in parallel up to
// the concurrency bound. It reports whether every message was handled, i.e. whether the
// cursor may move past the page.
func (b *Bot) dispatchPage(stop, work context.Context, openKFID string, msgs []syncmsg.Message, cold bool) (bool, int) {
	if len(msgs) == 0 {
		return true, 0
	}
	now := b.opts.now()
	msgs = b.filterPage(openKFID, msgs, cold, now)
	if len(msgs) == 0 {
		return true, 0
	}

	// Group by conversation, keeping page order inside each and first-appearance order
	// across them; enter_session events lead.
	groups := make(map[string]*conversation)
	var order []*conversation
	add := func(m syncmsg.Message) {
		h := m.Head()
		key := h.OpenKFID + "\x00" + h.ExternalUserID
		g := groups[key]
		if g == nil {
			g = &conversation{}
			groups[key] = g
			order = append(order, g)
		}
		g.msgs = append(g.msgs, m)
		if h.Origin == syncmsg.OriginCustomer {
			g.newestCustomer = max(g.newestCustomer, h.SendTime)
		}
	}
	for _, m := range msgs {
		if m.Head().EventType == syncmsg.EventEnterSession {
			add(m)
		}
	}
	for _, m := range msgs {
		if m.Head().EventType != syncmsg.EventEnterSession {
			add(m)
		}
	}

	root := b.freeze()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		complete = true
	)
	fail := func() {
		mu.Lock()
		complete = false
		mu.Unlock()
	}
	for _, g := range order {
		wg.Add(1)
		ok := b.workers.do(stop, func() {
			defer wg.Done()
			for _, m := range g.msgs {
				if stop.Err() != nil {
					fail()
					return
				}
				ok, _ := b.process(stop, work, root, m, g)
				if !ok {
					fail() // later messages of this conversation wait for the next pass
					return
				}
			}
		})
		if !ok {
			wg.Done()
			fail()
			wg.Wait()
			return false, handledIn(order)
		}
	}
	wg.Wait()
	return complete, handledIn(order)
}

// handledIn counts the messages of the page's conversations that ran through the handlers
// in this pass (not those skipped as already processed).
func handledIn(order []*conversation) int {
	n := 0
	for _, g := range order {
		n += g.handled
	}
	return n
}

// conversation is the part of a page that belongs to one conversation.
type conversation struct {
	msgs           []syncmsg.Message
	opened         bool  // a customer message of the page has opened the reply window
	handled        int   // messages handled in this pass (not skipped as duplicates)
	newestCustomer int64 // send_time of the newest customer message in the page
}

// filterPage drops what must not reach handlers: history on a cold start, and messages the
// customer recalled later in the same page.
func (b *Bot) filterPage(openKFID string, msgs []syncmsg.Message, cold bool, now time.Time) []syncmsg.Message {
	var recalled map[string]bool
	for _, m := range msgs {
		if r, ok := m.(*syncmsg.UserRecallMsg); ok && r.RecallMsgID != "" {
			if recalled == nil {
				recalled = make(map[string]bool)
			}
			recalled[r.RecallMsgID] = true
		}
	}
	if !cold && recalled == nil {
		return msgs
	}
	cutoff := now.Add(-b.opts.coldStartAge).Unix()
	out := msgs[:0:0]
	for _, m := range msgs {
		h := m.Head()
		switch {
		case cold && b.opts.coldStartAge > 0 && h.SendTime < cutoff:
			b.opts.observer.Skipped(openKFID, "cold_start")
		case recalled[h.MsgID] && h.Origin == syncmsg.OriginCustomer:
			b.opts.observer.Skipped(openKFID, "recalled")
			b.log.Info("bot: skipping a message the customer recalled", slog.String(LogKeyOpenKFID, h.OpenKFID),
				slog.String(LogKeyExternalUserID, h.ExternalUserID), slog.String(LogKeyMsgID, h.MsgID))
		default:
			out = append(out, m)
		}
	}
	if n := len(msgs) - len(out); n > 0 && cold {
		b.log.Info("bot: cold start: skipped old messages", slog.String(LogKeyOpenKFID, openKFID), slog.Int(LogKeyCount, n))
	}
	return out
}

// process handles one message. stop is checked before starting; work carries the handler.
// ok is false when the message was not handled and must be pulled again (shutdown or a
// transient failure); err is the handler's error. burst is the message's conversation in
// the page (nil for Dispatch), see observeMessage.
func (b *Bot) process(stop, work context.Context, root HandlerFunc, msg syncmsg.Message, burst *conversation) (ok bool, err error) {
	if stop.Err() != nil {
		return false, stop.Err()
	}
	h := msg.Head()
	dedupKey := ""
	if h.MsgID != "" {
		dedupKey = storage.InboundKey(b.account(h.OpenKFID), h.MsgID)
		seen, err := b.store.Seen(work, dedupKey)
		if err != nil {
			b.logStoreError(h, "check processed msgid", err)
			return false, err
		}
		if seen {
			b.opts.observer.Duplicate(h.OpenKFID)
			b.log.LogAttrs(work, slog.LevelDebug, "bot: skipping a message already processed",
				slog.String(LogKeyOpenKFID, h.OpenKFID), slog.String(LogKeyMsgID, h.MsgID))
			return true, nil
		}
	}

	var sess *storage.Session
	if h.ExternalUserID != "" {
		conv := storage.Conversation{CorpID: b.corpID, OpenKFID: h.OpenKFID, ExternalUserID: h.ExternalUserID}
		sess, err = b.store.Session(work, conv)
		if errors.Is(err, storage.ErrNotFound) {
			sess, err = &storage.Session{Conversation: conv}, nil
		}
		if err != nil {
			b.logStoreError(h, "load session", err)
			return false, err
		}
		if h.MsgID != "" && sess.LastMsgID == h.MsgID {
			// Handled and saved before a crash that came before the msgid was marked: its
			// effects (quota, vars) are in the session already and must not count twice.
			return b.markProcessed(work, h, dedupKey)
		}
		b.observeMessage(sess, msg, h, burst)
	}

	c := &Context{ctx: work, bot: b, msg: msg, head: h, state: &msgState{session: sess}}
	start := b.opts.now()
	b.opts.observer.Message(h.MsgType, h.EventType)
	herr := b.runHandler(root, c)
	if _, nop := b.opts.observer.(NopObserver); !nop {
		b.opts.observer.Handled(b.opts.now().Sub(start), herr)
	}
	if herr != nil {
		b.handleError(c, herr)
	}
	if work.Err() != nil || isTransient(herr) {
		// Cut off by the shutdown deadline, or WeCom/the network/the store failed for now:
		// leave the message unmarked so it is handled again on the next pass, with the sends
		// that went out marked done so that they are not repeated (if this write fails, their
		// pending marks still keep them from reaching the customer twice).
		if len(c.state.sent) > 0 {
			batch := &storage.Batch{Sent: c.state.sent, DedupTTL: b.opts.dedupTTL}
			ctx, cancel := context.WithTimeout(context.WithoutCancel(work), 5*time.Second)
			err := b.store.Apply(ctx, batch)
			cancel()
			if err != nil {
				b.logStoreError(h, "mark sends done", err)
			}
		}
		return false, herr
	}

	// Everything the message did becomes durable at once: its session, its processed
	// mark and its confirmed sends.
	batch := &storage.Batch{Seen: dedupKey, Sent: c.state.sent, DedupTTL: b.opts.dedupTTL}
	if sess != nil {
		sess.LastSeen = start
		sess.LastMsgID = h.MsgID
		batch.Session, batch.SessionTTL = sess, b.opts.sessionTTL
	}
	if err := b.store.Apply(work, batch); err != nil {
		b.logStoreError(h, "save the message's session, processed mark and sends", err)
		return false, err
	}
	if burst != nil {
		burst.handled++
	}
	return true, herr
}

// markProcessed records that the message was handled, so a replay skips it.
func (b *Bot) markProcessed(ctx context.Context, h *syncmsg.Header, dedupKey string) (bool, error) {
	if dedupKey == "" {
		return true, nil
	}
	if _, err := b.store.FirstSeen(ctx, dedupKey, b.opts.dedupTTL); err != nil {
		b.logStoreError(h, "mark msgid processed", err)
		return false, err
	}
	return true, nil
}

// observeMessage updates the session with what the message says about the conversation,
// before handlers see it.
//
// WeCom's reply allowance is 5 messages after the customer's LAST message: a burst of
// customer messages that arrived before the bot answered shares one allowance. So the
// first customer message of the conversation handled in a pass over a page opens a fresh
// window that starts at the page's newest customer message, and the rest of the burst does
// not reset it. (A burst that spans pages, or a page replayed after some of its replies
// went out, may get a second allowance WeCom will not give; WeCom's 95001 then stops
// replies, and the next customer message starts over.)
func (b *Bot) observeMessage(s *storage.Session, msg syncmsg.Message, h *syncmsg.Header, burst *conversation) {
	sent := time.Unix(h.SendTime, 0)
	if s.FirstSeen.IsZero() {
		s.FirstSeen = sent
	}
	switch h.Origin {
	case syncmsg.OriginCustomer:
		s.Messages++
		// The first customer message handled in this page opens the window; messages
		// already processed before a replay are skipped before they get here, so they
		// cannot hold the window of a newer burst shut.
		if burst == nil || !burst.opened {
			if burst != nil {
				burst.opened = true
			}
			s.RepliesLeft = MaxRepliesPerMessage
			s.WindowStart = sent
			if burst != nil {
				s.WindowStart = time.Unix(max(burst.newestCustomer, h.SendTime), 0)
			}
			s.Stopped = false
		}
	case syncmsg.OriginServicer:
		s.Human = true // a person typed in the WeCom client: the bot keeps out
	}
	if e, ok := msg.(*syncmsg.SessionStatusChange); ok {
		switch e.ChangeType {
		case syncmsg.ChangeTypeEnd:
			s.Human = false
		default:
			s.Human = true
		}
	}
}

// runHandler runs the chain, turning a panic into an error with its stack.
func (b *Bot) runHandler(root HandlerFunc, c *Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return root(c)
}

// PanicError is the error a recovered handler panic becomes.
type PanicError struct {
	Value any    // what was passed to panic
	Stack []byte // the goroutine's stack at the panic
}

// Error implements error.
func (e *PanicError) Error() string { return fmt.Sprintf("bot: handler panicked: %v", e.Value) }

// Unwrap returns the panic value when it is an error.
func (e *PanicError) Unwrap() error {
	if err, ok := e.Value.(error); ok {
		return err
	}
	return nil
}

func (b *Bot) handleError(c *Context, err error) {
	if b.opts.errorHandler != nil {
		b.opts.errorHandler(c, err)
		return
	}
	level := slog.LevelError
	if refusalReason(err) != "" {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{slog.Any(LogKeyError, err), slog.String(LogKeyMsgType, string(c.head.MsgType))}
	var p *PanicError
	if errors.As(err, &p) {
		attrs = append(attrs, slog.String("stack", string(p.Stack)))
	}
	if code := errCode(err); code != 0 {
		attrs = append(attrs, slog.Int(LogKeyErrCode, code))
	}
	c.Logger().LogAttrs(c.ctx, level, "bot: handler error", attrs...)
}

func (b *Bot) logStoreError(h *syncmsg.Header, op string, err error) {
	b.log.Error("bot: store failed; the message will be pulled again", slog.String("op", op),
		slog.String(LogKeyOpenKFID, h.OpenKFID), slog.String(LogKeyExternalUserID, h.ExternalUserID),
		slog.String(LogKeyMsgID, h.MsgID), slog.Any(LogKeyError, err))
}

// pageLag is the age of the newest message in a page.
func pageLag(now time.Time, msgs []syncmsg.Message) time.Duration {
	var newest int64
	for _, m := range msgs {
		if t := m.Head().SendTime; t > newest {
			newest = t
		}
	}
	if newest == 0 {
		return 0
	}
	return now.Sub(time.Unix(newest, 0))
}
