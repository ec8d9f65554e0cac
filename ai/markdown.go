package ai

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// PlainText turns a model's Markdown answer into the plain text WeChat shows (WeChat renders
// no Markdown, so "**bold**" would reach the customer with its asterisks):
//
//   - headings become their text on a line of their own; setext underlines are dropped;
//   - **bold**, __bold__, *em*, _em_ and ~~strike~~ become their text (an underscore inside a
//     word, as in snake_case, is kept);
//   - inline code becomes its text, and a fenced code block (``` or ~~~) keeps its content
//     verbatim: nothing inside it is touched, its info string ("go") is dropped;
//   - bullet and numbered items become "• item" and "1. item" lines, nested items indented
//     by two spaces per level;
//   - block quotes become their text;
//   - links [text](url) become "text (url)", or just "url" when the text is the URL;
//     autolinks <url> become url, and bare http(s) URLs are never touched;
//   - images ![alt](url) become "alt (url)";
//   - tables become rows with their cells joined by " | ", without the separator row;
//   - horizontal rules become an empty line;
//   - <br> becomes a line break; other common HTML tags are dropped (not text that only
//     looks like one, such as List<String>);
//   - backslash escapes (\*) become the character;
//   - runs of blank lines are collapsed into one, and surrounding blank lines removed.
//
// It is not a CommonMark parser: emphasis, code spans and links are recognised within a
// line, and text it does not understand is kept as it is. It never loses the text of a word
// (only markup, link destinations shown once, fence info strings and HTML tags go), never
// panics, and runs in time linear in len(md). CJK text passes through untouched.
// PlainText is safe for concurrent use.
func PlainText(md string) string {
	lines := strings.Split(md, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	w := &mdWriter{out: make([]byte, 0, len(md))}
	var (
		lists     []int // marker indents of the open list items, outermost first
		fence     byte  // '`' or '~' while inside a fenced code block
		fenceLen  int
		fenceInd  int  // indent of the opening fence, removed from the content lines
		fenceQuot bool // the fence was opened inside a block quote
		prevPara  bool // the previous line was paragraph text (for setext headings)
		prevBlank = true
		inIndent  bool // inside an indented code block
	)
	for i := 0; i < len(lines); i++ {
		raw := lines[i]
		line, quoted := stripQuote(raw)
		if fence != 0 {
			content := raw
			if fenceQuot {
				content = line
			}
			ind, rest := indent(content)
			if closesFence(rest, fence, fenceLen) {
				fence = 0
				continue
			}
			w.code(dropIndent(content, min(ind, fenceInd)))
			continue
		}
		ind, rest := indent(line)
		if rest == "" {
			w.blank()
			prevPara, prevBlank = false, true
			continue
		}
		if inIndent && ind < 4 {
			inIndent = false
		}
		if inIndent || (ind >= 4 && len(lists) == 0 && prevBlank && !quoted) {
			inIndent = true
			w.code(dropIndent(line, 4))
			prevPara, prevBlank = false, false
			continue
		}
		para := false
		switch {
		case opensFence(rest):
			fence, fenceLen = rest[0], runLen(rest, rest[0])
			fenceInd, fenceQuot = ind, quoted
		case prevPara && isSetext(rest):
			// The underline of a setext heading: the heading text is already out.
		case isRule(rest):
			w.blank()
		case heading(rest) >= 0:
			w.line("", headingText(rest[heading(rest):]))
		default:
			if marker, content, ok := listItem(rest); ok {
				for len(lists) > 0 && lists[len(lists)-1] >= ind {
					lists = lists[:len(lists)-1]
				}
				level := len(lists)
				lists = append(lists, ind)
				if content == "" { // keep a number; "-" alone becomes "•"
					w.line(strings.Repeat("  ", level), strings.TrimSpace(marker))
				} else {
					w.line(strings.Repeat("  ", level)+marker, inlineText(content))
				}
				break
			}
			if i+1 < len(lines) && strings.IndexByte(rest, '|') >= 0 {
				next, _ := stripQuote(lines[i+1])
				if cells := tableCells(rest); isTableSep(next, len(cells)) {
					w.line("", joinCells(cells))
					i++ // the separator row
					for i+1 < len(lines) {
						row, _ := stripQuote(lines[i+1])
						if _, r := indent(row); r == "" || strings.IndexByte(r, '|') < 0 {
							break
						}
						i++
						w.line("", joinCells(tableCells(row)))
					}
					break
				}
			}
			level := 0
			if ind == 0 {
				lists = lists[:0]
			} else {
				for _, li := range lists {
					if li < ind {
						level++
					}
				}
			}
			w.line(strings.Repeat("  ", level), inlineText(rest))
			para = true
		}
		prevPara, prevBlank = para, false
	}
	return w.String()
}

// mdWriter collects output lines, collapsing runs of blank lines outside code.
type mdWriter struct {
	out     []byte
	blanks  int  // blank lines owed before the next line
	started bool // something was written
}

func (w *mdWriter) flush() {
	if w.started {
		w.out = append(w.out, '\n')
		if w.blanks > 0 {
			w.out = append(w.out, '\n')
		}
	}
	w.blanks = 0
	w.started = true
}

func (w *mdWriter) blank() { w.blanks++ }

// line writes prefix+text, or a blank line when text is only white space. text may hold
// several lines (from a <br>): the later ones are indented to align with the first.
func (w *mdWriter) line(prefix, text string) {
	for first := true; ; first = false {
		l, rest, more := strings.Cut(text, "\n")
		if l = strings.TrimSpace(l); l == "" {
			w.blank()
		} else {
			w.flush()
			w.out = append(w.out, prefix...)
			w.out = append(w.out, l...)
		}
		if !more {
			return
		}
		text = rest
		if first {
			prefix = strings.Repeat(" ", utf8.RuneCountInString(prefix))
		}
	}
}

// code writes a line verbatim, blank or not.
func (w *mdWriter) code(l string) {
	w.flush()
	w.out = append(w.out, l...)
}

func (w *mdWriter) String() string { return string(w.out) }

// stripQuote removes block-quote markers ("> ") from the front of a line.
func stripQuote(l string) (string, bool) {
	quoted := false
	for {
		i := 0
		for i < len(l) && i < 3 && l[i] == ' ' {
			i++
		}
		if i >= len(l) || l[i] != '>' {
			return l, quoted
		}
		quoted = true
		l = l[i+1:]
		if l != "" && (l[0] == ' ' || l[0] == '\t') {
			l = l[1:]
		}
	}
}

// indent measures the leading white space of l in columns (a tab is 4) and returns the rest.
func indent(l string) (int, string) {
	n := 0
	for i := 0; i < len(l); i++ {
		switch l[i] {
		case ' ':
			n++
		case '\t':
			n += 4
		default:
			return n, l[i:]
		}
	}
	return n, ""
}

// dropIndent removes up to n columns of leading white space.
func dropIndent(l string, n int) string {
	i, col := 0, 0
	for i < len(l) && col < n && (l[i] == ' ' || l[i] == '\t') {
		if l[i] == '\t' {
			col += 4
		} else {
			col++
		}
		i++
	}
	return l[i:]
}

func runLen(s string, c byte) int {
	n := 0
	for n < len(s) && s[n] == c {
		n++
	}
	return n
}

// opensFence reports whether rest (a line without its indent) opens a fenced code block.
func opensFence(rest string) bool {
	if rest[0] != '`' && rest[0] != '~' {
		return false
	}
	n := runLen(rest, rest[0])
	// A backtick fence's info string has no backtick, else ```x``` is inline code.
	return n >= 3 && (rest[0] == '~' || strings.IndexByte(rest[n:], '`') < 0)
}

func closesFence(rest string, c byte, n int) bool {
	m := runLen(rest, c)
	return m >= n && strings.TrimSpace(rest[m:]) == ""
}

// isSetext reports whether rest underlines a setext heading (=== or ---).
func isSetext(rest string) bool {
	c := rest[0]
	if c != '=' && c != '-' {
		return false
	}
	n := runLen(rest, c)
	return (c == '=' || n >= 2) && strings.TrimSpace(rest[n:]) == ""
}

// isRule reports whether rest is a thematic break: three or more of -, * or _, and spaces.
func isRule(rest string) bool {
	c := rest[0]
	if c != '-' && c != '*' && c != '_' {
		return false
	}
	n := 0
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case c:
			n++
		case ' ', '\t':
		default:
			return false
		}
	}
	return n >= 3
}

