package storagetest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/storagetest"
)

func TestCountingWithInbox(t *testing.T) {
	c := &storagetest.Counting{Store: storage.NewMemory()}
	s := c.WithInbox()
	is, ok := s.(storage.InboxStore)
	require.True(t, ok, "the memory store's inbox is kept")
	require.NoError(t, is.PutMemo(t.Context(), "k", []byte("v"), 0))
	_, err := is.Memo(t.Context(), "k")
	require.NoError(t, err)
	_, err = is.Inbox(t.Context(), storage.Account{CorpID: "ww", OpenKFID: "wk"})
	require.NoError(t, err)
	assert.EqualValues(t, 1, c.Writes.Load())
	assert.EqualValues(t, 2, c.Reads.Load())

	plain := &storagetest.Counting{Store: struct{ storage.Store }{storage.NewMemory()}}
	_, ok = plain.WithInbox().(storage.InboxStore)
	assert.False(t, ok, "a store without an inbox does not seem to have one")
}
