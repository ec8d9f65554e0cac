package suggest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kfbot/kfbot/internal/suggest"
)

func TestClosest(t *testing.T) {
	known := []string{"name", "when", "then", "continue", "listen", "run", "simulate"}
	tests := []struct{ in, want string }{
		{"whne", "when"}, // a transposition is one edit
		{"thn", "then"},
		{"contnue", "continue"},
		{"lisen", "listen"},
		{"rn", "run"},
		{"simulat", "simulate"},
		{"priority", ""},
		{"", ""},
		{"名字", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, suggest.Closest(tt.in, known), "Closest(%q)", tt.in)
	}
}

func TestDistance(t *testing.T) {
	assert.Equal(t, 0, suggest.Distance("abc", "abc"))
	assert.Equal(t, 1, suggest.Distance("abc", "acb"))
	assert.Equal(t, 3, suggest.Distance("", "abc"))
	assert.Equal(t, 1, suggest.Distance("客服", "客户"))
}
