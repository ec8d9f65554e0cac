package badgerstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/kfbot/kfbot/storage"
)

// formatVersion is the first byte of every key and the "format" of the options file.
// Bump it, and migrate, when the layout of keys or values changes.
const formatVersion = 1

// The second byte of every key: one prefix per concern.
const (
	kindCursor  byte = 'c' // (corp, open_kfid) → cursor bytes
	kindSeen    byte = 'd' // msgid → expiry
	kindSession byte = 'S' // (corp, open_kfid, external_userid) → expiry + storage.Session binary
	kindSend    byte = 'o' // outbound msgid → expiry + state byte
	kindLease   byte = 'l' // name → expiry + owner

	// 's' held sessions keyed (open_kfid, external_userid), before the corp was part of a
	// conversation. Such entries are never read again and expire by Badger's TTL; do
	// not reuse the byte.
)

// Values with a logical expiry start with it: 8 bytes, big-endian Unix nanoseconds on
// the store's clock.
const expiryLen = 8

var errBadValue = errors.New("badgerstore: bad stored value")

// idKey is [version, kind, id...].
func idKey(kind byte, id string) []byte {
	k := make([]byte, 0, 2+len(id))
	return append(append(k, formatVersion, kind), id...)
}

// tupleKey is [version, kind, uvarint(len(p)), p... for each part p but the last, then
// the last part's bytes]: the length prefixes keep ("ab","c") and ("a","bc") apart
// whatever bytes the ids hold.
func tupleKey(kind byte, parts ...string) []byte {
	n := 2
	for _, p := range parts {
		n += binary.MaxVarintLen64 + len(p)
	}
	k := make([]byte, 0, n)
	k = append(k, formatVersion, kind)
	for i, p := range parts {
		if i < len(parts)-1 {
			k = binary.AppendUvarint(k, uint64(len(p)))
		}
		k = append(k, p...)
	}
	return k
}

func cursorKey(a storage.Account) []byte { return tupleKey(kindCursor, a.CorpID, a.OpenKFID) }

func sessionKey(c storage.Conversation) []byte {
	return tupleKey(kindSession, c.CorpID, c.OpenKFID, c.ExternalUserID)
}

// unixNanos is t in Unix nanoseconds, clamped to the int64 range (years 1678–2262).
func unixNanos(t time.Time) int64 {
	switch {
	case !t.Before(maxNanoTime):
		return math.MaxInt64
	case !t.After(minNanoTime):
		return math.MinInt64
	}
	return t.UnixNano()
}

var (
	maxNanoTime = time.Unix(0, math.MaxInt64)
	minNanoTime = time.Unix(0, math.MinInt64)
)

// appendExpiry appends the expiry prefix of a value.
func appendExpiry(b []byte, exp time.Time) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(unixNanos(exp)))
}

// splitValue returns the expiry and the payload of a value with an expiry prefix.
func splitValue(v []byte) (exp int64, payload []byte, err error) {
	if len(v) < expiryLen {
		return 0, nil, fmt.Errorf("%w: %d bytes", errBadValue, len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), v[expiryLen:], nil
}

// live reports whether an expiry lies after now.
func live(exp int64, now time.Time) bool { return unixNanos(now) < exp }

// sendValue encodes a send-log entry.
func sendValue(exp time.Time, st storage.SendState) []byte {
	return append(appendExpiry(make([]byte, 0, expiryLen+1), exp), byte(st))
}

// decodeSend decodes a send-log entry.
func decodeSend(v []byte) (exp int64, st storage.SendState, err error) {
	exp, p, err := splitValue(v)
	if err != nil {
		return 0, 0, err
	}
	if len(p) != 1 || !storage.SendState(p[0]).Valid() || p[0] == byte(storage.SendNone) {
		return 0, 0, fmt.Errorf("%w: send state %x", errBadValue, p)
	}
	return exp, storage.SendState(p[0]), nil
}

// leaseValue encodes a lease: expiry and owner.
func leaseValue(l storage.Lease) []byte {
	return append(appendExpiry(make([]byte, 0, expiryLen+len(l.Owner)), l.Expires), l.Owner...)
}

// decodeLease decodes a lease stored under name.
func decodeLease(name string, v []byte) (storage.Lease, error) {
	exp, p, err := splitValue(v)
	if err != nil {
		return storage.Lease{}, err
	}
	if len(p) == 0 {
		return storage.Lease{}, fmt.Errorf("%w: lease without owner", errBadValue)
	}
	return storage.Lease{Name: name, Owner: string(p), Expires: time.Unix(0, exp).UTC()}, nil
}
