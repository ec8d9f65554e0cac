package rules_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/rules"
)

// TestMediaRepliesFromFilesAndURLs: image, voice, video and file replies from a local
// file and from a URL, each uploaded once across 100 replies (25 per type and source).
func TestMediaRepliesFromFilesAndURLs(t *testing.T) {
	var gets atomic.Int64
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		_, _ = w.Write(mediaBytes(filepath.Ext(r.URL.Path)))
	}))
	t.Cleanup(web.Close)
	dir := t.TempDir()
	for _, name := range []string{"a.png", "a.amr", "a.mp4", "a.pdf"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), mediaBytes(filepath.Ext(name)), 0o600))
	}
	rulesFile := fmt.Sprintf(`version: 1
rules:
  - name: files
    when: msg.text == "files"
    then:
      - reply: {image: {file: a.png}}
      - reply: {voice: {file: a.amr}}
      - reply: {video: {file: a.mp4}}
      - reply: {file: {file: a.pdf}}
  - name: urls
    when: msg.text == "urls"
    then:
      - reply: {image: {file: "%[1]s/u.png"}}
      - reply: {voice: {file: "%[1]s/u.amr"}}
      - reply: {video: {file: "%[1]s/u.mp4"}}
      - reply: {file: {file: "%[1]s/u.pdf"}}
`, web.URL)
	path := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(path, []byte(rulesFile), 0o600))
	set, err := rules.LoadFile(path, quiet)
	require.NoError(t, err)

	h := newHarness(t)
	require.NoError(t, set.Install(h.b))
	for i := range 25 {
		for _, cmd := range []string{"files", "urls"} {
			user := fmt.Sprintf("wm%s%d", cmd, i) // a new customer each time: 4 replies fit the allowance
			h.srv.AddText(kfid, user, cmd)
		}
	}
	require.NoError(t, h.b.Pull(t.Context(), kfid))
	assert.Empty(t, h.takeErrors())
	assert.Equal(t, 8, h.srv.Calls("media/upload"), "one upload per type and source across 200 replies")
	assert.Equal(t, int64(4), gets.Load(), "each URL downloaded once")
	sent := h.srv.SentTo(kfid, "wmurls3")
	require.Len(t, sent, 4)
	var types []string
	for _, s := range sent {
		types = append(types, s.MsgType)
	}
	assert.Equal(t, []string{"image", "voice", "video", "file"}, types)
}

// mediaBytes is content of the type ext names, as WeCom (and kftest) recognises it.
func mediaBytes(ext string) []byte {
	head := map[string]string{".png": "\x89PNG\r\n\x1a\n", ".amr": "#!AMR\n", ".mp4": "\x00\x00\x00\x18ftypmp42"}[ext]
	return []byte(head + strings.Repeat("media bytes ", 10))
}

func TestMediaURLsMustBeHTTPS(t *testing.T) {
	_, err := rules.Load(strings.NewReader(`version: 1
rules:
  - name: r
    then: [{reply: {image: {file: "http://example.com/a.png"}}}]
`), "rules.yaml", quiet)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "only https URLs are downloaded")
}
