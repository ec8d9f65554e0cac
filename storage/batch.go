package storage

import (
	"context"
	"errors"
	"time"
)

// Batch is the writes that finish a page of messages (or one message), applied together by
// [Batcher.Apply]: all of them or none. The engine makes one batch per page instead of
// several writes per message.
type Batch struct {
	// Sessions are stored as [SessionStore.PutSession] stores them, for SessionTTL
	// (≤ 0: [DefaultSessionTTL]). A nil entry is an error.
	Sessions   []*Session
	SessionTTL time.Duration
	// Seen are recorded as processed ids (see [Deduper]), restarting the TTL of those
	// recorded already.
	Seen []string
	// Sent are send-log msgids set to [SendDone].
	Sent []string
	// Pending are send-log msgids set to [SendPending].
	Pending []string
	// DedupTTL is the TTL of Seen, Sent and Pending (≤ 0: [DefaultDedupTTL]).
	DedupTTL time.Duration
	// Park are inbox entries to write, for DedupTTL (only stores that implement
	// [InboxStore] take them; see [CheckInboxEntry]).
	Park []InboxEntry
	// Unpark are inbox entries to remove, named by Conversation and Seq.
	Unpark []InboxEntry
	// Cursor, when not nil, is saved as [CursorStore.SetCursor] saves it, in the same
	// atomic write as the rest, so a page's cursor never lands without its effects.
	Cursor *CursorUpdate
}

// CursorUpdate is a cursor to save with a [Batch].
type CursorUpdate struct {
	Account Account
	Cursor  string
}

// Lookup is the reads that start a page of messages, answered by [Batcher.Load] at once:
// which msgids are processed already, and the sessions of the page's conversations.
type Lookup struct {
	// Seen are the ids to look up in the [Deduper].
	Seen []string
	// Sessions are the conversations whose sessions to read.
	Sessions []Conversation
	// Sends are the send-log msgids whose states to read.
	Sends []string

	// SeenFound[i], filled by Load, reports whether Seen[i] is recorded and unexpired.
	SeenFound []bool
	// SessionsFound[i], filled by Load, is a copy of the session of Sessions[i], or nil
	// when there is none or it has expired.
	SessionsFound []*Session
	// SendsFound[i], filled by Load, is the state of Sends[i] ([SendNone] when absent or
	// expired).
	SendsFound []SendState
}

// Batcher writes a [Batch] and reads a [Lookup], each as one operation.
type Batcher interface {
	// Apply writes b atomically: after a crash either every write of it is there or
	// none is. An empty id in Seen, Sent or Pending, a nil session or one whose Vars cannot be
	// encoded is an error; then nothing is written. A batch too big for one atomic write
	// fails with an error matching [ErrBatchTooBig], having written nothing; split it.
	Apply(ctx context.Context, b *Batch) error
	// Load answers l from one consistent view, replacing its SeenFound, SessionsFound
	// and SendsFound.
	Load(ctx context.Context, l *Lookup) error
}

// ErrBatchTooBig reports a [Batch] larger than the store can write atomically (Badger
// bounds a transaction by its memtable size). Nothing of it was written; apply it in
// parts.
var ErrBatchTooBig = errors.New("storage: batch too big for one atomic write")

// CheckBatch checks b as every [Batcher] must before writing anything, and fills its
// default TTLs.
func CheckBatch(b *Batch) error {
	if b == nil {
		return errNilBatch
	}
	for _, s := range b.Sessions {
		if s == nil {
			return errNilSession
		}
	}
	for _, ids := range [][]string{b.Seen, b.Sent, b.Pending} {
		for _, id := range ids {
			if id == "" {
				return errEmptyID
			}
		}
	}
	for i := range b.Park {
		if err := CheckInboxEntry(&b.Park[i]); err != nil {
			return err
		}
	}
	if b.SessionTTL <= 0 {
		b.SessionTTL = DefaultSessionTTL
	}
	if b.DedupTTL <= 0 {
		b.DedupTTL = DefaultDedupTTL
	}
	return nil
}

// CheckLookup checks l as every [Batcher] must before reading, and sizes its answers.
func CheckLookup(l *Lookup) error {
	if l == nil {
		return errNilLookup
	}
	for _, ids := range [][]string{l.Seen, l.Sends} {
		for _, id := range ids {
			if id == "" {
				return errEmptyID
			}
		}
	}
	l.SeenFound = resize(l.SeenFound, len(l.Seen))
	l.SessionsFound = resize(l.SessionsFound, len(l.Sessions))
	l.SendsFound = resize(l.SendsFound, len(l.Sends))
	return nil
}

// resize returns s with length n and zero elements, reusing its array when it can.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

var (
	errNilBatch  = errors.New("storage: nil batch")
	errNilLookup = errors.New("storage: nil lookup")
)
