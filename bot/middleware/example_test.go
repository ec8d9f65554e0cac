package middleware_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/bot/middleware"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

// customerText is a text message as the engine receives it from kf/sync_msg.
func customerText(msgID, user, content string) *syncmsg.Text {
	return &syncmsg.Text{Header: syncmsg.Header{
		MsgID: msgID, OpenKFID: "wkShop", ExternalUserID: user, Origin: syncmsg.OriginCustomer,
		MsgType: syncmsg.TypeText, SendTime: time.Now().Unix(),
	}, Content: content}
}

func ExampleAllow() {
	// A staging bot that only talks to the team's test customer.
	client := kf.NewClient("wwCorpID", "app-secret")
	b, err := bot.New(client, storage.NewMemory(), bot.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	b.Use(middleware.Allow(middleware.AccessConfig{ExternalUserIDs: []string{"wmTester"}}))
	b.HandleDefault(func(c *bot.Context) error {
		fmt.Printf("handling %q from %s\n", c.Text(), c.ExternalUserID())
		return nil
	})

	ctx := context.Background()
	_ = b.Dispatch(ctx, customerText("m1", "wmTester", "ping"))
	_ = b.Dispatch(ctx, customerText("m2", "wmRealCustomer", "hello")) // stops at Allow
	// Output: handling "ping" from wmTester
}

func ExampleBusinessHours() {
	// A fake WeCom where a customer writes on a Saturday.
	srv := kftest.NewServer()
	defer srv.Close()
	srv.AddText("wkShop", "wmCustomer", "Is my order ready?")

	client := kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithBaseURL(srv.URL))
	b, err := bot.New(client, storage.NewMemory(), bot.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	shanghai := time.FixedZone("CST", 8*3600)
	saturday := time.Date(2025, 3, 8, 11, 0, 0, 0, shanghai)
	hours, err := middleware.BusinessHours(middleware.BusinessHoursConfig{
		Reply:   "We are closed until Monday 9:00. A colleague will answer you then.",
		HandOff: true,                                 // queue the customer for the first shift
		Now:     func() time.Time { return saturday }, // omit in production: time.Now
	})
	if err != nil {
		panic(err)
	}
	b.Use(hours)
	b.HandleDefault(func(c *bot.Context) error { return c.ReplyText("the bot's usual answer") })

	if err := b.Pull(context.Background(), "wkShop"); err != nil {
		panic(err)
	}
	for _, s := range srv.Sent() {
		fmt.Println("sent:", s.Text)
	}
	fmt.Println("service state:", kf.ServiceState(srv.SessionState("wkShop", "wmCustomer")))
	// Output:
	// sent: We are closed until Monday 9:00. A colleague will answer you then.
	// service state: pool
}

func ExampleBusinessHoursConfig_IsOpen() {
	cfg := middleware.DefaultBusinessHoursConfig() // Mon–Fri 9:00–18:00, Asia/Shanghai
	shanghai := time.FixedZone("CST", 8*3600)
	for _, t := range []time.Time{
		time.Date(2025, 3, 3, 8, 59, 0, 0, shanghai), // Monday
		time.Date(2025, 3, 3, 9, 0, 0, 0, shanghai),  // Monday
		time.Date(2025, 3, 3, 18, 0, 0, 0, shanghai), // Monday
		time.Date(2025, 3, 3, 1, 30, 0, 0, time.UTC), // Monday, 9:30 in Shanghai
		time.Date(2025, 3, 8, 10, 0, 0, 0, shanghai), // Saturday
	} {
		fmt.Println(t.Format("Mon 15:04 MST"), cfg.IsOpen(t))
	}
	// Output:
	// Mon 08:59 CST false
	// Mon 09:00 CST true
	// Mon 18:00 CST false
	// Mon 01:30 UTC true
	// Sat 10:00 CST false
}

func ExampleRateLimit() {
	client := kf.NewClient("wwCorpID", "app-secret")
	b, err := bot.New(client, storage.NewMemory(), bot.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	now := time.Date(2025, 3, 3, 10, 0, 0, 0, time.UTC)
	b.Use(middleware.RateLimit(middleware.RateLimitConfig{
		Every: time.Minute, // one message per minute on average
		Burst: 2,           // after a burst of two
		OnLimited: func(c *bot.Context) error {
			fmt.Println("limited:", c.Text())
			return nil
		},
		Now: func() time.Time { return now }, // omit in production: time.Now
	}))
	b.HandleDefault(func(c *bot.Context) error {
		fmt.Println("handled:", c.Text())
		return nil
	})

	ctx := context.Background()
	for i, s := range []string{"one", "two", "three"} {
		_ = b.Dispatch(ctx, customerText(fmt.Sprint("m", i), "wmCustomer", s))
	}
	now = now.Add(time.Minute)
	_ = b.Dispatch(ctx, customerText("m3", "wmCustomer", "four"))
	// Output:
	// handled: one
	// handled: two
	// limited: three
	// handled: four
}
