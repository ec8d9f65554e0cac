package bot_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
)

type fakeUploader struct {
	mu    sync.Mutex
	calls []kf.UploadMediaRequest
	sizes []int
	data  [][]byte
}

func (f *fakeUploader) UploadMedia(_ context.Context, req kf.UploadMediaRequest) (*kf.UploadMediaResponse, error) {
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req)
	f.sizes = append(f.sizes, len(b))
	f.data = append(f.data, b)
	return &kf.UploadMediaResponse{Type: req.Type, MediaID: fmt.Sprintf("media-%d", len(f.calls))}, nil
}

func TestMediaCacheUploadsOnceUntilExpiryOrChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "thumb.png")
	require.NoError(t, os.WriteFile(path, []byte("png bytes"), 0o600))
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	c := bot.NewMediaCache(func() time.Time { return now })
	up := &fakeUploader{}
	ctx := t.Context()

	id, err := c.MediaID(ctx, up, kf.MediaImage, path)
	require.NoError(t, err)
	assert.Equal(t, "media-1", id)
	id, err = c.MediaID(ctx, up, kf.MediaImage, path)
	require.NoError(t, err)
	assert.Equal(t, "media-1", id, "reused")
	require.Len(t, up.calls, 1)
	assert.Equal(t, kf.MediaImage, up.calls[0].Type)
	assert.Equal(t, "thumb.png", up.calls[0].Filename)
	assert.Equal(t, []int{9}, up.sizes)

	now = now.Add(70 * time.Hour)
	id, _ = c.MediaID(ctx, up, kf.MediaImage, path)
	assert.Equal(t, "media-1", id, "still valid")
	now = now.Add(2 * time.Hour)
	id, _ = c.MediaID(ctx, up, kf.MediaImage, path)
	assert.Equal(t, "media-2", id, "re-uploaded before the 3-day expiry")

	require.NoError(t, os.WriteFile(path, []byte("a changed png"), 0o600))
	id, _ = c.MediaID(ctx, up, kf.MediaImage, path)
	assert.Equal(t, "media-3", id, "re-uploaded after the file changed")

	_, err = c.MediaID(ctx, nil, kf.MediaImage, filepath.Join(t.TempDir(), "other.png"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, os.WriteFile(path+"2", []byte("x"), 0o600))
	_, err = c.MediaID(ctx, nil, kf.MediaImage, path+"2")
	assert.ErrorContains(t, err, "no uploader")
}

// mediaServer serves body at every path with the given content type, counting requests.
func mediaServer(t *testing.T, contentType string, body []byte) (*httptest.Server, *counter) {
	t.Helper()
	n := newCounter()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.add(1)
		if strings.HasSuffix(r.URL.Path, "/missing") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, n
}

func TestMediaCacheDownloadsURLsOnce(t *testing.T) {
	body := []byte("\x89PNG fake image bytes")
	srv, gets := mediaServer(t, "image/png", body)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	c := bot.NewMediaCache(func() time.Time { return now })
	up := &fakeUploader{}
	for range 100 {
		id, err := c.MediaID(t.Context(), up, kf.MediaImage, srv.URL+"/img?id=7")
		require.NoError(t, err)
		assert.Equal(t, "media-1", id)
	}
	assert.Equal(t, int64(1), gets.load(), "downloaded once")
	require.Len(t, up.calls, 1, "uploaded once across 100 replies")
	assert.Equal(t, "img.png", up.calls[0].Filename, "the extension comes from Content-Type")
	assert.Equal(t, body, up.data[0])

	now = now.Add(bot.MediaReuse)
	id, err := c.MediaID(t.Context(), up, kf.MediaImage, srv.URL+"/img?id=7")
	require.NoError(t, err)
	assert.Equal(t, "media-2", id, "downloaded and uploaded again when due")

	_, err = c.MediaID(t.Context(), up, kf.MediaImage, srv.URL+"/missing")
	assert.ErrorContains(t, err, "404")
	_, err = c.MediaID(t.Context(), up, kf.MediaImage, "http://example.com/a.png")
	assert.ErrorContains(t, err, "only https URLs")
}

func TestMediaCacheRefusesURLsOverTheLimit(t *testing.T) {
	big := make([]byte, kf.MediaVoice.MaxBytes()+1)
	srv, _ := mediaServer(t, "audio/amr", big)
	c := bot.NewMediaCache(nil)
	up := &fakeUploader{}
	_, err := c.MediaID(t.Context(), up, kf.MediaVoice, srv.URL+"/voice.amr")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "at most 2 MB")
	assert.Empty(t, up.calls, "nothing uploaded")

	// Without a Content-Length the download stops past the limit.
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/amr")
		for range 3 {
			_, _ = w.Write(make([]byte, 1<<20))
			w.(http.Flusher).Flush()
		}
	}))
	t.Cleanup(chunked.Close)
	_, err = c.MediaID(t.Context(), up, kf.MediaVoice, chunked.URL+"/v")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "at most 2 MB")
	assert.Empty(t, up.calls)
}

// TestReplyMediaUploadsOnceAndNothingWhenRefused: a handler's media replies from a URL
// cost one upload across many conversations; a reply the conversation does not allow
// uploads nothing.
func TestReplyMediaUploadsOnceAndNothingWhenRefused(t *testing.T) {
	png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
	web, _ := mediaServer(t, "image/png", png)
	e := newEnv(t)
	e.srv.AddServicer(testKF, "alice")
	b := e.newBot()
	var refused []error
	b.Handle(bot.MsgType("text"), func(c *bot.Context) error {
		err := c.ReplyMedia(kf.MediaImage, web.URL+"/logo")
		if err != nil {
			refused = append(refused, err)
		}
		return nil
	})
	for i := range 20 {
		e.srv.AddText(testKF, fmt.Sprint("wm", i), "logo please")
	}
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Empty(t, refused)
	assert.Equal(t, 1, e.srv.Calls("media/upload"), "one upload for 20 replies")
	assert.Len(t, e.srv.Sent(), 20)

	// A conversation that ran out of replies uploads nothing.
	e2 := newEnv(t)
	b2 := e2.newBot()
	b2.Handle(bot.MsgType("text"), func(c *bot.Context) error {
		for range bot.MaxRepliesPerMessage {
			if err := c.ReplyText("x"); err != nil {
				return err
			}
		}
		err := c.ReplyMedia(kf.MediaImage, web.URL+"/logo")
		refused = append(refused, err)
		return nil
	})
	e2.srv.AddText(testKF, "wmA", "hi")
	require.NoError(t, b2.Pull(t.Context(), testKF))
	require.Len(t, refused, 1)
	assert.ErrorIs(t, refused[0], bot.ErrQuotaExceeded)
	assert.Zero(t, e2.srv.Calls("media/upload"))
}
