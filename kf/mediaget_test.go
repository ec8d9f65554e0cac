package kf_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
)

// TestGetMediaStreamsWhatWasSent: the bytes, type and file name of a medium come back as
// kftest serves them; a part comes back with a Range request; an unknown media_id is
// WeCom's 40007; the token is refreshed as for every call.
func TestGetMediaStreamsWhatWasSent(t *testing.T) {
	srv := kftest.NewServer()
	defer srv.Close()
	cl := ktClient(srv)
	data := make([]byte, 300_000)
	for i := range data {
		data[i] = byte(rand.IntN(256))
	}
	id := srv.PutMedia("file", "报告 final.pdf", data)

	m, err := cl.GetMedia(t.Context(), kf.GetMediaRequest{MediaID: id})
	require.NoError(t, err)
	got, err := io.ReadAll(m)
	require.NoError(t, err)
	require.NoError(t, m.Close())
	assert.True(t, bytes.Equal(data, got), "the exact bytes")
	assert.Equal(t, "报告 final.pdf", m.FileName)
	assert.Equal(t, int64(len(data)), m.Size)
	assert.Equal(t, int64(len(data)), m.Total)
	assert.NotEmpty(t, m.ContentType)

	m, err = cl.GetMedia(t.Context(), kf.GetMediaRequest{MediaID: id, Offset: 1000, Length: 500})
	require.NoError(t, err)
	got, err = io.ReadAll(m)
	require.NoError(t, err)
	require.NoError(t, m.Close())
	assert.Equal(t, data[1000:1500], got, "a part")
	assert.Equal(t, int64(500), m.Size)
	assert.Equal(t, int64(len(data)), m.Total, "the whole size from Content-Range")

	m, err = cl.GetMedia(t.Context(), kf.GetMediaRequest{MediaID: id, Offset: 299_000})
	require.NoError(t, err)
	got, err = io.ReadAll(m)
	require.NoError(t, err)
	require.NoError(t, m.Close())
	assert.Equal(t, data[299_000:], got, "the rest from an offset")

	_, err = cl.GetMedia(t.Context(), kf.GetMediaRequest{MediaID: "nope"})
	var ae *kf.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, kftest.ErrCodeInvalidMediaID, ae.Code)
	assert.NotContains(t, err.Error(), srv.Secret())

	srv.ExpireTokens()
	m, err = cl.GetMedia(t.Context(), kf.GetMediaRequest{MediaID: id})
	require.NoError(t, err, "42001 refreshed and retried")
	require.NoError(t, m.Close())

	_, err = cl.GetMedia(t.Context(), kf.GetMediaRequest{})
	assert.ErrorContains(t, err, "MediaID is required")
	_, err = cl.GetMedia(t.Context(), kf.GetMediaRequest{MediaID: id, Offset: -1})
	assert.Error(t, err)
}

// TestGetMediaLimit: a medium over MaxBytes is refused before its body is read, with
// ErrMediaTooLarge; a negative MaxBytes reads anything.
func TestGetMediaLimit(t *testing.T) {
	srv := kftest.NewServer()
	defer srv.Close()
	cl := ktClient(srv)
	id := srv.PutMedia("file", "big.bin", make([]byte, 10_000))
	_, err := cl.GetMedia(t.Context(), kf.GetMediaRequest{MediaID: id, MaxBytes: 9_999})
	require.ErrorIs(t, err, kf.ErrMediaTooLarge)
	assert.ErrorContains(t, err, "10000 bytes")
	m, err := cl.GetMedia(t.Context(), kf.GetMediaRequest{MediaID: id, MaxBytes: -1})
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, m)
	require.NoError(t, err)
	assert.Equal(t, int64(10_000), n)
	require.NoError(t, m.Close())
}

// TestGetMediaStreamsWithBoundedHeap: a 30 MB file passes through a small buffer: the
// heap grows by far less than the file.
func TestGetMediaStreamsWithBoundedHeap(t *testing.T) {
	srv := kftest.NewServer()
	defer srv.Close()
	cl := ktClient(srv)
	const size = 30 << 20
	id := srv.PutMedia("file", "video.mp4", make([]byte, size))
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	m, err := cl.GetMedia(t.Context(), kf.GetMediaRequest{MediaID: id})
	require.NoError(t, err)
	n, err := io.CopyBuffer(io.Discard, m, make([]byte, 32<<10))
	require.NoError(t, err)
	require.NoError(t, m.Close())
	runtime.ReadMemStats(&after)
	assert.Equal(t, int64(size), n)
	// TotalAlloc counts every byte allocated meanwhile, by the client and by kftest's
	// handler (which serves from memory it already holds).
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(size/4), "streamed, not buffered")
}
