package bot

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

// Limits WeCom puts on replies (https://developer.work.weixin.qq.com/document/path/94677).
const (
	// MaxRepliesPerMessage is how many messages may be sent after one customer message.
	MaxRepliesPerMessage = 5
	// ReplyWindow is how long after the customer's last message replies are allowed.
	ReplyWindow = 48 * time.Hour
	// MaxTextBytes is [kf.MaxTextBytes]; longer replies are split.
	MaxTextBytes = kf.MaxTextBytes
)

// ReplyText sends s to the customer, split into several messages on rune boundaries when
// it is longer than [MaxTextBytes]; each part counts against the quota, and a reply that
// does not fit the remaining quota is refused whole.
func (c *Context) ReplyText(s string) error {
	parts := SplitText(s, MaxTextBytes)
	if err := c.canReply(len(parts)); err != nil {
		return err
	}
	for _, p := range parts {
		if err := c.send(kf.Text{Content: p}); err != nil {
			return err
		}
	}
	return nil
}

// Reply sends any outgoing message type to the customer with send_msg. It refuses,
// without calling WeCom, when the conversation does not allow a reply: see
// [ErrQuotaExceeded], [ErrWindowClosed], [ErrHumanOwned], [ErrRepliesStopped] and
// [ErrNotCustomerMessage].
func (c *Context) Reply(m kf.OutMessage) error {
	if err := c.canReply(1); err != nil {
		return err
	}
	return c.send(m)
}

// ReplyMenu sends a menu message (msgmenu): head text, up to 10 items, tail text.
func (c *Context) ReplyMenu(head string, items []kf.MenuItem, tail string) error {
	return c.Reply(kf.Menu{Head: head, Items: items, Tail: tail})
}

// CanReply reports, without I/O, whether n more replies may be sent now: nil, or the
// refusal [Context.Reply] would return ([ErrQuotaExceeded], [ErrHumanOwned], …). Use it
// before costly work a refused reply would waste (an upload, a model call). Unlike a
// refused Reply, it counts nothing in the metrics.
func (c *Context) CanReply(n int) error { return c.replyCheck(n) }

// canReply is CanReply that reports a refusal to the observer.
func (c *Context) canReply(n int) error {
	if err := c.replyCheck(n); err != nil {
		return c.refuse(err)
	}
	return nil
}

// replyCheck is the one place that decides whether n more messages may be sent.
func (c *Context) replyCheck(n int) error {
	s := c.state.session
	switch {
	case c.head.Origin == syncmsg.OriginServicer:
		return ErrNotCustomerMessage
	case s == nil:
		return ErrNoConversation
	case s.Human:
		return ErrHumanOwned
	case s.Stopped:
		return ErrRepliesStopped
	case s.WindowStart.IsZero() || c.bot.opts.now().Sub(s.WindowStart) > ReplyWindow:
		return ErrWindowClosed
	case s.RepliesLeft < n:
		return ErrQuotaExceeded
	}
	return nil
}

func (c *Context) refuse(err error) error {
	c.bot.opts.observer.Reply(ReplyRefused, 0)
	c.bot.opts.observer.Refused(c.head.OpenKFID, refusalReason(err))
	return err
}

// send delivers one message with a msgid derived from the inbound msgid and the reply's
// index, so a replay after a crash can never reach the customer twice.
func (c *Context) send(m kf.OutMessage) error {
	idx := c.state.replies
	c.state.replies++
	outID := OutMsgID(c.head.OpenKFID, c.head.MsgID, strconv.FormatInt(int64(idx), 36))
	replayed, err := c.deliver(outID, func(ctx context.Context) error {
		_, err := c.bot.client.SendMsg(ctx, kf.SendMsgRequest{
			ToUser: c.head.ExternalUserID, OpenKFID: c.head.OpenKFID, MsgID: outID, Message: m,
		})
		return err
	})
	s := c.state.session
	if err == nil {
		c.replyTurn(idx, m)
		if !replayed {
			// A reply delivered before a restart went out then, perhaps before later
			// customer messages that a replay now handles with it: it does not use the
			// allowance of the burst being answered.
			s.RepliesLeft--
		}
		return nil
	}
	if stopsReplies(err) {
		s.Stopped = true
	}
	return fmt.Errorf("bot: reply to %s: %w", c.head.MsgID, err)
}

