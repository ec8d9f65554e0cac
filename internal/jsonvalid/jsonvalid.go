package jsonvalid

import "bytes"

// SkipSpace returns the index of the first byte at or after b[i] that is not JSON white
// space.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// Valid reports whether b is one JSON value between optional white space: json.Valid,
// without its state machine, which costs as much as decoding a small value. FuzzValid
// holds the two to the same answers.
func Valid(b []byte) bool {
	i, ok := Value(b, SkipSpace(b, 0), 0, MaxDepth)
	return ok && SkipSpace(b, i) == len(b)
}

// MaxDepth is encoding/json's limit on nested objects and arrays.
const MaxDepth = 10000

// Value checks the JSON value at b[i], nested depth levels deep, as json.Valid would, and
// returns the index just past it. It reports false for invalid JSON and for nesting
// deeper than maxDepth.
func Value(b []byte, i, depth, maxDepth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; c {
	case '{', '[':
		if depth++; depth > maxDepth {
			return i, false
		}
		end := byte('}')
		if c == '[' {
			end = ']'
		}
		i = SkipSpace(b, i+1)
		if i < len(b) && b[i] == end {
			return i + 1, true
		}
		for {
			ok := true
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return i, false
				}
				if i, ok = String(b, i); !ok {
					return i, false
				}
				if i = SkipSpace(b, i); i >= len(b) || b[i] != ':' {
					return i, false
				}
				i = SkipSpace(b, i+1)
			}
			if i, ok = Value(b, i, depth, maxDepth); !ok {
				return i, false
			}
			switch i = SkipSpace(b, i); {
			case i >= len(b):
				return i, false
			case b[i] == end:
				return i + 1, true
			case b[i] != ',':
				return i, false
			}
			i = SkipSpace(b, i+1)
		}
	case '"':
		return String(b, i)
	case 't':
		return i + 4, bytes.HasPrefix(b[i:], []byte("true"))
	case 'f':
		return i + 5, bytes.HasPrefix(b[i:], []byte("false"))
	case 'n':
		return i + 4, bytes.HasPrefix(b[i:], []byte("null"))
	}
	return number(b, i)
}

// String checks the JSON string at b[i] (b[i] is '"') and returns the
// index just past it. Like json.Valid, it does not check UTF-8.
func String(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, true
		case c < ' ':
			return j, false
		case c == '\\':
			if j++; j >= len(b) {
				return j, false
			}
			switch b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(b) {
					return j, false
				}
				for _, h := range b[j+1 : j+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return j, false
					}
				}
				j += 4
			default:
				return j, false
			}
		}
	}
	return len(b), false
}

// number checks the JSON number at b[i] and returns the index just
// past it.
func number(b []byte, i int) (int, bool) {
	digits := func(i int) int {
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(i)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		if j := digits(i + 1); j > i+1 {
			i = j
		} else {
			return j, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if j := digits(i); j > i {
			i = j
		} else {
			return j, false
		}
	}
	return i, true
}
