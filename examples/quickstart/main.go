// Command quickstart is the library quick start of the README: a bot that welcomes,
// hands off on request and echoes, behind the callback router, on a Badger store.
//
//	CORP_ID=ww… SECRET=… TOKEN=… AES_KEY=… go run ./examples/quickstart
package main

import (
	"context"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/router"
	"github.com/kfbot/kfbot/storage/badgerstore"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	client := kf.NewClient(os.Getenv("CORP_ID"), os.Getenv("SECRET"))
	store, err := badgerstore.Open("./data")
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	b, err := bot.New(client, store)
	if err != nil {
		log.Fatal(err)
	}
	b.Handle(bot.Event(syncmsg.EventEnterSession), func(c *bot.Context) error { return c.WelcomeText("Hi!") })
	b.Handle(bot.TextContains("human"), func(c *bot.Context) error { _, err := c.TransferToPool(); return err })
	b.Handle(bot.MsgType(syncmsg.TypeText), func(c *bot.Context) error { return c.ReplyText("echo: " + c.Text()) })
	h, err := router.New(router.Config{Token: os.Getenv("TOKEN"), EncodingAESKey: os.Getenv("AES_KEY"), CorpID: os.Getenv("CORP_ID")}, b)
	if err != nil {
		log.Fatal(err)
	}
	go http.ListenAndServe(":8080", h)
	_ = b.Run(ctx)
}
