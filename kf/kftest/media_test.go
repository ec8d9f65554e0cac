package kftest_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/kf/syncmsg"
)

func upload(t *testing.T, a *api, typ, field, filename string, data []byte) result {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile(field, filename)
	require.NoError(t, err)
	_, err = fw.Write(data)
	require.NoError(t, err)
	require.NoError(t, mw.Close())
	q := url.Values{"access_token": {a.getToken()}}
	if typ != "" {
		q.Set("type", typ)
	}
	return a.do(http.MethodPost, "media/upload", q, buf.Bytes(), mw.FormDataContentType())
}

func TestMediaUpload(t *testing.T) {
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now))
	a := newAPI(t, srv)
	png := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 100)...)

	tests := []struct {
		name, typ, field string
		data             []byte
		code             int
	}{
		{"image ok", "image", "media", png, 0},
		{"jpeg ok", "image", "media", []byte("\xff\xd8\xff\xe0 jpeg data"), 0},
		{"file ok", "file", "media", []byte("any content"), 0},
		{"voice amr", "voice", "media", []byte("#!AMR\n....."), 0},
		{"video mp4", "video", "media", []byte("\x00\x00\x00\x18ftypmp42...."), 0},
		{"bad type param", "gif", "media", png, 40005},
		{"missing type", "", "media", png, 40005},
		{"wrong field name", "image", "file", png, 41005},
		{"too small", "file", "media", []byte("12345"), 40006},
		{"gif is not an image", "image", "media", []byte("GIF89a......"), 40004},
		{"mp3 is not voice", "voice", "media", []byte("ID3........"), 40004},
		{"voice over 2 MB", "voice", "media", append([]byte("#!AMR\n"), make([]byte, 2<<20)...), 40006},
		{"image over 10 MB", "image", "media", append(png, make([]byte, 10<<20)...), 40009},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := upload(t, a, tt.typ, tt.field, "f.bin", tt.data)
			require.Equal(t, tt.code, r.ErrCode, r.ErrMsg)
			if tt.code != 0 {
				return
			}
			assert.Equal(t, tt.typ, r.Type)
			require.NotNil(t, r.CreatedAt, "created_at is a string")
			assert.Equal(t, "1740830400", *r.CreatedAt)
			assert.Equal(t, tt.data, srv.Media(r.MediaID))
		})
	}

	r := upload(t, a, "image", "media", "photo.png", png)
	require.Equal(t, 0, r.ErrCode)
	q := url.Values{"access_token": {a.getToken()}, "media_id": {r.MediaID}}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://qyapi.weixin.qq.com/cgi-bin/media/get?"+q.Encode(), nil)
	require.NoError(t, err)
	req.Header.Set("Range", "bytes=0-7")
	resp, err := a.c.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, http.StatusPartialContent, resp.StatusCode)
	assert.Equal(t, png[:8], body)
	assert.Contains(t, resp.Header.Get("Content-Disposition"), "photo.png")

	clk.Advance(kftest.MediaTTL + 1)
	a.token = ""
	q.Set("access_token", a.getToken())
	assert.Equal(t, 40007, a.do(http.MethodGet, "media/get", q, nil, "").ErrCode, "expired after 3 days")
	assert.Nil(t, srv.Media("unknown"))
}

// TestAddMediaAndLocation: the helpers append messages that decode as the typed
// messages, with the medium served by media/get.
func TestAddMediaAndLocation(t *testing.T) {
	srv := kftest.NewServer()
	defer srv.Close()
	a := newAPI(t, srv)
	_, voice := srv.AddMedia("wkA", "wmA", "voice", "hello.amr", []byte("#!AMR voice"))
	_, file := srv.AddMedia("wkA", "wmA", "file", "a.pdf", []byte("%PDF"))
	srv.AddLocation("wkA", "wmA", 31.23, 121.47, "外滩", "中山东一路")
	res := a.sync("wkA", nil)
	require.Len(t, res.MsgList, 3)
	msgs, err := syncmsg.DecodeList(res.MsgList)
	require.NoError(t, err)
	v, ok := msgs[0].(*syncmsg.Voice)
	require.True(t, ok, "%T", msgs[0])
	assert.Equal(t, voice, v.MediaID)
	f, ok := msgs[1].(*syncmsg.File)
	require.True(t, ok, "%T", msgs[1])
	assert.Equal(t, file, f.MediaID)
	l, ok := msgs[2].(*syncmsg.Location)
	require.True(t, ok, "%T", msgs[2])
	assert.Equal(t, syncmsg.Location{Header: l.Header, Latitude: 31.23, Longitude: 121.47, Name: "外滩", Address: "中山东一路"}, *l)
	assert.Equal(t, []byte("#!AMR voice"), srv.Media(voice))
	assert.Panics(t, func() { srv.AddMedia("wkA", "wmA", "text", "x", nil) })
}
