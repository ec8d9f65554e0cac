package kf_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf"
)

var testPolicy = kf.RetryPolicy{MaxAttempts: 4, BaseDelay: time.Second, MaxDelay: 4 * time.Second, RateLimitDelay: 30 * time.Second}

func TestTransientFailuresAreRetried(t *testing.T) {
	ok := okJSON(`"next_cursor":"c2","has_more":0,"msg_list":[]`)
	tests := []struct {
		name         string
		replies      []string
		wantAttempts int
		minElapsed   time.Duration
		maxElapsed   time.Duration // sum of the back-off caps
	}{
		{"system busy -1", []string{errJSON(-1, "system busy"), ok}, 2, 0, time.Second},
		{"concurrency 45033", []string{errJSON(45033, "api concurrent out of limit"), errJSON(45033, "x"), ok}, 3, 0, 3 * time.Second},
		{"HTML 502", []string{"502 <html>Bad Gateway</html>", ok}, 2, 0, time.Second},
		{"503 without body", []string{"503", "503", "503", ok}, 4, 0, 7 * time.Second},
		{"rate limit 45009 waits longer", []string{errJSON(45009, "api freq out of limit"), ok}, 2, 30 * time.Second, 31 * time.Second},
		{"JSON errcode in a 500", []string{"500 " + errJSON(-1, "system busy"), ok}, 2, 0, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFake().on("kf/sync_msg", seq(tt.replies...))
				cl := newClient(f, kf.WithRetry(testPolicy))
				start := time.Now()
				resp, err := cl.SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: "wk1"})
				require.NoError(t, err)
				assert.Equal(t, "c2", resp.NextCursor)
				assert.Equal(t, tt.wantAttempts, f.count("kf/sync_msg"))
				elapsed := time.Since(start) // fake time: no real sleeping happened
				assert.GreaterOrEqual(t, elapsed, tt.minElapsed)
				assert.LessOrEqual(t, elapsed, tt.maxElapsed)
			})
		})
	}
}

func TestTransportErrorsAreRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake().on("kf/sync_msg", seq(okJSON(`"next_cursor":"c2"`)))
		var n atomic.Int32
		rt := rtFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Path == "/cgi-bin/kf/sync_msg" && n.Add(1) <= 2 {
				return nil, errors.New("connection reset by peer")
			}
			return handlerTransport{f}.RoundTrip(r)
		})
		cl := kf.NewClient(testCorpID, testSecret, kf.WithBaseURL(testBase), kf.WithLogger(quiet),
			kf.WithHTTPClient(&http.Client{Transport: rt}), kf.WithRetry(testPolicy))
		resp, err := cl.SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: "wk1"})
		require.NoError(t, err)
		assert.Equal(t, "c2", resp.NextCursor)
		assert.Equal(t, int32(3), n.Load())
	})
}

func TestRetriesAreBoundedByPolicy(t *testing.T) {
	tests := []struct {
		name   string
		policy kf.RetryPolicy
		want   int
	}{
		{"default policy: 3 attempts", kf.RetryPolicy{}, 3},
		{"custom: 5 attempts", kf.RetryPolicy{MaxAttempts: 5}, 5},
		{"retries disabled", kf.RetryPolicy{MaxAttempts: 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFake().on("kf/sync_msg", seq(errJSON(-1, "system busy")))
				cl := newClient(f, kf.WithRetry(tt.policy))
				_, err := cl.SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: "wk1"})
				require.ErrorIs(t, err, kf.ErrSystemBusy)
				assert.Equal(t, tt.want, f.count("kf/sync_msg"))
				var apiErr *kf.APIError
				require.ErrorAs(t, err, &apiErr)
				assert.True(t, apiErr.Retryable())
			})
		})
	}
}

func TestCancelDuringBackoffReturnsPromptly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake().on("kf/sync_msg", seq(errJSON(-1, "system busy")))
		cl := newClient(f, kf.WithRetry(kf.RetryPolicy{MaxAttempts: 10, BaseDelay: time.Hour, MaxDelay: time.Hour}))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := cl.SyncMsg(ctx, kf.SyncMsgRequest{OpenKFID: "wk1"})
			done <- err
		}()
		synctest.Wait() // the call is now sleeping in its back-off
		start := time.Now()
		cancel()
		err := <-done
		require.ErrorIs(t, err, context.Canceled)
		require.ErrorIs(t, err, kf.ErrSystemBusy, "the last API error is kept")
		assert.Contains(t, err.Error(), "kf: sync_msg: context canceled while waiting to retry")
		assert.Zero(t, time.Since(start), "returned without finishing the back-off")
		assert.Equal(t, 1, f.count("kf/sync_msg"))
	})
}

func TestDeadlineDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake().on("kf/sync_msg", seq(errJSON(45033, "busy")))
		cl := newClient(f, kf.WithRetry(kf.RetryPolicy{MaxAttempts: 100, BaseDelay: time.Second, MaxDelay: time.Minute}))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		start := time.Now()
		_, err := cl.SyncMsg(ctx, kf.SyncMsgRequest{OpenKFID: "wk1"})
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 10*time.Second, time.Since(start))
		assert.Less(t, f.count("kf/sync_msg"), 100)
	})
}

