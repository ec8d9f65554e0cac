package bot

import (
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

// Limits of the [MediaCache].
const (
	// MediaReuse is how long the cache reuses a media_id it uploaded: WeCom keeps
	// temporary media 3 days, and the cache uploads again an hour before that.
	MediaReuse = 71 * time.Hour
	// MediaFetchTimeout bounds fetching a URL source, including the upload its body is
	// streamed into.
	MediaFetchTimeout = 2 * time.Minute
	// MaxMediaRedirects is how many redirects fetching a URL source follows.
	MaxMediaRedirects = 5
)

// ErrMediaTooLarge is returned (wrapped) when a URL source is larger than WeCom takes
// for its media type ([kf.MediaType.MaxBytes]): its Content-Length says so, and nothing
// is uploaded, or its body runs past the limit, and the upload is abandoned.
var ErrMediaTooLarge = errors.New("bot: medium too large for WeCom")

// ErrNoUploader is returned by a [MediaCache] that has no [Uploader]: a bot whose
// client has no UploadMedia method (*kf.Client has one).
var ErrNoUploader = errors.New("bot: no uploader: the client cannot upload media (use a *kf.Client, or a Client with an UploadMedia method)")

// Uploader uploads temporary media (media/upload); *kf.Client satisfies it.
type Uploader interface {
	UploadMedia(ctx context.Context, req kf.UploadMediaRequest) (*kf.UploadMediaResponse, error)
}

// MediaCache turns media sources into media_ids: it uploads a source as temporary
// media of a [kf.MediaType] on first use and reuses the media_id until [MediaReuse] has
// passed. Every bot has one, [Bot.Media], used by [Context.ReplyMedia] and by rule
// files; sources are keyed by type and source.
//
// A source is a local file path or a URL:
//
//   - A file (relative paths are taken from the working directory) is uploaded again
//     when its size or modification time changed.
//   - A URL must be https; http is fetched only from a loopback host (localhost,
//     127.0.0.0/8, ::1), for tests (see [CheckMediaURL]). It is fetched with the caller's
//     context, bounded by [MediaFetchTimeout], following at most [MaxMediaRedirects]
//     redirects, each checked the same way. Its body is streamed into the upload, never
//     held: a Content-Length above the type's limit is refused before anything is
//     uploaded, and a body running past the limit stops the upload, both with
//     [ErrMediaTooLarge]. A non-2xx answer is an error naming the URL (without its
//     user info). The file name (which WeCom shows for file messages, and whose
//     extension must fit images, voice and video) comes from the answer's
//     Content-Disposition, else from the last element of the final URL's path, with an
//     extension from the Content-Type when it has none. A URL's content is not checked
//     for changes: it is fetched again only when its media_id is due for re-upload.
//
// What WeCom would refuse (size, format: [kf.MediaType.Check]) is an error before the
// upload. Failures are not remembered: the next use of the source tries again.
//
// A MediaCache is safe for concurrent use. Callers of the same source share one upload:
// while it runs, the others wait (or give up when their context ends) and then reuse its
// media_id. Entries are kept for the cache's lifetime, one per source used.
type MediaCache struct {
	up     Uploader
	now    func() time.Time
	client *http.Client

	mu      sync.Mutex
	entries map[string]*mediaEntry
}

// mediaEntry is one source's upload state; lock (a one-slot semaphore, so waiters can
// give up) guards the other fields and serialises its uploads.
type mediaEntry struct {
	lock     chan struct{}
	id       string
	uploaded time.Time
	modTime  time.Time // of a file source
	size     int64     // of a file source
}

// NewMediaCache returns an empty cache that uploads through up and reads the time from
// now (nil: time.Now). With a nil up every upload fails with [ErrNoUploader]. Most
// programs use their bot's cache, [Bot.Media], rather than a new one.
func NewMediaCache(up Uploader, now func() time.Time) *MediaCache {
	if now == nil {
		now = time.Now
	}
	return &MediaCache{up: up, now: now, entries: map[string]*mediaEntry{},
		client: &http.Client{CheckRedirect: checkMediaRedirect}}
}

// Media returns the bot's media cache. It uploads through the bot's client when the
// client is an [Uploader] (as *kf.Client is) and reads the time from [WithClock].
func (b *Bot) Media() *MediaCache { return b.media }

// MediaID returns the media_id of src (a local file path or a URL, see [MediaCache])
// uploaded as typ, uploading it when it was never uploaded, its media_id is due for
// re-upload, or (a file) it changed.
func (m *MediaCache) MediaID(ctx context.Context, typ kf.MediaType, src string) (string, error) {
	if typ.MaxBytes() == 0 {
		return "", fmt.Errorf("bot: media %s: type %q is not one of image, voice, video, file", src, typ)
	}
	var u *url.URL
	key := src
	if IsMediaURL(src) {
		var err error
		if u, err = parseMediaURL(src); err != nil {
			return "", err
		}
	} else {
		if src == "" {
			return "", errors.New("bot: media: the source is empty; give a file path or an https URL")
		}
		abs, err := filepath.Abs(src)
		if err != nil {
			return "", fmt.Errorf("bot: media %s: %w", src, err)
		}
		key = abs
	}
	e := m.entry(string(typ) + "\x00" + key)
	select {
	case e.lock <- struct{}{}:
	case <-ctx.Done():
		return "", fmt.Errorf("bot: media %s: waiting for its upload: %w", displaySource(src, u), context.Cause(ctx))
	}
	defer func() { <-e.lock }()

	now := m.now()
	if u != nil {
		if e.id != "" && now.Sub(e.uploaded) < MediaReuse {
			return e.id, nil
		}
		id, err := m.uploadURL(ctx, typ, u)
		if err != nil {
			return "", err
		}
		e.id, e.uploaded = id, now
		return id, nil
	}
	fi, err := os.Stat(key)
	if err != nil {
		return "", fmt.Errorf("bot: media: %w", err)
	}
	if fi.IsDir() {
		return "", fmt.Errorf("bot: media %s: is a directory, not a file", src)
	}
	if e.id != "" && now.Sub(e.uploaded) < MediaReuse && fi.ModTime().Equal(e.modTime) && fi.Size() == e.size {
		return e.id, nil
	}
	id, err := m.uploadFile(ctx, typ, key, fi.Size())
	if err != nil {
		return "", err
	}
	e.id, e.uploaded, e.modTime, e.size = id, now, fi.ModTime(), fi.Size()
	return id, nil
}

func (m *MediaCache) entry(key string) *mediaEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[key]
	if e == nil {
		e = &mediaEntry{lock: make(chan struct{}, 1)}
		m.entries[key] = e
	}
	return e
}

