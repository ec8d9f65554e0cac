package bot_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/storage"
)

type turnLine struct {
	Kind storage.TurnKind
	Text string
}

func transcriptOf(t *testing.T, e *env, user string) []turnLine {
	t.Helper()
	ts := e.store.(storage.TranscriptStore)
	turns, err := ts.Transcript(t.Context(), storage.Conversation{CorpID: e.srv.CorpID(), OpenKFID: testKF, ExternalUserID: user}, 0)
	require.NoError(t, err)
	var out []turnLine
	for _, x := range turns {
		out = append(out, turnLine{x.Kind, x.Text})
	}
	return out
}

// TestTranscriptsRecordTheConversation: customer messages, the bot's replies, the
// servicer's messages and the changes of hands, in order; "bot turns only" leaves out
// what passed between the customer and the person.
func TestTranscriptsRecordTheConversation(t *testing.T) {
	script := func(t *testing.T, mode bot.TranscriptMode) *env {
		e := newEnv(t)
		e.srv.AddServicer(testKF, "alice")
		b := e.newBot(bot.WithTranscripts(mode, storage.TranscriptLimits{}))
		b.Handle(bot.MsgType("text"), func(c *bot.Context) error { return c.ReplyText("echo " + c.Text()) })
		for _, step := range []func(){
			func() { e.srv.AddText(testKF, "wmA", "hi") },
			func() { e.srv.ServicerPickUp(testKF, "wmA", "alice") },
			func() { e.srv.AddServicerText(testKF, "wmA", "alice", "Alice here") },
			func() { e.srv.AddText(testKF, "wmA", "my order is late") },
			func() { e.srv.ServicerEnd(testKF, "wmA") },
			func() { e.srv.AddLocation(testKF, "wmA", 31.2, 121.4, "Office", "1 Road") },
		} {
			step()
			require.NoError(t, b.Pull(t.Context(), testKF))
		}
		return e
	}
	t.Run("on", func(t *testing.T) {
		e := script(t, bot.TranscriptsOn)
		assert.Equal(t, []turnLine{
			{storage.TurnCustomer, "hi"}, {storage.TurnBot, "echo hi"},
			{storage.TurnOwnership, "human"},
			{storage.TurnServicer, "Alice here"},
			{storage.TurnCustomer, "my order is late"},
			{storage.TurnOwnership, "bot"},
			{storage.TurnCustomer, "[location] Office 1 Road"},
		}, transcriptOf(t, e, "wmA"))
	})
	t.Run("bot turns only", func(t *testing.T) {
		e := script(t, bot.TranscriptsBotTurns)
		assert.Equal(t, []turnLine{
			{storage.TurnCustomer, "hi"}, {storage.TurnBot, "echo hi"},
			{storage.TurnOwnership, "human"},
			{storage.TurnOwnership, "bot"},
			{storage.TurnCustomer, "[location] Office 1 Road"},
		}, transcriptOf(t, e, "wmA"))
	})
}

// failFirstRecord is a memory store whose first page record fails.
type failFirstRecord struct {
	*storage.Memory
	failed atomic.Bool
}

func (s *failFirstRecord) Apply(ctx context.Context, b *storage.Batch) error {
	if len(b.Pending) == 0 && s.failed.CompareAndSwap(false, true) {
		return errors.New("injected: page record failed")
	}
	return s.Memory.Apply(ctx, b)
}

// TestTranscriptsSurviveAReplay: the page's turns were written, its record failed, the
// page is handled again: each turn is in the transcript once.
func TestTranscriptsSurviveAReplay(t *testing.T) {
	e := newEnv(t)
	store := &failFirstRecord{Memory: storage.NewMemory()}
	e.store = store
	b := e.newBot(bot.WithTranscripts(bot.TranscriptsOn, storage.TranscriptLimits{}))
	b.Handle(bot.MsgType("text"), func(c *bot.Context) error { return c.ReplyText("ok") })
	e.srv.AddText(testKF, "wmA", "hi")
	e.srv.AddText(testKF, "wmA", "again")
	require.Error(t, b.Pull(t.Context(), testKF))
	require.True(t, store.failed.Load())
	require.NoError(t, b.Pull(t.Context(), testKF))
	assert.Len(t, e.srv.SentTo(testKF, "wmA"), 2, "each answered once")
	assert.Equal(t, []turnLine{
		{storage.TurnCustomer, "hi"}, {storage.TurnBot, "ok"},
		{storage.TurnCustomer, "again"}, {storage.TurnBot, "ok"},
	}, transcriptOf(t, e, "wmA"))
}

func TestTranscriptsNeedAStoreThatKeepsThem(t *testing.T) {
	e := newEnv(t)
	_, err := bot.New(e.client, struct{ storage.Store }{e.store}, bot.WithTranscripts(bot.TranscriptsOn, storage.TranscriptLimits{}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "keeps no transcripts")
}
