package kf_test

// Acceptance tests of the client against the stateful fake kf/kftest. The unit
// tests in this package prove each behaviour against hand-written fakes; these
// prove the same points against a server that speaks the wire and enforces
// WeCom's rules, so a serialization mistake or a wrong assumption about the
// protocol fails here.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/kf/syncmsg"
)

const (
	ktKF   = "wkIntegration01"
	ktUser = "wmIntegration01"
)

// ktClient is a client for a started kftest server, over loopback.
func ktClient(srv *kftest.Server, opts ...kf.Option) *kf.Client {
	base := []kf.Option{kf.WithBaseURL(srv.URL), kf.WithHTTPClient(srv.Client()), kf.WithLogger(quiet)}
	return kf.NewClient(srv.CorpID(), srv.Secret(), append(base, opts...)...)
}

// ktBubbleClient is a client for an unstarted kftest server, served in process
// through its Transport, for use inside a testing/synctest bubble. It keeps
// WeCom's real base URL: the transport ignores the host.
func ktBubbleClient(srv *kftest.Server, opts ...kf.Option) *kf.Client {
	base := []kf.Option{kf.WithHTTPClient(&http.Client{Transport: srv.Transport()}), kf.WithLogger(quiet)}
	return kf.NewClient(srv.CorpID(), srv.Secret(), append(base, opts...)...)
}

// lastSent returns the newest send the server accepted.
func lastSent(t *testing.T, srv *kftest.Server) kftest.Sent {
	t.Helper()
	sent := srv.Sent()
	require.NotEmpty(t, sent, "no send was accepted")
	return sent[len(sent)-1]
}

// bodyFields decodes a recorded request body into its top-level fields.
func bodyFields(t *testing.T, body json.RawMessage) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &m), "body %s", body)
	return m
}

func TestKFTestConcurrentCallsFetchOneToken(t *testing.T) {
	const callers = 100
	call := func(t *testing.T, cl *kf.Client) {
		var wg sync.WaitGroup
		errs := make(chan error, callers)
		start := make(chan struct{})
		for range callers {
			wg.Go(func() {
				<-start
				_, err := cl.SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: ktKF})
				errs <- err
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	}

	t.Run("loopback", func(t *testing.T) {
		srv := kftest.NewServer()
		t.Cleanup(srv.Close)
		call(t, ktClient(srv))
		assert.Equal(t, 1, srv.TokenRequests())
		assert.Equal(t, callers, srv.Calls("sync_msg"))
	})
	t.Run("in process with latency: every caller waits on the one fetch", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := kftest.NewUnstartedServer()
			srv.SetLatency(time.Second) // gettoken is still in flight when all callers arrive
			start := time.Now()
			call(t, ktBubbleClient(srv))
			assert.Equal(t, 1, srv.TokenRequests())
			assert.Equal(t, callers, srv.Calls("sync_msg"))
			assert.Equal(t, 2*time.Second, time.Since(start), "one gettoken, then the calls in parallel")
		})
	})
}

