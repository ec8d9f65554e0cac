package storage

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"
)

// Errors returned by every store. Implementations wrap them with the operation, so match
// them with [errors.Is].
var (
	// ErrNotFound reports a session that does not exist or has expired.
	ErrNotFound = errors.New("storage: not found")
	// ErrClosed reports a call on a store after Close.
	ErrClosed = errors.New("storage: store closed")
	// ErrLeaseHeld reports that another owner holds an unexpired lease.
	ErrLeaseHeld = errors.New("storage: lease held by another owner")
	// ErrLeaseNotHeld reports a renewal by an owner not holding the lease (any longer).
	ErrLeaseNotHeld = errors.New("storage: lease not held")
	// ErrNoSpace reports a write refused, and not done, because the disk is nearly full;
	// the engine stops pulling while it lasts (messages wait on WeCom).
	ErrNoSpace = errors.New("storage: not enough free disk space")
)

// Errors of [CheckLease] and [CheckLeaseOwner]: a caller's mistake, not a store's state.
var (
	errEmptyLease = errors.New("storage: empty lease name or owner")
	errLeaseTTL   = errors.New("storage: lease ttl must be positive")
)

// CheckLeaseOwner checks what every [Leaser] method takes: a non-empty name and owner.
func CheckLeaseOwner(name, owner string) error {
	if name == "" || owner == "" {
		return errEmptyLease
	}
	return nil
}

// CheckLease checks AcquireLease's and RenewLease's arguments: a name, an owner, ttl > 0.
func CheckLease(name, owner string, ttl time.Duration) error {
	if err := CheckLeaseOwner(name, owner); err != nil {
		return err
	}
	if ttl <= 0 {
		return errLeaseTTL
	}
	return nil
}

// Default TTLs, used when a caller passes a TTL ≤ 0.
const (
	// DefaultDedupTTL keeps processed msgids and sends a day beyond sync_msg's 3-day replay.
	DefaultDedupTTL = 96 * time.Hour
	// DefaultSessionTTL keeps a session after its last write: WeCom's 48-hour reply window.
	DefaultSessionTTL = 48 * time.Hour
)

// Account identifies one KF account (open_kfid) of one corp.
type Account struct {
	CorpID   string
	OpenKFID string
}

// Conversation identifies one customer conversation: a customer (external_userid)
// talking to one KF account (open_kfid) of one corp.
type Conversation struct {
	CorpID         string
	OpenKFID       string
	ExternalUserID string
}

// CursorStore keeps the kf/sync_msg cursor of each account. Cursors never expire.
type CursorStore interface {
	// Cursor returns the saved cursor of a, or "" and a nil error when there is none yet.
	Cursor(ctx context.Context, a Account) (string, error)
	// SetCursor saves the cursor of a, replacing the previous one. Saving "" forgets it.
	SetCursor(ctx context.Context, a Account, cursor string) error
}

// Deduper remembers processed message ids for a while.
type Deduper interface {
	// FirstSeen atomically records id for ttl (≤ 0: [DefaultDedupTTL]) and reports whether
	// it was unrecorded or expired: of concurrent calls with one id exactly one is first.
	// An empty id is an error.
	FirstSeen(ctx context.Context, id string, ttl time.Duration) (bool, error)
	// Seen reports whether id is recorded and unexpired, without recording it.
	Seen(ctx context.Context, id string) (bool, error)
}

// SessionStore keeps the [Session] of each conversation.
type SessionStore interface {
	// Session returns a copy of the session of c, or an error matching [ErrNotFound] when
	// there is none or it has expired.
	Session(ctx context.Context, c Conversation) (*Session, error)
	// PutSession stores a copy of s under s.Conversation for ttl (≤ 0 means
	// [DefaultSessionTTL]), replacing any previous session; each put restarts the TTL.
	// It fails if s is nil or s.Vars cannot be encoded as JSON.
	PutSession(ctx context.Context, s *Session, ttl time.Duration) error
	// DeleteSession removes the session of c. Deleting a missing session is not an error.
	DeleteSession(ctx context.Context, c Conversation) error
}

// SendState is the state of one outbound message in the [SendLog].
type SendState uint8

// The states of an outbound message.
const (
	// SendNone means the msgid is unknown (never recorded or expired).
	SendNone SendState = iota
	// SendPending means a send may be in flight: recorded before kf/send_msg, unconfirmed.
	SendPending
	// SendDone means WeCom confirmed the send.
	SendDone
)

// String returns "none", "pending", "done", or "SendState(n)" for an invalid value.
func (s SendState) String() string {
	switch s {
	case SendNone:
		return "none"
	case SendPending:
		return "pending"
	case SendDone:
		return "done"
	}
	return "SendState(" + strconv.Itoa(int(s)) + ")"
}

// Valid reports whether s is one of the defined states.
func (s SendState) Valid() bool { return s <= SendDone }

// SendLog records outbound msgids, so a reply perhaps sent before a crash is retried with
// its msgid, never sent twice under a new one.
type SendLog interface {
	// SendState returns the recorded state of msgID, or [SendNone] when it is absent or
	// expired.
	SendState(ctx context.Context, msgID string) (SendState, error)
	// SetSendState records st for msgID for ttl (≤ 0 means [DefaultDedupTTL]). Setting
	// [SendNone] removes the record. An empty msgID or an invalid state is an error.
	SetSendState(ctx context.Context, msgID string, st SendState, ttl time.Duration) error
	// BeginSend atomically records msgID as [SendPending] for ttl (≤ 0: [DefaultDedupTTL])
	// unless it is recorded and unexpired, and returns the state it had: [SendNone] when
	// this call recorded it. One call instead of SendState and SetSendState before a send.
	BeginSend(ctx context.Context, msgID string, ttl time.Duration) (SendState, error)
}

// Lease is a named, owned, expiring lock, granted by a [Leaser].
type Lease struct {
	Name    string
	Owner   string
	Expires time.Time
}

// Leaser grants leases; its arguments are checked as [CheckLease] does.
type Leaser interface {
	// AcquireLease takes (or, for its owner, renews) the lease name until now+ttl; it fails
	// with [ErrLeaseHeld] while another owner holds it unexpired.
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (Lease, error)
	// RenewLease extends owner's unexpired lease to now+ttl, else fails with
	// [ErrLeaseNotHeld] (then acquire it again).
	RenewLease(ctx context.Context, name, owner string, ttl time.Duration) (Lease, error)
	// ReleaseLease gives the lease up. It is a no-op when owner does not hold it.
	ReleaseLease(ctx context.Context, name, owner string) error
}

// Store is everything the engine persists. Close is idempotent (see the package's
// conventions).
type Store interface {
	CursorStore
	Deduper
	SessionStore
	SendLog
	Leaser
	Batcher
	io.Closer
}
