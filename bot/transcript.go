package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

// TranscriptMode says what the engine records in conversation transcripts
// ([WithTranscripts]).
type TranscriptMode uint8

const (
	// TranscriptsOff records nothing (the default).
	TranscriptsOff TranscriptMode = iota
	// TranscriptsOn records customer messages, the bot's replies, messages servicers
	// type and changes of hands.
	TranscriptsOn
	// TranscriptsBotTurns records only what passes between the customer and the bot: no
	// servicer messages and no customer messages sent while a person owns the
	// conversation (changes of hands are recorded, without content).
	TranscriptsBotTurns
)

// String returns "off", "on" or "bot_turns".
func (m TranscriptMode) String() string {
	switch m {
	case TranscriptsOff:
		return "off"
	case TranscriptsOn:
		return "on"
	case TranscriptsBotTurns:
		return "bot_turns"
	}
	return fmt.Sprintf("TranscriptMode(%d)", int(m))
}

// ParseTranscriptMode reads "off", "on" or "bot_turns".
func ParseTranscriptMode(s string) (TranscriptMode, error) {
	for _, m := range []TranscriptMode{TranscriptsOff, TranscriptsOn, TranscriptsBotTurns} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("bot: transcript mode %q is not off, on or bot_turns", s)
}

// WithTranscripts makes the engine keep a bounded transcript of each conversation
// (storage.TranscriptStore; the memory and Badger stores are ones): the customer's
// messages, the bot's replies, servicer messages and changes of hands, each with its time
// and msgid, kept for limits.TTL (default 48 h) and at most limits.MaxTurns per
// conversation (default 200). A page's turns are written before its processed marks, so a
// crash repeats them (stores keep each turn once) and never loses them; a failed write is
// logged and never holds a reply back. [Context.Transcript] reads them. Default: off.
func WithTranscripts(mode TranscriptMode, limits storage.TranscriptLimits) Option {
	return func(o *options) { o.transcripts, o.transcriptLimits = mode, limits }
}

// transcripts returns the store's transcripts when the engine records them.
func (b *Bot) transcriptStore() storage.TranscriptStore {
	if b.opts.transcripts == TranscriptsOff {
		return nil
	}
	ts, _ := b.store.(storage.TranscriptStore)
	return ts
}

func (o *options) validateTranscripts(store storage.Store) error {
	if o.transcripts > TranscriptsBotTurns {
		return fmt.Errorf("bot: WithTranscripts(%v): not a mode", o.transcripts)
	}
	if o.transcripts == TranscriptsOff || store == nil {
		return nil
	}
	if _, ok := store.(storage.TranscriptStore); !ok {
		return fmt.Errorf("bot: WithTranscripts(%v): the store (%T) keeps no transcripts (storage.TranscriptStore); use the memory or Badger store, or turn them off", o.transcripts, store)
	}
	return nil
}

// ErrNoTranscripts is returned by [Context.Transcript] when the bot records none.
var ErrNoTranscripts = errors.New("bot: transcripts are off (see WithTranscripts)")

// Transcript returns the newest limit (0: all) turns of the conversation the store holds,
// oldest first. Turns of the page being handled are written when it is committed, so the
// message being handled and those just before it in the same page are not among them.
func (c *Context) Transcript(limit int) ([]storage.Turn, error) {
	ts := c.bot.transcriptStore()
	if ts == nil {
		return nil, ErrNoTranscripts
	}
	if c.state.session == nil {
		return nil, ErrNoConversation
	}
	return ts.Transcript(c.ctx, c.state.session.Conversation, limit)
}