// stopsReplies reports whether WeCom's answer means no send can succeed until the
// customer writes again.
func stopsReplies(err error) bool {
	return errors.Is(err, kf.ErrSessionStateForbidsSend) || errors.Is(err, kf.ErrSendCountLimit) ||
		errors.Is(err, kf.ErrSendTimeLimit) || errors.Is(err, kf.ErrNoConsultation48h)
}

// deliver runs send at most once per outID across crashes. A message's first pass
// recorded its attempt mark before any handler ran, so its sends need no store operation.
// On a later pass the send log tells: a send confirmed before is not repeated; one that
// may have gone out (the message was begun, or the send marked pending) is tried again
// with the same msgid, and if WeCom then refuses it (the msgid is already used) it counts
// as delivered (replayed is then true). Done marks are kept in the message's state and
// written with the page's other effects (see the package documentation).
func (c *Context) deliver(outID string, send func(context.Context) error) (replayed bool, err error) {
	b, ctx := c.bot, c.ctx
	key := storage.OutboundKey(b.account(c.head.OpenKFID), outID)
	prior := storage.SendNone
	if c.state.start != startNew {
		// The message's attempt mark was recorded by an earlier pass (its sends may have
		// gone out) or cannot be (no msgid): consult and mark the send log.
		var err error
		if prior, err = b.store.BeginSend(ctx, key, b.opts.dedupTTL); err != nil {
			return false, fmt.Errorf("%w: write send log: %w", errStore, err)
		}
		if prior == storage.SendNone && c.state.start == startBegun {
			prior = storage.SendPending // begun before this send log entry existed
		}
	}
	if prior == storage.SendDone {
		b.opts.observer.Reply(ReplyReplayed, 0)
		c.Logger().LogAttrs(ctx, slog.LevelInfo, "bot: reply already delivered before a restart; not sending again",
			slog.String(LogKeyOutMsgID, outID))
		return true, nil
	}
	err = send(ctx)
	if err != nil {
		code := errCode(err)
		if prior == storage.SendPending && code > 0 && !stopsReplies(err) && !isRetryableCode(code) {
			// The earlier attempt may have reached WeCom before the crash; WeCom refuses a
			// reused msgid, which is the proof. Count it as delivered rather than guess twice.
			c.Logger().LogAttrs(ctx, slog.LevelWarn, "bot: resend after a restart was refused; treating the first send as delivered",
				slog.String(LogKeyOutMsgID, outID), slog.Int(LogKeyErrCode, code))
			b.opts.observer.Reply(ReplyReplayed, code)
			c.state.sent = append(c.state.sent, key)
			b.done.add(key)
			return true, nil
		}
		b.opts.observer.Reply(ReplyFailed, code)
		return false, err
	}
	b.opts.observer.Reply(ReplyOK, 0)
	c.state.sent = append(c.state.sent, key)
	b.done.add(key)
	return false, nil
}

// isRetryableCode reports the errcodes after which a send may still succeed later: the
// ones kf retries, and the token errors kf repairs by itself.
func isRetryableCode(code int) bool { return kf.RetryableCode(code) || kf.TokenCode(code) }

// OutMsgID derives the outbound msgid of a reply from the inbound message and a tag (the
// reply index, or "w" for a welcome): 24 characters of a SHA-256 over the account and
// inbound msgid, "_", and the tag. The result is at most 32 bytes of [0-9a-zA-Z_-] when
// the tag is at most 7 such bytes, as WeCom requires, and the same inputs always give the
// same msgid.
func OutMsgID(openKFID, inMsgID, tag string) string {
	h := sha256.Sum256([]byte(openKFID + "\x00" + inMsgID))
	var buf [32]byte
	base64.RawURLEncoding.Encode(buf[:], h[:24]) // 24 bytes → 32 chars; keep 24
	return string(buf[:24]) + "_" + tag
}

// SplitText splits s into parts of at most max bytes, never inside a UTF-8 sequence,
// preferring to break after a newline or a space in the second half of a part. An empty s
// gives one empty part (which WeCom will refuse with 44004).
func SplitText(s string, max int) []string {
	if len(s) <= max {
		return []string{s}
	}
	var parts []string
	for len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		if cut == 0 { // max smaller than one rune: take the rune whole
			_, size := utf8.DecodeRuneInString(s)
			cut = size
		}
		for i := cut - 1; i >= cut/2 && i > 0; i-- {
			if s[i] == '\n' || s[i] == ' ' {
				cut = i + 1
				break
			}
		}
		parts = append(parts, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		parts = append(parts, s)
	}
	return parts
}

