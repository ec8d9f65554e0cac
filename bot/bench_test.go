package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/router"
	"github.com/kfbot/kfbot/storage"
)

// nopClient is a Client that is never called: the dispatch benchmark sends nothing.
type nopClient struct{ bot.Client }

func (nopClient) CorpID() string { return "wwBench" }

// BenchmarkDispatch measures the engine's own cost per message: dedup check, session load
// and save (in-memory store), 10 middlewares, 50 matchers (the 50th matches), marking the
// msgid processed.
func BenchmarkDispatch(b *testing.B) {
	bt, err := bot.New(nopClient{}, storage.NewMemory(), bot.WithLogger(quietLog()))
	require.NoError(b, err)
	for range 10 {
		bt.Use(func(next bot.HandlerFunc) bot.HandlerFunc {
			return func(c *bot.Context) error { return next(c) }
		})
	}
	for i := range 49 {
		bt.Handle(bot.Text(fmt.Sprintf("keyword %d", i)), func(*bot.Context) error { return nil })
	}
	bt.Handle(bot.MsgType(syncmsg.TypeText), func(*bot.Context) error { return nil })
	ctx := context.Background()
	now := time.Now().Unix()
	msg := &syncmsg.Text{Header: syncmsg.Header{OpenKFID: "wkBench", Origin: syncmsg.OriginCustomer,
		MsgType: syncmsg.TypeText, SendTime: now}, Content: "hello"}
	users := make([]string, 200)
	for i := range users {
		users[i] = fmt.Sprintf("wmUser%03d", i)
	}
	var buf []byte
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		buf = strconv.AppendInt(append(buf[:0], "msg"...), int64(i), 10)
		msg.MsgID = string(buf)
		msg.ExternalUserID = users[i%len(users)]
		i++
		if err := bt.Dispatch(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEndToEnd measures messages per second through the whole stack on loopback:
// the fake WeCom pokes the router with signed callbacks, the engine pulls with sync_msg
// and answers every message with send_msg. 200 customers each send a burst of 5 messages
// per round (WeCom allows 5 replies after a customer's last message).
//
//	go test -run '^$' -bench EndToEnd -benchtime 20x ./bot/
func BenchmarkEndToEnd(b *testing.B) {
	for _, perMessage := range []bool{false, true} {
		name := "callback-per-burst"
		if perMessage {
			name = "callback-per-message"
		}
		b.Run(name, func(b *testing.B) { benchEndToEnd(b, perMessage) })
	}
}

func benchEndToEnd(b *testing.B, callbackPerMessage bool) {
	const customers, burst = 200, 5
	e := newEnv(b)
	client := kf.NewClient(e.srv.CorpID(), e.srv.Secret(), kf.WithBaseURL(e.srv.URL), kf.WithLogger(quietLog()))
	bt, err := bot.New(client, e.store, bot.WithLogger(quietLog()), bot.WithConcurrency(16))
	require.NoError(b, err)
	bt.Handle(bot.Any(), func(c *bot.Context) error { return c.ReplyText("re: " + c.Text()) })
	token, key := e.srv.CallbackConfig()
	h, err := router.New(router.Config{Token: token, EncodingAESKey: key, CorpID: e.srv.CorpID(), Logger: quietLog()}, bt)
	require.NoError(b, err)
	hs := httptest.NewServer(h)
	defer hs.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	pokeRouter := func() {
		req, err := e.srv.NewCallbackRequest(hs.URL+"/callback", testKF)
		if err != nil {
			b.Fatal(err)
		}
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	stop := run(b, bt)
	defer stop()

	users := make([]string, customers)
	for i := range users {
		users[i] = customerID(i)
	}
	b.ReportAllocs()
	var total int64
	const senders = 8 // WeCom delivers callbacks concurrently
	for b.Loop() {
		var wg sync.WaitGroup
		for s := range senders {
			wg.Go(func() {
				for i := s; i < len(users); i += senders {
					for range burst {
						e.srv.AddText(testKF, users[i], "hello")
						if callbackPerMessage {
							pokeRouter()
						}
					}
					if !callbackPerMessage {
						pokeRouter()
					}
				}
			})
		}
		wg.Wait()
		total += customers * burst
		e.sends.waitAtLeast(b, total)
		e.srv.ResetSent() // keep the fake's record from growing without bound
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(0, "ns/op")
}
