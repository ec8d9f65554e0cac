package rules

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf"
)

type fakeUploader struct {
	calls []kf.UploadMediaRequest
	sizes []int
}

func (f *fakeUploader) UploadMedia(_ context.Context, req kf.UploadMediaRequest) (*kf.UploadMediaResponse, error) {
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	f.calls = append(f.calls, req)
	f.sizes = append(f.sizes, len(b))
	return &kf.UploadMediaResponse{Type: req.Type, MediaID: fmt.Sprintf("media-%d", len(f.calls))}, nil
}

func TestMediaCacheUploadsOnceUntilExpiryOrChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "thumb.png")
	require.NoError(t, os.WriteFile(path, []byte("png bytes"), 0o600))
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	c := newMediaCache()
	c.now = func() time.Time { return now }
	up := &fakeUploader{}
	ctx := t.Context()

	id, err := c.mediaID(ctx, up, kf.MediaImage, path)
	require.NoError(t, err)
	assert.Equal(t, "media-1", id)
	id, err = c.mediaID(ctx, up, kf.MediaImage, path)
	require.NoError(t, err)
	assert.Equal(t, "media-1", id, "reused")
	require.Len(t, up.calls, 1)
	assert.Equal(t, kf.MediaImage, up.calls[0].Type)
	assert.Equal(t, "thumb.png", up.calls[0].Filename)
	assert.Equal(t, []int{9}, up.sizes)

	now = now.Add(70 * time.Hour)
	id, _ = c.mediaID(ctx, up, kf.MediaImage, path)
	assert.Equal(t, "media-1", id, "still valid")
	now = now.Add(2 * time.Hour)
	id, _ = c.mediaID(ctx, up, kf.MediaImage, path)
	assert.Equal(t, "media-2", id, "re-uploaded before the 3-day expiry")

	require.NoError(t, os.WriteFile(path, []byte("a changed png"), 0o600))
	id, _ = c.mediaID(ctx, up, kf.MediaImage, path)
	assert.Equal(t, "media-3", id, "re-uploaded after the file changed")

	_, err = c.mediaID(ctx, nil, kf.MediaImage, filepath.Join(t.TempDir(), "other.png"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, os.WriteFile(path+"2", []byte("x"), 0o600))
	_, err = c.mediaID(ctx, nil, kf.MediaImage, path+"2")
	assert.ErrorContains(t, err, "no uploader")
}
