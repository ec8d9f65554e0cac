package kf_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kfbot/kfbot/kf"
)

// staticTransport answers every request in-process with a canned body, so a
// benchmark measures the client's own per-call overhead (build, encode,
// decode, token cache, logging checks), not the network.
type staticTransport map[string][]byte // URL path → body

func (s staticTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	body := s[r.URL.Path]
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       r,
	}, nil
}

func benchClient(paths map[string]string) *kf.Client {
	rt := staticTransport{"/cgi-bin/gettoken": []byte(`{"errcode":0,"errmsg":"ok","access_token":"tok","expires_in":7200}`)}
	for p, body := range paths {
		rt[p] = []byte(body)
	}
	return kf.NewClient(testCorpID, testSecret, kf.WithBaseURL(testBase),
		kf.WithHTTPClient(&http.Client{Transport: rt}), kf.WithLogger(quiet))
}

func BenchmarkSendMsg(b *testing.B) {
	cl := benchClient(map[string]string{"/cgi-bin/kf/send_msg": `{"errcode":0,"errmsg":"ok","msgid":"reply-0001"}`})
	req := kf.SendMsgRequest{ToUser: "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw", OpenKFID: "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q",
		MsgID: "reply-0001", Message: kf.Text{Content: strings.Repeat("hello ", 50)}}
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cl.SendMsg(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSyncMsg100(b *testing.B) {
	item := `{"msgid":"from_msgid_4622416642169452483","open_kfid":"wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q","external_userid":"wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw","send_time":1615478585,"origin":3,"msgtype":"text","text":{"content":"hello world"}}`
	page := `{"errcode":0,"errmsg":"ok","next_cursor":"4gw7MepFLfgF2VC5npN","has_more":0,"msg_list":[` +
		strings.TrimSuffix(strings.Repeat(item+",", 100), ",") + `]}`
	cl := benchClient(map[string]string{"/cgi-bin/kf/sync_msg": page})
	ctx := b.Context()
	b.ReportAllocs()
	b.SetBytes(int64(len(page)))
	for b.Loop() {
		resp, err := cl.SyncMsg(ctx, kf.SyncMsgRequest{OpenKFID: "wk1", Cursor: "c"})
		if err != nil || len(resp.MsgList) != 100 {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoopbackSend sends through a real *http.Transport to an
// httptest server (whose handler is part of the cost), without and with the
// http.Client Timeout of the default client ([kf.DefaultHTTPTimeout]):
// net/http makes a deadline context and timer per request for the Timeout.
func BenchmarkLoopbackSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cgi-bin/gettoken" {
			_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok","access_token":"tok","expires_in":7200}`)
			return
		}
		_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok","msgid":"reply-0001"}`)
	}))
	defer srv.Close()
	for _, timeout := range []time.Duration{0, kf.DefaultHTTPTimeout} {
		b.Run("timeout="+timeout.String(), func(b *testing.B) {
			hc := srv.Client()
			hc.Timeout = timeout
			cl := kf.NewClient(testCorpID, testSecret, kf.WithBaseURL(srv.URL), kf.WithHTTPClient(hc), kf.WithLogger(quiet))
			req := kf.SendMsgRequest{ToUser: "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw", OpenKFID: "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q",
				MsgID: "reply-0001", Message: kf.Text{Content: strings.Repeat("hello ", 50)}}
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cl.SendMsg(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
