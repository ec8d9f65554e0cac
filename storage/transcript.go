package storage

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// TurnKind says who spoke in a [Turn], or that the conversation changed hands.
type TurnKind uint8

// The kinds of turn. The zero value is not a kind, so a Turn whose Kind was never set
// is refused.
const (
	// TurnCustomer is a message from the customer (origin 3).
	TurnCustomer TurnKind = iota + 1
	// TurnBot is a reply the bot sent.
	TurnBot
	// TurnServicer is a message a human servicer sent from WeCom (origin 5).
	TurnServicer
	// TurnOwnership is a change of who owns the conversation; its Text is "human" or
	// "bot".
	TurnOwnership
)

// String returns "customer", "bot", "servicer", "ownership", or "TurnKind(n)" for an
// invalid value.
func (k TurnKind) String() string {
	switch k {
	case TurnCustomer:
		return "customer"
	case TurnBot:
		return "bot"
	case TurnServicer:
		return "servicer"
	case TurnOwnership:
		return "ownership"
	}
	return "TurnKind(" + strconv.Itoa(int(k)) + ")"
}

// Valid reports whether k is one of the defined kinds.
func (k TurnKind) Valid() bool { return k >= TurnCustomer && k <= TurnOwnership }

// Turn is one entry of a conversation's transcript. Stores keep turns encoded
// ([Turn.MarshalBinary]): times come back in UTC without a monotonic reading.
//
// A turn is identified by (Conversation, MsgID, Seq, Kind), and by Time as well when
// MsgID is empty; see [TranscriptStore.AppendTurns].
type Turn struct {
	Conversation
	// Time is when the turn happened: the message's send_time for inbound messages, and
	// the engine gives bot replies the time of the message they answer. It orders the transcript and starts the turn's
	// TTL. It must not be zero.
	Time time.Time
	// MsgID is the msgid of the message: the inbound msgid for customer and servicer
	// messages and, for bot replies, the inbound msgid they answer. It is empty for
	// ownership changes the engine synthesises.
	MsgID string
	// Seq is the index of a bot reply among the replies to MsgID (0, 1, …), and 0 for the
	// other kinds. It must not be negative.
	Seq int
	// Kind says who spoke. It must be valid ([TurnKind.Valid]).
	Kind TurnKind
	// MsgType is the WeCom msgtype ("text", "image", "event", …); it may be empty.
	MsgType string
	// Text is the message's text, a short description of non-text content (such as
	// "[image]"), or, for [TurnOwnership], "human" or "bot".
	Text string
}

// MaxTurnText is the longest Text, in bytes, a [Turn] may have: a transcript is context,
// not an archive, and a bounded turn always fits one store write. WeCom's text messages
// are far shorter (2048 bytes).
const MaxTurnText = 16 << 10

// Defaults of [TranscriptLimits], used when a field is ≤ 0.
const (
	// DefaultTranscriptTTL keeps a turn for WeCom's 48-hour reply window.
	DefaultTranscriptTTL = 48 * time.Hour
	// DefaultTranscriptTurns is how many turns a conversation keeps.
	DefaultTranscriptTurns = 200
)

// TranscriptLimits bound what [TranscriptStore.AppendTurns] keeps.
type TranscriptLimits struct {
	// TTL is how long a turn is kept, counted from its Time (not from the write): a turn
	// is gone once Time+TTL has passed on the store's clock. Default (≤ 0):
	// [DefaultTranscriptTTL].
	TTL time.Duration
	// MaxTurns is how many of its newest turns a conversation keeps after an append.
	// Default (≤ 0): [DefaultTranscriptTurns].
	MaxTurns int
}

// TurnQuery selects the turns of [TranscriptStore.ScanTurns].
type TurnQuery struct {
	// Since, when not zero, selects turns whose Time is not before it.
	Since time.Time
	// CorpID, when not empty, selects the turns of that corp.
	CorpID string
	// OpenKFID, when not empty, selects the turns of that KF account.
	OpenKFID string
}

// Match reports whether t is selected by q (expiry aside).
func (q TurnQuery) Match(t *Turn) bool {
	return (q.Since.IsZero() || !t.Time.Before(q.Since)) &&
		(q.CorpID == "" || t.CorpID == q.CorpID) &&
		(q.OpenKFID == "" || t.OpenKFID == q.OpenKFID)
}

// TranscriptStore keeps a bounded transcript per conversation: the newest turns, each for
// a while. It is an optional concern: a [Store] may implement it, and the engine records
// transcripts only when it does.
type TranscriptStore interface {
	// AppendTurns adds turns to their conversations' transcripts, then trims each
	// conversation it touched to its opt.MaxTurns newest turns (by Time, then by order of
	// insertion) and drops turns older than opt.TTL (see [TranscriptLimits]).
	//
	// It is idempotent: a turn whose (Conversation, MsgID, Seq, Kind) — and Time, when
	// MsgID is empty — is stored already is not stored again (the first write wins), so a
	// page replayed after a crash leaves the transcript as it was. Turns already expired
	// by opt.TTL are not stored.
	//
	// An invalid turn ([CheckTurns]) is an error and then nothing is written. A store
	// may write a long slice in several atomic parts; a failed call may have written
	// some of them, and retrying it is safe.
	AppendTurns(ctx context.Context, turns []Turn, opt TranscriptLimits) error
	// Transcript returns copies of the newest limit (0 or less: all) unexpired turns of
	// conv, oldest first.
	Transcript(ctx context.Context, conv Conversation, limit int) ([]Turn, error)
	// ScanTurns calls fn with every unexpired turn that q selects, grouped by
	// conversation (conversations in an order of the store's choosing) and oldest first
	// within one. It stops at the first error of fn and returns it. fn may call the
	// store; turns written during the scan may or may not be seen.
	ScanTurns(ctx context.Context, q TurnQuery, fn func(Turn) error) error
}