// heading returns the offset of an ATX heading's text in rest, or -1 if rest is none.
func heading(rest string) int {
	n := runLen(rest, '#')
	if n == 0 || n > 6 || (n < len(rest) && rest[n] != ' ' && rest[n] != '\t') {
		return -1
	}
	return n
}

// headingText converts the text of an ATX heading, dropping its closing #s.
func headingText(t string) string {
	t = strings.TrimSpace(t)
	if c := strings.TrimRight(t, "#"); c == "" {
		t = ""
	} else if c != t && (c[len(c)-1] == ' ' || c[len(c)-1] == '\t') {
		t = c
	}
	return inlineText(t)
}

// listItem recognises a bullet (-, *, +) or numbered (1. or 1)) list item.
func listItem(rest string) (marker, content string, ok bool) {
	switch rest[0] {
	case '-', '*', '+':
		if len(rest) == 1 || rest[1] == ' ' || rest[1] == '\t' {
			return "• ", strings.TrimSpace(rest[1:]), true
		}
		return "", "", false
	}
	n := 0
	for n < len(rest) && n < 9 && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	if n == 0 || n >= len(rest) || (rest[n] != '.' && rest[n] != ')') {
		return "", "", false
	}
	if n+1 < len(rest) && rest[n+1] != ' ' && rest[n+1] != '\t' {
		return "", "", false
	}
	return rest[:n] + ". ", strings.TrimSpace(rest[n+1:]), true
}

