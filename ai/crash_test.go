package ai_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/storage/badgerstore"
)

// Environment of the child process of TestAIAnswersExactlyOnceAcrossSIGKILL.
const (
	envChildURL    = "KFBOT_AI_TEST_CHILD_URL"
	envChildDir    = "KFBOT_AI_TEST_CHILD_DIR"
	envChildCorp   = "KFBOT_AI_TEST_CHILD_CORP"
	envChildSecret = "KFBOT_AI_TEST_CHILD_SECRET"
)

// crashAnswer is a non-deterministic model answer in three streamed paragraphs: each
// call gets a new random id, so two answers to one message can be told apart.
func crashAnswer(*ai.Request) ai.Step {
	id := rand.Uint64()
	var b strings.Builder
	for p := 1; p <= 3; p++ {
		fmt.Fprintf(&b, "Answer %016x part %d. %s\n\n", id, p, strings.Repeat("Some words to fill the paragraph. ", 45))
	}
	return ai.Step{Response: ai.Response{Text: b.String()}, Delay: time.Duration(rand.IntN(20)) * time.Millisecond}
}

var partRE = regexp.MustCompile(`^Answer ([0-9a-f]{16}) part ([1-3])\.`)

// TestAIAnswersExactlyOnceAcrossSIGKILL runs a bot answering 500 customers with a
// non-deterministic model in a child process on Badger, kills it with SIGKILL at random
// moments and restarts it, then finishes in process: every customer gets exactly one
// answer — its parts in order, each once, all of one answer, never a mix of two. (An
// answer whose stream a kill cut off ends with the parts stored before the kill: it is
// not continued by another answer.)
func TestAIAnswersExactlyOnceAcrossSIGKILL(t *testing.T) {
	if os.Getenv(envChildURL) != "" {
		runAICrashChild(t)
		return
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}
	srv := kftest.NewServer()
	defer srv.Close()
	var mu sync.Mutex
	sends := 0
	wake := make(chan struct{}, 1)
	srv.OnSend(func(kftest.Sent) {
		mu.Lock()
		sends++
		mu.Unlock()
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return sends
	}
	const customers = 500
	for i := range customers {
		srv.AddText(testKF, fmt.Sprintf("wmC%03d", i), "what about my order?")
	}
	srv.SetMaxPageSize(50)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 6))
	kills := 0
	deadline := time.Now().Add(5 * time.Minute)
	// Kill while most of the work is still ahead; the rest is finished in process.
	for count() < 3*customers/2 {
		require.True(t, time.Now().Before(deadline), "answers still missing after 5 minutes: %d of %d parts", count(), 3*customers)
		cmd := exec.Command(os.Args[0], "-test.run=^TestAIAnswersExactlyOnceAcrossSIGKILL$")
		cmd.Env = append(os.Environ(), envChildURL+"="+srv.URL, envChildDir+"="+dir,
			envChildCorp+"="+srv.CorpID(), envChildSecret+"="+srv.Secret())
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		target := min(3*customers/2, count()+20+rng.IntN(200))
		for count() < target {
			select {
			case <-wake:
			case err := <-exited:
				t.Fatalf("child exited early: %v", err)
			case <-time.After(time.Minute):
				t.Fatalf("no progress for a minute at %d parts", count())
			}
		}
		require.NoError(t, cmd.Process.Kill())
		<-exited
		kills++
	}

	// A clean run on the same directory answers the rest.
	store, err := badgerstore.Open(dir, badgerstore.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	defer store.Close()
	b := crashBot(t, srv.URL, srv.CorpID(), srv.Secret(), store)
	require.NoError(t, b.Pull(t.Context(), testKF))

	cut := 0
	for i := range customers {
		id := fmt.Sprintf("wmC%03d", i)
		answers := make(map[string][]string)
		for _, s := range srv.SentTo(testKF, id) {
			m := partRE.FindStringSubmatch(s.Text)
			require.NotNil(t, m, "%s got %q", id, s.Text)
			answers[m[1]] = append(answers[m[1]], m[2])
		}
		require.Len(t, answers, 1, "%s saw parts of %d answers", id, len(answers))
		for _, parts := range answers {
			require.NotEmpty(t, parts)
			assert.Equal(t, []string{"1", "2", "3"}[:len(parts)], parts, "%s: each part once, in order", id)
			if len(parts) < 3 {
				cut++
			}
		}
	}
	t.Logf("%d customers, %d SIGKILLs, %d answers cut off by a kill", customers, kills, cut)
}

func crashBot(t *testing.T, url, corp, secret string, store *badgerstore.Store) *bot.Bot {
	client := kf.NewClient(corp, secret, kf.WithBaseURL(url), kf.WithLogger(slog.New(slog.DiscardHandler)))
	b, err := bot.New(client, store, bot.WithLogger(slog.New(slog.DiscardHandler)), bot.WithAccounts(testKF),
		bot.WithRetryDelay(time.Millisecond, 50*time.Millisecond))
	require.NoError(t, err)
	model := ai.NewScripted()
	model.SetDefault(crashAnswer)
	asst, err := ai.New(model, ai.Settings{MergeWindow: -1, NoHandoff: true})
	require.NoError(t, err)
	b.HandleDefault(asst.Handle)
	return b
}

// runAICrashChild is the child: it answers until it is killed.
func runAICrashChild(t *testing.T) {
	store, err := badgerstore.Open(os.Getenv(envChildDir), badgerstore.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	b := crashBot(t, os.Getenv(envChildURL), os.Getenv(envChildCorp), os.Getenv(envChildSecret), store)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // an orphan's guard
	defer cancel()
	_ = b.Run(ctx)
}
