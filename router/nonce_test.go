package router

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestNonceSetExpiresAndStaysBounded(t *testing.T) {
	now := time.Unix(1000, 0)
	s := newNonceSet(3)
	assert.True(t, s.add("a", now.Add(time.Minute), now))
	assert.False(t, s.add("a", now.Add(time.Minute), now), "a replay inside the window is refused")
	assert.True(t, s.add("a", now.Add(3*time.Minute), now.Add(2*time.Minute)), "after expiry the key is new again")

	for i := range 10 {
		s.add(fmt.Sprint("k", i), now.Add(time.Hour), now.Add(2*time.Minute))
	}
	assert.LessOrEqual(t, len(s.seen), 3, "the set never holds more than max entries")
	assert.False(t, s.add("k9", now.Add(time.Hour), now.Add(2*time.Minute)), "the newest entries are kept")
}
