// Command quickstart is the library quick start of the README: a bot that welcomes,
// hands off on request and echoes, behind the callback router, on a Badger store.
// It stops, with the error, when the callback server cannot listen.
//
//	CORP_ID=ww… SECRET=… TOKEN=… AES_KEY=… go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/router"
	"github.com/kfbot/kfbot/storage/badgerstore"
)

func main() {
	if err := run(context.Background(), ":8080"); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, addr string) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	client := kf.NewClient(os.Getenv("CORP_ID"), os.Getenv("SECRET"))
	store, err := badgerstore.Open("./data")
	if err != nil {
		return err
	}
	defer store.Close()
	b, err := bot.New(client, store)
	if err != nil {
		return err
	}
	b.Handle(bot.Event(syncmsg.EventEnterSession), func(c *bot.Context) error { return c.WelcomeText("Hi!") })
	b.Handle(bot.TextContains("human"), func(c *bot.Context) error { _, err := c.TransferToPool(); return err })
	b.Handle(bot.MsgType(syncmsg.TypeText), func(c *bot.Context) error { return c.ReplyText("echo: " + c.Text()) })
	h, err := router.New(router.Config{Token: os.Getenv("TOKEN"), EncodingAESKey: os.Getenv("AES_KEY"), CorpID: os.Getenv("CORP_ID")}, b)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	g, ctx := errgroup.WithContext(ctx) // the first failure stops the others
	g.Go(func() error { return b.Run(ctx) })
	g.Go(func() error {
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("callback server: %w", err) // e.g. the port is taken
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done() // a signal, or a failure above
		return srv.Shutdown(context.Background())
	})
	return g.Wait()
}
