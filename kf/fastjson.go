package kf

import (
	"github.com/kfbot/kfbot/internal/jsonvalid"

	"bytes"
	"encoding/json"
	"sync"
	"unicode/utf8"
)

// This file decodes the answers the client gets most often (send_msg's
// errcode/errmsg/msgid, a sync_msg page) without reflection, in one pass
// over the body. It takes only the plain shape WeCom sends: one object whose
// member names are printable ASCII without escapes, strings without escapes
// or control characters, an integer errcode, has_more as 0, 1, true or
// false, msg_list as an array of objects, each known name at most once.
// Everything else (null, escapes, case-folded non-ASCII names, a wrong type,
// invalid JSON, deep nesting) makes it report false without touching its
// destination, and decodeBody falls back to encoding/json, which then gives
// its own results and errors. FuzzFastDecode holds the fast path to
// encoding/json's results.

// fastDecoder is implemented by the wire answers decodeBody can decode
// without encoding/json.
type fastDecoder interface {
	result
	// decodeFast decodes data into the receiver and reports true, or
	// reports false and leaves the receiver unchanged.
	decodeFast(data []byte) bool
	// jsonTarget returns the receiver as a pointer to the unnamed struct
	// type the answer was before it had a fast path, for encoding/json:
	// its error texts name that type, and stay as they were.
	jsonTarget() any
}

// sendMsgAnswer is the wire answer of kf/send_msg.
type sendMsgAnswer struct {
	w struct {
		apiStatus
		SendMsgResponse
	}
	// hint is the request's msgid: WeCom echoes it, and an answer that
	// does reuses the string instead of allocating another.
	hint string
}

func (a *sendMsgAnswer) status() *apiStatus { return &a.w.apiStatus }

func (a *sendMsgAnswer) decodeFast(data []byte) bool {
	return decodeMsgIDAnswer(data, &a.w.apiStatus, &a.w.MsgID, a.hint)
}

func (a *sendMsgAnswer) jsonTarget() any { return &a.w }

// sendMsgOnEventAnswer is the wire answer of kf/send_msg_on_event.
type sendMsgOnEventAnswer struct {
	apiStatus
	SendMsgOnEventResponse
}

func (a *sendMsgOnEventAnswer) decodeFast(data []byte) bool {
	return decodeMsgIDAnswer(data, &a.apiStatus, &a.MsgID, "")
}

func (a *sendMsgOnEventAnswer) jsonTarget() any {
	return (*struct {
		apiStatus
		SendMsgOnEventResponse
	})(a)
}

// Bits of the names a fast decoder has seen, to refuse repeated names.
const (
	seenErrCode = 1 << iota
	seenErrMsg
	seenMsgID
	seenNextCursor
	seenHasMore
	seenMsgList
)

// decodeMsgIDAnswer decodes {"errcode","errmsg","msgid"} into st and
// msgID; a msgid equal to hint is hint.
func decodeMsgIDAnswer(data []byte, st *apiStatus, msgID *string, hint string) bool {
	var (
		v    apiStatus
		id   string
		seen int
	)
	ok := objectMembers(data, func(name []byte, i int) (int, bool) {
		if bit, end, ok, found := statusMember(data, name, i, &v); found {
			return claim(&seen, bit, end, ok)
		}
		if !asciiNameIs(name, "msgid") {
			return jsonvalid.Value(data, i, 1, maxFastDepth)
		}
		var end int
		var ok bool
		id, end, ok = fastString(data, i, hint)
		return claim(&seen, seenMsgID, end, ok)
	})
	if !ok {
		return false
	}
	setStatus(st, v, seen)
	if seen&seenMsgID != 0 {
		*msgID = id
	}
	return true
}

// statusMember decodes the member name (at data[i]) into v when it is errcode or errmsg:
// found reports whether it was, bit is its seen bit.
func statusMember(data, name []byte, i int, v *apiStatus) (bit, end int, ok, found bool) {
	switch {
	case asciiNameIs(name, "errcode"):
		v.ErrCode, end, ok = fastInt(data, i)
		return seenErrCode, end, ok, true
	case asciiNameIs(name, "errmsg"):
		v.ErrMsg, end, ok = fastString(data, i, "ok")
		return seenErrMsg, end, ok, true
	}
	return 0, 0, false, false
}

