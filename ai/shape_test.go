package ai_test

import (
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/ai"
)

// longAnswer is about n bytes of English sentences in paragraphs of five sentences.
func longAnswer(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "Sentence %d tells the customer something useful about the order. ", i)
		if i%5 == 4 {
			b.WriteString("\n\n")
		}
	}
	return b.String()
}

func TestSplit(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		maxBytes  int
		maxParts  int
		want      []string
		truncated bool
	}{
		{"fits", "Hello there.", 0, 0, []string{"Hello there."}, false},
		{"whitespace only", " \n\t ", 0, 0, nil, false},
		{"paragraphs first", "First part here.\n\nSecond part.", 20, 3, []string{"First part here.", "Second part."}, false},
		{"sentences next", "One two three. Four five six. Seven.", 20, 3, []string{"One two three.", "Four five six.", "Seven."}, false},
		{"CJK sentence ends", "你好。我们明天发货！请放心？", 30, 3, []string{"你好。我们明天发货！", "请放心？"}, false},
		{"closing quotes stay with their sentence", `He said "go." Then left.`, 16, 3, []string{`He said "go."`, "Then left."}, false},
		{"code line is cut at its end", "call fmt.Println(x) now\nthen stop here please", 24, 3, []string{"call fmt.Println(x) now", "then stop here please"}, false},
		{"truncated at a sentence with an ellipsis", "One. Two. Three. Four. Five. Six.", 12, 2, []string{"One. Two.", "Three.…"}, true},
		{"runes never cut", "日本語日本語日本語", 8, 5, []string{"日本", "語日", "本語", "日本", "語"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, truncated := ai.Split(tt.in, tt.maxBytes, tt.maxParts)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.truncated, truncated)
		})
	}
}

func TestShapeFitsAFiveThousandByteAnswerIntoThreeMessages(t *testing.T) {
	answer := "# Your order\n\n**Good news:** " + longAnswer(5000)
	parts, truncated := ai.Shape(answer, 0, 0)
	assert.False(t, truncated)
	require.LessOrEqual(t, len(parts), 3)
	for _, p := range parts {
		assert.LessOrEqual(t, len(p), 2048)
		assert.NotContains(t, p, "**")
		assert.True(t, strings.HasSuffix(p, "."), "cut at a sentence end: …%q", p[len(p)-10:])
	}
	assert.True(t, strings.HasPrefix(parts[0], "Your order\n\nGood news: Sentence 0"))
}

func TestSegmenterStreams(t *testing.T) {
	answer := longAnswer(5000)
	seg := ai.NewSegmenter(0, 3, 0)
	var parts []string
	firstAt := -1
	for i := 0; i < len(answer); i += 7 {
		got := seg.Write(answer[i:min(i+7, len(answer))])
		if len(got) > 0 && firstAt < 0 {
			firstAt = i
		}
		parts = append(parts, got...)
	}
	rest, truncated := seg.Close()
	parts = append(parts, rest...)
	assert.False(t, truncated)
	assert.Len(t, parts, 3)
	assert.Greater(t, firstAt, 0)
	assert.Less(t, firstAt, 2500, "the first message went out while the model still wrote")
	for _, p := range parts {
		assert.LessOrEqual(t, len(p), 2048)
		assert.GreaterOrEqual(t, len(p), 1000, "messages are packed")
	}
	assert.Equal(t, words(answer), words(strings.Join(parts, " ")))
}

func TestSegmenterKeepsCodeBlocksWhole(t *testing.T) {
	code := "```\nfirst line\n\nsecond line after a blank\n```\n"
	answer := strings.Repeat("Intro sentence. ", 20) + "\n\n" + code + "\nThe end."
	seg := ai.NewSegmenter(400, 3, 300)
	var parts []string
	for _, r := range answer {
		parts = append(parts, seg.Write(string(r))...)
	}
	rest, _ := seg.Close()
	parts = append(parts, rest...)
	var inOne bool
	for _, p := range parts {
		if strings.Contains(p, "first line") {
			inOne = strings.Contains(p, "second line after a blank")
		}
	}
	assert.True(t, inOne, "the blank line inside the code block does not end a message: %q", parts)
}

