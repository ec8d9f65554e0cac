package bot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/syncmsg"
)

// Media content that kftest accepts for each type (it checks the magic bytes).
var mediaBytes = map[kf.MediaType][]byte{
	kf.MediaImage: []byte("\x89PNG\r\n\x1a\n png image bytes"),
	kf.MediaVoice: []byte("#!AMR\n amr voice bytes"),
	kf.MediaVideo: []byte("\x00\x00\x00\x18ftypmp42 mp4 video bytes"),
	kf.MediaFile:  []byte("%PDF-1.4 a price list"),
}

var mediaNames = map[kf.MediaType]string{
	kf.MediaImage: "map.png", kf.MediaVoice: "hello.amr", kf.MediaVideo: "tour.mp4", kf.MediaFile: "prices.pdf",
}

var mediaTypes = []kf.MediaType{kf.MediaImage, kf.MediaVoice, kf.MediaVideo, kf.MediaFile}

// mediaServer serves files over http on a loopback address (which the media cache
// fetches: only loopback hosts may be plain http) and counts requests per path.
type mediaServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func newMediaServer(t *testing.T, routes map[string]http.HandlerFunc) *mediaServer {
	t.Helper()
	s := &mediaServer{hits: map[string]int{}}
	mux := http.NewServeMux()
	for p, h := range routes {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			s.hits[r.URL.Path]++
			s.mu.Unlock()
			h(w, r)
		})
	}
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *mediaServer) hitsOf(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

func serveBytes(b []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
	}
}

// mediaRoutes serves every type's content at /<name>.
func mediaRoutes() map[string]http.HandlerFunc {
	routes := map[string]http.HandlerFunc{}
	for typ, name := range mediaNames {
		routes["/"+name] = serveBytes(mediaBytes[typ])
	}
	return routes
}

// writeMediaFiles writes every type's content to dir/<name>.
func writeMediaFiles(t *testing.T, dir string) map[kf.MediaType]string {
	t.Helper()
	paths := map[kf.MediaType]string{}
	for typ, name := range mediaNames {
		paths[typ] = filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(paths[typ], mediaBytes[typ], 0o600))
	}
	return paths
}

// sentMediaID is the media_id of a sent image, voice, video or file message.
func sentMediaID(t *testing.T, body json.RawMessage, msgType string) string {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m))
	var media struct {
		MediaID string `json:"media_id"`
	}
	require.NoError(t, json.Unmarshal(m[msgType], &media))
	return media.MediaID
}

// errorList collects handler errors.
type errorList struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorList) add(_ *bot.Context, err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errorList) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// 100 customers asking for every medium from a file and 100 from a URL: each source is
// uploaded (and fetched) exactly once, and every reply carries its media_id.
func TestReplyMediaUploadsOncePerSource(t *testing.T) {
	e := newEnv(t)
	web := newMediaServer(t, mediaRoutes())
	files := writeMediaFiles(t, t.TempDir())
	sources := map[string]map[kf.MediaType]string{"file": files, "url": {}}
	for typ, name := range mediaNames {
		sources["url"][typ] = web.URL + "/" + name
	}
	var errs errorList
	b := e.newBot(bot.WithErrorHandler(errs.add))
	b.Handle(bot.MsgType(syncmsg.TypeText), func(c *bot.Context) error {
		for _, typ := range mediaTypes {
			if err := c.ReplyMedia(typ, sources[c.Text()][typ]); err != nil {
				return err
			}
		}
		return nil
	})
	const customers = 100
	for i := range customers {
		e.srv.AddText(testKF, fmt.Sprint("wmFile", i), "file")
		e.srv.AddText(testKF, fmt.Sprint("wmURL", i), "url")
	}
	require.NoError(t, b.Pull(t.Context(), testKF))
	require.Empty(t, errs.all())

	assert.Equal(t, 8, e.srv.Calls("media/upload"), "one upload per source")
	for _, name := range mediaNames {
		assert.Equal(t, 1, web.hitsOf("/"+name), "%s fetched once", name)
	}
	for kind := range sources {
		for _, typ := range mediaTypes {
			ids := map[string]int{}
			for i := range customers {
				user := fmt.Sprint("wmFile", i)
				if kind == "url" {
					user = fmt.Sprint("wmURL", i)
				}
				for _, s := range e.srv.SentTo(testKF, user) {
					if s.MsgType == string(typ) {
						ids[sentMediaID(t, s.Body, s.MsgType)]++
					}
				}
			}
			require.Len(t, ids, 1, "%s %s: one media_id for every reply", kind, typ)
			for id, n := range ids {
				assert.Equal(t, customers, n, "%s %s: every customer got it", kind, typ)
				assert.Equal(t, mediaBytes[typ], e.srv.Media(id), "%s %s: the uploaded content", kind, typ)
			}
		}
	}
}