// claim records a decoded member's bit in seen; a member seen before (or one that did not
// decode) sends the answer to encoding/json.
func claim(seen *int, bit, end int, ok bool) (int, bool) {
	if !ok || *seen&bit != 0 {
		return end, false
	}
	*seen |= bit
	return end, true
}

// setStatus copies the errcode and errmsg that were present into st.
func setStatus(st *apiStatus, v apiStatus, seen int) {
	if seen&seenErrCode != 0 {
		st.ErrCode = v.ErrCode
	}
	if seen&seenErrMsg != 0 {
		st.ErrMsg = v.ErrMsg
	}
}

// syncMsgAnswer is the wire answer of kf/sync_msg.
type syncMsgAnswer struct {
	apiStatus
	NextCursor string            `json:"next_cursor"`
	HasMore    flexBool          `json:"has_more"`
	MsgList    []json.RawMessage `json:"msg_list"`
}

func (a *syncMsgAnswer) jsonTarget() any {
	return (*struct {
		apiStatus
		NextCursor string            `json:"next_cursor"`
		HasMore    flexBool          `json:"has_more"`
		MsgList    []json.RawMessage `json:"msg_list"`
	})(a)
}

// offsetPool holds the scratch slices of item offsets of decodeFast.
var offsetPool = sync.Pool{New: func() any { return new([]int) }}

// decodeFast decodes a sync_msg page. The items of MsgList share one
// allocation, a copy of the msg_list array, each capped at its own end so
// that appending to one cannot overwrite the next.
func (a *syncMsgAnswer) decodeFast(data []byte) bool {
	var (
		v       syncMsgAnswer
		seen    int
		listAt  int // where the msg_list array starts in data
		listEnd int
	)
	offp := offsetPool.Get().(*[]int)
	defer func() {
		if cap(*offp) <= 4*MaxSyncLimit {
			offsetPool.Put(offp)
		}
	}()
	offs := (*offp)[:0] // start and end of each item, in data
	ok := objectMembers(data, func(name []byte, i int) (int, bool) {
		if bit, end, ok, found := statusMember(data, name, i, &v.apiStatus); found {
			return claim(&seen, bit, end, ok)
		}
		var bit, end int
		var ok bool
		switch {
		case asciiNameIs(name, "next_cursor"):
			bit = seenNextCursor
			v.NextCursor, end, ok = fastString(data, i, "")
		case asciiNameIs(name, "has_more"):
			bit = seenHasMore
			var b bool
			b, end, ok = fastFlag(data, i)
			v.HasMore = flexBool(b)
		case asciiNameIs(name, "msg_list"):
			bit = seenMsgList
			listAt = i
			offs, end, ok = objectArray(data, i, offs)
			listEnd = end
		default:
			return jsonvalid.Value(data, i, 1, maxFastDepth)
		}
		return claim(&seen, bit, end, ok)
	})
	*offp = offs
	if !ok {
		return false
	}
	if seen&seenMsgList != 0 {
		list := make([]json.RawMessage, len(offs)/2)
		if len(list) > 0 {
			buf := bytes.Clone(data[listAt:listEnd])
			for k := range list {
				s, e := offs[2*k]-listAt, offs[2*k+1]-listAt
				list[k] = buf[s:e:e]
			}
		}
		a.MsgList = list
	}
	setStatus(&a.apiStatus, v.apiStatus, seen)
	if seen&seenNextCursor != 0 {
		a.NextCursor = v.NextCursor
	}
	if seen&seenHasMore != 0 {
		a.HasMore = v.HasMore
	}
	return true
}

// objectMembers walks the JSON object that makes up data (between optional
// white space). For each member it calls f with the name (without quotes)
// and the index of the value; f returns the index just past the value, and
// false to stop. It reports whether data is such an object, every name is
// printable ASCII without escapes, and f returned true for every member.
func objectMembers(data []byte, f func(name []byte, i int) (end int, ok bool)) bool {
	i := jsonvalid.SkipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = jsonvalid.SkipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return jsonvalid.SkipSpace(data, i+1) == len(data)
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return false
		}
		j := i + 1
		for j < len(data) && data[j] != '"' {
			if c := data[j]; c < ' ' || c > '~' || c == '\\' {
				return false
			}
			j++
		}
		if j >= len(data) {
			return false
		}
		name := data[i+1 : j]
		i = jsonvalid.SkipSpace(data, j+1)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		end, ok := f(name, jsonvalid.SkipSpace(data, i+1))
		if !ok {
			return false
		}
		i = jsonvalid.SkipSpace(data, end)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case '}':
			return jsonvalid.SkipSpace(data, i+1) == len(data)
		case ',':
			i = jsonvalid.SkipSpace(data, i+1)
		default:
			return false
		}
	}
}

