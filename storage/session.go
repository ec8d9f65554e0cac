package storage

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"
)

// Session is the state kept per conversation. Stores keep copies: a Session returned by
// [SessionStore.Session] belongs to the caller, and changing it has no effect until it
// is put back.
//
// Stores keep a session encoded ([Session.MarshalBinary]): Vars come back as JSON decodes
// them into an any (numbers as float64), times in UTC without a monotonic reading.
type Session struct {
	Conversation
	// Vars holds rule and handler variables. Values must be JSON-encodable.
	Vars map[string]any
	// Messages counts the customer messages seen in this conversation.
	Messages int
	// FirstSeen and LastSeen are when the first and the latest customer message came.
	FirstSeen, LastSeen time.Time
	// Human reports that a person owns the conversation (a servicer, or the waiting pool
	// for one), so the bot stays quiet.
	Human bool
	// Pooled reports that the conversation waits in the pool for a servicer (service
	// state 2) rather than being with one; meaningful only while Human.
	Pooled bool
	// HumanSince is when the conversation went to a person (or the pool); zero while the
	// bot owns it.
	HumanSince time.Time
	// ServicerLast is when a servicer last wrote in the conversation.
	ServicerLast time.Time
	// OwnerChecked is when WeCom (kf/service_state/get) last confirmed who owns the
	// conversation.
	OwnerChecked time.Time
	// Customer is the customer's profile as kf/customer/batchget gave it, and when.
	Customer Customer
	// RepliesLeft is how many sends are left since the customer's last message (WeCom
	// allows 5 within 48 hours of it).
	RepliesLeft int
	// WindowStart is when the customer's last message came: the start of the 48-hour
	// reply window.
	WindowStart time.Time
	// Stopped reports that replies are stopped until the customer writes again (after
	// errcodes 95018, 95001, 95002 or 95031).
	Stopped bool
	// LastMsgID is the msgid of the last message whose effects this session includes. The
	// engine saves the session once per message, so after a crash it can tell a message
	// that was fully handled (and must not count twice) from one that was not.
	LastMsgID string
}

// Customer is a customer's WeChat profile, cached in the session.
type Customer struct {
	Nickname string
	Avatar   string // the avatar's URL
	Gender   int    // 0 unknown, 1 male, 2 female
	UnionID  string // set only when the corp has a bound WeChat Open Platform account
	// Fetched is when WeCom gave the profile (zero: never fetched). A customer WeCom
	// called invalid has a Fetched time and empty fields.
	Fetched time.Time
}

// Clone returns a deep copy of s: Vars and any map[string]any and []any inside it are
// copied; other values are copied as they are. Clone of nil is nil.
func (s *Session) Clone() *Session {
	if s == nil {
		return nil
	}
	c := *s
	if s.Vars != nil {
		c.Vars = make(map[string]any, len(s.Vars))
		for k, v := range s.Vars {
			c.Vars[k] = cloneValue(v)
		}
	}
	return &c
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = cloneValue(e)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, e := range v {
			a[i] = cloneValue(e)
		}
		return a
	}
	return v
}

// sessionVersion is the first byte of a session's binary encoding.
const sessionVersion = 4 // 2 added LastMsgID, 3 CorpID, 4 ownership times and the profile; older versions still decode

const (
	flagHuman   = 1 << 0
	flagStopped = 1 << 1
	flagPooled  = 1 << 2
	knownFlags  = flagHuman | flagStopped | flagPooled
)

// errSessionCodec is wrapped by every decoding error.
var errSessionCodec = errors.New("storage: bad session encoding")

// MarshalBinary encodes s compactly (counters and times as varints, Vars as JSON). It
// fails if Vars cannot be encoded as JSON.
func (s *Session) MarshalBinary() ([]byte, error) {
	return s.AppendBinary(make([]byte, 0, 64))
}