// A reply the conversation does not allow is refused before anything is fetched or
// uploaded.
func TestReplyMediaRefusedUploadsNothing(t *testing.T) {
	tests := []struct {
		name   string
		before func(c *bot.Context) error
		want   error
	}{
		{"quota exhausted", func(c *bot.Context) error {
			for i := range bot.MaxRepliesPerMessage {
				if err := c.ReplyText(fmt.Sprint("reply ", i)); err != nil {
					return err
				}
			}
			return nil
		}, bot.ErrQuotaExceeded},
		{"human-owned", func(c *bot.Context) error {
			_, err := c.TransferToPool()
			return err
		}, bot.ErrHumanOwned},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			web := newMediaServer(t, mediaRoutes())
			files := writeMediaFiles(t, t.TempDir())
			var got []error
			b := e.newBot()
			b.Handle(bot.Any(), func(c *bot.Context) error {
				require.NoError(t, tt.before(c))
				got = append(got, c.ReplyMedia(kf.MediaImage, files[kf.MediaImage]))
				got = append(got, c.ReplyMedia(kf.MediaImage, web.URL+"/map.png"))
				return nil
			})
			e.srv.AddText(testKF, "wmAda", "a picture, please")
			require.NoError(t, b.Pull(t.Context(), testKF))
			require.Len(t, got, 2)
			for _, err := range got {
				assert.ErrorIs(t, err, tt.want)
			}
			assert.Zero(t, e.srv.Calls("media/upload"), "a refused reply uploads nothing")
			assert.Zero(t, web.hitsOf("/map.png"), "a refused reply fetches nothing")
		})
	}
}

// URL sources WeCom would refuse, or that cannot be fetched, are errors that say why;
// none of them is uploaded.
func TestMediaCacheURLErrors(t *testing.T) {
	big := int64(10<<20 + 1)
	web := newMediaServer(t, map[string]http.HandlerFunc{
		"/missing.png": http.NotFound,
		"/big.png": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.FormatInt(big, 10))
			w.WriteHeader(http.StatusOK) // the client must give up before the body
		},
		"/stream.amr": func(w http.ResponseWriter, r *http.Request) {
			// No Content-Length: the limit is found while streaming.
			chunk := bytes.Repeat([]byte("a"), 64<<10)
			_, _ = w.Write([]byte("#!AMR\n"))
			for range 2<<20/len(chunk) + 1 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		},
		"/anim.gif": serveBytes([]byte("GIF89a an animation")),
		"/loop":     func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) },
		"/away": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://example.com/map.png", http.StatusFound)
		},
	})
	tests := []struct {
		name    string
		typ     kf.MediaType
		src     string
		is      error
		want    []string
		notWant []string
	}{
		{name: "404", typ: kf.MediaImage, src: web.URL + "/missing.png?v=2",
			want: []string{web.URL + "/missing.png?v=2", "404"}},
		{name: "Content-Length over the limit", typ: kf.MediaImage, src: web.URL + "/big.png", is: bot.ErrMediaTooLarge,
			want: []string{"/big.png", strconv.FormatInt(big, 10), "at most 10 MB"}},
		{name: "streamed past the limit", typ: kf.MediaVoice, src: web.URL + "/stream.amr", is: bot.ErrMediaTooLarge,
			want: []string{"/stream.amr", "more than 2097152 bytes", "at most 2 MB"}},
		{name: "format", typ: kf.MediaImage, src: web.URL + "/anim.gif", want: []string{"anim.gif", "JPG or PNG"}},
		{name: "redirect loop", typ: kf.MediaImage, src: web.URL + "/loop", want: []string{"stopped after 5 redirects"}},
		{name: "redirect to plain http", typ: kf.MediaImage, src: web.URL + "/away",
			want: []string{"redirected to http://example.com/map.png", "only https"}},
		{name: "plain http", typ: kf.MediaImage, src: "http://example.com/map.png", want: []string{"only https"}},
		{name: "other scheme", typ: kf.MediaFile, src: "ftp://example.com/prices.pdf", want: []string{`scheme "ftp"`}},
		{name: "user info is not shown", typ: kf.MediaImage,
			src:     strings.Replace(web.URL, "http://", "https://ada:s3cret@", 1) + "/map.png", // TLS to a plain server fails
			want:    []string{strings.Replace(web.URL, "http://", "https://", 1) + "/map.png"},
			notWant: []string{"s3cret", "ada"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := &recordingUploader{}
			_, err := bot.NewMediaCache(up, nil).MediaID(t.Context(), tt.typ, tt.src)
			require.Error(t, err)
			if tt.is != nil {
				assert.ErrorIs(t, err, tt.is)
			}
			for _, w := range tt.want {
				assert.ErrorContains(t, err, w)
			}
			for _, w := range tt.notWant {
				assert.NotContains(t, err.Error(), w)
			}
			if tt.name != "streamed past the limit" { // that one is found during the upload
				assert.Zero(t, up.count(), "nothing uploaded")
			}
			assert.Empty(t, up.ids(), "no upload succeeded")
		})
	}
}

