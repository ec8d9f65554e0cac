package bot_test

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/storage/badgerstore"
)

// Environment of the child process of TestExactlyOnceAcrossSIGKILL.
const (
	envChildURL    = "KFBOT_TEST_CHILD_URL"
	envChildDir    = "KFBOT_TEST_CHILD_DIR"
	envChildCorp   = "KFBOT_TEST_CHILD_CORP"
	envChildSecret = "KFBOT_TEST_CHILD_SECRET"
)

// TestExactlyOnceAcrossSIGKILL runs the engine in a child process on a Badger store,
// kills it with SIGKILL at random moments while it answers 2,000 messages, and restarts
// it on the same data directory: every customer message gets exactly one reply.
func TestExactlyOnceAcrossSIGKILL(t *testing.T) {
	if os.Getenv(envChildURL) != "" {
		runCrashChild(t)
		return
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}
	e := newEnv(t)
	want := appendTexts(e.srv, 400, 5)
	e.srv.SetMaxPageSize(150)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	total := int64(len(want))
	kills := 0
	for e.sends.load() < total {
		cmd := exec.Command(os.Args[0], "-test.run=^TestExactlyOnceAcrossSIGKILL$")
		cmd.Env = append(os.Environ(), envChildURL+"="+e.srv.URL, envChildDir+"="+dir,
			envChildCorp+"="+e.srv.CorpID(), envChildSecret+"="+e.srv.Secret())
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()

		target := min(total, e.sends.load()+int64(30+rng.IntN(300)))
		reached := make(chan struct{})
		go func() { e.sends.waitAtLeast(t, target); close(reached) }()
		select {
		case <-reached:
		case err := <-exited:
			t.Fatalf("child exited early: %v", err)
		}
		require.NoError(t, cmd.Process.Kill()) // SIGKILL: no cleanup, no Close
		<-exited
		kills++
	}

	// A clean run on the same directory finds nothing left to send.
	store, err := badgerstore.Open(dir, badgerstore.WithLogger(quietLog()))
	require.NoError(t, err)
	defer store.Close()
	b, err := bot.New(e.client, store, bot.WithLogger(quietLog()))
	require.NoError(t, err)
	b.Handle(bot.Any(), replyWithMsgID)
	require.NoError(t, b.Pull(t.Context(), testKF))
	assertExactlyOnce(t, e.srv, want)
	t.Logf("%d messages, %d SIGKILLs", total, kills)
}

// runCrashChild is the child: a bot on a Badger store that answers until it is killed.
func runCrashChild(t *testing.T) {
	store, err := badgerstore.Open(os.Getenv(envChildDir), badgerstore.WithLogger(quietLog()))
	require.NoError(t, err)
	client := kf.NewClient(os.Getenv(envChildCorp), os.Getenv(envChildSecret),
		kf.WithBaseURL(os.Getenv(envChildURL)), kf.WithLogger(quietLog()))
	b, err := bot.New(client, store, bot.WithLogger(quietLog()), bot.WithAccounts(testKF),
		bot.WithRetryDelay(time.Millisecond, 50*time.Millisecond))
	require.NoError(t, err)
	b.Handle(bot.Any(), replyWithMsgID)
	// The parent kills this process; the timeout only guards against an orphan.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_ = b.Run(ctx)
}
