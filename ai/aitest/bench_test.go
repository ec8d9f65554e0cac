package aitest_test

import (
	"strings"
	"testing"

	"github.com/kfbot/kfbot/ai/aitest"
)

// BenchmarkCompletion measures one SDK round trip through the in-process
// Transport: a blocking answer, and a 100-rune answer streamed one rune per
// chunk.
func BenchmarkCompletion(b *testing.B) {
	text := strings.Repeat("好", 100)
	srv := aitest.NewUnstartedServer()
	srv.SetDefault(func(*aitest.Request) aitest.Reply { return aitest.Text(text) })
	c := inProcess(srv)
	b.Run("blocking", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			resp, err := c.Chat.Completions.New(b.Context(), params("q"))
			if err != nil || resp.Choices[0].Message.Content != text {
				b.Fatal(err)
			}
		}
	})
	b.Run("streaming", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s := c.Chat.Completions.NewStreaming(b.Context(), params("q"))
			n := 0
			for s.Next() {
				n++
			}
			if err := s.Err(); err != nil || n != 102 {
				b.Fatal(n, err)
			}
			_ = s.Close()
		}
	})
}