func TestKFTestRejectedTokenIsRefreshedAndCallRetried(t *testing.T) {
	sendReq := kf.SendMsgRequest{ToUser: ktUser, OpenKFID: ktKF, Message: kf.Text{Content: "hello"}}
	tests := []struct {
		name       string
		path       string
		reject     func(srv *kftest.Server)
		call       func(ctx context.Context, cl *kf.Client) error
		wantErr    error // nil: the retried call succeeds
		wantCalls  int   // requests to path
		wantTokens int   // gettoken requests, including the first
	}{
		{
			name: "ExpireTokens then sync_msg: 42001", path: "sync_msg",
			reject: func(srv *kftest.Server) { srv.ExpireTokens() },
			call: func(ctx context.Context, cl *kf.Client) error {
				_, err := cl.SyncMsg(ctx, kf.SyncMsgRequest{OpenKFID: ktKF})
				return err
			},
			wantCalls: 2, wantTokens: 2,
		},
		{
			name: "FailNext send_msg 42001", path: "send_msg",
			reject: func(srv *kftest.Server) { srv.FailNext("send_msg", kftest.ErrCodeAccessTokenExpired) },
			call: func(ctx context.Context, cl *kf.Client) error {
				_, err := cl.SendMsg(ctx, sendReq)
				return err
			},
			wantCalls: 2, wantTokens: 2,
		},
		{
			name: "FailNext send_msg 40014", path: "send_msg",
			reject: func(srv *kftest.Server) { srv.FailNext("send_msg", kftest.ErrCodeInvalidAccessToken) },
			call: func(ctx context.Context, cl *kf.Client) error {
				_, err := cl.SendMsg(ctx, sendReq)
				return err
			},
			wantCalls: 2, wantTokens: 2,
		},
		{
			name: "FailNext service_state/get 41001", path: "service_state/get",
			reject: func(srv *kftest.Server) { srv.FailNext("service_state/get", kftest.ErrCodeAccessTokenMissing) },
			call: func(ctx context.Context, cl *kf.Client) error {
				_, err := cl.ServiceState(ctx, kf.ServiceStateRequest{OpenKFID: ktKF, ExternalUserID: ktUser})
				return err
			},
			wantCalls: 2, wantTokens: 2,
		},
		{
			name: "a second rejection is returned, not retried again", path: "send_msg",
			reject: func(srv *kftest.Server) {
				srv.FailNext("send_msg", kftest.ErrCodeAccessTokenExpired)
				srv.FailNext("send_msg", kftest.ErrCodeAccessTokenExpired)
			},
			call: func(ctx context.Context, cl *kf.Client) error {
				_, err := cl.SendMsg(ctx, sendReq)
				return err
			},
			wantErr: kf.ErrAccessTokenExpired, wantCalls: 2, wantTokens: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := kftest.NewServer()
			t.Cleanup(srv.Close)
			srv.AddText(ktKF, ktUser, "hi") // lets send_msg through
			cl := ktClient(srv)
			require.NoError(t, cl.Ping(t.Context()))
			require.Equal(t, 1, srv.TokenRequests())

			tt.reject(srv)
			err := tt.call(t.Context(), cl)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			assert.Equal(t, tt.wantCalls, srv.Calls(tt.path))
			assert.Equal(t, tt.wantTokens, srv.TokenRequests())

			// The fresh token is cached: the next call needs no gettoken.
			_, err = cl.SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: ktKF})
			require.NoError(t, err)
			assert.Equal(t, tt.wantTokens, srv.TokenRequests())
		})
	}
}

func TestKFTestTransientErrorsAreRetriedWithBackoff(t *testing.T) {
	policy := kf.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Second, MaxDelay: 4 * time.Second, RateLimitDelay: 30 * time.Second}
	tests := []struct {
		name         string
		faults       []int // queued with FailNext; 500–599 with FailNextHTTP
		wantErr      error
		wantAttempts int
		minElapsed   time.Duration
		maxElapsed   time.Duration // the sum of the back-off caps
	}{
		{"-1 once", []int{-1}, nil, 2, 0, time.Second},
		{"45033 twice", []int{45033, 45033}, nil, 3, 0, 3 * time.Second},
		{"-1 then HTTP 503", []int{-1, 503}, nil, 3, 0, 3 * time.Second},
		{"45009 waits RateLimitDelay longer", []int{45009}, nil, 2, 30 * time.Second, 31 * time.Second},
		{"attempts exhausted: the last error is returned", []int{-1, 45033, -1}, kf.ErrSystemBusy, 3, 0, 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := kftest.NewUnstartedServer()
				srv.AddText(ktKF, ktUser, "hi")
				cl := ktBubbleClient(srv, kf.WithRetry(policy))
				require.NoError(t, cl.Ping(t.Context()))
				for _, code := range tt.faults {
					if code >= 500 && code <= 599 {
						srv.FailNextHTTP("sync_msg", code)
					} else {
						srv.FailNext("sync_msg", code)
					}
				}

				start := time.Now()
				resp, err := cl.SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: ktKF})
				elapsed := time.Since(start) // the bubble's clock: nothing really slept
				if tt.wantErr != nil {
					require.ErrorIs(t, err, tt.wantErr)
				} else {
					require.NoError(t, err)
					assert.Len(t, resp.MsgList, 1, "the retry that succeeded returned the page")
				}
				assert.Equal(t, tt.wantAttempts, srv.Calls("sync_msg"))
				assert.Positive(t, elapsed, "the client backed off between attempts")
				assert.GreaterOrEqual(t, elapsed, tt.minElapsed)
				assert.LessOrEqual(t, elapsed, tt.maxElapsed)
			})
		})
	}
}

