package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kfbot/kfbot/kf"
)

// MediaReuse is how long an uploaded media_id is reused: temporary media live 3 days,
// and are uploaded again an hour before that.
const MediaReuse = 71 * time.Hour

// mediaFetchTimeout bounds the download of a media URL.
const mediaFetchTimeout = 30 * time.Second

// Uploader uploads temporary media; *kf.Client satisfies it.
type Uploader interface {
	UploadMedia(ctx context.Context, req kf.UploadMediaRequest) (*kf.UploadMediaResponse, error)
}

// MediaCache turns media sources — a local file or an https URL — into media_ids,
// uploading each source once and reusing its media_id for [MediaReuse]. A file is
// uploaded again when its size or modification time changed; a URL is downloaded again
// only when its media_id is due. WeCom's size and format limits ([kf.MediaType.Check])
// are checked before any upload, and a download never reads more than the type's limit.
// Plain http URLs are accepted only for loopback hosts (tests). Safe for concurrent use;
// callers asking for the same source share one upload. A failure is not remembered: the
// next call tries again.
type MediaCache struct {
	now     func() time.Time
	http    *http.Client
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

// NewMediaCache returns an empty cache whose reuse is timed by now (nil: time.Now).
func NewMediaCache(now func() time.Time) *MediaCache {
	if now == nil {
		now = time.Now
	}
	hc := &http.Client{
		Timeout: mediaFetchTimeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("more than 3 redirects")
			}
			return checkMediaURL(req.URL)
		},
	}
	return &MediaCache{now: now, http: hc, entries: map[string]*mediaEntry{}}
}

// IsMediaURL reports whether src names a URL rather than a file.
func IsMediaURL(src string) bool {
	return strings.HasPrefix(src, "https://") || strings.HasPrefix(src, "http://")
}

// CheckMediaURL reports whether src is a URL MediaCache downloads: https, or http to a
// loopback host.
func CheckMediaURL(src string) error {
	u, err := url.Parse(src)
	if err != nil {
		return fmt.Errorf("bot: media URL %q: %w", src, err)
	}
	return checkMediaURL(u)
}