// tableCells splits a table row on unescaped pipes, without the outer empty cells.
func tableCells(row string) []string {
	row = strings.TrimSpace(row)
	var cells []string
	start := 0
	for i := 0; i < len(row); i++ {
		switch row[i] {
		case '\\':
			i++
		case '|':
			cells = append(cells, row[start:i])
			start = i + 1
		}
	}
	cells = append(cells, row[start:])
	if len(cells) > 1 && strings.TrimSpace(cells[0]) == "" && strings.HasPrefix(row, "|") {
		cells = cells[1:]
	}
	if len(cells) > 1 && strings.TrimSpace(cells[len(cells)-1]) == "" && strings.HasSuffix(row, "|") {
		cells = cells[:len(cells)-1]
	}
	return cells
}

// isTableSep reports whether l is a table's separator row (|---|:--:|) for n header cells.
func isTableSep(l string, n int) bool {
	dash := false
	for i := 0; i < len(l); i++ {
		switch l[i] {
		case '-':
			dash = true
		case '|', ':', ' ', '\t':
		default:
			return false
		}
	}
	return dash && len(tableCells(l)) == n
}

func joinCells(cells []string) string {
	var b strings.Builder
	for i, c := range cells {
		if i > 0 {
			b.WriteString(" | ")
		}
		b.WriteString(strings.TrimSpace(inlineText(strings.TrimSpace(c))))
	}
	return b.String()
}

// Inline Markdown: one line is cut into tokens in one pass, emphasis delimiters are then
// paired with a stack per character, and the tokens are written out. Every scan ahead stops
// at a character that a later scan starts after, so the work stays linear in the line.

type tokKind uint8

const (
	tokText  tokKind = iota
	tokDelim         // a run of *, _ or ~~
	tokOpen          // [ or ![ that turned out to open a link or image
	tokClose         // ](url) closing a link or image
	tokBreak         // <br>
)

