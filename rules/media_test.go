package rules_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/rules"
)

// webMedia is what the test web server serves (kftest checks the magic bytes).
var webMedia = map[string]string{
	"/map.png":    "\x89PNG\r\n\x1a\n a map",
	"/hello.amr":  "#!AMR\n hello",
	"/tour.mp4":   "\x00\x00\x00\x18ftypmp42 a tour",
	"/prices.pdf": "%PDF-1.7 prices",
	"/thumb.png":  "\x89PNG\r\n\x1a\n a thumbnail",
}

// webServer serves webMedia over http on a loopback address (the only plain-http URLs
// media replies fetch) and counts the requests per path.
type webServer struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
	down bool // answer 404 to everything
}

func newWebServer(t *testing.T) *webServer {
	t.Helper()
	w := &webServer{hits: map[string]int{}}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.hits[r.URL.Path]++
		down := w.down
		w.mu.Unlock()
		body, ok := webMedia[r.URL.Path]
		if !ok || down {
			http.NotFound(rw, r)
			return
		}
		rw.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = io.WriteString(rw, body)
	}))
	t.Cleanup(w.Close)
	return w
}

func (w *webServer) hitsOf(path string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.hits[path]
}

func (w *webServer) setDown(down bool) {
	w.mu.Lock()
	w.down = down
	w.mu.Unlock()
}

// TestMediaRepliesFromURLsUploadOnce: image, voice, video and file replies and a link's
// thumbnail from URLs are fetched and uploaded once each, and their media_ids reused.
func TestMediaRepliesFromURLsUploadOnce(t *testing.T) {
	web := newWebServer(t)
	h := newHarness(t)
	set := mustLoad(t, `version: 1
rules:
  - name: media
    when: msg.text == "media"
    then:
      - reply: {image: {file: "`+web.URL+`/map.png"}}
      - reply: {voice: {file: "`+web.URL+`/hello.amr"}}
      - reply: {video: {file: "`+web.URL+`/tour.mp4"}}
      - reply: {file: {file: "`+web.URL+`/prices.pdf"}}
      - reply: {link: {title: Shop, url: "https://example.com/", thumb_file: "`+web.URL+`/thumb.png"}}
`)
	require.NoError(t, h.b.Install(set))
	const says = 20
	for range says {
		h.say(t, "media")
	}
	require.Empty(t, h.takeErrors())
	assert.Equal(t, 5, h.srv.Calls("media/upload"), "one upload per URL")
	for p := range webMedia {
		assert.Equal(t, 1, web.hitsOf(p), "%s fetched once", p)
	}
	ids := map[string]map[string]int{}
	for _, s := range h.srv.SentTo(kfid, user) {
		var body map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(s.Body, &body))
		var m struct {
			MediaID      string `json:"media_id"`
			ThumbMediaID string `json:"thumb_media_id"`
		}
		require.NoError(t, json.Unmarshal(body[s.MsgType], &m), s.MsgType)
		if ids[s.MsgType] == nil {
			ids[s.MsgType] = map[string]int{}
		}
		ids[s.MsgType][m.MediaID+m.ThumbMediaID]++
	}
	want := map[string]string{"image": "/map.png", "voice": "/hello.amr", "video": "/tour.mp4", "file": "/prices.pdf", "link": "/thumb.png"}
	require.Len(t, ids, len(want))
	for typ, p := range want {
		require.Len(t, ids[typ], 1, "%s: one media_id for every reply", typ)
		for id, n := range ids[typ] {
			assert.Equal(t, says, n, typ)
			assert.Equal(t, webMedia[p], string(h.srv.Media(id)), "%s: the content of %s", typ, p)
		}
	}
}

// TestMediaURLReplyRefusedUploadsNothing: a media reply over the quota is refused
// before its URL is fetched.
func TestMediaURLReplyRefusedUploadsNothing(t *testing.T) {
	web := newWebServer(t)
	h := newHarness(t)
	set := mustLoad(t, `version: 1
rules:
  - name: chatty
    when: msg.type == "text"
    then:
      - reply: "1"
      - reply: "2"
      - reply: "3"
      - reply: "4"
      - reply: "5"
      - reply: {image: {file: "`+web.URL+`/map.png"}}
`)
	require.NoError(t, h.b.Install(set))
	assert.Equal(t, []string{"1", "2", "3", "4", "5"}, h.say(t, "hi"))
	assert.Zero(t, h.srv.Calls("media/upload"))
	assert.Zero(t, web.hitsOf("/map.png"))
}

