package kf_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kfbot/kfbot/kf"
)

func TestClientCorpID(t *testing.T) {
	assert.Equal(t, "ww123", kf.NewClient("ww123", "secret").CorpID())
}