type token struct {
	kind    tokKind
	text    string // tokText: the text; tokDelim: the run; tokClose: the URL
	open    bool   // tokDelim: may open emphasis
	close   bool   // tokDelim: may close emphasis
	matched bool   // tokDelim: paired, so dropped
}

// inlineText converts the inline Markdown of one line.
func inlineText(s string) string {
	if !strings.ContainsAny(s, "\\`[]<*_~hH") {
		return s
	}
	toks := tokenize(s)
	pairDelims(toks)
	out := make([]byte, 0, len(s))
	var starts []int // output offsets of the open links
	for _, t := range toks {
		switch t.kind {
		case tokText:
			out = append(out, t.text...)
		case tokDelim:
			if !t.matched {
				out = append(out, t.text...)
			}
		case tokBreak:
			out = append(out, '\n')
		case tokOpen:
			starts = append(starts, len(out))
		case tokClose:
			start := starts[len(starts)-1]
			starts = starts[:len(starts)-1]
			text := strings.TrimSpace(string(out[start:]))
			url := t.text
			switch {
			case url == "":
				// Nothing to add to the text.
			case text == "" || text == url:
				out = append(out[:start], url...)
			default:
				out = append(out, " ("...)
				out = append(out, url...)
				out = append(out, ')')
			}
		}
	}
	return string(out)
}

// codeRuns indexes a line's backtick runs by length, to find a code span's closing run.
type codeRuns struct {
	at  map[int][]int // run length → start offsets, increasing
	cur map[int]int   // run length → index of the first candidate in at
}

func newCodeRuns(s string) *codeRuns {
	r := &codeRuns{at: map[int][]int{}, cur: map[int]int{}}
	for i := 0; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		n := runLen(s[i:], '`')
		r.at[n] = append(r.at[n], i)
		i += n
	}
	return r
}

// next returns the start of the first run of exactly n backticks after offset i, or -1.
func (r *codeRuns) next(n, i int) int {
	at, c := r.at[n], r.cur[n]
	for c < len(at) && at[c] <= i {
		c++
	}
	r.cur[n] = c
	if c == len(at) {
		return -1
	}
	return at[c]
}