// A URL that failed is tried again on its next use: failures are not cached.
func TestMediaCacheRetriesFailedURL(t *testing.T) {
	var mu sync.Mutex
	status := http.StatusNotFound
	web := newMediaServer(t, map[string]http.HandlerFunc{"/map.png": func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		st := status
		mu.Unlock()
		if st != http.StatusOK {
			http.Error(w, "not yet", st)
			return
		}
		serveBytes(mediaBytes[kf.MediaImage])(w, r)
	}})
	up := &recordingUploader{}
	c := bot.NewMediaCache(up, nil)
	_, err := c.MediaID(t.Context(), kf.MediaImage, web.URL+"/map.png")
	require.ErrorContains(t, err, "404")
	mu.Lock()
	status = http.StatusOK
	mu.Unlock()
	id, err := c.MediaID(t.Context(), kf.MediaImage, web.URL+"/map.png")
	require.NoError(t, err)
	assert.Equal(t, "media-1", id)
	assert.Equal(t, 2, web.hitsOf("/map.png"))
}

// recordingUploader is a fake WeCom upload that records what it was given.
type recordingUploader struct {
	mu    sync.Mutex
	calls []kf.UploadMediaRequest
	sizes []int
	ok    []string
}

func (f *recordingUploader) UploadMedia(_ context.Context, req kf.UploadMediaRequest) (*kf.UploadMediaResponse, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	f.mu.Unlock()
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sizes = append(f.sizes, len(b))
	id := fmt.Sprintf("media-%d", len(f.ok)+1)
	f.ok = append(f.ok, id)
	return &kf.UploadMediaResponse{Type: req.Type, MediaID: id}, nil
}

func (f *recordingUploader) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *recordingUploader) ids() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ok...)
}

func TestMediaCacheUploadsOnceUntilExpiryOrChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "thumb.png")
	require.NoError(t, os.WriteFile(path, []byte("png bytes"), 0o600))
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	up := &recordingUploader{}
	c := bot.NewMediaCache(up, func() time.Time { return now })
	ctx := t.Context()

	id, err := c.MediaID(ctx, kf.MediaImage, path)
	require.NoError(t, err)
	assert.Equal(t, "media-1", id)
	id, err = c.MediaID(ctx, kf.MediaImage, path)
	require.NoError(t, err)
	assert.Equal(t, "media-1", id, "reused")
	require.Len(t, up.calls, 1)
	assert.Equal(t, kf.MediaImage, up.calls[0].Type)
	assert.Equal(t, "thumb.png", up.calls[0].Filename)
	assert.Equal(t, []int{9}, up.sizes)

	now = now.Add(70 * time.Hour)
	id, _ = c.MediaID(ctx, kf.MediaImage, path)
	assert.Equal(t, "media-1", id, "still valid")
	now = now.Add(2 * time.Hour)
	id, _ = c.MediaID(ctx, kf.MediaImage, path)
	assert.Equal(t, "media-2", id, "re-uploaded before the 3-day expiry")

	require.NoError(t, os.WriteFile(path, []byte("a changed png"), 0o600))
	id, _ = c.MediaID(ctx, kf.MediaImage, path)
	assert.Equal(t, "media-3", id, "re-uploaded after the file changed")

	_, err = bot.NewMediaCache(nil, nil).MediaID(ctx, kf.MediaImage, filepath.Join(t.TempDir(), "other.png"))
	assert.ErrorIs(t, err, os.ErrNotExist)
	require.NoError(t, os.WriteFile(path+"2", []byte("x"), 0o600))
	_, err = bot.NewMediaCache(nil, nil).MediaID(ctx, kf.MediaImage, path+"2")
	assert.ErrorContains(t, err, "no uploader")
}