func TestKFTestContextEndsBackoff(t *testing.T) {
	t.Run("cancel during back-off returns at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := kftest.NewUnstartedServer()
			cl := ktBubbleClient(srv, kf.WithRetry(kf.RetryPolicy{MaxAttempts: 10, BaseDelay: time.Hour, MaxDelay: time.Hour}))
			require.NoError(t, cl.Ping(t.Context())) // a token first: the fault rate hits gettoken too
			srv.SetFaultRate(1, kftest.ErrCodeSystemBusy)

			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				_, err := cl.SyncMsg(ctx, kf.SyncMsgRequest{OpenKFID: ktKF})
				done <- err
			}()
			synctest.Wait() // the call failed once and sleeps in its back-off
			require.Equal(t, 1, srv.Calls("sync_msg"))
			start := time.Now()
			cancel()
			err := <-done
			require.ErrorIs(t, err, ctx.Err())
			require.ErrorIs(t, err, kf.ErrSystemBusy, "the last API error is kept")
			assert.Zero(t, time.Since(start), "returned without finishing the back-off")
			assert.Equal(t, 1, srv.Calls("sync_msg"), "no attempt after the cancellation")
		})
	})
	t.Run("deadline during back-off", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			srv := kftest.NewUnstartedServer()
			cl := ktBubbleClient(srv, kf.WithRetry(kf.RetryPolicy{MaxAttempts: 1000, BaseDelay: time.Second, MaxDelay: time.Minute}))
			require.NoError(t, cl.Ping(t.Context()))
			srv.SetFaultRate(1, kftest.ErrCodeSystemBusy)

			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			start := time.Now()
			_, err := cl.SyncMsg(ctx, kf.SyncMsgRequest{OpenKFID: ktKF})
			require.ErrorIs(t, err, ctx.Err())
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.LessOrEqual(t, time.Since(start), 10*time.Second)
			assert.GreaterOrEqual(t, srv.Calls("sync_msg"), 2, "it retried before the deadline")
			assert.Less(t, srv.Calls("sync_msg"), 1000)
		})
	})
}

func TestKFTestBusinessErrorsAreNotRetried(t *testing.T) {
	tests := []struct {
		name  string
		setup func(srv *kftest.Server, cl *kf.Client, t *testing.T)
		want  error
	}{
		{"a human owns the session: 95018", func(srv *kftest.Server, _ *kf.Client, _ *testing.T) {
			srv.AddText(ktKF, ktUser, "hi")
			srv.SetSessionState(ktKF, ktUser, kftest.StateHuman, "servicer1")
		}, kf.ErrSessionStateForbidsSend},
		{"queued in the pool: 95018", func(srv *kftest.Server, _ *kf.Client, _ *testing.T) {
			srv.AddText(ktKF, ktUser, "hi")
			srv.SetSessionState(ktKF, ktUser, kftest.StatePool, "")
		}, kf.ErrSessionStateForbidsSend},
		{"the customer never wrote: 95031", func(*kftest.Server, *kf.Client, *testing.T) {}, kf.ErrNoConsultation48h},
		{"48 hours passed: 95002", func(srv *kftest.Server, _ *kf.Client, _ *testing.T) {
			srv.AddText(ktKF, ktUser, "hi")
			time.Sleep(kftest.SendWindow + time.Minute)
		}, kf.ErrSendTimeLimit},
		{"five replies used: 95001", func(srv *kftest.Server, cl *kf.Client, t *testing.T) {
			srv.AddText(ktKF, ktUser, "hi")
			for i := range kftest.SendsPerCustomerMessage {
				_, err := cl.SendMsg(t.Context(), kf.SendMsgRequest{ToUser: ktUser, OpenKFID: ktKF,
					MsgID: fmt.Sprintf("quota-%d", i), Message: kf.Text{Content: "reply"}})
				require.NoError(t, err)
			}
		}, kf.ErrSendCountLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := kftest.NewUnstartedServer()
				cl := ktBubbleClient(srv)
				tt.setup(srv, cl, t)
				before, sent := srv.Calls("send_msg"), len(srv.Sent())

				_, err := cl.SendMsg(t.Context(), kf.SendMsgRequest{ToUser: ktUser, OpenKFID: ktKF,
					MsgID: "final-reply", Message: kf.Text{Content: "are you there?"}})
				require.ErrorIs(t, err, tt.want)
				var apiErr *kf.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, "send_msg", apiErr.Op)
				assert.False(t, apiErr.Retryable())
				assert.Equal(t, 1, srv.Calls("send_msg")-before, "exactly one request")
				assert.Len(t, srv.Sent(), sent, "nothing was accepted")
			})
		})
	}
}

