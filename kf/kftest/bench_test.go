package kftest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/kfbot/kfbot/kf/kftest"
)

func benchRequest(b *testing.B, c *http.Client, url string, body []byte) {
	req, err := http.NewRequestWithContext(b.Context(), http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// BenchmarkSyncMsgPage reads a 100-item page through the in-process transport.
func BenchmarkSyncMsgPage(b *testing.B) {
	srv := kftest.NewUnstartedServer()
	for i := range 1000 {
		srv.AddText(acct, fmt.Sprint("wmU", i%50), "hello there, a typical customer message")
	}
	a := newAPI(b, srv)
	url := "https://qyapi.weixin.qq.com/cgi-bin/kf/sync_msg?access_token=" + a.getToken()
	body := []byte(`{"open_kfid":"` + acct + `","limit":100}`)
	b.ReportAllocs()
	for b.Loop() {
		benchRequest(b, a.c, url, body)
	}
	b.ReportMetric(100*float64(b.N)/b.Elapsed().Seconds(), "items/s")
}

// BenchmarkSendMsg sends texts (each after a customer message, so every
// send is accepted) through the in-process transport.
func BenchmarkSendMsg(b *testing.B) {
	srv := kftest.NewUnstartedServer()
	a := newAPI(b, srv)
	url := "https://qyapi.weixin.qq.com/cgi-bin/kf/send_msg?access_token=" + a.getToken()
	srv.AddText(acct, user, "hi")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%5 == 0 {
			srv.AddText(acct, user, "again")
		}
		i++
		body := fmt.Appendf(nil, `{"touser":"%s","open_kfid":"%s","msgid":"m%d","msgtype":"text","text":{"content":"a reply"}}`, user, acct, i)
		benchRequest(b, a.c, url, body)
	}
	if n := len(srv.Sent()); n != i {
		b.Fatalf("accepted %d of %d", n, i)
	}
}

// BenchmarkAddText measures appending a customer message.
func BenchmarkAddText(b *testing.B) {
	srv := kftest.NewUnstartedServer()
	b.ReportAllocs()
	for b.Loop() {
		srv.AddText(acct, user, "hello there")
	}
}

// BenchmarkSendMsgParallel sends from many goroutines over the socket client.
func BenchmarkSendMsgParallel(b *testing.B) {
	srv := kftest.NewServer()
	defer srv.Close()
	a := newAPI(b, srv)
	a.c, a.base = srv.Client(), srv.URL
	url := srv.URL + "/cgi-bin/kf/send_msg?access_token=" + a.getToken()
	var seq atomicCounter
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.next()
			u := fmt.Sprint("wmP", n)
			srv.AddText(acct, u, "hi")
			body := fmt.Appendf(nil, `{"touser":"%s","open_kfid":"%s","msgtype":"text","text":{"content":"a reply"}}`, u, acct)
			benchRequest(b, a.c, url, body)
		}
	})
}

type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) next() int64 { return c.n.Add(1) }
