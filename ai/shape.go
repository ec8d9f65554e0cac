package ai

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kfbot/kfbot/kf"
)

// Defaults of [Split].
const (
	// DefaultMaxParts is how many messages an answer becomes at most. WeCom allows 5
	// messages after one customer message; three leave room for a hand-off notice or a
	// menu, and a customer does not read a fourth screen anyway.
	DefaultMaxParts = 3
	// MinPartBytes is the smallest part size Split works with: room for one rune and the
	// ellipsis. A smaller maxBytes is raised to it.
	MinPartBytes = 8
	// Ellipsis ends the last part of an answer that did not fit.
	Ellipsis = "…"
)

// Shape makes a model's Markdown answer ready to send: [PlainText], then [Split] into at
// most maxParts messages of at most maxBytes (0 for the defaults). Send the parts in order.
func Shape(answer string, maxBytes, maxParts int) (parts []string, truncated bool) {
	return Split(PlainText(answer), maxBytes, maxParts)
}

// Split cuts a plain-text answer into at most maxParts parts of at most maxBytes UTF-8 bytes
// each, for WeCom text messages. maxBytes ≤ 0 means [kf.MaxTextBytes] (2,048), and values
// below [MinPartBytes] are raised to it; maxParts ≤ 0 means [DefaultMaxParts].
//
// Each cut is made at the best boundary in the second half of a part's room (or later, when
// the rest would otherwise not fit in the parts left), trying in turn: a paragraph break
// (a blank line), the end of a sentence (., ! or ? followed by white space; 。！？；… with
// any closing quotes or brackets after them), a line break, a space or a CJK comma (，、：),
// and finally a rune boundary; a UTF-8 sequence is never cut. An ASCII full stop counts only
// before white space, so a code line such as fmt.Println(x) is cut at its end, not inside.
//
// Parts are trimmed of surrounding white space and never empty; an answer of only white
// space gives no parts. When the answer does not fit, the last part ends at the last
// sentence end (or paragraph break) that fits, followed by [Ellipsis], and truncated is true.
// Without truncation, the parts joined are the answer except for the white space at the
// cuts. Invalid UTF-8 is replaced by U+FFFD (WeCom would refuse it).
//
// Split supersedes bot.SplitText for model answers: SplitText knows only line breaks and
// spaces, and no limit on the number of parts. Split runs in time linear in len(answer).
func Split(answer string, maxBytes, maxParts int) (parts []string, truncated bool) {
	if maxBytes <= 0 {
		maxBytes = kf.MaxTextBytes
	}
	maxBytes = max(maxBytes, MinPartBytes)
	if maxParts <= 0 {
		maxParts = DefaultMaxParts
	}
	rest := strings.TrimSpace(strings.ToValidUTF8(answer, "\uFFFD"))
	for rest != "" {
		left := maxParts - len(parts)
		if len(rest) <= maxBytes {
			return append(parts, rest), false
		}
		if left == 1 {
			room := maxBytes - len(Ellipsis)
			cut := lastCut(rest, 1, room, true)
			part := strings.TrimRightFunc(rest[:cut], unicode.IsSpace)
			if !strings.HasSuffix(part, Ellipsis) {
				part += Ellipsis
			}
			return append(parts, part), true
		}
		lo := maxBytes / 2
		if need := len(rest) - (left-1)*maxBytes; need <= maxBytes {
			// The rest can still fit: take at least what the later parts cannot hold.
			lo = max(lo, need)
		}
		cut := lastCut(rest, lo, maxBytes, false)
		parts = append(parts, strings.TrimRightFunc(rest[:cut], unicode.IsSpace))
		rest = strings.TrimLeftFunc(rest[cut:], unicode.IsSpace)
	}
	return parts, false
}

// Cut levels, best first.
const (
	cutParagraph = iota
	cutSentence
	cutLine
	cutSpace
	cutRune
	cutLevels
)

// lastCut returns the offset p in [lo, hi] (hi < len(s)) of the best place to end a part
// s[:p]: the latest cut of the best level found there, or the latest rune boundary at or
// before hi. s does not begin with white space. With end set (the last part before an
// ellipsis), paragraph and sentence cuts rank alike and are searched from offset 1.
func lastCut(s string, lo, hi int, end bool) int {
	var best [cutLevels]int
	for p := hi; p >= lo && p > 0; p-- {
		if !utf8.RuneStart(s[p]) {
			continue
		}
		if best[cutRune] == 0 {
			best[cutRune] = p
		}
		for lv, m := 0, cutsAt(s, p); m != 0; lv, m = lv+1, m>>1 {
			if m&1 != 0 && best[lv] == 0 {
				best[lv] = p
			}
		}
		if best[cutParagraph] != 0 && !end {
			break
		}
	}
	if end {
		if p := max(best[cutParagraph], best[cutSentence]); p > 0 {
			return p
		}
	}
	for _, p := range best {
		if p > 0 {
			return p
		}
	}
	// lo > hi cannot happen, and hi ≥ MinPartBytes-len(Ellipsis) ≥ one rune: unreachable,
	// but never loop without progress.
	_, n := utf8.DecodeRuneInString(s)
	return n
}

// cutsAt returns the levels of a cut between s[:p] and s[p:] (p < len(s), a rune start),
// as a bit set: bit lv is set for level lv.
func cutsAt(s string, p int) uint {
	var lv uint
	next, _ := utf8.DecodeRuneInString(s[p:])
	if next == '\n' {
		if blankLineFollows(s[p+1:]) {
			lv |= 1 << cutParagraph
		}
		lv |= 1 << cutLine
	}
	if sentenceEnds(s[:p], next) {
		lv |= 1 << cutSentence
	}
	if unicode.IsSpace(next) && next != '\n' {
		lv |= 1 << cutSpace
	} else if prev, _ := utf8.DecodeLastRuneInString(s[:p]); prev == '，' || prev == '、' || prev == '：' {
		lv |= 1 << cutSpace
	}
	return lv
}

// blankLineFollows reports whether s starts with an empty or white-space line.
func blankLineFollows(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			return true
		case ' ', '\t', '\r':
		default:
			return false
		}
	}
	return false
}

// sentenceEnds reports whether the text before ends a sentence, given the rune after it.
func sentenceEnds(before string, next rune) bool {
	if isTerminator(next) || isCloser(next) {
		return false // the cut belongs after the whole run
	}
	r, n := utf8.DecodeLastRuneInString(before)
	for i := 0; i < 4 && isCloser(r) && n < len(before); i++ {
		before = before[:len(before)-n]
		r, n = utf8.DecodeLastRuneInString(before)
	}
	switch r {
	case '.', '!', '?':
		return unicode.IsSpace(next) || next >= utf8.RuneSelf
	}
	return isTerminator(r)
}

func isTerminator(r rune) bool {
	switch r {
	case '.', '!', '?', '。', '！', '？', '；', '…', '｡':
		return true
	}
	return false
}

func isCloser(r rune) bool {
	switch r {
	case '"', '\'', ')', ']', '”', '’', '」', '』', '）', '】', '》', '〉', '〕', '］', '｝':
		return true
	}
	return false
}
