package bot_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/storage"
)

// Media replies from a local file (or an https URL): uploaded on first use, and its
// media_id reused for later replies.
func ExampleContext_ReplyMedia() {
	srv := kftest.NewServer()
	defer srv.Close()
	client := kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithBaseURL(srv.URL), kf.WithHTTPClient(srv.Client()))
	dir, _ := os.MkdirTemp("", "kfbot-example")
	defer os.RemoveAll(dir)
	mapPNG := filepath.Join(dir, "map.png")
	_ = os.WriteFile(mapPNG, []byte("\x89PNG\r\n\x1a\n a map of the shop"), 0o600)

	b, _ := bot.New(client, storage.NewMemory())
	b.Handle(bot.Any(), func(c *bot.Context) error {
		return c.ReplyMedia(kf.MediaImage, mapPNG) // or "https://example.com/map.png"
	})
	srv.AddText("wkShop", "wmAda", "where are you?")
	srv.AddText("wkShop", "wmBob", "how do I find you?")
	_ = b.Pull(context.Background(), "wkShop")
	for _, user := range []string{"wmAda", "wmBob"} { // conversations run concurrently
		for _, s := range srv.SentTo("wkShop", user) {
			fmt.Println(s.Path, s.ToUser, s.MsgType)
		}
	}
	fmt.Println(srv.Calls("media/upload"), "upload")
	// Output:
	// send_msg wmAda image
	// send_msg wmBob image
	// 1 upload
}