func tokenize(s string) []token {
	var (
		toks    []token
		runs    *codeRuns
		opens   []int // indexes in toks of the unclosed [ and ![
		textBeg = 0   // start of the pending plain text
	)
	text := func(end int) {
		if end > textBeg {
			toks = append(toks, token{kind: tokText, text: s[textBeg:end]})
		}
	}
	emit := func(i, next int, t token) int {
		text(i)
		toks = append(toks, t)
		textBeg = next
		return next
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch {
			case i+1 == len(s): // a hard line break
				i = emit(i, i+1, token{kind: tokText})
			case isASCIIPunct(s[i+1]):
				i = emit(i, i+2, token{kind: tokText, text: s[i+1 : i+2]})
			default:
				i++
			}
		case c == '`':
			n := runLen(s[i:], '`')
			if runs == nil {
				runs = newCodeRuns(s)
			}
			end := runs.next(n, i)
			if end < 0 {
				i = emit(i, i+n, token{kind: tokText, text: s[i : i+n]})
				break
			}
			code := s[i+n : end]
			if len(code) >= 2 && code[0] == ' ' && code[len(code)-1] == ' ' && strings.Trim(code, " ") != "" {
				code = code[1 : len(code)-1]
			}
			i = emit(i, end+n, token{kind: tokText, text: code})
		case c == '[' || (c == '!' && i+1 < len(s) && s[i+1] == '['):
			n := 1
			if c == '!' {
				n = 2
			}
			opens = append(opens, len(toks)+btoi(i > textBeg))
			i = emit(i, i+n, token{kind: tokText, text: s[i : i+n]})
		case c == ']':
			if len(opens) == 0 {
				i++
				break
			}
			o := opens[len(opens)-1]
			opens = opens[:len(opens)-1]
			url, next, ok := linkDest(s, i+1)
			if !ok {
				i++
				break
			}
			toks[o] = token{kind: tokOpen}
			i = emit(i, next, token{kind: tokClose, text: url})
		case c == '<':
			if url, next, ok := autolink(s, i); ok {
				i = emit(i, next, token{kind: tokText, text: url})
			} else if br, next, ok := htmlTag(s, i); ok {
				t := token{kind: tokText}
				if br {
					t.kind = tokBreak
				}
				i = emit(i, next, t)
			} else {
				i++
			}
		case (c == 'h' || c == 'H') && (i == 0 || !isASCIIAlnum(s[i-1])):
			if end := bareURL(s, i); end > i {
				i = emit(i, end, token{kind: tokText, text: s[i:end]})
			} else {
				i++
			}
		case c == '*' || c == '_' || c == '~':
			n := runLen(s[i:], c)
			if c == '~' && n < 2 {
				i += n
				break
			}
			before, _ := utf8.DecodeLastRuneInString(s[:i])
			after, _ := utf8.DecodeRuneInString(s[i+n:])
			if i == 0 {
				before = ' '
			}
			if i+n == len(s) {
				after = ' '
			}
			t := token{kind: tokDelim, text: s[i : i+n]}
			t.open = !unicode.IsSpace(after)
			t.close = !unicode.IsSpace(before)
			if c == '_' { // no emphasis inside a word: snake_case stays
				t.open = t.open && !isAlnum(before)
				t.close = t.close && !isAlnum(after)
			}
			i = emit(i, i+n, t)
		default:
			i++
		}
	}
	text(len(s))
	return toks
}

// pairDelims marks the emphasis delimiters that pair up; the others stay as text.
func pairDelims(toks []token) {
	var stacks [3][]int // *, _, ~
	for i := range toks {
		t := &toks[i]
		if t.kind != tokDelim {
			continue
		}
		k := strings.IndexByte("*_~", t.text[0])
		st := stacks[k]
		if t.close && len(st) > 0 {
			toks[st[len(st)-1]].matched = true
			t.matched = true
			stacks[k] = st[:len(st)-1]
			continue
		}
		if t.open {
			stacks[k] = append(st, i)
		}
	}
}

// linkDest parses "(url)" or "(url "title")" at s[i:], returning the URL and the offset
// after the closing parenthesis. The scan stops at a bracket, so that scans from several
// "](" never cover the same bytes.
func linkDest(s string, i int) (url string, next int, ok bool) {
	if i >= len(s) || s[i] != '(' {
		return "", 0, false
	}
	i++
	for i < len(s) && s[i] == ' ' {
		i++
	}
	start := i
	if i < len(s) && s[i] == '<' {
		end := strings.IndexAny(s[i+1:], "<>[]")
		if end < 0 || s[i+1+end] != '>' {
			return "", 0, false
		}
		url = s[i+1 : i+1+end]
		i += end + 2
	} else {
		depth := 0
	scan:
		for ; i < len(s); i++ {
			switch s[i] {
			case '(':
				depth++
			case ')':
				if depth == 0 {
					break scan
				}
				depth--
			case ' ', '\t', '[', ']', '<', '>':
				break scan
			case '\\':
				if i+1 < len(s) && isASCIIPunct(s[i+1]) {
					i++
				}
			}
		}
		url = s[start:i]
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i < len(s) && (s[i] == '"' || s[i] == '\'') {
		q := s[i]
		end := strings.IndexAny(s[i+1:], string(q)+"[]")
		if end < 0 || s[i+1+end] != q {
			return "", 0, false
		}
		i += end + 2
		for i < len(s) && s[i] == ' ' {
			i++
		}
	}
	if i >= len(s) || s[i] != ')' {
		return "", 0, false
	}
	return url, i + 1, true
}

// autolink parses <scheme:...> or <user@host> at s[i:].
func autolink(s string, i int) (url string, next int, ok bool) {
	end := strings.IndexAny(s[i+1:], "<> \t")
	if end <= 0 || s[i+1+end] != '>' {
		return "", 0, false
	}
	u := s[i+1 : i+1+end]
	if colon := strings.IndexByte(u, ':'); colon >= 2 && colon <= 32 && isScheme(u[:colon]) {
		return u, i + end + 2, true
	}
	if at := strings.IndexByte(u, '@'); at > 0 && at < len(u)-1 && strings.IndexByte(u[at+1:], '.') > 0 {
		return u, i + end + 2, true
	}
	return "", 0, false
}

func isScheme(s string) bool {
	if !isASCIILetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isASCIIAlnum(c) && c != '+' && c != '.' && c != '-' {
			return false
		}
	}
	return true
}