// Welcome sends m (text or menu) with the message's event code: the welcome_code of an
// enter_session event, or the msg_code of a session_status_change event. Codes are single
// use; a welcome code older than the welcome age ([WithWelcomeMaxAge]) is skipped with
// [ErrCodeExpired] instead of burning an API call.
func (c *Context) Welcome(m kf.OutMessage) error {
	var code string
	switch e := c.msg.(type) {
	case *syncmsg.EnterSession:
		code = e.WelcomeCode
		if code != "" && c.bot.opts.now().Sub(time.Unix(c.head.SendTime, 0)) > c.bot.opts.welcomeMaxAge {
			return c.refuse(ErrCodeExpired)
		}
	case *syncmsg.SessionStatusChange:
		code = e.MsgCode
		if code != "" && e.ChangeType == syncmsg.ChangeTypeEnd &&
			c.bot.opts.now().Sub(time.Unix(c.head.SendTime, 0)) > c.bot.opts.welcomeMaxAge {
			return c.refuse(ErrCodeExpired)
		}
	}
	if code == "" {
		return c.refuse(ErrNoEventCode)
	}
	return c.SendOnEvent(code, "w", m)
}

// WelcomeText is Welcome with a text message.
func (c *Context) WelcomeText(s string) error { return c.Welcome(kf.Text{Content: s}) }

// SendOnEvent sends m with send_msg_on_event using code (a welcome_code or msg_code, for
// example the one [Context.TransferToPool] returned). tag tells apart several such sends
// for one inbound message in the derived msgid; it must be 1–7 characters of
// [0-9a-zA-Z_-] and must not be a number (numbers are reply indexes).
func (c *Context) SendOnEvent(code, tag string, m kf.OutMessage) error {
	outID := OutMsgID(c.head.OpenKFID, c.head.MsgID, tag)
	_, err := c.deliver(outID, func(ctx context.Context) error {
		_, err := c.bot.client.SendMsgOnEvent(ctx, kf.SendMsgOnEventRequest{Code: code, MsgID: outID, Message: m})
		return err
	})
	if err != nil {
		return fmt.Errorf("bot: send_msg_on_event for %s: %w", c.head.MsgID, err)
	}
	c.replyTurn(onEventSeq+len(c.state.turns), m) // apart from the reply indexes
	return nil
}

// TransferToPool hands the conversation to the waiting pool of human servicers
// (service state 2). It returns the msg_code WeCom may give for a queue notice (see
// [Context.SendOnEvent]); the bot stops replying in the conversation.
func (c *Context) TransferToPool() (msgCode string, err error) {
	return c.transfer(kf.StatePool, "")
}

// TransferTo hands the conversation to the servicer with the given userid (service state
// 3). The servicer must be receiving (95014/95019 otherwise).
func (c *Context) TransferTo(servicerUserID string) (msgCode string, err error) {
	if servicerUserID == "" {
		return "", errors.New("bot: TransferTo: servicer userid is empty")
	}
	return c.transfer(kf.StateHuman, servicerUserID)
}

// EndSession ends the conversation (service state 4). It returns the msg_code for a
// closing message, valid 20 seconds.
func (c *Context) EndSession() (msgCode string, err error) {
	return c.transfer(kf.StateEnded, "")
}

func (c *Context) transfer(state kf.ServiceState, servicer string) (string, error) {
	if c.head.ExternalUserID == "" {
		return "", ErrNoConversation
	}
	resp, err := c.bot.client.TransServiceState(c.ctx, kf.TransServiceStateRequest{
		OpenKFID: c.head.OpenKFID, ExternalUserID: c.head.ExternalUserID,
		ServiceState: state, ServicerUserID: servicer,
	})
	if err != nil {
		return "", fmt.Errorf("bot: change service state of %s to %d: %w", c.head.ExternalUserID, state, err)
	}
	c.Logger().Info("bot: conversation handed over", slog.Int("service_state", int(state)), slog.String("servicer_userid", servicer))
	if s := c.state.session; s != nil {
		if state == kf.StateEnded {
			s.Stopped = true
		} else {
			why := "the bot put it in the pool"
			if servicer != "" {
				why = "the bot handed it to servicer " + servicer
			}
			c.bot.setHuman(s, c.head, state == kf.StatePool, c.bot.opts.now(), why)
		}
	}
	return resp.MsgCode, nil
}