// recordTurns adds the turns of message h, which was just handled, to part: the message
// itself, the replies sent for it, and a change of hands (human is who owns the
// conversation now, wasHuman who did before).
func (b *Bot) recordTurns(part *conversation, msg syncmsg.Message, h *syncmsg.Header, c *Context, wasHuman, human bool) {
	mode := b.opts.transcripts
	if mode == TranscriptsOff || part.conv.ExternalUserID == "" {
		return
	}
	conv := part.conv
	at := time.Unix(h.SendTime, 0)
	if human != wasHuman {
		owner := "bot"
		if human {
			owner = "human"
		}
		part.turns = append(part.turns, storage.Turn{Conversation: conv, Time: at, MsgID: h.MsgID, Kind: storage.TurnOwnership, Text: owner})
	}
	switch h.Origin {
	case syncmsg.OriginCustomer:
		if mode == TranscriptsOn || !c.human {
			part.turns = append(part.turns, storage.Turn{Conversation: conv, Time: at, MsgID: h.MsgID, Kind: storage.TurnCustomer,
				MsgType: string(h.MsgType), Text: describeInbound(msg)})
		}
	case syncmsg.OriginServicer:
		if mode == TranscriptsOn {
			part.turns = append(part.turns, storage.Turn{Conversation: conv, Time: at, MsgID: h.MsgID, Kind: storage.TurnServicer,
				MsgType: string(h.MsgType), Text: describeInbound(msg)})
		}
	}
	for _, r := range c.state.turns {
		r.Conversation = conv
		part.turns = append(part.turns, r)
	}
}

// onEventSeq is the first Seq of send_msg_on_event replies in a transcript; send_msg
// replies count from 0.
const onEventSeq = 1000

// replyTurn remembers, for the transcript, reply m sent as the seq-th for this message.
func (c *Context) replyTurn(seq int, m kf.OutMessage) {
	if c.bot.opts.transcripts == TranscriptsOff {
		return
	}
	// The time of the message it answers: transcripts order by time, then by insertion,
	// and clocks (WeCom's seconds, this host's) disagree.
	c.state.turns = append(c.state.turns, storage.Turn{Time: time.Unix(c.head.SendTime, 0), MsgID: c.head.MsgID, Seq: seq,
		Kind: storage.TurnBot, MsgType: string(m.MsgType()), Text: describeOutbound(m)})
}

// writeTurns writes the turns of the parts that were handled, before their processed
// marks. A failure is logged: a transcript is context, never worth a lost reply.
func (b *Bot) writeTurns(ctx context.Context, openKFID string, parts []*conversation) {
	ts := b.transcriptStore()
	if ts == nil {
		return
	}
	var turns []storage.Turn
	for _, c := range parts {
		turns = append(turns, c.turns...) // a part that failed has none: it is handled again
	}
	if len(turns) == 0 {
		return
	}
	if err := ts.AppendTurns(ctx, turns, b.opts.transcriptLimits); err != nil {
		b.log.Warn("bot: transcript not written; the conversations' transcripts miss these turns",
			slog.String(LogKeyOpenKFID, openKFID), slog.Int(LogKeyCount, len(turns)), slog.Any(LogKeyError, err))
	}
}

// describeInbound is the transcript text of an inbound message: its text, or a short
// description of what it carries.
func describeInbound(m syncmsg.Message) string {
	switch m := m.(type) {
	case *syncmsg.Text:
		return clip(m.Content)
	case *syncmsg.Location:
		return clip(strings.TrimSpace(fmt.Sprintf("[location] %s %s", m.Name, m.Address)))
	}
	return "[" + string(m.Head().MsgType) + "]"
}

// describeOutbound is the transcript text of a reply.
func describeOutbound(m kf.OutMessage) string {
	switch m := m.(type) {
	case kf.Text:
		return clip(m.Content)
	case kf.Menu:
		var b strings.Builder
		b.WriteString(m.Head)
		for _, it := range m.Items {
			b.WriteString("\n- ")
			b.WriteString(menuItemText(it))
		}
		if m.Tail != "" {
			b.WriteString("\n" + m.Tail)
		}
		return clip(b.String())
	}
	return "[" + string(m.MsgType()) + "]"
}

func menuItemText(it kf.MenuItem) string {
	switch it := it.(type) {
	case kf.MenuClick:
		return it.Content
	case kf.MenuView:
		return it.Content
	case kf.MenuMiniprogram:
		return it.Content
	case kf.MenuText:
		return it.Content
	}
	return "?"
}

// clip bounds a turn's text to storage.MaxTurnText bytes on a rune boundary.
func clip(s string) string {
	if len(s) <= storage.MaxTurnText {
		return s
	}
	return SplitText(s, storage.MaxTurnText)[0]
}