// htmlTags are the tags dropped from text; other text in angle brackets is kept.
var htmlTags = map[string]bool{
	"a": true, "abbr": true, "b": true, "big": true, "blockquote": true, "br": true, "center": true,
	"cite": true, "code": true, "dd": true, "del": true, "details": true, "div": true, "dl": true,
	"dt": true, "em": true, "font": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true,
	"h6": true, "hr": true, "i": true, "img": true, "ins": true, "kbd": true, "li": true,
	"mark": true, "ol": true, "p": true, "pre": true, "q": true, "s": true, "samp": true,
	"small": true, "span": true, "strike": true, "strong": true, "sub": true, "summary": true,
	"sup": true, "table": true, "tbody": true, "td": true, "tfoot": true, "th": true,
	"thead": true, "tr": true, "tt": true, "u": true, "ul": true, "var": true,
}

// htmlTag parses a known HTML tag at s[i:]; br reports a <br>. The scan stops at the next
// '<', so scans from several '<' never cover the same bytes.
func htmlTag(s string, i int) (br bool, next int, ok bool) {
	j := i + 1
	if j < len(s) && s[j] == '/' {
		j++
	}
	k := j
	for k < len(s) && isASCIIAlnum(s[k]) {
		k++
	}
	if k == j || k-j > 10 || !htmlTags[strings.ToLower(s[j:k])] {
		return false, 0, false
	}
	end := strings.IndexAny(s[k:], "<>")
	if end < 0 || s[k+end] != '>' {
		return false, 0, false
	}
	if c := s[k]; c != '>' && c != '/' && c != ' ' && c != '\t' {
		return false, 0, false
	}
	return strings.EqualFold(s[j:k], "br"), k + end + 1, true
}

// bareURL returns the end of an http(s) URL starting at s[i:], or i if there is none.
func bareURL(s string, i int) int {
	rest := s[i:]
	var n int
	switch {
	case hasPrefixFold(rest, "https://"):
		n = 8
	case hasPrefixFold(rest, "http://"):
		n = 7
	default:
		return i
	}
	end := n
	for end < len(rest) {
		c := rest[end]
		if c <= ' ' || c >= utf8.RuneSelf || strings.IndexByte("<>[]`\"*", c) >= 0 {
			break
		}
		end++
	}
	// Punctuation that ends a sentence or closes markup is not part of the URL, nor is an
	// unbalanced closing parenthesis.
	open, closed := strings.Count(rest[:end], "("), strings.Count(rest[:end], ")")
	for end > n {
		c := rest[end-1]
		if strings.IndexByte(".,;:!?'*_~", c) >= 0 {
			end--
			continue
		}
		if c == ')' && open < closed {
			end--
			closed--
			continue
		}
		break
	}
	if end == n {
		return i
	}
	return i + end
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isASCIIPunct(c byte) bool {
	return c < utf8.RuneSelf && unicode.IsPunct(rune(c)) || strings.IndexByte("$+<=>^`|~", c) >= 0
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isASCIIAlnum(c byte) bool { return isASCIILetter(c) || c >= '0' && c <= '9' }

func isAlnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
