package storage_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
)

var inboxConv = storage.Conversation{CorpID: "ww1", OpenKFID: "wk1", ExternalUserID: "wm1"}

func TestInboxEntryEncoding(t *testing.T) {
	e := storage.InboxEntry{Conversation: inboxConv, Seq: 42, MsgID: "m1", Message: []byte(`{"a":1}`),
		Arrived: time.Unix(1_800_000_000, 123), Observed: true}
	data, err := e.AppendBinary(nil)
	require.NoError(t, err)
	got, err := storage.DecodeInboxEntry(inboxConv, 42, data)
	require.NoError(t, err)
	assert.Equal(t, e.MsgID, got.MsgID)
	assert.Equal(t, e.Message, got.Message)
	assert.True(t, e.Arrived.Equal(got.Arrived))
	assert.True(t, got.Observed)

	for name, bad := range map[string][]byte{
		"empty":           nil,
		"unknown version": append([]byte{9}, data[1:]...),
		"truncated":       data[:len(data)-1],
		"trailing bytes":  append(bytes.Clone(data), 0),
	} {
		_, err := storage.DecodeInboxEntry(inboxConv, 42, bad)
		assert.Error(t, err, name)
	}
	_, err = (&storage.InboxEntry{Conversation: inboxConv, MsgID: "m"}).AppendBinary(nil)
	assert.Error(t, err, "an entry without a message")
}

func FuzzDecodeInboxEntry(f *testing.F) {
	e := storage.InboxEntry{Conversation: inboxConv, Seq: 1, MsgID: "m1", Message: []byte(`{}`), Arrived: time.Unix(5, 0)}
	data, _ := e.AppendBinary(nil)
	f.Add(data)
	f.Add([]byte{1, 0, 0, 1, 'm', 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := storage.DecodeInboxEntry(inboxConv, 7, data)
		if err != nil {
			return
		}
		again, err := got.AppendBinary(nil)
		require.NoError(t, err, "a decoded entry is valid")
		back, err := storage.DecodeInboxEntry(inboxConv, 7, again)
		require.NoError(t, err)
		assert.Equal(t, got.MsgID, back.MsgID)
		assert.Equal(t, got.Message, back.Message)
		assert.Equal(t, got.Observed, back.Observed)
		assert.True(t, got.Arrived.Equal(back.Arrived))
	})
}
