package storage

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// DefaultCallbackTTL is how long a recorded callback notification is remembered (its
// dedup mark, and its record while it waits to be handled) when no TTL is given. WeCom
// retries within seconds; a day also covers a long outage before a restart.
const DefaultCallbackTTL = 24 * time.Hour

// CallbackEntry is a callback notification (a provider, address-book or external-contact
// event; see package kf/callback) recorded before the router answered WeCom, so that a
// retry of it is recognised and a crash before it was handled does not lose it.
type CallbackEntry struct {
	// Key identifies the notification (its NotifyHeader.Key): retries share it.
	Key string
	// Payload is the decrypted XML, decoded again when the entry is recovered.
	Payload []byte
	// ReceiveID is the receive id found in the ciphertext.
	ReceiveID string
	// Received is when the router accepted it.
	Received time.Time
}

// CallbackStore is the optional store concern behind callback notifications that are
// handled once although WeCom retries them: the router records each under its key
// before answering 200, the engine marks it handled afterwards, and at start the engine
// handles what a crash left pending. Stores that do not implement it leave the bot
// without notification handling.
type CallbackStore interface {
	// RecordCallback records e, pending, for ttl (≤ 0: [DefaultCallbackTTL]) unless its
	// key is recorded (pending or handled) and unexpired, and reports whether this call
	// recorded it: of concurrent calls with one key exactly one does. The entry is
	// checked as [CheckCallbackEntry] does.
	RecordCallback(ctx context.Context, e CallbackEntry, ttl time.Duration) (bool, error)
	// PendingCallbacks returns the unexpired entries not yet marked handled, ordered by
	// Received, then Key.
	PendingCallbacks(ctx context.Context) ([]CallbackEntry, error)
	// CallbackHandled marks the entry of key handled: it is no longer pending, and its
	// key stays recorded until its TTL ends. Marking an unknown key is not an error.
	CallbackHandled(ctx context.Context, key string) error
}

// CheckCallbackEntry checks what [CallbackStore.RecordCallback] needs of an entry: a key
// and a payload.
func CheckCallbackEntry(e *CallbackEntry) error {
	switch {
	case e.Key == "":
		return errors.New("storage: callback entry without a key")
	case len(e.Payload) == 0:
		return errors.New("storage: callback entry without a payload")
	}
	return nil
}

// SortCallbacks orders entries as [CallbackStore.PendingCallbacks] returns them.
func SortCallbacks(es []CallbackEntry) {
	slices.SortFunc(es, func(a, b CallbackEntry) int {
		return cmp.Or(a.Received.Compare(b.Received), cmp.Compare(a.Key, b.Key))
	})
}

// callbackVersion is the first byte of an encoded [CallbackEntry].
const callbackVersion = 1

// AppendBinary appends the encoding of e but its Key (which a store keeps in the key)
// to b.
func (e *CallbackEntry) AppendBinary(b []byte) ([]byte, error) {
	if err := CheckCallbackEntry(e); err != nil {
		return b, err
	}
	b = append(b, callbackVersion)
	b = binary.AppendVarint(b, unixNanosOrZero(e.Received))
	b = binary.AppendUvarint(b, uint64(len(e.ReceiveID)))
	b = append(b, e.ReceiveID...)
	b = binary.AppendUvarint(b, uint64(len(e.Payload)))
	return append(b, e.Payload...), nil
}

// DecodeCallbackEntry decodes what [CallbackEntry.AppendBinary] wrote, for key. The
// entry's Payload is a copy.
func DecodeCallbackEntry(key string, data []byte) (CallbackEntry, error) {
	bad := func(what string) (CallbackEntry, error) {
		return CallbackEntry{}, fmt.Errorf("storage: decode callback entry %q: %s", key, what)
	}
	if len(data) < 1 || data[0] != callbackVersion {
		return bad("unknown version")
	}
	data = data[1:]
	ns, n := binary.Varint(data)
	if n <= 0 {
		return bad("bad time")
	}
	data = data[n:]
	field := func() (f []byte, ok bool) {
		f, data, ok = cutField(data)
		return f, ok
	}
	rid, ok := field()
	if !ok {
		return bad("bad receive id")
	}
	payload, ok := field()
	if !ok {
		return bad("bad payload")
	}
	if len(data) != 0 {
		return bad("trailing bytes")
	}
	e := CallbackEntry{Key: key, ReceiveID: string(rid), Payload: bytes.Clone(payload)}
	if ns != 0 {
		e.Received = time.Unix(0, ns)
	}
	if err := CheckCallbackEntry(&e); err != nil {
		return CallbackEntry{}, fmt.Errorf("storage: decode callback entry: %w", err)
	}
	return e, nil
}