// A URL's media_id is reused until an hour before WeCom's 3-day expiry, then the URL is
// fetched and uploaded again; the same URL as another type is another medium.
func TestMediaCacheURLExpiry(t *testing.T) {
	web := newMediaServer(t, map[string]http.HandlerFunc{"/map.png": serveBytes(mediaBytes[kf.MediaImage])})
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	up := &recordingUploader{}
	c := bot.NewMediaCache(up, func() time.Time { return now })
	src := web.URL + "/map.png"
	steps := []struct {
		advance time.Duration
		typ     kf.MediaType
		want    string
	}{
		{0, kf.MediaImage, "media-1"},
		{bot.MediaReuse - time.Second, kf.MediaImage, "media-1"},
		{0, kf.MediaFile, "media-2"},
		{time.Second, kf.MediaImage, "media-3"},
		{time.Hour, kf.MediaImage, "media-3"},
	}
	for i, st := range steps {
		now = now.Add(st.advance)
		id, err := c.MediaID(t.Context(), st.typ, src)
		require.NoError(t, err, "step %d", i)
		assert.Equal(t, st.want, id, "step %d", i)
	}
	assert.Equal(t, 3, web.hitsOf("/map.png"))
	assert.Equal(t, []int{len(mediaBytes[kf.MediaImage])}, up.sizes[:1], "the body was streamed whole")
	assert.Equal(t, int64(len(mediaBytes[kf.MediaImage])), up.calls[0].Size, "the Content-Length is passed on")
}

// The file name of a URL source comes from Content-Disposition, else the final URL's
// path, with an extension from the Content-Type when it has none.
func TestMediaCacheURLFilename(t *testing.T) {
	pdf, png := mediaBytes[kf.MediaFile], mediaBytes[kf.MediaImage]
	web := newMediaServer(t, map[string]http.HandlerFunc{
		"/download": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Disposition", r.URL.Query().Get("cd"))
			_, _ = w.Write(pdf)
		},
		"/photo": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(png)
		},
		"/latest": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/files/price%20list.pdf", http.StatusFound)
		},
		"/files/": serveBytes(pdf),
	})
	tests := []struct {
		typ  kf.MediaType
		path string
		want string
	}{
		{kf.MediaFile, "/download?cd=" + url.QueryEscape(`attachment; filename="prices 2026.pdf"`), "prices 2026.pdf"},
		{kf.MediaFile, "/download?cd=" + url.QueryEscape(`attachment; filename*=UTF-8''%E6%8A%A5%E4%BB%B7.pdf`), "报价.pdf"},
		{kf.MediaFile, "/download?cd=" + url.QueryEscape(`attachment; filename="../../etc/x.pdf"`), "x.pdf"},
		{kf.MediaFile, "/download", "download"},
		{kf.MediaImage, "/photo", "photo.png"},
		{kf.MediaFile, "/latest", "price list.pdf"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			up := &recordingUploader{}
			_, err := bot.NewMediaCache(up, nil).MediaID(t.Context(), tt.typ, web.URL+tt.path)
			require.NoError(t, err)
			require.Len(t, up.calls, 1)
			assert.Equal(t, tt.want, up.calls[0].Filename)
		})
	}
}

// Callers of one source while its upload runs wait for it and share its media_id; a
// waiter whose context ends gives up.
func TestMediaCacheSharesOneUpload(t *testing.T) {
	fetched := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	web := newMediaServer(t, map[string]http.HandlerFunc{"/slow.png": func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(fetched) })
		<-release
		serveBytes(mediaBytes[kf.MediaImage])(w, r)
	}})
	up := &recordingUploader{}
	c := bot.NewMediaCache(up, nil)
	src := web.URL + "/slow.png"

	const callers = 20
	ids := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { ids[i], errs[i] = c.MediaID(t.Context(), kf.MediaImage, src) })
	}
	<-fetched // one caller is fetching; the others wait for it or come after it
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := c.MediaID(cancelled, kf.MediaImage, src)
	assert.ErrorIs(t, err, context.Canceled, "a waiter gives up when its context ends")
	close(release)
	wg.Wait()
	for i := range callers {
		require.NoError(t, errs[i])
		assert.Equal(t, "media-1", ids[i])
	}
	assert.Equal(t, 1, up.count())
	assert.Equal(t, 1, web.hitsOf("/slow.png"))
}

func TestCheckMediaURL(t *testing.T) {
	tests := []struct {
		src   string
		isURL bool
		err   string
	}{
		{"https://example.com/map.png", true, ""},
		{"HTTPS://example.com/map.png", true, ""},
		{"http://127.0.0.1:8080/map.png", true, ""},
		{"http://[::1]/map.png", true, ""},
		{"http://localhost/map.png", true, ""},
		{"http://example.com/map.png", true, "only https"},
		{"http://user:pw@example.com/map.png", true, "bot: media URL http://example.com/map.png: only https"},
		{"https:///map.png", true, "has no host"},
		{"file:///etc/passwd", true, `has no host`},
		{"ftp://example.com/a.pdf", true, `scheme "ftp" is not fetched`},
		{"images/map.png", false, ""},
		{"/srv/media/map.png", false, ""},
		{`C:\media\map.png`, false, ""},
		{"odd name://x.png", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			assert.Equal(t, tt.isURL, bot.IsMediaURL(tt.src))
			if !tt.isURL {
				return
			}
			err := bot.CheckMediaURL(tt.src)
			if tt.err == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tt.err)
			}
		})
	}
}
