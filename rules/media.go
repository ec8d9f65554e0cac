package rules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kfbot/kfbot/kf"
)

// mediaReuse is how long an uploaded media_id is reused: temporary media live 3 days;
// re-upload an hour before that.
const mediaReuse = 71 * time.Hour

// mediaRef names a medium either by media_id or by a local file uploaded on first use.
type mediaRef struct {
	id   string       // a media_id given in the file
	path string       // an absolute (or base-relative) file path, uploaded on demand
	typ  kf.MediaType // what it is uploaded as
}

// mediaCache remembers the media_id of each uploaded local file. It is shared by the
// sets a Live loads, so a reload does not upload the same files again. Safe for
// concurrent use; one upload per file at a time.
type mediaCache struct {
	now     func() time.Time
	mu      sync.Mutex
	entries map[string]*mediaEntry
}

type mediaEntry struct {
	mu       sync.Mutex
	id       string
	uploaded time.Time
	modTime  time.Time
	size     int64
}

func newMediaCache() *mediaCache {
	return &mediaCache{now: time.Now, entries: map[string]*mediaEntry{}}
}

func (c *mediaCache) entry(path string) *mediaEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[path]
	if e == nil {
		e = &mediaEntry{}
		c.entries[path] = e
	}
	return e
}

// mediaID returns the media_id for path uploaded as typ, uploading the file when it was
// never uploaded, changed since, or its media_id is about to expire. A file WeCom would
// refuse (size, format) is an error before any upload.
func (c *mediaCache) mediaID(ctx context.Context, up Uploader, typ kf.MediaType, path string) (string, error) {
	e := c.entry(string(typ) + "\x00" + path)
	e.mu.Lock()
	defer e.mu.Unlock()
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("rules: upload %s: %w", path, err)
	}
	now := c.now()
	if e.id != "" && now.Sub(e.uploaded) < mediaReuse && fi.ModTime().Equal(e.modTime) && fi.Size() == e.size {
		return e.id, nil
	}
	if up == nil {
		return "", fmt.Errorf("rules: upload %s: no uploader (see rules.WithUploader)", path)
	}
	if err := typ.Check(path, fi.Size()); err != nil {
		return "", fmt.Errorf("rules: upload: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("rules: upload %s: %w", path, err)
	}
	defer f.Close()
	resp, err := up.UploadMedia(ctx, kf.UploadMediaRequest{
		Type: typ, Filename: filepath.Base(path), Body: f, Size: fi.Size(),
	})
	if err != nil {
		return "", fmt.Errorf("rules: upload %s: %w", path, err)
	}
	e.id, e.uploaded, e.modTime, e.size = resp.MediaID, now, fi.ModTime(), fi.Size()
	return e.id, nil
}

// resolve returns the media_id of r.
func (r mediaRef) resolve(x *run) (string, error) {
	if r.path == "" {
		return r.id, nil
	}
	up := x.set.opts.uploader
	if up == nil {
		up, _ = x.c.Client().(Uploader)
	}
	return x.set.opts.media.mediaID(x.c.Context(), up, r.typ, r.path)
}
