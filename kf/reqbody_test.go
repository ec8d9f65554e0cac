package kf

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A reader net/http still holds keeps the body's bytes after the call ends,
// however busy the pool gets; a GetBody of the ended call is refused.
func TestReqBodyOutlivesItsCall(t *testing.T) {
	b := newReqBody()
	require.NoError(t, b.encode("op", map[string]string{"a": "<x>"}))
	getBody := b.getBody()
	r, err := getBody()
	require.NoError(t, err)
	b.end() // the call ends; r is still open

	for i := range 100 { // would overwrite b if it were back in the pool
		o := newReqBody()
		require.NoError(t, o.encode("op", map[string]int{"other": i}))
		o.end()
	}
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, `{"a":"<x>"}`, string(got), "not HTML-escaped, no newline")

	_, err = getBody()
	assert.ErrorIs(t, err, errBodyReleased, "the call's reference is gone")
	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "a second Close is harmless")
	_, err = r.Read(make([]byte, 1))
	assert.ErrorIs(t, err, errBodyClosed)
	_, err = getBody()
	assert.ErrorIs(t, err, errBodyReleased, "the body may be in another call now")
}

// Read and Close from two goroutines (net/http closes a body it may still be
// writing); run with -race.
func TestReqBodyReadRacesClose(t *testing.T) {
	for range 50 {
		b := newReqBody()
		require.NoError(t, b.encode("op", strings.Repeat("x", 4096)))
		r, err := b.getBody()()
		require.NoError(t, err)
		b.end()
		var wg sync.WaitGroup
		wg.Go(func() {
			p := make([]byte, 7)
			for {
				if _, err := r.Read(p); err != nil {
					return
				}
			}
		})
		wg.Go(func() { _ = r.Close() })
		wg.Wait()
	}
}

func TestReqBodyEncodeError(t *testing.T) {
	b := newReqBody()
	defer b.end()
	err := b.encode("send_msg", func() {})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kf: send_msg: encode request: json: unsupported type")
}

// A 307 redirect makes net/http send the body again, from GetBody.
func TestJSONBodyFollowsA307(t *testing.T) {
	var (
		mu     sync.Mutex
		bodies []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cgi-bin/gettoken" {
			fmt.Fprint(w, `{"errcode":0,"access_token":"tok-1","expires_in":7200}`)
			return
		}
		data, err := io.ReadAll(r.Body)
		if !assert.NoError(t, err) {
			return
		}
		mu.Lock()
		bodies = append(bodies, string(data))
		mu.Unlock()
		if r.URL.Query().Get("again") == "" {
			http.Redirect(w, r, r.URL.RequestURI()+"&again=1", http.StatusTemporaryRedirect)
			return
		}
		fmt.Fprint(w, `{"errcode":0,"errmsg":"ok","msgid":"m1"}`)
	}))
	defer srv.Close()

	cl := NewClient("ww1", "secret-1", WithBaseURL(srv.URL), WithHTTPClient(srv.Client()))
	resp, err := cl.SendMsg(t.Context(), SendMsgRequest{ToUser: "wm1", OpenKFID: "wk1", MsgID: "m1", Message: Text{Content: "hi"}})
	require.NoError(t, err)
	assert.Equal(t, "m1", resp.MsgID)
	require.Len(t, bodies, 2)
	assert.Equal(t, bodies[0], bodies[1])
	assert.Contains(t, bodies[0], `"content":"hi"`)
}

func TestAPIURLsFollowTheToken(t *testing.T) {
	var a apiURLs
	const base = "https://h"
	tests := []struct{ path, tok, want string }{
		{"kf/send_msg", "t1", "https://h/cgi-bin/kf/send_msg?access_token=t1"},
		{"kf/sync_msg", "t1", "https://h/cgi-bin/kf/sync_msg?access_token=t1"},
		{"kf/send_msg", "t1", "https://h/cgi-bin/kf/send_msg?access_token=t1"},
		{"kf/send_msg", "t2", "https://h/cgi-bin/kf/send_msg?access_token=t2"},
		{"kf/sync_msg", "t2", "https://h/cgi-bin/kf/sync_msg?access_token=t2"},
		{"kf/sync_msg", "a/b+c", "https://h/cgi-bin/kf/sync_msg?access_token=a%2Fb%2Bc"},
		{"kf/sync_msg", "t1", "https://h/cgi-bin/kf/sync_msg?access_token=t1"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, a.get(base, tt.path, tt.tok), "%s with %s", tt.path, tt.tok)
	}
	var wg sync.WaitGroup // run with -race
	for i := range 8 {
		wg.Go(func() {
			tok := fmt.Sprint("t", i%2)
			for _, p := range []string{"a", "b", "c"} {
				assert.Equal(t, base+"/cgi-bin/"+p+"?access_token="+tok, a.get(base, p, tok))
			}
		})
	}
	wg.Wait()
}