func TestKFTestEmptyOptionalFieldsAreAbsent(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	cl := ktClient(srv)
	srv.SetMaxPageSize(1)
	first := srv.AddText(ktKF, ktUser, "one")
	second := srv.AddText(ktKF, ktUser, "two")

	// kftest answers "" for cursor, token, limit or voice_format with 40058.
	page, err := cl.SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: ktKF, Cursor: "", Token: ""})
	require.NoError(t, err)
	require.True(t, page.HasMore)
	require.Len(t, page.MsgList, 1)
	assert.Contains(t, string(page.MsgList[0]), first)

	// The set fields are sent: the cursor moves on and the callback token is accepted.
	page, err = cl.SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: ktKF, Cursor: page.NextCursor,
		Token: srv.CallbackToken(ktKF), Limit: 1, VoiceFormat: kf.VoiceSILK})
	require.NoError(t, err)
	require.Len(t, page.MsgList, 1)
	assert.Contains(t, string(page.MsgList[0]), second)
	assert.False(t, page.HasMore)

	t.Run("send_msg without MsgID", func(t *testing.T) {
		resp, err := cl.SendMsg(t.Context(), kf.SendMsgRequest{ToUser: ktUser, OpenKFID: ktKF, Message: kf.Text{Content: "hi"}})
		require.NoError(t, err)
		got := lastSent(t, srv)
		assert.NotEmpty(t, resp.MsgID, "the server generates one")
		assert.Equal(t, got.MsgID, resp.MsgID)
		assert.NotContains(t, string(got.Body), `"msgid":""`)
		assert.NotContains(t, bodyFields(t, got.Body), "msgid")
	})
	t.Run("send_msg_on_event without MsgID", func(t *testing.T) {
		_, code := srv.EnterSession(ktKF, "wmNewcomer", "", "")
		require.NotEmpty(t, code)
		resp, err := cl.SendMsgOnEvent(t.Context(), kf.SendMsgOnEventRequest{Code: code, Message: kf.Text{Content: "welcome"}})
		require.NoError(t, err)
		got := lastSent(t, srv)
		assert.Equal(t, got.MsgID, resp.MsgID)
		assert.NotContains(t, bodyFields(t, got.Body), "msgid")
	})
	t.Run("trans without servicer, account list without paging", func(t *testing.T) {
		_, err := cl.TransServiceState(t.Context(), kf.TransServiceStateRequest{OpenKFID: ktKF, ExternalUserID: ktUser, ServiceState: kf.StatePool})
		require.NoError(t, err)
		_, err = cl.AccountList(t.Context(), kf.AccountListRequest{})
		require.NoError(t, err)
	})
}

// recordingTransport remembers every access_token the client sent.
type recordingTransport struct {
	rt     http.RoundTripper
	mu     sync.Mutex
	tokens map[string]bool
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if tok := req.URL.Query().Get("access_token"); tok != "" {
		r.mu.Lock()
		r.tokens[tok] = true
		r.mu.Unlock()
	}
	return r.rt.RoundTrip(req)
}

func (r *recordingTransport) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.tokens))
	for tok := range r.tokens {
		out = append(out, tok)
	}
	return out
}

