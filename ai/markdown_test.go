package ai_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/ai"
)

func TestPlainText(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"plain", "Hello, world.", "Hello, world."},
		{"cjk untouched", "你好，世界！这是一段中文。", "你好，世界！这是一段中文。"},
		{"atx heading", "# Title\ntext", "Title\ntext"},
		{"heading closing hashes", "## Title ##", "Title"},
		{"heading keeps C#", "### Learn C#", "Learn C#"},
		{"not a heading", "#hashtag", "#hashtag"},
		{"setext heading", "Title\n=====\ntext\n---\nmore", "Title\ntext\nmore"},
		{"bold", "a **bold** b __bold__ c", "a bold b bold c"},
		{"emphasis", "*em* and _em_", "em and em"},
		{"strike", "~~gone~~ here, a ~single~ tilde", "gone here, a ~single~ tilde"},
		{"nested emphasis", "***both*** and **bold _in_ it**", "both and bold in it"},
		{"cjk bold after punctuation", "**注意：**这是重点。", "注意：这是重点。"},
		{"snake_case kept", "call my_func_name now", "call my_func_name now"},
		{"lone star kept", "2 * 3 = 6", "2 * 3 = 6"},
		{"unpaired star kept", "a *b", "a *b"},
		{"inline code", "run `go test ./...` now", "run go test ./... now"},
		{"inline code keeps markup", "`**x**` and ``a ` b``", "**x** and a ` b"},
		{"unclosed backtick", "a ` b", "a ` b"},
		{"fenced code verbatim", "text\n```go\nfunc main() { **x** }\n\n\n  _y_\n```\nafter",
			"text\nfunc main() { **x** }\n\n\n  _y_\nafter"},
		{"tilde fence", "~~~\n# not a heading\n~~~", "# not a heading"},
		{"unclosed fence", "```\n**kept**", "**kept**"},
		{"triple backticks inline", "```x``` y", "x y"},
		{"fence in list", "1. step\n   ```sh\n   ls -l\n   ```", "1. step\nls -l"},
		{"bullets", "- a\n* b\n+ c", "• a\n• b\n• c"},
		{"numbered", "1. one\n2) two\n10. ten", "1. one\n2. two\n10. ten"},
		{"nested list", "- a\n  - b\n    - c\n  - d\n- e", "• a\n  • b\n    • c\n  • d\n• e"},
		{"list continuation", "- a\n  more", "• a\n  more"},
		{"list item markup", "- **Step 1**: do [it](https://x.y)", "• Step 1: do it (https://x.y)"},
		{"quote", "> quoted **text**\n>> deeper", "quoted text\ndeeper"},
		{"quoted list", "> - a\n> - b", "• a\n• b"},
		{"link", "see [the docs](https://example.com/a_b)", "see the docs (https://example.com/a_b)"},
		{"link text is url", "[https://a.cn](https://a.cn)", "https://a.cn"},
		{"link with title", `[t](https://x.y "Title")`, "t (https://x.y)"},
		{"link with angle url", "[t](<https://x.y/a b>)", "t (https://x.y/a b)"},
		{"link with parens", "[wiki](https://w.org/A_(B))", "wiki (https://w.org/A_(B))"},
		{"empty link text", "[](https://x.y)", "https://x.y"},
		{"not a link", "[a] (b) [c]", "[a] (b) [c]"},
		{"reference style kept", "[a][b]", "[a][b]"},
		{"autolink", "<https://x.y/p?q=1>", "https://x.y/p?q=1"},
		{"email autolink", "<me@x.cn>", "me@x.cn"},
		{"bare url untouched", "go to https://x.y/a_b_c/__init__.py", "go to https://x.y/a_b_c/__init__.py"},
		{"bold bare url", "**https://x.y**", "https://x.y"},
		{"image", "![logo](https://x.y/l.png)", "logo (https://x.y/l.png)"},
		{"linked image", "[![logo](https://i/l.png)](https://x.y)", "logo (https://i/l.png) (https://x.y)"},
		{"table", "| Name | 价格 |\n|:-----|-----:|\n| **A** | 1 \\| 2 |\n| B | 3 |\nafter",
			"Name | 价格\nA | 1 | 2\nB | 3\nafter"},
		{"table without outer pipes", "a | b\n--|--\n1 | 2", "a | b\n1 | 2"},
		{"pipe without table", "a | b\nc", "a | b\nc"},
		{"rule", "a\n\n---\n\nb\n***\nc", "a\n\nb\n\nc"},
		{"br", "one<br>two<br/>three<BR />four", "one\ntwo\nthree\nfour"},
		{"html dropped", "<b>bold</b> <span class=\"x\">s</span>", "bold s"},
		{"not html", "List<String> and a < b > c", "List<String> and a < b > c"},
		{"escapes", `\*not em\* \_ \# \\ \a`, `*not em* _ # \ \a`},
		{"hard break backslash", "a\\\nb", "a\nb"},
		{"blank runs collapsed", "\n\n\na\n\n\n\nb\n\n\n", "a\n\nb"},
		{"crlf", "# T\r\n\r\n- a\r\n", "T\n\n• a"},
		{"indented code", "text\n\n    x := 1\n    y  :=  2\n\nafter", "text\n\nx := 1\ny  :=  2\n\nafter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, ai.PlainText(tt.in))
		})
	}
}

