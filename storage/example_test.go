package storage_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kfbot/kfbot/storage"
)

func ExampleNewMemory() {
	ctx := context.Background()
	s := storage.NewMemory()
	defer s.Close()

	acct := storage.Account{CorpID: "ww1234", OpenKFID: "wkAbc"}
	cur, _ := s.Cursor(ctx, acct)
	fmt.Printf("cursor before: %q\n", cur)
	_ = s.SetCursor(ctx, acct, "4gw7MepFLfgF2VC5npN")
	cur, _ = s.Cursor(ctx, acct)
	fmt.Printf("cursor after: %q\n", cur)

	first, _ := s.FirstSeen(ctx, storage.InboundKey(acct, "msg-1"), 0)
	again, _ := s.FirstSeen(ctx, storage.InboundKey(acct, "msg-1"), 0)
	fmt.Println("first time:", first, "second time:", again)

	conv := storage.Conversation{CorpID: "ww1234", OpenKFID: "wkAbc", ExternalUserID: "wmXyz"}
	_, err := s.Session(ctx, conv)
	fmt.Println("no session yet:", errors.Is(err, storage.ErrNotFound))
	_ = s.PutSession(ctx, &storage.Session{Conversation: conv, Messages: 1, RepliesLeft: 5}, 0)
	sess, _ := s.Session(ctx, conv)
	fmt.Println("messages:", sess.Messages, "replies left:", sess.RepliesLeft)

	_, _ = s.AcquireLease(ctx, storage.PullLease(acct), "replica-1", 30*time.Second)
	_, err = s.AcquireLease(ctx, storage.PullLease(acct), "replica-2", 30*time.Second)
	fmt.Println("second puller refused:", errors.Is(err, storage.ErrLeaseHeld))
	// Output:
	// cursor before: ""
	// cursor after: "4gw7MepFLfgF2VC5npN"
	// first time: true second time: false
	// no session yet: true
	// messages: 1 replies left: 5
	// second puller refused: true
}

func ExampleWithClock() {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := storage.NewMemory(storage.WithClock(func() time.Time { return now }))
	defer s.Close()

	_, _ = s.FirstSeen(ctx, "msg-1", time.Hour)
	now = now.Add(time.Hour)
	seen, _ := s.Seen(ctx, "msg-1")
	fmt.Println("seen after an hour:", seen)
	// Output:
	// seen after an hour: false
}
