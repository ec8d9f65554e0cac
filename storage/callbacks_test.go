package storage_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
)

func TestCallbackEntryRoundTrip(t *testing.T) {
	for name, e := range map[string]storage.CallbackEntry{
		"whole":         {Key: "cb1:a", Payload: []byte("<xml/>"), ReceiveID: "ww1", Received: time.Unix(1700000000, 5)},
		"no time or id": {Key: "cb1:b", Payload: []byte("x")},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := e.AppendBinary([]byte("prefix"))
			require.NoError(t, err)
			got, err := storage.DecodeCallbackEntry(e.Key, b[len("prefix"):])
			require.NoError(t, err)
			assert.Equal(t, e, got)
		})
	}
}

func TestDecodeCallbackEntryErrors(t *testing.T) {
	good, err := (&storage.CallbackEntry{Key: "k", Payload: []byte("p"), ReceiveID: "r"}).AppendBinary(nil)
	require.NoError(t, err)
	for name, data := range map[string][]byte{
		"empty":         nil,
		"version":       append([]byte{9}, good[1:]...),
		"truncated":     good[:len(good)-1],
		"trailing":      append(append([]byte(nil), good...), 0),
		"empty payload": {1, 0, 0, 0},
	} {
		_, err := storage.DecodeCallbackEntry("k", data)
		assert.Error(t, err, name)
	}
	_, err = (&storage.CallbackEntry{Key: "k"}).AppendBinary(nil)
	assert.Error(t, err, "no payload")
}

func FuzzDecodeCallbackEntry(f *testing.F) {
	good, _ := (&storage.CallbackEntry{Key: "k", Payload: []byte("<xml/>"), ReceiveID: "ww", Received: time.Unix(1, 0)}).AppendBinary(nil)
	f.Add(good)
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := storage.DecodeCallbackEntry("k", data)
		if err != nil {
			return
		}
		again, err := e.AppendBinary(nil)
		require.NoError(t, err)
		back, err := storage.DecodeCallbackEntry("k", again)
		require.NoError(t, err)
		assert.Equal(t, e, back)
	})
}