// asciiNameIs reports whether the member name (printable ASCII, no
// escapes) matches the lower-case key as encoding/json matches names:
// ignoring ASCII case.
func asciiNameIs(name []byte, key string) bool {
	if len(name) != len(key) {
		return false
	}
	for k := range len(name) {
		c := name[k]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != key[k] {
			return false
		}
	}
	return true
}

// fastInt parses the JSON integer at data[i] as encoding/json does into an
// int: only digits with an optional minus sign, no fraction or exponent,
// at most 18 digits (so it cannot overflow).
func fastInt(data []byte, i int) (n, end int, ok bool) {
	j := i
	neg := j < len(data) && data[j] == '-'
	if neg {
		j++
	}
	start := j
	for j < len(data) && '0' <= data[j] && data[j] <= '9' {
		n = n*10 + int(data[j]-'0')
		j++
	}
	switch digits := j - start; {
	case digits == 0 || digits > 18:
		return 0, j, false
	case digits > 1 && data[start] == '0': // a leading zero is not JSON
		return 0, j, false
	}
	if j < len(data) && (data[j] == '.' || data[j] == 'e' || data[j] == 'E') {
		return 0, j, false
	}
	if neg {
		n = -n
	}
	return n, j, true
}

// fastString returns the JSON string at data[i] if it has no escapes, no
// control characters and is valid UTF-8: then encoding/json's value is its
// bytes as they stand. A value equal to known is known, not a new string
// (errmsg "ok" on every success, the msgid a send gave).
func fastString(data []byte, i int, known string) (s string, end int, ok bool) {
	if i >= len(data) || data[i] != '"' {
		return "", i, false
	}
	j := i + 1
	ascii := true
	for ; j < len(data) && data[j] != '"'; j++ {
		switch c := data[j]; {
		case c < ' ' || c == '\\':
			return "", j, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if j >= len(data) {
		return "", j, false
	}
	raw := data[i+1 : j]
	if !ascii && !utf8.Valid(raw) {
		return "", j, false
	}
	if string(raw) == known {
		return known, j + 1, true
	}
	return string(raw), j + 1, true
}

// fastFlag reads the has_more flag at data[i] when it is 0, 1, true or false.
func fastFlag(data []byte, i int) (b bool, end int, ok bool) {
	end, ok = jsonvalid.Value(data, i, 1, maxFastDepth)
	if !ok {
		return false, end, false
	}
	switch string(data[i:end]) {
	case "0", "false":
		return false, end, true
	case "1", "true":
		return true, end, true
	}
	return false, end, false
}

// objectArray checks the JSON array at data[i], whose elements must all be
// objects, and appends the start and end of each element to offs.
func objectArray(data []byte, i int, offs []int) (_ []int, end int, ok bool) {
	if i >= len(data) || data[i] != '[' {
		return offs, i, false
	}
	i = jsonvalid.SkipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return offs, i + 1, true
	}
	for {
		if i >= len(data) || data[i] != '{' {
			return offs, i, false
		}
		e, ok := jsonvalid.Value(data, i, 2, maxFastDepth)
		if !ok {
			return offs, e, false
		}
		offs = append(offs, i, e)
		i = jsonvalid.SkipSpace(data, e)
		if i >= len(data) {
			return offs, i, false
		}
		switch data[i] {
		case ']':
			return offs, i + 1, true
		case ',':
			i = jsonvalid.SkipSpace(data, i+1)
		default:
			return offs, i, false
		}
	}
}

// maxFastDepth bounds the nesting the fast path follows; deeper answers go to
// encoding/json (whose own limit is jsonvalid.MaxDepth).
const maxFastDepth = 100
