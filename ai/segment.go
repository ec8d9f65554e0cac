package ai

import (
	"strings"

	"github.com/kfbot/kfbot/kf"
)

// Segmenter cuts an answer that arrives in pieces (a model's stream) into the messages
// [Shape] would make of it, handing out each message as soon as it is final, so the
// customer reads the first while the model still writes the rest.
//
// A message is final at a paragraph break (outside a ``` code block) once it holds at
// least minBytes, or when the text passed maxBytes (then it is cut as [Split] cuts).
// The last message allowed is never handed out before [Segmenter.Close]: it may need
// the ellipsis of a cut answer. Each message is Markdown turned into plain text
// ([PlainText]) a paragraph at a time.
//
// A Segmenter is used by one goroutine.
type Segmenter struct {
	maxBytes, maxParts, minBytes int
	plain                        string // converted text that precedes raw
	raw                          string // Markdown not converted yet
	sent                         int
	checked                      int // raw is known to hold no final message up to here
}

// NewSegmenter returns a segmenter for messages of at most maxBytes (≤ 0: 2,048), at
// most maxParts of them (≤ 0: [DefaultMaxParts]); minBytes (≤ 0: three quarters of
// maxBytes) is the least a message holds before a paragraph break ends it. A high
// minBytes packs a long answer into fewer, fuller messages; a low one sends the first
// sooner but may leave less room for the end.
func NewSegmenter(maxBytes, maxParts, minBytes int) *Segmenter {
	if maxBytes <= 0 {
		maxBytes = kf.MaxTextBytes
	}
	maxBytes = max(maxBytes, MinPartBytes)
	if maxParts <= 0 {
		maxParts = DefaultMaxParts
	}
	if minBytes <= 0 || minBytes > maxBytes {
		minBytes = maxBytes * 3 / 4
	}
	return &Segmenter{maxBytes: maxBytes, maxParts: maxParts, minBytes: minBytes}
}

// Write adds delta to the answer and returns the messages that became final, in order.
func (s *Segmenter) Write(delta string) []string {
	s.raw += delta
	if !strings.Contains(delta, "\n") && len(s.plain)+len(s.raw) <= s.maxBytes {
		return nil // no new paragraph break, and the text still fits: nothing is final yet
	}
	var out []string
	for s.sent < s.maxParts-1 {
		part, ok := s.next()
		if !ok {
			break
		}
		if part != "" {
			out = append(out, part)
			s.sent++
		}
	}
	return out
}

// Close ends the answer and returns its remaining messages, and whether the answer was
// cut to fit (the last message then ends with [Ellipsis]).
func (s *Segmenter) Close() (parts []string, truncated bool) {
	rest := s.plain + PlainText(s.raw)
	s.plain, s.raw = "", ""
	if s.sent >= s.maxParts {
		return nil, strings.TrimSpace(rest) != ""
	}
	parts, truncated = Split(rest, s.maxBytes, s.maxParts-s.sent)
	s.sent += len(parts)
	return parts, truncated
}

// next takes the next final message off the text, if there is one.
func (s *Segmenter) next() (string, bool) {
	// The latest paragraph break outside a code block that keeps the message within
	// maxBytes, if the message then holds minBytes: the fullest final message.
	best := -1
	var fence fenceTracker
	end := 0 // the end of the last complete line
	for i := 0; i < len(s.raw); {
		j := strings.IndexByte(s.raw[i:], '\n')
		if j < 0 {
			break
		}
		line := s.raw[i : i+j]
		i += j + 1
		end = i
		was := fence.open()
		fence.feed(line)
		if was || fence.open() || i <= s.checked || strings.TrimSpace(line) != "" || i == j+1 {
			continue
		}
		n := len(s.plain) + len(plainValid(s.raw[:i]))
		if n > s.maxBytes {
			break
		}
		if n >= s.minBytes {
			best = i
		}
	}
	if best >= 0 {
		part := strings.TrimSpace(s.plain + plainValid(s.raw[:best]))
		s.plain, s.raw, s.checked = "", strings.TrimLeft(s.raw[best:], " \t\r\n"), 0
		return part, true
	}
	// No paragraph fits: once the text is past maxBytes, cut it as Split does, keeping
	// the unfinished last line as Markdown (reopening a code block cut inside).
	s.checked = end
	if len(s.plain)+end <= s.maxBytes {
		return "", false
	}
	plain := s.plain + plainValid(s.raw[:end])
	if len(plain) <= s.maxBytes {
		return "", false
	}
	parts, _ := Split(plain, s.maxBytes, 2)
	if len(parts) < 2 {
		return "", false
	}
	first := parts[0]
	rest := strings.TrimSpace(plain)
	rest = strings.TrimLeft(rest[min(len(first), len(rest)):], " \t\r\n")
	raw := s.raw[end:]
	if opener := fence.opener(); opener != "" {
		raw = opener + "\n" + raw
	}
	s.plain, s.raw, s.checked = rest, raw, 0
	if s.plain != "" {
		s.plain += "\n" // raw goes on with a new line
	}
	return first, true
}

// fenceTracker follows the fenced code blocks of Markdown line by line, as [PlainText]
// reads them.
type fenceTracker struct {
	fence  byte // '`' or '~' while inside a fenced code block
	n      int
	quoted bool
}

func (f *fenceTracker) open() bool { return f.fence != 0 }

// opener is the line that reopens the block f is inside, or "".
func (f *fenceTracker) opener() string {
	if f.fence == 0 {
		return ""
	}
	prefix := ""
	if f.quoted {
		prefix = "> "
	}
	return prefix + strings.Repeat(string(f.fence), f.n)
}

func (f *fenceTracker) feed(raw string) {
	raw = strings.TrimSuffix(raw, "\r")
	line, quoted := stripQuote(raw)
	if f.fence != 0 {
		content := raw
		if f.quoted {
			content = line
		}
		if _, rest := indent(content); closesFence(rest, f.fence, f.n) {
			f.fence = 0
		}
		return
	}
	if _, rest := indent(line); rest != "" && opensFence(rest) {
		f.fence, f.n, f.quoted = rest[0], runLen(rest, rest[0]), quoted
	}
}

// plainValid is PlainText with invalid UTF-8 replaced, as WeCom needs it.
func plainValid(md string) string { return strings.ToValidUTF8(PlainText(md), "\uFFFD") }
