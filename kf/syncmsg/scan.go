package syncmsg

import (
	"github.com/kfbot/kfbot/internal/jsonvalid"

	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"iter"
	"strconv"
	"strings"
)

// This file reads the top level of an item: its header fields and where
// each member's value lies. It does by hand, on JSON that valid (json.Valid's
// answers, below) has accepted, what json.Unmarshal into a struct does,
// because that was most of the cost of decoding: names match as
// encoding/json matches them (case-insensitively, the last of equal names
// wins), null leaves a field alone, and every string that is not plain ASCII
// goes through json.Unmarshal. FuzzScan and FuzzValid hold it to
// encoding/json's results.

// decodeHeader decodes the header fields of item. If item is not valid
// JSON, it returns a zero Header and the syntax error; if a field has the
// wrong type, the Header holds the other fields and the error names the
// first bad one.
func decodeHeader(item []byte) (Header, error) {
	h := Header{Raw: item}
	if !jsonvalid.Valid(item) {
		var v struct{}
		return h, json.Unmarshal(item, &v) // the syntax error, with its offset
	}
	var first error
	for name, val := range members(item) {
		if val[0] == 'n' { // null leaves the field alone
			continue
		}
		var err error
		switch key(name, headerKeys) {
		case "msgid":
			err = setString(&h.MsgID, val)
		case "open_kfid":
			err = setString(&h.OpenKFID, val)
		case "external_userid":
			err = setString(&h.ExternalUserID, val)
		case "send_time":
			err = setInt(&h.SendTime, val, strconv.ParseInt, 64)
		case "origin":
			err = setInt(&h.Origin, val, strconv.ParseUint, 32)
		case "servicer_userid":
			err = setString(&h.ServicerUserID, val)
		case "msgtype":
			err = setString(&h.MsgType, val)
		}
		first = cmp.Or(first, nameErr(name, err))
	}
	return h, first
}

// decodeEventHead decodes the head of the valid JSON object event, as
// decodeHeader does the header of an item.
func decodeEventHead(event []byte) (eventHeadWire, error) {
	var w eventHeadWire
	if !isObject(event) {
		return w, fmt.Errorf("want an object, got %s", jsonKind(bytes.TrimLeft(event, " \t\r\n")))
	}
	var first error
	for name, val := range members(event) {
		if val[0] == 'n' {
			continue
		}
		var err error
		switch key(name, eventHeadKeys) {
		case "event_type":
			err = setString(&w.EventType, val)
		case "open_kfid":
			err = setString(&w.OpenKFID, val)
		case "external_userid":
			err = setString(&w.ExternalUserID, val)
		case "servicer_userid":
			err = setString(&w.ServicerUserID, val)
		}
		first = cmp.Or(first, nameErr(name, err))
	}
	return w, first
}

// The json names of the fields of headerWire and eventHeadWire.
var (
	headerKeys    = []string{"msgid", "open_kfid", "external_userid", "send_time", "origin", "servicer_userid", "msgtype"}
	eventHeadKeys = []string{"event_type", "open_kfid", "external_userid", "servicer_userid"}
)

// nameErr returns err, if not nil, prefixed with the member name.
func nameErr(name []byte, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", bytes.Trim(name, `"`), err)
}

// key returns the element of keys (lower-case ASCII names) that the member
// name (a JSON string, quotes included) matches, or "".
func key(name []byte, keys []string) string {
	if bytes.IndexByte(name, '\\') >= 0 || !isASCII(name) { // escaped, or folds from non-ASCII (ſ is s)
		for _, k := range keys {
			if nameIs(name, k) {
				return k
			}
		}
		return ""
	}
	var buf [32]byte
	n := len(name) - 2
	if n < 0 || n > len(buf) {
		return ""
	}
	for i, c := range name[1 : n+1] {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	for _, k := range keys {
		if string(buf[:n]) == k {
			return k
		}
	}
	return ""
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// setString sets *dst to the JSON string val; if val is not a string, it
// returns an error and leaves *dst alone.
func setString[S ~string](dst *S, val []byte) error {
	if val[0] != '"' {
		return fmt.Errorf("want a string, got %s", jsonKind(val))
	}
	s := val[1 : len(val)-1]
	for _, c := range s {
		if c < ' ' || c > '~' || c == '\\' {
			var v string // not into dst, which would then escape
			err := json.Unmarshal(val, &v)
			if err == nil {
				*dst = S(v)
			}
			return err // nil: val is valid JSON
		}
	}
	*dst = S(s)
	return nil
}

// setInt sets *dst to the JSON number val, parsed with parse as
// json.Unmarshal does for an integer of size bits: a fraction, an exponent
// or an overflow is an error, which leaves *dst alone.
func setInt[I ~int64 | ~uint32, N int64 | uint64](dst *I, val []byte, parse func(string, int, int) (N, error), bits int) error {
	if c := val[0]; c != '-' && (c < '0' || c > '9') {
		return fmt.Errorf("want a number, got %s", jsonKind(val))
	}
	n, err := parse(string(val), 10, bits)
	if err != nil {
		return fmt.Errorf("want an integer of %d bits, got %s", bits, truncate(string(val), 32))
	}
	*dst = I(n)
	return nil
}

// member returns the value of the top-level member key of the valid JSON
// object obj (the last one, if several match), or nil when it has none.
func member(obj []byte, key string) []byte {
	var val []byte
	for name, v := range members(obj) {
		if nameIs(name, key) {
			val = v
		}
	}
	return val
}

// members yields the name (a JSON string, quotes included) and the value of
// each top-level member of the JSON object obj, in order. obj must be valid
// JSON; on anything else, members stops early but never panics.
func members(obj []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func(name, val []byte) bool) {
		i := jsonvalid.SkipSpace(obj, 0) + 1 // past '{'
		for {
			i = jsonvalid.SkipSpace(obj, i)
			if i >= len(obj) || obj[i] != '"' {
				return
			}
			end := valueEnd(obj, i)
			name := obj[i:end]
			i = jsonvalid.SkipSpace(obj, jsonvalid.SkipSpace(obj, end)+1) // past ':'
			end = valueEnd(obj, i)
			if i >= end || !yield(name, obj[i:end]) {
				return
			}
			i = jsonvalid.SkipSpace(obj, end) + 1 // past ',' or '}'
		}
	}
}

// nameIs reports whether the JSON string name (quotes included) is key,
// compared as encoding/json compares member and field names.
func nameIs(name []byte, key string) bool {
	if bytes.IndexByte(name, '\\') < 0 {
		return len(name) >= 2 && strings.EqualFold(string(name[1:len(name)-1]), key)
	}
	var s string
	return json.Unmarshal(name, &s) == nil && strings.EqualFold(s, key)
}

// valueEnd returns the index just past the JSON value that starts at b[i]
// (at most len(b)).
func valueEnd(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			j = stringEnd(b, j) - 1
			if depth == 0 {
				return j + 1
			}
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth == 0 {
				return j // the end of the object around a number or literal
			}
			if depth--; depth == 0 {
				return j + 1
			}
		case depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\r' || c == '\n'):
			return j
		}
	}
	return len(b)
}

// stringEnd returns the index just past the JSON string that starts at b[i]
// (at most len(b)).
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return len(b)
		}
		j += k
		escaped := false // by an odd number of backslashes before it
		for p := j - 1; p > i && b[p] == '\\'; p-- {
			escaped = !escaped
		}
		if !escaped {
			return j + 1
		}
	}
	return len(b)
}
