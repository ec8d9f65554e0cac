package storagetest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/storagetest"
)

func ExampleClock() {
	ctx := context.Background()
	clock := storagetest.NewClock(time.Time{})
	s := storage.NewMemory(storage.WithClock(clock.Now))
	defer s.Close()

	_, _ = s.FirstSeen(ctx, "msg-1", time.Hour)
	clock.Advance(59 * time.Minute)
	seen, _ := s.Seen(ctx, "msg-1")
	fmt.Println("after 59 minutes:", seen)
	clock.Advance(time.Minute)
	seen, _ = s.Seen(ctx, "msg-1")
	fmt.Println("after 60 minutes:", seen)
	fmt.Println(clock.Now().Format(time.RFC3339))
	// Output:
	// after 59 minutes: true
	// after 60 minutes: false
	// 2026-03-01T11:00:00Z
}