// ErrInvalidTurn matches the error of [CheckTurns], and so of every
// [TranscriptStore.AppendTurns] given a turn it refuses.
var ErrInvalidTurn = errors.New("storage: invalid turn")

// CheckTurns checks turns as every [TranscriptStore] must before writing anything: each
// needs an OpenKFID, an ExternalUserID, a valid Kind, a non-zero Time, Seq ≥ 0 and a
// Text of at most [MaxTurnText] bytes. The
// error matches [ErrInvalidTurn] and names the first bad turn by index.
func CheckTurns(turns []Turn) error {
	for i := range turns {
		t := &turns[i]
		var why string
		switch {
		case t.OpenKFID == "":
			why = "empty open_kfid"
		case t.ExternalUserID == "":
			why = "empty external_userid"
		case !t.Kind.Valid():
			why = "invalid kind " + t.Kind.String()
		case t.Time.IsZero():
			why = "zero time"
		case t.Seq < 0:
			why = "negative seq " + strconv.Itoa(t.Seq)
		case len(t.Text) > MaxTurnText:
			why = fmt.Sprintf("text of %d bytes, longer than %d (shorten it or store a description)", len(t.Text), MaxTurnText)
		}
		if why != "" {
			return fmt.Errorf("%w %d (msgid %q): %s; fill it in before appending", ErrInvalidTurn, i, t.MsgID, why)
		}
	}
	return nil
}

// Limits returns opt with its defaults filled in.
func (opt TranscriptLimits) Limits() TranscriptLimits {
	if opt.TTL <= 0 {
		opt.TTL = DefaultTranscriptTTL
	}
	if opt.MaxTurns <= 0 {
		opt.MaxTurns = DefaultTranscriptTurns
	}
	return opt
}

// turnID is the identity of a turn within its conversation, as
// [TranscriptStore.AppendTurns] deduplicates it.
type turnID struct {
	msgID string
	seq   int
	kind  TurnKind
	time  int64 // Unix nanoseconds when msgID is empty, else 0
}

func (t *Turn) id() turnID {
	id := turnID{msgID: t.MsgID, seq: t.Seq, kind: t.Kind}
	if t.MsgID == "" {
		id.time = t.Time.UnixNano()
	}
	return id
}

// turnVersion is the first byte of a turn's binary encoding.
const turnVersion = 1

// errTurnCodec is wrapped by every turn decoding error.
var errTurnCodec = errors.New("storage: bad turn encoding")

// MarshalBinary encodes t compactly: a version byte, the kind, length-prefixed strings,
// Seq and Time as varints. It never fails.
func (t *Turn) MarshalBinary() ([]byte, error) {
	return t.AppendBinary(make([]byte, 0, 64+len(t.Text)))
}

// AppendBinary appends the encoding of [Turn.MarshalBinary] to b. It never fails.
func (t *Turn) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, turnVersion, byte(t.Kind))
	b = appendString(b, t.CorpID)
	b = appendString(b, t.OpenKFID)
	b = appendString(b, t.ExternalUserID)
	b = appendString(b, t.MsgID)
	b = binary.AppendVarint(b, int64(t.Seq))
	b = appendTime(b, t.Time)
	b = appendString(b, t.MsgType)
	return appendString(b, t.Text), nil
}

// UnmarshalBinary decodes [Turn.MarshalBinary]'s data into t, replacing all of its
// fields. Malformed data (an unknown version, truncation, trailing bytes) is an error
// matching none of the store's sentinels, never a panic. The kind is not checked, so
// that a later version's kinds still decode.
func (t *Turn) UnmarshalBinary(data []byte) error {
	d := decoder{b: data, codec: errTurnCodec}
	version := d.byte()
	if d.err != nil {
		return d.err
	}
	if version != turnVersion {
		return fmt.Errorf("%w: unknown version %d", errTurnCodec, version)
	}
	var n Turn
	n.Kind = TurnKind(d.byte())
	n.CorpID = d.string()
	n.OpenKFID = d.string()
	n.ExternalUserID = d.string()
	n.MsgID = d.string()
	n.Seq = d.int()
	n.Time = d.time()
	n.MsgType = d.string()
	n.Text = d.string()
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errTurnCodec, len(d.b))
	}
	*t = n
	return nil
}

// compareConversations orders conversations by corp, then open_kfid, then
// external_userid.
func compareConversations(a, b Conversation) int {
	return cmp.Or(cmp.Compare(a.CorpID, b.CorpID), cmp.Compare(a.OpenKFID, b.OpenKFID),
		cmp.Compare(a.ExternalUserID, b.ExternalUserID))
}