func (m *MediaCache) uploadFile(ctx context.Context, typ kf.MediaType, path string, size int64) (string, error) {
	if m.up == nil {
		return "", fmt.Errorf("bot: upload %s: %w", path, ErrNoUploader)
	}
	if err := typ.Check(path, size); err != nil {
		return "", fmt.Errorf("bot: upload: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("bot: upload: %w", err)
	}
	defer f.Close()
	resp, err := m.up.UploadMedia(ctx, kf.UploadMediaRequest{
		Type: typ, Filename: filepath.Base(path), Body: f, Size: size,
	})
	if err != nil {
		return "", fmt.Errorf("bot: upload %s: %w", path, err)
	}
	return resp.MediaID, nil
}

func (m *MediaCache) uploadURL(ctx context.Context, typ kf.MediaType, u *url.URL) (string, error) {
	shown := displayURL(u)
	if m.up == nil {
		return "", fmt.Errorf("bot: upload %s: %w", shown, ErrNoUploader)
	}
	ctx, cancel := context.WithTimeout(ctx, MediaFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("bot: fetch %s: %w", shown, err)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err // its URL may carry user info; shown does not
		}
		return "", fmt.Errorf("bot: fetch %s: %w", shown, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", fmt.Errorf("bot: fetch %s: HTTP %s (want a 2xx answer with the medium)", shown, resp.Status)
	}
	limit := typ.MaxBytes()
	if resp.ContentLength > limit {
		return "", fmt.Errorf("%w: %s has %d bytes (Content-Length); WeCom takes %s media of at most %d MB",
			ErrMediaTooLarge, shown, resp.ContentLength, typ, limit>>20)
	}
	name := mediaFilename(resp)
	if err := typ.Check(name, resp.ContentLength); err != nil {
		return "", fmt.Errorf("bot: fetch %s: %w", shown, err)
	}
	body := &cappedReader{r: resp.Body, left: limit, shown: shown, typ: typ}
	size := max(resp.ContentLength, 0) // 0: unknown, sent chunked
	up, err := m.up.UploadMedia(ctx, kf.UploadMediaRequest{Type: typ, Filename: name, Body: body, Size: size})
	if body.err != nil {
		return "", body.err
	}
	if err != nil {
		return "", fmt.Errorf("bot: upload %s: %w", shown, err)
	}
	return up.MediaID, nil
}

// cappedReader reads at most left bytes of r; reading past them is [ErrMediaTooLarge].
type cappedReader struct {
	r     io.Reader
	left  int64
	shown string
	typ   kf.MediaType
	err   error
}

func (r *cappedReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if int64(len(p)) > r.left+1 {
		p = p[:r.left+1]
	}
	n, err := r.r.Read(p)
	if int64(n) > r.left {
		r.err = fmt.Errorf("%w: %s has more than %d bytes; WeCom takes %s media of at most %d MB",
			ErrMediaTooLarge, r.shown, r.typ.MaxBytes(), r.typ, r.typ.MaxBytes()>>20)
		return 0, r.err
	}
	r.left -= int64(n)
	return n, err
}

// mediaExt gives a file name without an extension the one of its Content-Type, for the
// formats WeCom checks by extension.
var mediaExt = map[string]string{
	"image/jpeg": ".jpg", "image/png": ".png", "audio/amr": ".amr", "video/mp4": ".mp4",
}

// mediaFilename names a fetched medium: Content-Disposition's filename, else the last
// element of the final URL's path, plus an extension from the Content-Type if it has none.
func mediaFilename(resp *http.Response) string {
	var name string
	if cd := resp.Header.Get("Content-Disposition"); cd != "" {
		if _, params, err := mime.ParseMediaType(cd); err == nil {
			name = path.Base(strings.ReplaceAll(params["filename"], `\`, "/"))
		}
	}
	if name == "" || name == "." || name == "/" {
		name = path.Base(resp.Request.URL.Path)
	}
	if name == "" || name == "." || name == "/" {
		name = "media"
	}
	if path.Ext(name) == "" {
		if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
			name += mediaExt[mt]
		}
	}
	return name
}

// IsMediaURL reports whether a media source is a URL (it starts with a scheme and
// "://", as in "https://…") rather than a file path. Only some URLs are fetched: see
// [CheckMediaURL].
func IsMediaURL(src string) bool {
	scheme, _, ok := strings.Cut(src, "://")
	if !ok || scheme == "" {
		return false
	}
	for i, r := range scheme {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return false
		}
	}
	return true
}

// CheckMediaURL reports whether a [MediaCache] would fetch the URL raw: it must be https
// with a host, or http to a loopback host (localhost, 127.0.0.0/8, ::1), which is meant
// for tests against a local server. The error names the URL without its user info.
func CheckMediaURL(raw string) error {
	_, err := parseMediaURL(raw)
	return err
}

func parseMediaURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("bot: media URL %s: %w", displaySource(raw, nil), err)
	}
	if err := checkFetchable(u); err != nil {
		return nil, fmt.Errorf("bot: media URL %s: %w", displayURL(u), err)
	}
	return u, nil
}

func checkFetchable(u *url.URL) error {
	switch {
	case u.Host == "" || u.Hostname() == "":
		return errors.New("has no host")
	case strings.EqualFold(u.Scheme, "https"):
		return nil
	case strings.EqualFold(u.Scheme, "http") && isLoopback(u.Hostname()):
		return nil
	case strings.EqualFold(u.Scheme, "http"):
		return errors.New("only https URLs are fetched (http only from a loopback host such as 127.0.0.1, for tests)")
	}
	return fmt.Errorf("scheme %q is not fetched; use an https URL", u.Scheme)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkMediaRedirect is the http.Client's CheckRedirect: at most MaxMediaRedirects,
// each to a URL CheckMediaURL accepts.
func checkMediaRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > MaxMediaRedirects {
		return fmt.Errorf("stopped after %d redirects", MaxMediaRedirects)
	}
	if err := checkFetchable(req.URL); err != nil {
		return fmt.Errorf("redirected to %s, which %w", displayURL(req.URL), err)
	}
	return nil
}

// displayURL is u without user info, for errors.
func displayURL(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	c := *u
	c.User = nil
	return c.String()
}

// displaySource is src for errors: a URL without its user info.
func displaySource(src string, u *url.URL) string {
	if u != nil {
		return displayURL(u)
	}
	if scheme, rest, ok := strings.Cut(src, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 && !strings.ContainsAny(rest[:at], "/?#") {
			return scheme + "://" + rest[at+1:]
		}
	}
	return src
}

// mediaMessage is the outgoing message of a medium of type typ.
func mediaMessage(typ kf.MediaType, id string) kf.OutMessage {
	switch typ {
	case kf.MediaVoice:
		return kf.Voice{MediaID: id}
	case kf.MediaVideo:
		return kf.Video{MediaID: id}
	case kf.MediaFile:
		return kf.File{MediaID: id}
	}
	return kf.Image{MediaID: id}
}

// Reply sends the medium src (see [MediaCache]) as a reply of type typ to c's
// customer, through [Context.Reply]: an image, voice, video or file message. It checks
// first, without I/O, that the conversation allows a reply, so a refused reply uploads
// nothing. [Context.ReplyMedia] is Reply with the bot's cache.
func (m *MediaCache) Reply(c *Context, typ kf.MediaType, src string) error {
	if err := c.canReply(1); err != nil {
		return err
	}
	id, err := m.MediaID(c.ctx, typ, src)
	if err != nil {
		return err
	}
	return c.Reply(mediaMessage(typ, id))
}