func TestKFTestErrorsDoNotRevealTheToken(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	rec := &recordingTransport{rt: srv.Client().Transport, tokens: make(map[string]bool)}
	cl := ktClient(srv, kf.WithHTTPClient(&http.Client{Transport: rec}), kf.WithRetry(kf.RetryPolicy{MaxAttempts: 1}))
	_, err := cl.SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: ktKF})
	require.NoError(t, err)
	require.Len(t, rec.seen(), 1, "the client used one token")
	token := rec.seen()[0]
	require.True(t, strings.HasPrefix(token, "kftest_at_"), token)

	assertHidden := func(t *testing.T, err error) {
		t.Helper()
		require.Error(t, err)
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
			assert.NotContains(t, s, token)
			assert.NotContains(t, s, srv.Secret())
		}
	}
	pull := func() error {
		_, err := cl.SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: ktKF})
		return err
	}

	t.Run("errcode", func(t *testing.T) {
		srv.FailNext("sync_msg", kftest.ErrCodeInvalidParameter)
		err := pull()
		require.ErrorIs(t, err, kf.ErrInvalidParameter)
		assertHidden(t, err)
	})
	t.Run("errmsg echoing the token", func(t *testing.T) {
		srv.Handle("sync_msg", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"errcode":40058,"errmsg":"invalid parameter, url %s, hint: [1]"}`, r.URL.RequestURI())
		}))
		t.Cleanup(func() { srv.Handle("sync_msg", nil) })
		err := pull()
		require.ErrorIs(t, err, kf.ErrInvalidParameter)
		assertHidden(t, err)
		assert.Contains(t, err.Error(), "REDACTED", "the token was replaced, not the errmsg dropped")
	})
	t.Run("HTTP status", func(t *testing.T) {
		srv.FailNextHTTP("sync_msg", http.StatusBadGateway)
		err := pull()
		var he *kf.HTTPError
		require.ErrorAs(t, err, &he)
		assertHidden(t, err)
	})
	t.Run("wrong secret", func(t *testing.T) {
		const wrong = "not-the-secret-0123456789"
		bad := kf.NewClient(srv.CorpID(), wrong, kf.WithBaseURL(srv.URL), kf.WithHTTPClient(srv.Client()), kf.WithLogger(quiet))
		err := bad.Ping(t.Context())
		require.ErrorIs(t, err, kf.ErrInvalidSecret)
		assertHidden(t, err)
		assert.NotContains(t, err.Error(), wrong)
		assert.NotContains(t, fmt.Sprintf("%+v", err), wrong)
	})
	t.Run("transport error after Close", func(t *testing.T) {
		srv.Close()
		err := pull()
		var ue *url.Error
		require.ErrorAs(t, err, &ue)
		assertHidden(t, err)
		assert.NotContains(t, ue.URL, token)
		assert.Contains(t, err.Error(), "access_token=REDACTED", "the URL is kept, with the token replaced")
	})
	assert.Equal(t, []string{token}, rec.seen(), "every call above carried the same token")
}

// png is the smallest thing kftest accepts as an image: the PNG signature.
var png = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 32)...)

func TestKFTestSendRoundTrip(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	cl := ktClient(srv)
	thumb := srv.PutMedia("image", "thumb.png", png)
	voice := srv.PutMedia("voice", "v.amr", []byte("#!AMR\n0123456789"))
	video := srv.PutMedia("video", "v.mp4", []byte("\x00\x00\x00\x18ftypmp42 0123456789"))
	file := srv.PutMedia("file", "f.pdf", []byte("%PDF-1.4 0123456789"))

	tests := []struct {
		msg  kf.OutMessage
		wire string // the payload object under the msgtype key
	}{
		{kf.Text{Content: "hello 你好"}, `{"content":"hello 你好"}`},
		{kf.Image{MediaID: thumb}, `{"media_id":"` + thumb + `"}`},
		{kf.Voice{MediaID: voice}, `{"media_id":"` + voice + `"}`},
		{kf.Video{MediaID: video}, `{"media_id":"` + video + `"}`},
		{kf.File{MediaID: file}, `{"media_id":"` + file + `"}`},
		{kf.Link{Title: "Docs", URL: "https://example.com/docs", ThumbMediaID: thumb},
			`{"title":"Docs","url":"https://example.com/docs","thumb_media_id":"` + thumb + `"}`},
		{kf.Link{Title: "Docs", Desc: "read me", URL: "http://example.com", ThumbMediaID: thumb},
			`{"title":"Docs","desc":"read me","url":"http://example.com","thumb_media_id":"` + thumb + `"}`},
		{kf.Miniprogram{AppID: "wx123", ThumbMediaID: thumb, PagePath: "pages/index"},
			`{"appid":"wx123","thumb_media_id":"` + thumb + `","pagepath":"pages/index"}`},
		{kf.Menu{Head: "Pick one", Items: []kf.MenuItem{
			kf.MenuClick{ID: "101", Content: "Orders"},
			kf.MenuClick{Content: "No id"},
			kf.MenuView{URL: "https://example.com", Content: "Website"},
			kf.MenuMiniprogram{AppID: "wx123", PagePath: "pages/a", Content: "Mini"},
			kf.MenuText{Content: "or just type", NoNewline: true},
		}, Tail: "Thanks"}, `{"head_content":"Pick one","list":[
			{"type":"click","click":{"id":"101","content":"Orders"}},
			{"type":"click","click":{"content":"No id"}},
			{"type":"view","view":{"url":"https://example.com","content":"Website"}},
			{"type":"miniprogram","miniprogram":{"appid":"wx123","pagepath":"pages/a","content":"Mini"}},
			{"type":"text","text":{"content":"or just type","no_newline":1}}],"tail_content":"Thanks"}`},
		{kf.Location{Latitude: 31.2304, Longitude: 121.4737}, `{"latitude":31.2304,"longitude":121.4737}`},
		{kf.Location{Name: "Bund", Address: "Zhongshan Rd", Latitude: -1, Longitude: 0.5},
			`{"name":"Bund","address":"Zhongshan Rd","latitude":-1,"longitude":0.5}`},
		{kf.CALink{LinkURL: "https://work.weixin.qq.com/ca/abc"}, `{"link_url":"https://work.weixin.qq.com/ca/abc"}`},
	}
	for i, tt := range tests {
		t.Run(string(tt.msg.MsgType()), func(t *testing.T) {
			srv.AddText(ktKF, ktUser, "next please") // a fresh allowance of 5 sends
			msgID := fmt.Sprintf("rt-%d", i)
			resp, err := cl.SendMsg(t.Context(), kf.SendMsgRequest{ToUser: ktUser, OpenKFID: ktKF, MsgID: msgID, Message: tt.msg})
			require.NoError(t, err)
			assert.Equal(t, msgID, resp.MsgID)

			got := lastSent(t, srv)
			assert.Equal(t, "send_msg", got.Path)
			assert.Equal(t, msgID, got.MsgID)
			assert.Equal(t, string(tt.msg.MsgType()), got.MsgType)
			assert.Equal(t, ktKF, got.OpenKFID)
			assert.Equal(t, ktUser, got.ToUser)
			fields := bodyFields(t, got.Body)
			assert.JSONEq(t, tt.wire, string(fields[string(tt.msg.MsgType())]))
			if text, ok := tt.msg.(kf.Text); ok {
				assert.Equal(t, text.Content, got.Text)
			}
		})
	}
	msgTypes := make([]string, 0, len(tests))
	for _, s := range srv.SentTo(ktKF, ktUser) {
		msgTypes = append(msgTypes, s.MsgType)
	}
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(msgTypes))), 10, "all ten outgoing types were accepted")
}

func TestKFTestSendMsgOnEvent(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	cl := ktClient(srv)

	msgID, code := srv.EnterSession(ktKF, ktUser, "ad_campaign", "spring")
	require.NotEmpty(t, msgID)
	require.NotEmpty(t, code, "a customer who never wrote gets a welcome code")
	menu := kf.Menu{Head: "Welcome!", Items: []kf.MenuItem{kf.MenuClick{ID: "1", Content: "Talk to sales"}}}
	resp, err := cl.SendMsgOnEvent(t.Context(), kf.SendMsgOnEventRequest{Code: code, MsgID: "welcome-1", Message: menu})
	require.NoError(t, err)
	assert.Equal(t, "welcome-1", resp.MsgID)
	got := lastSent(t, srv)
	assert.Equal(t, kftest.Sent{Path: "send_msg_on_event", OpenKFID: ktKF, ToUser: ktUser, MsgID: "welcome-1",
		MsgType: "msgmenu", Code: code, Body: got.Body, Time: got.Time}, got)

	// Codes are single use; the refusal is a business error, sent once.
	before := srv.Calls("send_msg_on_event")
	_, err = cl.SendMsgOnEvent(t.Context(), kf.SendMsgOnEventRequest{Code: code, MsgID: "welcome-2", Message: kf.Text{Content: "again"}})
	require.ErrorIs(t, err, kf.ErrInvalidParameter)
	assert.Equal(t, 1, srv.Calls("send_msg_on_event")-before)
	assert.Len(t, srv.Sent(), 1)

	// Only text and menus are allowed: other types are refused before any request.
	_, code2 := srv.EnterSession(ktKF, "wmOther", "", "")
	_, err = cl.SendMsgOnEvent(t.Context(), kf.SendMsgOnEventRequest{Code: code2, Message: kf.Image{MediaID: "m"}})
	require.ErrorIs(t, err, kf.ErrInvalidRequest)
	assert.Equal(t, 1, srv.Calls("send_msg_on_event")-before)
}

func TestKFTestServiceStateTransitions(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	cl := ktClient(srv)
	srv.AddServicer(ktKF, "alice")
	srv.AddText(ktKF, ktUser, "I want a human")

	state := func(t *testing.T) *kf.ServiceStateResponse {
		t.Helper()
		st, err := cl.ServiceState(t.Context(), kf.ServiceStateRequest{OpenKFID: ktKF, ExternalUserID: ktUser})
		require.NoError(t, err)
		return st
	}
	require.Equal(t, kf.StateUntreated, state(t).ServiceState)

	steps := []struct {
		name     string
		to       kf.ServiceState
		servicer string
		wantErr  error
		wantCode bool // a msg_code comes back (on the first change to 2 or 3 of a session, and on 4)
		want     kf.ServiceState
	}{
		{"untreated to pool", kf.StatePool, "", nil, true, kf.StatePool},
		{"pool back to bot is not allowed", kf.StateBot, "", kf.ErrInvalidTransition, false, kf.StatePool},
		{"pool to a servicer who is not one", kf.StateHuman, "mallory", kf.ErrNotServicer, false, kf.StatePool},
		{"pool to a servicer: no second msg_code", kf.StateHuman, "alice", nil, false, kf.StateHuman},
		{"end", kf.StateEnded, "", nil, true, kf.StateEnded},
		{"an ended session cannot change", kf.StatePool, "", kf.ErrSessionEnded, false, kf.StateEnded},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := srv.Calls("service_state/trans")
			resp, err := cl.TransServiceState(t.Context(), kf.TransServiceStateRequest{
				OpenKFID: ktKF, ExternalUserID: ktUser, ServiceState: st.to, ServicerUserID: st.servicer})
			if st.wantErr != nil {
				require.ErrorIs(t, err, st.wantErr)
			} else {
				require.NoError(t, err)
				assert.Equal(t, st.wantCode, resp.MsgCode != "", "msg_code %q", resp.MsgCode)
			}
			assert.Equal(t, 1, srv.Calls("service_state/trans")-before, "trans is never repeated")
			got := state(t)
			assert.Equal(t, st.want, got.ServiceState)
			if st.want == kf.StateHuman {
				assert.Equal(t, "alice", got.ServicerUserID)
			}
			assert.Equal(t, int(st.want), srv.SessionState(ktKF, ktUser), "the client and the server agree")
		})
	}

	t.Run("the pool's msg_code sends a queue notice", func(t *testing.T) {
		srv.AddText(ktKF, "wmQueued", "hello?")
		resp, err := cl.TransServiceState(t.Context(), kf.TransServiceStateRequest{OpenKFID: ktKF, ExternalUserID: "wmQueued", ServiceState: kf.StatePool})
		require.NoError(t, err)
		require.NotEmpty(t, resp.MsgCode)
		_, err = cl.SendMsgOnEvent(t.Context(), kf.SendMsgOnEventRequest{Code: resp.MsgCode, Message: kf.Text{Content: "You are number 3 in the queue."}})
		require.NoError(t, err)
		got := lastSent(t, srv)
		assert.Equal(t, "wmQueued", got.ToUser)
		assert.Equal(t, "You are number 3 in the queue.", got.Text)
	})
}

func TestKFTestAccountList(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	cl := ktClient(srv)
	srv.AddAccount("wkSales", "Sales")
	srv.AddAccount("wkSupport", "Support")

	all, err := cl.AccountList(t.Context(), kf.AccountListRequest{})
	require.NoError(t, err)
	ids := make([]string, 0, len(all.AccountList))
	for _, a := range all.AccountList {
		ids = append(ids, a.OpenKFID)
	}
	assert.Equal(t, []string{"wkSales", "wkSupport"}, ids)
	assert.Equal(t, "Sales", all.AccountList[0].Name)
	assert.True(t, all.AccountList[0].ManagePrivilege)
	assert.NotEmpty(t, all.AccountList[0].Avatar)

	page, err := cl.AccountList(t.Context(), kf.AccountListRequest{Offset: 1, Limit: 1})
	require.NoError(t, err)
	require.Len(t, page.AccountList, 1)
	assert.Equal(t, "wkSupport", page.AccountList[0].OpenKFID)
}

func TestKFTestBatchGetCustomer(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	cl := ktClient(srv)
	srv.AddCustomer("wmAlice", "Alice")
	srv.EnterSession(ktKF, "wmBob", "qr_code", "table-7")

	tests := []struct {
		name        string
		withContext bool
	}{{"without enter_session context", false}, {"with enter_session context", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := cl.BatchGetCustomer(t.Context(), kf.BatchGetCustomerRequest{
				ExternalUserIDs: []string{"wmAlice", "wmBob", "wmNobody"}, NeedEnterSessionContext: tt.withContext})
			require.NoError(t, err)
			require.Len(t, resp.CustomerList, 2)
			assert.Equal(t, []string{"wmNobody"}, resp.InvalidExternalUserIDs)
			alice, bob := resp.CustomerList[0], resp.CustomerList[1]
			assert.Equal(t, "wmAlice", alice.ExternalUserID)
			assert.Equal(t, "Alice", alice.Nickname)
			assert.Nil(t, alice.EnterSessionContext, "Alice never entered a session")
			assert.Equal(t, "wmBob", bob.ExternalUserID)
			if tt.withContext {
				require.NotNil(t, bob.EnterSessionContext)
				assert.Equal(t, "qr_code", bob.EnterSessionContext.Scene)
				assert.Equal(t, "table-7", bob.EnterSessionContext.SceneParam)
			} else {
				assert.Nil(t, bob.EnterSessionContext)
			}
		})
	}
}

func TestKFTestUploadMedia(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	cl := ktClient(srv)
	srv.AddText(ktKF, ktUser, "send me a picture")

	before := time.Now().Truncate(time.Second)
	up, err := cl.UploadMedia(t.Context(), kf.UploadMediaRequest{Type: kf.MediaImage, Filename: "pic.png", Body: bytes.NewReader(png)})
	require.NoError(t, err)
	assert.Equal(t, kf.MediaImage, up.Type)
	assert.NotEmpty(t, up.MediaID)
	assert.False(t, up.CreatedAt.Before(before), "created_at %v is the upload time", up.CreatedAt)
	assert.Equal(t, png, srv.Media(up.MediaID), "the bytes arrived intact")

	_, err = cl.SendMsg(t.Context(), kf.SendMsgRequest{ToUser: ktUser, OpenKFID: ktKF, MsgID: "pic-1", Message: kf.Image{MediaID: up.MediaID}})
	require.NoError(t, err)
	assert.Equal(t, "image", lastSent(t, srv).MsgType)

	t.Run("content that is not an image is refused", func(t *testing.T) {
		_, err := cl.UploadMedia(t.Context(), kf.UploadMediaRequest{Type: kf.MediaImage, Filename: "x.png", Body: strings.NewReader("definitely not a png")})
		var apiErr *kf.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, kftest.ErrCodeInvalidMediaType, apiErr.Code)
	})
	t.Run("an unknown media id is refused by send_msg", func(t *testing.T) {
		_, err := cl.SendMsg(t.Context(), kf.SendMsgRequest{ToUser: ktUser, OpenKFID: ktKF, Message: kf.Image{MediaID: "no-such-media"}})
		var apiErr *kf.APIError
		require.ErrorAs(t, err, &apiErr)
		assert.Equal(t, kftest.ErrCodeInvalidMediaID, apiErr.Code)
	})
}

func TestKFTestSyncMsgDecodesWhatTheServerLogs(t *testing.T) {
	srv := kftest.NewServer()
	t.Cleanup(srv.Close)
	cl := ktClient(srv)
	enter, _ := srv.EnterSession(ktKF, ktUser, "scene", "param")
	text := srv.AddText(ktKF, ktUser, "hello")
	click := srv.AddMenuClick(ktKF, ktUser, "101", "Orders")
	image := srv.AddImage(ktKF, ktUser, "img-1")

	page, err := cl.SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: ktKF})
	require.NoError(t, err)
	msgs, err := page.Messages()
	require.NoError(t, err)
	require.Len(t, msgs, 4)

	es, ok := msgs[0].(*syncmsg.EnterSession)
	require.True(t, ok, "%T", msgs[0])
	assert.Equal(t, enter, es.MsgID)
	assert.Equal(t, ktUser, es.ExternalUserID)
	assert.Equal(t, "scene", es.Scene)
	assert.NotEmpty(t, es.WelcomeCode)

	tx, ok := msgs[1].(*syncmsg.Text)
	require.True(t, ok, "%T", msgs[1])
	assert.Equal(t, text, tx.MsgID)
	assert.Equal(t, "hello", tx.Content)
	assert.Equal(t, syncmsg.OriginCustomer, tx.Origin)

	mc, ok := msgs[2].(*syncmsg.Text)
	require.True(t, ok, "%T", msgs[2])
	assert.Equal(t, click, mc.MsgID)
	assert.Equal(t, "101", mc.MenuID)

	im, ok := msgs[3].(*syncmsg.Image)
	require.True(t, ok, "%T", msgs[3])
	assert.Equal(t, image, im.MsgID)
	assert.Equal(t, "img-1", im.MediaID)
}
