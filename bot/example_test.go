package bot_test

import (
	"context"
	"fmt"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

// A complete bot against the fake WeCom server: a welcome menu, a menu click and an echo.
func Example() {
	srv := kftest.NewServer()
	defer srv.Close()
	client := kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithBaseURL(srv.URL), kf.WithHTTPClient(srv.Client()))

	b, err := bot.New(client, storage.NewMemory())
	if err != nil {
		panic(err)
	}
	b.Handle(bot.Event(syncmsg.EventEnterSession), func(c *bot.Context) error {
		return c.Welcome(kf.Menu{Head: "Hi! How can we help?", Items: []kf.MenuItem{
			kf.MenuClick{ID: "hours", Content: "Opening hours"},
		}})
	})
	b.Handle(bot.MenuID("hours"), func(c *bot.Context) error { return c.ReplyText("9:00-18:00") })
	b.Handle(bot.MsgType(syncmsg.TypeText), func(c *bot.Context) error { return c.ReplyText("echo: " + c.Text()) })

	srv.EnterSession("wkShop", "wmAda", "", "")
	srv.AddMenuClick("wkShop", "wmAda", "hours", "Opening hours")
	srv.AddText("wkShop", "wmAda", "thanks!")
	// Run(ctx) would pull on every callback; Pull does one pass synchronously.
	if err := b.Pull(context.Background(), "wkShop"); err != nil {
		panic(err)
	}
	for _, s := range srv.SentTo("wkShop", "wmAda") {
		fmt.Printf("%s %s %q\n", s.Path, s.MsgType, s.Text)
	}
	// Output:
	// send_msg_on_event msgmenu ""
	// send_msg text "9:00-18:00"
	// send_msg text "echo: thanks!"
}

// Groups scope middleware and handlers to the messages their matcher accepts.
func ExampleBot_Group() {
	b, _ := bot.New(nopClient{}, storage.NewMemory())
	logged := func(next bot.HandlerFunc) bot.HandlerFunc {
		return func(c *bot.Context) error {
			fmt.Println("vip message:", c.Text())
			return next(c)
		}
	}
	vip := b.Group(bot.FromKF("wkVIP"))
	vip.Use(logged)
	vip.Handle(bot.Any(), func(c *bot.Context) error { fmt.Println("vip handler"); return nil })
	b.HandleDefault(func(c *bot.Context) error { fmt.Println("default handler"); return nil })

	for _, kfid := range []string{"wkVIP", "wkOther"} {
		_ = b.Dispatch(context.Background(), &syncmsg.Text{
			Header:  syncmsg.Header{MsgID: "m-" + kfid, OpenKFID: kfid, Origin: syncmsg.OriginCustomer, MsgType: syncmsg.TypeText},
			Content: "hello",
		})
	}
	// Output:
	// vip message: hello
	// vip handler
	// default handler
}

// The reply quota is enforced by the engine, before WeCom would refuse.
func ExampleContext_ReplyText_quota() {
	srv := kftest.NewServer()
	defer srv.Close()
	client := kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithBaseURL(srv.URL), kf.WithHTTPClient(srv.Client()))
	b, _ := bot.New(client, storage.NewMemory())
	b.Handle(bot.Any(), func(c *bot.Context) error {
		for i := 1; i <= 6; i++ {
			if err := c.ReplyText(fmt.Sprint("part ", i)); err != nil {
				fmt.Println(i, err)
			}
		}
		return nil
	})
	srv.AddText("wkShop", "wmAda", "tell me everything")
	_ = b.Pull(context.Background(), "wkShop")
	fmt.Println(len(srv.Sent()), "sent")
	// Output:
	// 6 bot: reply quota exceeded: at most 5 replies per customer message
	// 5 sent
}