func checkMediaURL(u *url.URL) error {
	switch {
	case u.Scheme == "https" && u.Host != "":
		return nil
	case u.Scheme == "http" && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("bot: media URL %s: only https URLs are downloaded (http only from loopback)", redact(u))
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redact is u without its userinfo, for messages.
func redact(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

func (c *MediaCache) entry(key string) *mediaEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entries[key]
	if e == nil {
		e = &mediaEntry{}
		c.entries[key] = e
	}
	return e
}

// MediaID returns the media_id of src uploaded as typ, uploading it with up when it was
// never uploaded, changed since (files), or its media_id is due.
func (c *MediaCache) MediaID(ctx context.Context, up Uploader, typ kf.MediaType, src string) (string, error) {
	e := c.entry(string(typ) + "\x00" + src)
	e.mu.Lock()
	defer e.mu.Unlock()
	now := c.now()
	if IsMediaURL(src) {
		if e.id != "" && now.Sub(e.uploaded) < MediaReuse {
			return e.id, nil
		}
		id, err := c.uploadURL(ctx, up, typ, src)
		if err != nil {
			return "", err
		}
		e.id, e.uploaded = id, now
		return id, nil
	}
	fi, err := os.Stat(src)
	if err != nil {
		return "", fmt.Errorf("bot: upload %s: %w", src, err)
	}
	if e.id != "" && now.Sub(e.uploaded) < MediaReuse && fi.ModTime().Equal(e.modTime) && fi.Size() == e.size {
		return e.id, nil
	}
	if up == nil {
		return "", fmt.Errorf("bot: upload %s: no uploader", src)
	}
	if err := typ.Check(src, fi.Size()); err != nil {
		return "", fmt.Errorf("bot: upload: %w", err)
	}
	f, err := os.Open(src)
	if err != nil {
		return "", fmt.Errorf("bot: upload %s: %w", src, err)
	}
	defer f.Close()
	resp, err := up.UploadMedia(ctx, kf.UploadMediaRequest{Type: typ, Filename: filepath.Base(src), Body: f, Size: fi.Size()})
	if err != nil {
		return "", fmt.Errorf("bot: upload %s: %w", src, err)
	}
	e.id, e.uploaded, e.modTime, e.size = resp.MediaID, now, fi.ModTime(), fi.Size()
	return e.id, nil
}

// uploadURL downloads src (at most typ's limit) and uploads it.
func (c *MediaCache) uploadURL(ctx context.Context, up Uploader, typ kf.MediaType, src string) (string, error) {
	u, err := url.Parse(src)
	if err != nil {
		return "", fmt.Errorf("bot: media URL %q: %w", src, err)
	}
	if err := checkMediaURL(u); err != nil {
		return "", err
	}
	if up == nil {
		return "", fmt.Errorf("bot: upload %s: no uploader", redact(u))
	}
	where := redact(u)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("bot: download %s: %w", where, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("bot: download %s: %w", where, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("bot: download %s: HTTP %s", where, resp.Status)
	}
	name := mediaFileName(resp, u)
	limit := typ.MaxBytes()
	if resp.ContentLength > limit {
		return "", fmt.Errorf("bot: download %s: %w", where, typ.Check(name, resp.ContentLength))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return "", fmt.Errorf("bot: download %s: %w", where, err)
	}
	if err := typ.Check(name, int64(len(data))); err != nil {
		return "", fmt.Errorf("bot: download %s: %w", where, err)
	}
	out, err := up.UploadMedia(ctx, kf.UploadMediaRequest{Type: typ, Filename: name, Body: bytes.NewReader(data), Size: int64(len(data))})
	if err != nil {
		return "", fmt.Errorf("bot: upload %s: %w", where, err)
	}
	return out.MediaID, nil
}

// mediaFileName is the file name of a download: Content-Disposition's, else the URL
// path's last element, with an extension from Content-Type when it has none.
func mediaFileName(resp *http.Response, u *url.URL) string {
	name := ""
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		name = path.Base(filepath.ToSlash(params["filename"]))
	}
	if name == "" || name == "." || name == "/" {
		name = path.Base(u.Path)
	}
	if name == "" || name == "." || name == "/" {
		name = "media"
	}
	if path.Ext(name) == "" {
		if ct, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
			if exts, _ := mime.ExtensionsByType(ct); len(exts) > 0 {
				name += preferredExt(ct, exts)
			}
		}
	}
	return name
}

// preferredExt picks the extension WeCom's checks know for ct.
func preferredExt(ct string, exts []string) string {
	switch ct {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "audio/amr":
		return ".amr"
	case "video/mp4":
		return ".mp4"
	}
	return exts[0]
}

// ReplyMedia sends an image, voice, video or file reply from src — a local file or an
// https URL — uploaded once and reused (see [MediaCache]). The reply is checked against
// the conversation's allowance before anything is uploaded. A video gets no title.
func (c *Context) ReplyMedia(typ kf.MediaType, src string) error {
	if err := c.canReply(1); err != nil {
		return err
	}
	up, ok := c.bot.client.(Uploader)
	if !ok {
		return fmt.Errorf("bot: ReplyMedia: the client (%T) cannot upload media", c.bot.client)
	}
	id, err := c.bot.media.MediaID(c.ctx, up, typ, src)
	if err != nil {
		return err
	}
	var m kf.OutMessage
	switch typ {
	case kf.MediaImage:
		m = kf.Image{MediaID: id}
	case kf.MediaVoice:
		m = kf.Voice{MediaID: id}
	case kf.MediaVideo:
		m = kf.Video{MediaID: id}
	case kf.MediaFile:
		m = kf.File{MediaID: id}
	default:
		return fmt.Errorf("bot: ReplyMedia: media type %q is not image, voice, video or file", typ)
	}
	return c.Reply(m)
}