// dropped are the parts of Markdown that PlainText may drop although they hold letters:
// HTML tags, a fence's info string and a link's destination and title (the destination is
// kept in the output unless it equals the link text, which is kept then).
var (
	htmlTagRE   = regexp.MustCompile(`</?[A-Za-z][A-Za-z0-9]*(?:[\s/][^<>]*)?>`)
	fenceInfoRE = regexp.MustCompile("(?m)^([ \t>]*(?:```+|~~~+)).*$")
)

func withoutDropped(md string) string {
	md = htmlTagRE.ReplaceAllString(md, "")
	md = fenceInfoRE.ReplaceAllString(md, "$1")
	var b strings.Builder
	for {
		i := strings.Index(md, "](")
		if i < 0 {
			b.WriteString(md)
			return b.String()
		}
		b.WriteString(md[:i])
		md = md[i+2:]
		md = md[destEnd(md):]
	}
}

// destEnd returns the end of a link destination and title that s starts with (after "]("):
// the matching ')', or the end of the line. Quoted and <bracketed> parts are skipped whole.
func destEnd(s string) int {
	depth := 0
	for j := 0; j < len(s); j++ {
		switch c := s[j]; c {
		case '\n':
			return j
		case '\\':
			j++
		case '<', '"', '\'':
			end := byte('>')
			if c != '<' {
				end = c
			}
			if k := strings.IndexByte(s[j+1:], end); k >= 0 {
				j += k + 1
			}
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return j + 1
			}
			depth--
		}
	}
	return len(s)
}

// alnum returns the letters and digits of s in order.
func alnum(s string) []rune {
	var rs []rune
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			rs = append(rs, r)
		}
	}
	return rs
}

// isSubsequence reports whether every rune of sub occurs in s in order, and where not.
func isSubsequence(sub, s []rune) (bool, int) {
	j := 0
	for i := 0; i < len(s) && j < len(sub); i++ {
		if s[i] == sub[j] {
			j++
		}
	}
	return j == len(sub), j
}

func TestWithoutDropped(t *testing.T) {
	assert.Equal(t, "[a x", withoutDropped("[a](b(c)d \"t)\") x"))
	assert.Equal(t, "```\ncode\n```", withoutDropped("```go\ncode\n```"))
	// More than PlainText drops, which only weakens the property, never breaks it.
	assert.Equal(t, "bold List", withoutDropped("<b>bold</b> List<String>"))
}

func FuzzPlainText(f *testing.F) {
	f.Add("# Title\n\n**bold** _em_ `code` [link](https://x.y) ![img](u)\n\n- a\n  - b\n1. c\n")
	f.Add("| a | b |\n|---|---|\n| 1 | 2 |\n\n> quote\n\n```go\nx := `y`\n```\n")
	f.Add("中文**粗体**，~~删除~~。<br>下一行 <https://a.b> \\* ***\n---\n")
	f.Add("[[[[a](b](c)](d)]] ``` `` ` *_*_~~_ <b <br <i>>")
	f.Add("[x](<a)b>) [y](a\"b) [z](a \"t)\" w)")
	f.Fuzz(func(t *testing.T, md string) {
		out := ai.PlainText(md)
		want := alnum(withoutDropped(md))
		ok, at := isSubsequence(want, alnum(out))
		if !ok {
			t.Fatalf("PlainText lost text: %q of the input's letters survive, then %q is missing\ninput:  %q\noutput: %q",
				string(want[:at]), string(want[at]), md, out)
		}
		if utf8.ValidString(md) {
			require.True(t, utf8.ValidString(out), "output of valid UTF-8 input is not valid: %q", out)
		}
	})
}