func TestBusinessErrorsAreNotRetried(t *testing.T) {
	tests := []struct {
		code     int
		sentinel error
	}{
		{95018, kf.ErrSessionStateForbidsSend},
		{95001, kf.ErrSendCountLimit},
		{95002, kf.ErrSendTimeLimit},
		{95031, kf.ErrNoConsultation48h},
		{40058, kf.ErrInvalidParameter},
		{40001, kf.ErrInvalidSecret},
		{44004, kf.ErrEmptyContent},
	}
	for _, tt := range tests {
		t.Run(kf.CodeText(tt.code), func(t *testing.T) {
			f := newFake().on("kf/send_msg", seq(errJSON(tt.code, "nope"), okJSON(`"msgid":"m"`)))
			cl := newClient(f)
			_, err := cl.SendMsg(t.Context(), kf.SendMsgRequest{ToUser: "wm1", OpenKFID: "wk1", MsgID: "m1", Message: kf.Text{Content: "hi"}})
			require.ErrorIs(t, err, tt.sentinel)
			assert.Equal(t, 1, f.count("kf/send_msg"), "exactly one request")
			var apiErr *kf.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.False(t, apiErr.Retryable())
			assert.Equal(t, "send_msg", apiErr.Op)
		})
	}
}

func TestSendRetriesAfterPossibleDeliveryOnlyWithMsgID(t *testing.T) {
	const bad, good = "502 <html>Bad Gateway</html>", `{"errcode":0,"msgid":"x"}`
	resetErr := func(*http.Request) (*http.Response, error) { return nil, errors.New("read: connection reset") }
	refused := func(*http.Request) (*http.Response, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	tests := []struct {
		name    string
		msgID   string
		fail    func(*http.Request) (*http.Response, error) // the first attempt's transport failure, if any
		replies []string
		want    int // send_msg attempts
		ok      bool
	}{
		{"502 without msgid: not repeated", "", nil, []string{bad, good}, 1, false},
		{"502 with msgid: repeated", "reply-1", nil, []string{bad, good}, 2, true},
		{"connection reset without msgid: not repeated", "", resetErr, []string{good}, 1, false},
		{"connection reset with msgid: repeated", "reply-1", resetErr, []string{good}, 2, true},
		{"connection refused without msgid: repeated (never reached WeCom)", "", refused, []string{good}, 2, true},
		{"system busy without msgid: repeated (WeCom did not accept it)", "", nil, []string{errJSON(-1, "busy"), good}, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFake().on("kf/send_msg", seq(tt.replies...))
				var attempts atomic.Int32
				rt := rtFunc(func(r *http.Request) (*http.Response, error) {
					if r.URL.Path == "/cgi-bin/kf/send_msg" && attempts.Add(1) == 1 && tt.fail != nil {
						return tt.fail(r)
					}
					return handlerTransport{f}.RoundTrip(r)
				})
				cl := kf.NewClient(testCorpID, testSecret, kf.WithBaseURL(testBase), kf.WithLogger(quiet),
					kf.WithHTTPClient(&http.Client{Transport: rt}))
				_, err := cl.SendMsg(t.Context(), kf.SendMsgRequest{ToUser: "wm1", OpenKFID: "wk1", MsgID: tt.msgID, Message: kf.Text{Content: "hi"}})
				if tt.ok {
					require.NoError(t, err)
				} else {
					require.Error(t, err)
				}
				assert.Equal(t, int32(tt.want), attempts.Load())
			})
		})
	}
}

func TestNonJSONAnswers(t *testing.T) {
	tests := []struct {
		name     string
		reply    string
		want     error
		attempts int
	}{
		{"HTML 200 is a clear error, not retried", "200 <html>maintenance</html>", kf.ErrInvalidResponse, 1},
		{"404 page", "404 <html>not found</html>", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake().on("kf/sync_msg", seq(tt.reply))
			cl := newClient(f)
			_, err := cl.SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: "wk1"})
			require.Error(t, err)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				assert.Contains(t, err.Error(), `Content-Type "text/html"`)
			} else {
				var he *kf.HTTPError
				require.ErrorAs(t, err, &he)
				assert.Equal(t, 404, he.StatusCode)
				assert.Equal(t, "kf: sync_msg: unexpected HTTP status 404 Not Found", err.Error())
			}
			assert.Equal(t, tt.attempts, f.count("kf/sync_msg"))
		})
	}
}

func TestOversizedResponseIsRejected(t *testing.T) {
	f := newFake().on("kf/sync_msg", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"errcode":0,"msg_list":["`))
		w.Write(make([]byte, 9<<20))
	})
	_, err := newClient(f).SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: "wk1"})
	require.ErrorIs(t, err, kf.ErrInvalidResponse)
	assert.Contains(t, err.Error(), "larger than 8 MiB")
	assert.Equal(t, 1, f.count("kf/sync_msg"))
}