// AppendBinary appends the encoding of [Session.MarshalBinary] to b.
func (s *Session) AppendBinary(b []byte) ([]byte, error) {
	var flags byte
	if s.Human {
		flags |= flagHuman
	}
	if s.Stopped {
		flags |= flagStopped
	}
	if s.Pooled {
		flags |= flagPooled
	}
	b = append(b, sessionVersion, flags)
	b = appendString(b, s.CorpID)
	b = appendString(b, s.OpenKFID)
	b = appendString(b, s.ExternalUserID)
	b = appendString(b, s.LastMsgID)
	b = binary.AppendVarint(b, int64(s.Messages))
	b = binary.AppendVarint(b, int64(s.RepliesLeft))
	b = appendTime(b, s.FirstSeen)
	b = appendTime(b, s.LastSeen)
	b = appendTime(b, s.WindowStart)
	b = appendTime(b, s.HumanSince)
	b = appendTime(b, s.ServicerLast)
	b = appendTime(b, s.OwnerChecked)
	b = appendString(b, s.Customer.Nickname)
	b = appendString(b, s.Customer.Avatar)
	b = binary.AppendVarint(b, int64(s.Customer.Gender))
	b = appendString(b, s.Customer.UnionID)
	b = appendTime(b, s.Customer.Fetched)
	if len(s.Vars) == 0 {
		return append(b, 0), nil
	}
	vars, err := json.Marshal(s.Vars)
	if err != nil {
		return nil, fmt.Errorf("storage: encode session vars: %w", err)
	}
	b = binary.AppendUvarint(b, uint64(len(vars)))
	return append(b, vars...), nil
}

// UnmarshalBinary decodes [Session.MarshalBinary]'s data into s, replacing all of its
// fields. Malformed data is an error, never a panic.
func (s *Session) UnmarshalBinary(data []byte) error {
	d := decoder{b: data}
	version := d.byte()
	if version < 1 || version > sessionVersion {
		if d.err != nil {
			return d.err
		}
		return fmt.Errorf("%w: unknown version %d", errSessionCodec, version)
	}
	flags := d.byte()
	var n Session
	if version >= 3 {
		n.CorpID = d.string()
	}
	n.OpenKFID = d.string()
	n.ExternalUserID = d.string()
	if version >= 2 {
		n.LastMsgID = d.string()
	}
	n.Messages = d.int()
	n.RepliesLeft = d.int()
	n.FirstSeen = d.time()
	n.LastSeen = d.time()
	n.WindowStart = d.time()
	if version >= 4 {
		n.HumanSince = d.time()
		n.ServicerLast = d.time()
		n.OwnerChecked = d.time()
		n.Customer.Nickname = d.string()
		n.Customer.Avatar = d.string()
		n.Customer.Gender = d.int()
		n.Customer.UnionID = d.string()
		n.Customer.Fetched = d.time()
	}
	vars := d.bytes()
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", errSessionCodec, len(d.b))
	}
	if flags&^knownFlags != 0 {
		return fmt.Errorf("%w: unknown flags %#x", errSessionCodec, flags)
	}
	n.Human = flags&flagHuman != 0
	n.Stopped = flags&flagStopped != 0
	n.Pooled = flags&flagPooled != 0
	if len(vars) > 0 {
		if err := json.Unmarshal(vars, &n.Vars); err != nil {
			return fmt.Errorf("%w: vars: %w", errSessionCodec, err)
		}
	}
	*s = n
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendTime writes seconds since the Unix epoch (varint) and nanoseconds (uvarint); the
// zero time round-trips to the zero time.
func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// decoder reads the session (or turn) encoding, remembering the first error.
type decoder struct {
	b     []byte
	err   error
	codec error // wrapped by the errors; nil: errSessionCodec
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		codec := d.codec
		if codec == nil {
			codec = errSessionCodec
		}
		d.err = fmt.Errorf("%w: truncated or invalid %s", codec, what)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("byte")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) varint(what string) int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint(what string) uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint("length")
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail("length")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) int() int {
	v := d.varint("integer")
	if v < math.MinInt || v > math.MaxInt {
		d.fail("integer")
		return 0
	}
	return int(v)
}

func (d *decoder) time() time.Time {
	sec := d.varint("time")
	nsec := d.uvarint("time")
	if d.err != nil {
		return time.Time{}
	}
	if nsec >= uint64(time.Second) {
		d.fail("time")
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}
