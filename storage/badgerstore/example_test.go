package badgerstore_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/badgerstore"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "kfbot-example-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)

	store, err := badgerstore.Open(dir, badgerstore.WithLogger(log))
	if err != nil {
		fmt.Println(err)
		return
	}
	acct := storage.Account{CorpID: "ww1234", OpenKFID: "wkAbc"}
	_ = store.SetCursor(ctx, acct, "4gw7MepFLfgF2VC5npN")
	first, _ := store.FirstSeen(ctx, "msg-1", 0)
	fmt.Println("first time:", first)

	// A second open of the same directory fails at once.
	_, err = badgerstore.Open(dir, badgerstore.WithLogger(log))
	fmt.Println("second open locked:", err != nil)
	_ = store.Close()

	// Everything is there after a restart.
	store, err = badgerstore.Open(dir, badgerstore.WithLogger(log))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close()
	cur, _ := store.Cursor(ctx, acct)
	again, _ := store.FirstSeen(ctx, "msg-1", 0)
	fmt.Printf("cursor: %s, first time again: %v\n", cur, again)
	// Output:
	// first time: true
	// second open locked: true
	// cursor: 4gw7MepFLfgF2VC5npN, first time again: false
}

func ExampleStore_Backup() {
	ctx := context.Background()
	src, _ := badgerstore.OpenInMemory(badgerstore.WithLogger(slog.New(slog.DiscardHandler)))
	defer src.Close()
	_ = src.SetCursor(ctx, storage.Account{CorpID: "ww", OpenKFID: "wk"}, "cursor-1")

	var backup bytes.Buffer
	if err := src.Backup(ctx, &backup); err != nil {
		fmt.Println(err)
		return
	}
	dst, _ := badgerstore.OpenInMemory(badgerstore.WithLogger(slog.New(slog.DiscardHandler)))
	defer dst.Close()
	if err := dst.Restore(ctx, &backup); err != nil {
		fmt.Println(err)
		return
	}
	cur, _ := dst.Cursor(ctx, storage.Account{CorpID: "ww", OpenKFID: "wk"})
	fmt.Println(cur)
	// Output:
	// cursor-1
}
