package ai_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/rules"
	"github.com/kfbot/kfbot/storage"
	"github.com/kfbot/kfbot/storage/badgerstore"
)

// sendWatch counts kftest's accepted sends whose text has a prefix and keeps when each
// arrived, waking waiters.
type sendWatch struct {
	mu     sync.Mutex
	prefix string
	at     map[string]time.Time // external_userid → time of its last matching send
	n      int
	wake   chan struct{}
}

func newSendWatch(srv *kftest.Server, prefix string) *sendWatch {
	w := &sendWatch{prefix: prefix, at: make(map[string]time.Time), wake: make(chan struct{}, 1)}
	srv.OnSend(func(s kftest.Sent) {
		if !strings.HasPrefix(s.Text, w.prefix) {
			return
		}
		now := time.Now()
		w.mu.Lock()
		w.at[s.ToUser] = now
		w.n++
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
	})
	return w
}

func (w *sendWatch) waitFor(tb testing.TB, n int) {
	deadline := time.After(time.Minute)
	for {
		w.mu.Lock()
		got := w.n
		w.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-w.wake:
		case <-deadline:
			tb.Fatalf("only %d of %d sends within a minute", got, n)
		}
	}
}

// benchBot starts a bot on srv with store, whose handler answers texts starting with
// "kw" at once and gives the rest to asst; it stops when the benchmark ends.
func benchBot(b *testing.B, srv *kftest.Server, store storage.Store, asst *ai.Assistant) *bot.Bot {
	return startBot(b, srv, store, func(bt *bot.Bot) {
		bt.Handle(bot.TextPrefix("kw"), func(c *bot.Context) error { return c.ReplyText("kw answer") })
		bt.HandleDefault(asst.Handle)
	})
}

// startBot starts a bot on srv with store and the handlers setup registers; it stops
// when the benchmark ends.
func startBot(b *testing.B, srv *kftest.Server, store storage.Store, setup func(*bot.Bot)) *bot.Bot {
	client := kf.NewClient(srv.CorpID(), srv.Secret(), kf.WithBaseURL(srv.URL), kf.WithHTTPClient(srv.Client()),
		kf.WithLogger(slog.New(slog.DiscardHandler)))
	bt, err := bot.New(client, store, bot.WithLogger(slog.New(slog.DiscardHandler)), bot.WithAccounts(testKF),
		bot.WithShutdownTimeout(100*time.Millisecond))
	require.NoError(b, err)
	setup(bt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bt.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	return bt
}

// keywordRules answers "kw…" by a keyword rule and the rest with the model.
const keywordRules = `version: 1
rules:
  - name: price
    when: msg.type == "text" && msg.text startsWith "kw"
    then: [{reply: "kw answer"}]
  - name: model
    when: msg.type == "text"
    then: [{ai: {merge_window: 0s, handoff: false}}]
`

// BenchmarkKeywordRepliesWhileTheModelIsSlow: 100 conversations wait for a model that
// takes 5 s while 100 others are answered by a keyword rule, on Badger; it reports the
// keyword replies' latency (message added to its reply accepted by the fake WeCom).
func BenchmarkKeywordRepliesWhileTheModelIsSlow(b *testing.B) {
	srv := kftest.NewServer()
	defer srv.Close()
	store, err := badgerstore.Open(b.TempDir(), badgerstore.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(b, err)
	defer store.Close()
	model := ai.NewScripted()
	model.SetDefault(func(*ai.Request) ai.Step {
		return ai.Step{Response: ai.Response{Text: "the slow answer"}, Delay: 5 * time.Second}
	})
	set, err := rules.Load(strings.NewReader(keywordRules), "rules.yaml", rules.WithLogger(slog.New(slog.DiscardHandler)),
		rules.WithModel(model, ai.WithConcurrency(100)))
	require.NoError(b, err)
	bt := startBot(b, srv, store, func(bt *bot.Bot) { require.NoError(b, bt.Install(set)) })
	kw := newSendWatch(srv, "kw")

	var lat []time.Duration
	sent := 0
	for b.Loop() {
		for i := range 100 { // keep the model's conversations busy
			srv.AddText(testKF, fmt.Sprintf("wmAI%03d", i), "a hard question")
		}
		bt.Notify(testKF, "")
		added := make(map[string]time.Time, 100)
		for i := range 100 {
			id := fmt.Sprintf("wmKW%03d", i)
			added[id] = time.Now()
			srv.AddText(testKF, id, "kw price")
			bt.Notify(testKF, "")
		}
		sent += 100
		kw.waitFor(b, sent)
		kw.mu.Lock()
		for id, t := range added {
			lat = append(lat, kw.at[id].Sub(t))
		}
		kw.mu.Unlock()
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkAIPath measures the engine's cost of an answer through the assistant (the
// deferral to the lane, its record, the memo, the shaping) with a model that answers at
// once, beside the same reply from a plain handler: the difference per message is the
// AI path's overhead, the model's own time excluded.
func BenchmarkAIPath(b *testing.B) {
	for _, store := range []string{"memory", "badger"} {
		for _, path := range []string{"plain", "ai"} {
			b.Run(store+"/"+path, func(b *testing.B) {
				srv := kftest.NewServer()
				defer srv.Close()
				var st storage.Store = storage.NewMemory()
				if store == "badger" {
					bs, err := badgerstore.Open(b.TempDir(), badgerstore.WithLogger(slog.New(slog.DiscardHandler)))
					require.NoError(b, err)
					defer bs.Close()
					st = bs
				}
				model := ai.NewScripted()
				model.SetDefault(func(*ai.Request) ai.Step { return ai.Say("kw the answer") })
				asst, err := ai.New(model, ai.Settings{MergeWindow: -1, NoHandoff: true})
				require.NoError(b, err)
				bt := benchBot(b, srv, st, asst)
				watch := newSendWatch(srv, "kw")
				text := "a question"
				if path == "plain" {
					text = "kw question"
				}
				n := 0
				for b.Loop() {
					for range 100 {
						srv.AddText(testKF, fmt.Sprintf("wm%07d", n), text)
						n++
					}
					bt.Notify(testKF, "")
					watch.waitFor(b, n)
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "µs/msg")
			})
		}
	}
}
