package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"time"

	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

// Dispatch handles one message synchronously, exactly as a pulled message would be:
// dedup, session, middleware, the first matching handler, replies, then recording it
// processed. It exists for tests and custom transports. It returns the handler's error
// (which also went to the error handler) or a store failure. Safe for concurrent use,
// but messages of one conversation must not be dispatched concurrently.
func (b *Bot) Dispatch(ctx context.Context, msg syncmsg.Message) error {
	root := b.freeze()
	c := groupConversations(b.corpID, []syncmsg.Message{msg})[0]
	c.starts = make([]start, 1)
	h := msg.Head()
	look := &storage.Lookup{}
	if c.keys[0] != "" {
		addLookup(look, b.account(h.OpenKFID), h.MsgID, c.keys[0])
	}
	if c.conv.ExternalUserID != "" {
		look.Sessions = []storage.Conversation{c.conv}
	}
	starts, err := b.begin(ctx, look)
	if err != nil {
		b.logStoreError(h, "read and mark the message", err)
		return err
	}
	if len(starts) > 0 {
		c.starts[0] = starts[0]
	}
	if c.starts[0] == startSeen {
		b.skipDuplicate(ctx, h)
		return nil
	}
	var sess *storage.Session
	if len(look.Sessions) > 0 {
		sess = sessionOrNew(look.SessionsFound[0], c.conv)
	}
	ok, herr := b.handleMessage(ctx, root, c, 0, sess)
	if ok {
		c.session = sess
	}
	b.writeTurns(context.WithoutCancel(ctx), h.OpenKFID, []*conversation{c})
	if err := b.applyParts(context.WithoutCancel(ctx), []*conversation{c}, nil); err != nil {
		b.logStoreError(h, "record the message's session, processed mark and sends", err)
		return err
	}
	return herr
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

// handleConversation handles a page's part of one conversation, in order, with the
// conversation's live session (nil for messages without a customer). It returns false
// when a message was not handled (shutdown, or a transient failure): the part then leaves
// only its done sends, and it and the rest are handled again on the next pass. On success
// the part leaves a snapshot of the session and the processed marks.
func (b *Bot) handleConversation(stop, work context.Context, root HandlerFunc, c *conversation, sess *storage.Session) bool {
	for i, m := range c.msgs {
		if stop.Err() == nil && c.starts[i] == startSeen {
			b.skipDuplicate(work, m.Head())
			continue
		}
		if stop.Err() != nil {
			c.fail()
			return false
		}
		if ok, _ := b.handleMessage(work, root, c, i, sess); !ok {
			c.fail()
			return false
		}
		if c.deferred {
			// The rest of the conversation goes to its lane, which owns the session from now.
			c.session = sess.Clone()
			b.park(stop, work, root, c, i, sess)
			return true
		}
	}
	c.session = sess.Clone()
	return true
}

// fail drops what the part would have recorded but its done sends: its messages are
// handled again on the next pass, and the sends they made are not repeated.
func (c *conversation) fail() {
	c.sent = append(c.sent, c.covered...)
	c.marks, c.covered, c.turns = nil, nil, nil
}

// skipDuplicate reports a message skipped as already processed.
func (b *Bot) skipDuplicate(ctx context.Context, h *syncmsg.Header) {
	b.opts.observer.Duplicate(h.OpenKFID)
	b.log.LogAttrs(ctx, slog.LevelDebug, "bot: skipping a message already processed",
		slog.String(LogKeyOpenKFID, h.OpenKFID), slog.String(LogKeyMsgID, h.MsgID))
}

// handleMessage runs message i of part through the handlers with sess (part.starts[i]
// says whether an earlier pass began it, see begin), and adds what it did to part: its
// done sends always, its processed mark when it was handled. ok is false when it was not
// handled and must be pulled again (cut off by shutdown, or a transient failure of
// WeCom, the network or the store); herr is the handler's error.
func (b *Bot) handleMessage(work context.Context, root HandlerFunc, part *conversation, i int, sess *storage.Session) (ok bool, herr error) {
	msg, st, mark := part.msgs[i], part.starts[i], part.keys[i]
	h := msg.Head()
	human, wasHuman := false, sess != nil && sess.Human
	if sess != nil {
		if h.MsgID != "" && sess.LastMsgID == h.MsgID {
			// Handled and saved before a crash that came before the msgid was marked (a
			// store written by kfbot 1): its effects (quota, vars) are in the session
			// already and must not count twice.
			part.marks = append(part.marks, mark)
			return true, nil
		}
		if sess.Human {
			b.owners.released(sess)
		}
		if sess.Human && h.Origin == syncmsg.OriginCustomer {
			if i == len(part.msgs)-1 {
				// Only the conversation's last message of the page asks WeCom: what
				// follows an earlier one in the page tells more about its time than
				// WeCom's state now does.
				b.confirmOwner(work, sess, h)
			}
			human = sess.Human
		}
		if !human && !part.observed {
			// A person's conversation is theirs: the customer's messages change nothing
			// of the bot's (counters, reply window).
			b.observeMessage(sess, msg, h, part)
		}
	}

	c := &Context{ctx: work, bot: b, msg: msg, head: h, state: &msgState{session: sess, start: st, part: part, lane: part.run}, human: human}
	start := b.opts.now()
	if part.run == nil {
		b.opts.observer.Message(h.MsgType, h.EventType) // a parked message was counted on its page
	}
	herr = b.runHandler(root, c)
	if c.state.deferred {
		// Handled on its conversation's lane: counted, recorded and reported there.
		if herr != nil {
			b.handleError(c, herr)
		}
		part.deferred = true
		return true, nil
	}
	if _, nop := b.opts.observer.(NopObserver); !nop {
		b.opts.observer.Handled(b.opts.now().Sub(start), herr)
	}
	if herr != nil {
		b.handleError(c, herr)
	}
	if work.Err() != nil || isTransient(herr) {
		// The sends that went out are marked done, so that the next pass does not repeat
		// them (were that write lost, WeCom would refuse their reused msgids).
		part.sent = append(part.sent, c.state.sent...)
		return false, herr
	}
	if sess != nil {
		sess.LastSeen = start
		sess.LastMsgID = h.MsgID
		b.owners.update(b.opts.handback, sess)
		b.recordTurns(part, msg, h, c, wasHuman, sess.Human)
	}
	if mark != "" {
		// Once the processed mark is recorded the message is never handled again, so its
		// sends need done marks only if the part fails after all.
		part.marks = append(part.marks, mark)
		part.covered = append(part.covered, c.state.sent...)
	} else {
		part.sent = append(part.sent, c.state.sent...)
	}
	part.handled++
	return true, herr
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
		// A person typed in the WeCom client: the bot keeps out.
		s.ServicerLast = sent
		if s.Human {
			s.Pooled = false // the servicer who writes holds it; their idle clock restarts
		} else {
			b.setHuman(s, h, false, sent, "a servicer wrote in the conversation")
		}
	}
	if e, ok := msg.(*syncmsg.SessionStatusChange); ok {
		switch e.ChangeType {
		case syncmsg.ChangeTypeEnd:
			b.setBot(s, h, "a servicer ended the session")
		default:
			// Picked up from the pool, transferred, re-entered: a servicer holds it from now.
			b.setHuman(s, h, false, sent, fmt.Sprintf("session_status_change %d", e.ChangeType))
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
