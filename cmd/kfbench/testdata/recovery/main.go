// Command recovery measures how the engine copes with a sync_msg cursor that never moves
// and with runs of WeCom failures, against kftest on loopback, with the engine's default
// retry settings. It lives under testdata so that go build ./... and go vet skip it.
//
//	go run ./cmd/kfbench/testdata/recovery stuck            # sync_msg calls/s on a stuck cursor
//	go run ./cmd/kfbench/testdata/recovery sync [pokes]     # 24 failed sync_msg answers in a row
//	go run ./cmd/kfbench/testdata/recovery token [x CODE]   # 7 failed token fetches
//	go run ./cmd/kfbench/testdata/recovery send [x CODE]    # 120 failed sends, 60 customers
//
// "pokes" sends a callback every second meanwhile; CODE is the errcode of the failures
// (default -1; 500–599 fail with that HTTP status instead).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/storage"
)

const kfid = "wkMeasure"

func setup(srv *kftest.Server) (*bot.Bot, func()) {
	client := kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithBaseURL(srv.URL), kf.WithHTTPClient(srv.Client()),
		kf.WithLogger(slog.New(slog.DiscardHandler)))
	b, err := bot.New(client, storage.NewMemory(), bot.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	b.Handle(bot.MsgType("text"), func(c *bot.Context) error { return c.ReplyText("ok") })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = b.Run(ctx); close(done) }()
	return b, func() { cancel(); <-done }
}

func main() {
	pokes := len(os.Args) > 2 && os.Args[2] == "pokes"
	if len(os.Args) == 1 {
		os.Args = append(os.Args, "stuck")
	}
	switch os.Args[1] {
	case "stuck":
		srv := kftest.NewServer()
		var calls atomic.Int64
		srv.Handle("kf/sync_msg", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			calls.Add(1)
			fmt.Fprint(w, `{"errcode":0,"errmsg":"ok","next_cursor":"","has_more":1,"msg_list":[]}`)
		}))
		b, stop := setup(srv)
		b.Notify(kfid, "")
		time.Sleep(5 * time.Second)
		fmt.Printf("stuck cursor: %.1f sync_msg calls/s over 5 s after one callback\n", float64(calls.Load())/5)
		stop()
	case "sync", "token", "send":
		srv := kftest.NewServer()
		n, path, msgs := 24, "kf/sync_msg", 1
		switch os.Args[1] {
		case "token":
			n, path = 7, "gettoken"
		case "send":
			n, path, msgs = 120, "kf/send_msg", 60
		}
		code := -1
		if len(os.Args) > 3 {
			fmt.Sscan(os.Args[3], &code)
		}
		for range n {
			if code >= 500 && code < 600 {
				srv.FailNextHTTP(path, code)
			} else {
				srv.FailNext(path, code)
			}
		}
		b, stop := setup(srv)
		base := srv.Calls(path)
		for i := range msgs {
			srv.AddText(kfid, fmt.Sprintf("wm%d", i), "hi")
		}
		start := time.Now()
		b.Notify(kfid, "")
		var faultsEnd time.Time
		deadline := start.Add(10 * time.Minute)
		lastPoke := start
		for time.Now().Before(deadline) {
			if faultsEnd.IsZero() && srv.Calls(path)-base >= n {
				faultsEnd = time.Now()
			}
			if len(srv.Sent()) >= msgs {
				break
			}
			if pokes && time.Since(lastPoke) >= time.Second {
				b.Notify(kfid, "")
				lastPoke = time.Now()
			}
			time.Sleep(5 * time.Millisecond)
		}
		if faultsEnd.IsZero() {
			faultsEnd = time.Now()
		}
		fmt.Printf("%d failed %s (callback every 1 s: %v): %d/%d answered %.1f s after the first callback, %.1f s after the failures ended\n",
			n, path, pokes, len(srv.Sent()), msgs, time.Since(start).Seconds(), time.Since(faultsEnd).Seconds())
		stop()
	}
}
