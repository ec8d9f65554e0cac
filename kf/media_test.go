package kf_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf"
)

// uploadRecorder answers media/upload after checking the multipart form.
type uploadRecorder struct {
	t        *testing.T
	filename []string
	content  []string
	ctype    []string
	length   []int64
	mtype    []string
}

func (u *uploadRecorder) handler(replies ...string) http.HandlerFunc {
	next := seq(replies...)
	return func(w http.ResponseWriter, r *http.Request) {
		require.NoError(u.t, r.ParseMultipartForm(1<<20))
		file, hdr, err := r.FormFile("media")
		require.NoError(u.t, err, "the form field is named media")
		data, err := io.ReadAll(file)
		require.NoError(u.t, err)
		u.filename = append(u.filename, hdr.Filename)
		u.content = append(u.content, string(data))
		u.ctype = append(u.ctype, hdr.Header.Get("Content-Type"))
		u.length = append(u.length, r.ContentLength)
		u.mtype = append(u.mtype, r.URL.Query().Get("type"))
		next(w, r)
	}
}

const uploadOK = `{"errcode":0,"errmsg":"ok","type":"image","media_id":"MEDIA_ID_1","created_at":"1380000000"}`

func TestUploadMediaSendsMultipart(t *testing.T) {
	rec := &uploadRecorder{t: t}
	f := newFake().on("media/upload", rec.handler(uploadOK))
	content := "\x89PNG fake image bytes"
	resp, err := newClient(f).UploadMedia(t.Context(), kf.UploadMediaRequest{
		Type: kf.MediaImage, Filename: `cat "1".png`, Body: strings.NewReader(content),
	})
	require.NoError(t, err)
	assert.Equal(t, kf.MediaImage, resp.Type)
	assert.Equal(t, "MEDIA_ID_1", resp.MediaID)
	assert.True(t, resp.CreatedAt.Equal(time.Unix(1380000000, 0)), "created_at parsed from a string: %v", resp.CreatedAt)

	assert.Equal(t, []string{`cat "1".png`}, rec.filename)
	assert.Equal(t, []string{content}, rec.content)
	assert.Equal(t, []string{"image/png"}, rec.ctype, "derived from the extension")
	assert.Equal(t, []string{"image"}, rec.mtype)
	assert.Positive(t, rec.length[0], "length known from strings.Reader.Len: not chunked")
}

func TestUploadMediaAcceptsNumericCreatedAtAndExplicitContentType(t *testing.T) {
	rec := &uploadRecorder{t: t}
	f := newFake().on("media/upload", rec.handler(`{"errcode":0,"type":"file","media_id":"M","created_at":1380000001}`))
	resp, err := newClient(f).UploadMedia(t.Context(), kf.UploadMediaRequest{
		Type: kf.MediaFile, Filename: "报告.pdf", ContentType: "application/x-custom", Body: bytes.NewReader([]byte("%PDF-1.7 ...")),
	})
	require.NoError(t, err)
	assert.Equal(t, int64(1380000001), resp.CreatedAt.Unix())
	assert.Equal(t, []string{"报告.pdf"}, rec.filename)
	assert.Equal(t, []string{"application/x-custom"}, rec.ctype)
}

// onlyReader hides every method but Read (no Len, no Seek).
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func TestUploadMediaRetriesOnlyRewindableBodies(t *testing.T) {
	content := "0123456789abcdef"
	tests := []struct {
		name        string
		body        func() io.Reader
		want        []string // contents received per attempt
		wantSuccess bool
	}{
		{"seekable body is rewound to its start offset", func() io.Reader {
			r := strings.NewReader(content)
			_, _ = r.Seek(4, io.SeekStart) // the caller already consumed a header
			return r
		}, []string{content[4:], content[4:]}, true},
		{"plain reader is streamed chunked and sent once", func() io.Reader {
			return onlyReader{strings.NewReader(content)}
		}, []string{content}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &uploadRecorder{t: t}
				f := newFake().on("media/upload", rec.handler("502 <html>bad gateway</html>", uploadOK))
				_, err := newClient(f).UploadMedia(t.Context(), kf.UploadMediaRequest{Type: kf.MediaFile, Filename: "a.bin", Body: tt.body()})
				if tt.wantSuccess {
					require.NoError(t, err)
				} else {
					var he *kf.HTTPError
					require.ErrorAs(t, err, &he)
				}
				assert.Equal(t, tt.want, rec.content)
			})
		})
	}
}

func TestUploadMediaBadCreatedAt(t *testing.T) {
	f := newFake().on("media/upload", seq(`{"errcode":0,"type":"file","media_id":"M","created_at":"yesterday"}`))
	_, err := newClient(f).UploadMedia(t.Context(), kf.UploadMediaRequest{Type: kf.MediaFile, Filename: "a", Body: strings.NewReader("content")})
	require.ErrorIs(t, err, kf.ErrInvalidResponse)
}

func TestUploadMediaSurvivesTransportThatKeepsBodyOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake().on("media/upload", seq(uploadOK))
		leaky := rtFunc(func(r *http.Request) (*http.Response, error) {
			rec := httptest.NewRecorder()
			f.ServeHTTP(rec, r)
			return rec.Result(), nil
		})
		// rtFunc closes the body after f returns; keep it open instead.
		cl := kf.NewClient(testCorpID, testSecret, kf.WithBaseURL(testBase), kf.WithLogger(quiet),
			kf.WithHTTPClient(&http.Client{Transport: neverClose{leaky}}))
		start := time.Now()
		_, err := cl.UploadMedia(t.Context(), kf.UploadMediaRequest{Type: kf.MediaFile, Filename: "a", Body: strings.NewReader("content")})
		require.NoError(t, err)
		assert.Equal(t, time.Second, time.Since(start), "bounded wait for the body to be closed")
	})
}

// neverClose hides the request body's Close from the wrapped RoundTripper.
type neverClose struct{ rt http.RoundTripper }

func (n neverClose) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(r.Body)
	return n.rt.RoundTrip(r2)
}
