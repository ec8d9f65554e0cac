package kf_test

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/kf/syncmsg"
)

func ExampleClient_SyncMsg() {
	// A fake WeCom with two customer messages waiting.
	srv := kftest.NewServer()
	defer srv.Close()
	srv.AddText("wkAccount", "wmCustomer", "hello")
	srv.AddText("wkAccount", "wmCustomer", "where is my order?")

	client := kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithBaseURL(srv.URL))
	ctx := context.Background()
	cursor := "" // persist it after every page in a real bot
	for {
		page, err := client.SyncMsg(ctx, kf.SyncMsgRequest{OpenKFID: "wkAccount", Cursor: cursor})
		if err != nil {
			fmt.Println(err)
			return
		}
		msgs, err := page.Messages()
		if err != nil {
			fmt.Println(err) // bad items come back as *syncmsg.Unknown; the others are usable
		}
		for _, m := range msgs {
			if text, ok := m.(*syncmsg.Text); ok {
				fmt.Printf("%s: %s\n", text.ExternalUserID, text.Content)
			}
		}
		if page.NextCursor != "" {
			cursor = page.NextCursor
		}
		if !page.HasMore {
			break
		}
	}
	// Output:
	// wmCustomer: hello
	// wmCustomer: where is my order?
}

func ExampleClient_GetMedia() {
	// A fake WeCom holding a file a customer sent.
	srv := kftest.NewServer()
	defer srv.Close()
	id := srv.PutMedia("file", "invoice.txt", []byte("total: 42 yuan\n"))

	client := kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithBaseURL(srv.URL))
	m, err := client.GetMedia(context.Background(), kf.GetMediaRequest{MediaID: id})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	fmt.Println(m.FileName, m.Size)
	_, _ = io.Copy(os.Stdout, m) // streamed: never held whole
	// Output:
	// invoice.txt 15
	// total: 42 yuan
}
