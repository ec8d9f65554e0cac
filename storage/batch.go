package storage

import (
	"context"
	"errors"
	"time"
)

// Batch is the writes that finish one handled message, applied together by
// [Batcher.Apply]: all of them or none. The engine makes one batch per message instead
// of three to five separate writes.
type Batch struct {
	// Session, when not nil, is stored as [SessionStore.PutSession] stores it, for
	// SessionTTL (≤ 0: [DefaultSessionTTL]).
	Session    *Session
	SessionTTL time.Duration
	// Seen, when not empty, is recorded as a processed id (see [Deduper]), restarting its
	// TTL if it was recorded already.
	Seen string
	// Sent are send-log msgids set to [SendDone].
	Sent []string
	// DedupTTL is the TTL of Seen and Sent (≤ 0: [DefaultDedupTTL]).
	DedupTTL time.Duration
}

// Batcher applies a [Batch] atomically: after a crash either every write of it is there
// or none is. An empty id in Sent is an error, and so is a Session whose Vars cannot be
// encoded; then nothing is written.
type Batcher interface {
	Apply(ctx context.Context, b *Batch) error
}

// CheckBatch checks b as every [Batcher] must before writing anything, and fills its
// default TTLs.
func CheckBatch(b *Batch) error {
	if b == nil {
		return errNilBatch
	}
	for _, id := range b.Sent {
		if id == "" {
			return errEmptyID
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

var errNilBatch = errors.New("storage: nil batch")
