package storage

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// InboxEntry is a message parked for its conversation's slow lane: the engine moved the
// conversation's handling off the page (a handler deferred, see bot's Context.Defer), so
// the page's cursor can move on while the message waits here, durably, to be handled.
// Entries are written with the page's record ([Batch.Park]) and removed with the record
// of their handling ([Batch.Unpark]); a crash between the two finds them with
// [InboxStore.Inbox] at the next start.
type InboxEntry struct {
	Conversation Conversation
	// Seq orders the entries of one conversation (and identifies an entry in it).
	Seq uint64
	// MsgID is the inbound msgid.
	MsgID string
	// Message is the sync_msg item as WeCom sent it (JSON).
	Message []byte
	// Arrived is when the engine pulled the message.
	Arrived time.Time
	// Observed reports that the conversation's session already counted the message
	// (its reply window) when the entry was written.
	Observed bool
}

// InboxStore is the optional store concern behind deferred handling: the durable inbox
// of parked messages, written and removed through [Batcher.Apply] ([Batch.Park],
// [Batch.Unpark]), and memos, the durable per-message values that make a
// non-deterministic answer (a model's, a webhook's) exactly once: computed once, stored
// before its first reply is sent, reused by every replay. Stores that do not implement
// it handle every message on its page.
type InboxStore interface {
	// Inbox returns the unexpired entries of account a, each conversation's in Seq order.
	Inbox(ctx context.Context, a Account) ([]InboxEntry, error)
	// Memo returns the value stored under key, or an error matching [ErrNotFound].
	Memo(ctx context.Context, key string) ([]byte, error)
	// PutMemo stores a copy of value under key for ttl (≤ 0: [DefaultDedupTTL]),
	// replacing any previous value. An empty key is an error.
	PutMemo(ctx context.Context, key string, value []byte, ttl time.Duration) error
}

// MemoKey is the [InboxStore] memo key of name for inbound message msgID of account a.
func MemoKey(a Account, msgID, name string) string {
	return key("memo", a.CorpID, a.OpenKFID, msgID, name)
}

// CheckInboxEntry checks what [Batch.Park] needs of an entry: a conversation with a
// customer, a msgid and a message.
func CheckInboxEntry(e *InboxEntry) error {
	switch {
	case e.Conversation.OpenKFID == "" || e.Conversation.ExternalUserID == "":
		return errors.New("storage: inbox entry without open_kfid or external_userid")
	case e.MsgID == "":
		return errors.New("storage: inbox entry without a msgid")
	case len(e.Message) == 0:
		return errors.New("storage: inbox entry without a message")
	}
	return nil
}

// inboxVersion is the first byte of an encoded [InboxEntry].
const inboxVersion = 1

// AppendBinary appends the encoding of e but its Conversation and Seq (which a store
// keeps in the key) to b.
func (e *InboxEntry) AppendBinary(b []byte) ([]byte, error) {
	if err := CheckInboxEntry(e); err != nil {
		return b, err
	}
	b = append(b, inboxVersion)
	var flags byte
	if e.Observed {
		flags |= 1
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, unixNanosOrZero(e.Arrived))
	b = binary.AppendUvarint(b, uint64(len(e.MsgID)))
	b = append(b, e.MsgID...)
	b = binary.AppendUvarint(b, uint64(len(e.Message)))
	return append(b, e.Message...), nil
}

// DecodeInboxEntry decodes what [InboxEntry.AppendBinary] wrote, for conversation c and
// sequence seq. The entry's Message is a copy.
func DecodeInboxEntry(c Conversation, seq uint64, data []byte) (InboxEntry, error) {
	e := InboxEntry{Conversation: c, Seq: seq}
	bad := func(what string) (InboxEntry, error) {
		return InboxEntry{}, fmt.Errorf("storage: decode inbox entry: %s", what)
	}
	if len(data) < 2 || data[0] != inboxVersion {
		return bad("unknown version")
	}
	e.Observed = data[1]&1 != 0
	data = data[2:]
	ns, n := binary.Varint(data)
	if n <= 0 {
		return bad("bad time")
	}
	if ns != 0 {
		e.Arrived = time.Unix(0, ns)
	}
	data = data[n:]
	field := func() (f []byte, ok bool) {
		f, data, ok = cutField(data)
		return f, ok
	}
	id, ok := field()
	if !ok {
		return bad("bad msgid")
	}
	msg, ok := field()
	if !ok {
		return bad("bad message")
	}
	if len(data) != 0 {
		return bad("trailing bytes")
	}
	e.MsgID, e.Message = string(id), append([]byte(nil), msg...)
	if err := CheckInboxEntry(&e); err != nil {
		return InboxEntry{}, fmt.Errorf("storage: decode inbox entry: %w", err)
	}
	return e, nil
}

func unixNanosOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// SortInbox orders entries by conversation, then Seq: as [InboxStore.Inbox] returns them.
func SortInbox(es []InboxEntry) {
	slices.SortFunc(es, func(a, b InboxEntry) int {
		return cmp.Or(cmp.Compare(a.Conversation.CorpID, b.Conversation.CorpID),
			cmp.Compare(a.Conversation.OpenKFID, b.Conversation.OpenKFID),
			cmp.Compare(a.Conversation.ExternalUserID, b.Conversation.ExternalUserID),
			cmp.Compare(a.Seq, b.Seq))
	})
}

// cutField cuts a uvarint-length-prefixed field off the front of data: the encoding of
// the variable parts of the inbox and callback entries.
func cutField(data []byte) (field, rest []byte, ok bool) {
	l, n := binary.Uvarint(data)
	if n <= 0 || l > uint64(len(data)-n) {
		return nil, data, false
	}
	return data[n : n+int(l)], data[n+int(l):], true
}