func TestSegmenterShortAnswerIsOneMessageAtClose(t *testing.T) {
	seg := ai.NewSegmenter(0, 3, 0)
	assert.Empty(t, seg.Write("Hello! **Your** order ships "))
	assert.Empty(t, seg.Write("tomorrow.\n\nAnything else?"))
	parts, truncated := seg.Close()
	assert.Equal(t, []string{"Hello! Your order ships tomorrow.\n\nAnything else?"}, parts)
	assert.False(t, truncated)
}

// words are the letters and digits of s, in order.
func words(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return -1
	}, s)
}

func FuzzSplit(f *testing.F) {
	f.Add("One. Two. Three.\n\nFour!", 12, 2)
	f.Add("你好。我们明天发货！请放心？", 9, 3)
	f.Fuzz(func(t *testing.T, s string, maxBytes, maxParts int) {
		maxBytes, maxParts = maxBytes%300, maxParts%6
		parts, truncated := ai.Split(s, maxBytes, maxParts)
		checkParts(t, parts, maxBytes, maxParts)
		if !truncated && utf8.ValidString(s) {
			assert.Equal(t, words(s), words(strings.Join(parts, "")))
		}
	})
}

func FuzzSegmenter(f *testing.F) {
	f.Add("# Title\n\nSome **bold** text. More.\n\n- a\n- b\n\n```\ncode\n\nmore\n```\nEnd.", 40, 3, 5)
	f.Fuzz(func(t *testing.T, s string, maxBytes, maxParts, step int) {
		maxBytes, maxParts, step = maxBytes%300, maxParts%6, 1+abs(step)%20
		seg := ai.NewSegmenter(maxBytes, maxParts, 0)
		var parts []string
		for i := 0; i < len(s); i += step {
			parts = append(parts, seg.Write(s[i:min(i+step, len(s))])...)
		}
		rest, truncated := seg.Close()
		parts = append(parts, rest...)
		checkParts(t, parts, maxBytes, maxParts)
		if !truncated && utf8.ValidString(s) {
			assert.Equal(t, words(ai.PlainText(s)), words(strings.Join(parts, "")))
		}
	})
}

func abs(n int) int { return max(n, -n) }

// checkParts checks what every cut answer must be.
func checkParts(t *testing.T, parts []string, maxBytes, maxParts int) {
	t.Helper()
	if maxBytes <= 0 {
		maxBytes = 2048
	}
	maxBytes = max(maxBytes, ai.MinPartBytes)
	if maxParts <= 0 {
		maxParts = ai.DefaultMaxParts
	}
	require.LessOrEqual(t, len(parts), maxParts)
	for _, p := range parts {
		require.LessOrEqual(t, len(p), maxBytes)
		require.True(t, utf8.ValidString(p))
		require.NotEmpty(t, strings.TrimSpace(p))
	}
}

func BenchmarkShape(b *testing.B) {
	answer := "# Your order\n\n**Good news:** " + longAnswer(5000)
	b.ReportAllocs()
	for b.Loop() {
		ai.Shape(answer, 0, 0)
	}
}

func BenchmarkSegmenter(b *testing.B) {
	answer := longAnswer(5000)
	b.ReportAllocs()
	for b.Loop() {
		seg := ai.NewSegmenter(0, 3, 0)
		for i := 0; i < len(answer); i += 5 {
			seg.Write(answer[i:min(i+5, len(answer))])
		}
		seg.Close()
	}
}

func ExampleShape() {
	parts, truncated := ai.Shape("## Shipping\n\n**Orders** ship in 2 days. See [our page](https://shop.example.com).", 0, 0)
	fmt.Printf("%q %v\n", parts, truncated)
	// Output: ["Shipping\n\nOrders ship in 2 days. See our page (https://shop.example.com)."] false
}

func ExampleSegmenter() {
	seg := ai.NewSegmenter(40, 3, 20)
	for _, delta := range []string{"The first paragraph is ", "complete now.\n\nThe second ", "one follows."} {
		for _, part := range seg.Write(delta) {
			fmt.Printf("send %q\n", part)
		}
	}
	rest, _ := seg.Close()
	for _, part := range rest {
		fmt.Printf("send %q\n", part)
	}
	// Output:
	// send "The first paragraph is complete now."
	// send "The second one follows."
}