// TestMediaURLFailureIsRetried: a URL that cannot be fetched fails the reply with an
// error naming it, and is fetched again on the next reply.
func TestMediaURLFailureIsRetried(t *testing.T) {
	web := newWebServer(t)
	h := newHarness(t)
	set := mustLoad(t, `version: 1
rules:
  - name: map
    when: msg.type == "text"
    then: [{reply: {image: {file: "`+web.URL+`/map.png"}}}]
`)
	require.NoError(t, h.b.Install(set))
	web.setDown(true)
	h.say(t, "map?")
	errs := h.takeErrors()
	require.Len(t, errs, 1)
	assert.ErrorContains(t, errs[0], web.URL+"/map.png")
	assert.ErrorContains(t, errs[0], "404")
	web.setDown(false)
	h.say(t, "map?")
	require.Empty(t, h.takeErrors())
	assert.Equal(t, 2, web.hitsOf("/map.png"), "the failure was not cached")
	assert.Equal(t, 1, h.srv.Calls("media/upload"))
}

// TestMediaURLsCheckedAtLoad: only https URLs (and http to a loopback host, for tests)
// are accepted where a media file is.
func TestMediaURLsCheckedAtLoad(t *testing.T) {
	tests := []struct {
		reply string
		want  string // "" loads
	}{
		{`{image: {file: "https://example.com/map.png"}}`, ""},
		{`{file: {file: "https://example.com/download?id=7"}}`, ""},
		{`{voice: {file: "http://127.0.0.1:8080/hello.amr"}}`, ""},
		{`{image: {file: "http://example.com/map.png"}}`, "only https URLs are fetched"},
		{`{video: {file: "http://ada:pw@example.com/tour.mp4"}}`, "file: bot: media URL http://example.com/tour.mp4: only https"},
		{`{file: {file: "ftp://example.com/prices.pdf"}}`, `scheme "ftp" is not fetched; use an https URL`},
		{`{link: {title: T, url: "https://example.com/", thumb_file: "http://example.com/t.png"}}`, "thumb_file: bot: media URL http://example.com/t.png: only https"},
	}
	for _, tt := range tests {
		t.Run(tt.reply, func(t *testing.T) {
			_, err := rules.Load(strings.NewReader(`version: 1
rules:
  - name: r
    then: [{reply: `+tt.reply+`}]
`), "rules.yaml", quiet)
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, rules.ErrInvalid)
			assert.ErrorContains(t, err, "rules.yaml:4:")
			assert.ErrorContains(t, err, tt.want)
			assert.NotContains(t, err.Error(), "pw@")
		})
	}
}

// putUploader uploads into a kftest server directly, counting the uploads.
type putUploader struct {
	srv *kftest.Server
	mu  sync.Mutex
	n   int
}

func (u *putUploader) UploadMedia(_ context.Context, req kf.UploadMediaRequest) (*kf.UploadMediaResponse, error) {
	data, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	u.n++
	u.mu.Unlock()
	return &kf.UploadMediaResponse{Type: req.Type, MediaID: u.srv.PutMedia(string(req.Type), req.Filename, data)}, nil
}

// TestWithUploaderUploadsThroughIt: a set given an Uploader uploads through it (once
// per source), not through the bot's client.
func TestWithUploaderUploadsThroughIt(t *testing.T) {
	web := newWebServer(t)
	h := newHarness(t)
	up := &putUploader{srv: h.srv}
	set := mustLoad(t, `version: 1
rules:
  - name: map
    when: msg.type == "text"
    then: [{reply: {image: {file: "`+web.URL+`/map.png"}}}]
`, rules.WithUploader(up))
	require.NoError(t, h.b.Install(set))
	h.say(t, "map?")
	h.say(t, "map, again?")
	require.Empty(t, h.takeErrors())
	assert.Equal(t, 1, up.n)
	assert.Zero(t, h.srv.Calls("media/upload"), "the bot's client uploaded nothing")
	assert.Len(t, h.srv.SentTo(kfid, user), 2)
}

// TestRefusedLinkUploadsNoThumbnail: a link reply the allowance does not permit uploads
// nothing, not even its thumbnail.
func TestRefusedLinkUploadsNoThumbnail(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "t.png"), append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 32)...), 0o600))
	path := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`version: 1
rules:
  - name: r
    then:
      - reply: "1"
      - reply: "2"
      - reply: "3"
      - reply: "4"
      - reply: "5"
      - reply: {link: {title: T, url: "https://example.com/", thumb_file: t.png}}
`), 0o600))
	set, err := rules.LoadFile(path, quiet)
	require.NoError(t, err)
	h := newHarness(t)
	require.NoError(t, set.Install(h.b))
	assert.Equal(t, []string{"1", "2", "3", "4", "5"}, h.say(t, "hi"))
	assert.Zero(t, h.srv.Calls("media/upload"), "the sixth reply is refused before its thumbnail is uploaded")
}
