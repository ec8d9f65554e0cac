package rules

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/kfbot/kfbot/internal/suggest"
)

func TestClosing(t *testing.T) {
	tests := []struct {
		body string
		want int
	}{
		{" x }}", 3},
		{` "}}" }}`, 6},
		{` '}}' }}`, 6},
		{" `}}` }}", 6},
		{` "a\"}}" }}`, 9},
		{` {"k": {"j": 1}}.k }}`, 19},
		{" x }", -1},
		{` "}}`, -1},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, closing(tt.body), tt.body)
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{nil, ""},
		{"s", "s"},
		{3, "3"},
		{3.0, "3"},
		{1e7, "10000000"},
		{float32(1.5), "1.5"},
		{true, "true"},
		{[]byte("b"), "b"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "2026-01-02 03:04:05"},
		{[]any{1, "a"}, "[1 a]"},
		{time.Minute, "1m0s"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, formatValue(tt.v))
	}
}

func TestParseLocation(t *testing.T) {
	for in, offset := range map[string]int{"+08:00": 8 * 3600, "UTC+8": 8 * 3600, "-05:30": -(5*3600 + 1800), "UTC": 0} {
		loc, err := parseLocation(in)
		if assert.NoError(t, err, in) {
			_, off := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Zone()
			assert.Equal(t, offset, off, in)
		}
	}
	for _, in := range []string{"+25:00", "+8:99", "Nowhere/City", "+x"} {
		_, err := parseLocation(in)
		assert.Error(t, err, in)
	}
}

func TestSuggest(t *testing.T) {
	known := []string{"name", "when", "then", "continue", "description"}
	assert.Equal(t, "when", suggest.Closest("whne", known))
	assert.Equal(t, "then", suggest.Closest("thn", known))
	assert.Equal(t, "continue", suggest.Closest("contnue", known))
	assert.Equal(t, "", suggest.Closest("priority", known))
}
