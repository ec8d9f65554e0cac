package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
)

// TranscriptTurns and TranscriptCap size the cap test: TranscriptTurns turns written into
// one conversation with MaxTurns TranscriptCap keep the newest TranscriptCap.
const (
	TranscriptTurns = 500
	TranscriptCap   = 200
)

// transcriptTests are [Run]'s tests of [storage.TranscriptStore], skipped for stores
// that do not implement it.
var transcriptTests = []struct {
	name string
	fn   func(t *testing.T, s storage.TranscriptStore, c *Clock)
	real func(t *testing.T, s storage.TranscriptStore, rt *realTime)
}{
	{"Transcript/Order", testTranscriptOrder, nil},
	{"Transcript/Idempotent", testTranscriptIdempotent, nil},
	{"Transcript/Cap", testTranscriptCap, nil},
	{"Transcript/TTL", testTranscriptTTL, realTranscriptTTL},
	{"Transcript/Isolation", testTranscriptIsolation, nil},
	{"Transcript/Scan", testTranscriptScan, nil},
	{"Transcript/Concurrent", testTranscriptConcurrent, nil},
	{"Transcript/Invalid", testTranscriptInvalid, nil},
}

// asTranscripts adapts a transcript test to [Run]'s table; it skips the test when s is
// not a [storage.TranscriptStore].
func asTranscripts(fn func(*testing.T, storage.TranscriptStore, *Clock)) func(*testing.T, storage.Store, *Clock) {
	return func(t *testing.T, s storage.Store, c *Clock) {
		fn(t, transcriptStore(t, s), c)
	}
}

func asRealTranscripts(fn func(*testing.T, storage.TranscriptStore, *realTime)) func(*testing.T, storage.Store, *realTime) {
	if fn == nil {
		return nil
	}
	return func(t *testing.T, s storage.Store, rt *realTime) {
		fn(t, transcriptStore(t, s), rt)
	}
}

func transcriptStore(t *testing.T, s storage.Store) storage.TranscriptStore {
	t.Helper()
	ts, ok := s.(storage.TranscriptStore)
	if !ok {
		t.Skipf("%T does not implement storage.TranscriptStore", s)
	}
	return ts
}

var transcriptConv = storage.Conversation{CorpID: "ww1234567890", OpenKFID: "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q", ExternalUserID: "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"}

// page is a conversation page: a customer message, two bot replies, a servicer message,
// and an ownership change without a msgid, starting at start, one second apart.
func page(conv storage.Conversation, msgID string, start time.Time) []storage.Turn {
	return []storage.Turn{
		{Conversation: conv, Time: start, MsgID: msgID, Kind: storage.TurnCustomer, MsgType: "text", Text: "你好, where is my order?"},
		{Conversation: conv, Time: start.Add(time.Second), MsgID: msgID, Seq: 0, Kind: storage.TurnBot, MsgType: "text", Text: "Let me check."},
		{Conversation: conv, Time: start.Add(2 * time.Second), MsgID: msgID, Seq: 1, Kind: storage.TurnBot, MsgType: "msgmenu", Text: "[menu] track / cancel"},
		{Conversation: conv, Time: start.Add(3 * time.Second), Kind: storage.TurnOwnership, MsgType: "event", Text: "human"},
		{Conversation: conv, Time: start.Add(4 * time.Second), MsgID: msgID + "-s", Kind: storage.TurnServicer, MsgType: "image", Text: "[image]"},
	}
}

// normalized is turns as a store gives them back: times in UTC without a monotonic reading.
func normalized(turns []storage.Turn) []storage.Turn {
	out := make([]storage.Turn, len(turns))
	for i, t := range turns {
		t.Time = t.Time.UTC()
		out[i] = t
	}
	return out
}

func transcript(t *testing.T, s storage.TranscriptStore, conv storage.Conversation, limit int) []storage.Turn {
	t.Helper()
	got, err := s.Transcript(t.Context(), conv, limit)
	require.NoError(t, err)
	return got
}

func testTranscriptOrder(t *testing.T, s storage.TranscriptStore, c *Clock) {
	ctx := t.Context()
	assert.Empty(t, transcript(t, s, transcriptConv, 0), "a new store has no transcript")

	start := c.Now()
	first := page(transcriptConv, "msg1", start)
	second := page(transcriptConv, "msg2", start.Add(time.Minute))
	// Written newest page first, and within a call out of order: the transcript is by Time.
	require.NoError(t, s.AppendTurns(ctx, second, storage.TranscriptLimits{}))
	require.NoError(t, s.AppendTurns(ctx, []storage.Turn{first[3], first[1], first[0], first[4], first[2]}, storage.TranscriptLimits{}))
	want := normalized(append(append([]storage.Turn(nil), first...), second...))
	got := transcript(t, s, transcriptConv, 0)
	require.Equal(t, want, got)
	assert.Equal(t, time.UTC, got[0].Time.Location())
	assert.Equal(t, want, transcript(t, s, transcriptConv, -1), "a negative limit means all")
	assert.Equal(t, want, transcript(t, s, transcriptConv, 100), "a limit beyond the length")
	assert.Equal(t, want[len(want)-3:], transcript(t, s, transcriptConv, 3), "the newest 3, oldest first")

	// Turns of equal Time keep their order of insertion, within a call and across calls.
	tie := start.Add(time.Hour)
	tied := []storage.Turn{
		{Conversation: transcriptConv, Time: tie, MsgID: "t1", Kind: storage.TurnCustomer, Text: "a"},
		{Conversation: transcriptConv, Time: tie, MsgID: "t1", Kind: storage.TurnBot, Text: "b"},
	}
	require.NoError(t, s.AppendTurns(ctx, tied, storage.TranscriptLimits{}))
	later := storage.Turn{Conversation: transcriptConv, Time: tie, MsgID: "t0", Kind: storage.TurnCustomer, Text: "c"}
	require.NoError(t, s.AppendTurns(ctx, []storage.Turn{later}, storage.TranscriptLimits{}))
	assert.Equal(t, normalized(append(tied, later)), transcript(t, s, transcriptConv, 3))

	// A zone and a monotonic reading do not change the stored instant.
	zone := time.FixedZone("CST", 8*3600)
	other := storage.Conversation{CorpID: transcriptConv.CorpID, OpenKFID: transcriptConv.OpenKFID, ExternalUserID: "wm-zone"}
	local := storage.Turn{Conversation: other, Time: time.Now().In(zone), MsgID: "z", Kind: storage.TurnCustomer, Text: strings.Repeat("长", storage.MaxTurnText/3)}
	require.NoError(t, s.AppendTurns(ctx, []storage.Turn{local}, storage.TranscriptLimits{}))
	got = transcript(t, s, other, 0)
	require.Len(t, got, 1)
	assert.True(t, local.Time.Equal(got[0].Time))
	assert.Equal(t, local.Text, got[0].Text)

	require.NoError(t, s.AppendTurns(ctx, nil, storage.TranscriptLimits{}), "appending nothing")
}

func testTranscriptIdempotent(t *testing.T, s storage.TranscriptStore, c *Clock) {
	ctx := t.Context()
	start := c.Now()
	turns := page(transcriptConv, "msg1", start)
	require.NoError(t, s.AppendTurns(ctx, turns, storage.TranscriptLimits{}))
	want := normalized(turns)

	// The replay after a crash: the same page, the bot replies and the ownership change
	// with the same identity, the bot's replies sent (and timed) later and worded anew.
	replay := page(transcriptConv, "msg1", start)
	replay[1].Time, replay[1].Text = start.Add(time.Minute), "Let me check again."
	replay[2].Time = start.Add(time.Minute)
	for range 2 {
		require.NoError(t, s.AppendTurns(ctx, replay, storage.TranscriptLimits{}))
		assert.Equal(t, want, transcript(t, s, transcriptConv, 0), "a replay stores nothing; the first write wins")
	}

	// Twice in one call is once.
	twice := storage.Turn{Conversation: transcriptConv, Time: start.Add(time.Hour), MsgID: "msg2", Kind: storage.TurnCustomer, Text: "again"}
	require.NoError(t, s.AppendTurns(ctx, []storage.Turn{twice, twice}, storage.TranscriptLimits{}))
	want = append(want, normalized([]storage.Turn{twice})...)
	assert.Equal(t, want, transcript(t, s, transcriptConv, 0))

	// Each part of the identity counts: Seq, Kind, MsgID, and Time when MsgID is empty.
	base := storage.Turn{Conversation: transcriptConv, Time: start.Add(2 * time.Hour), MsgID: "msg3", Kind: storage.TurnBot, Text: "x"}
	variants := []storage.Turn{base, base, base, base}
	variants[1].Seq = 1
	variants[2].Kind = storage.TurnServicer
	variants[3].MsgID = "msg3b"
	own := storage.Turn{Conversation: transcriptConv, Time: start.Add(3 * time.Hour), Kind: storage.TurnOwnership, Text: "human"}
	ownLater := own
	ownLater.Time, ownLater.Text = own.Time.Add(time.Nanosecond), "bot"
	ownBot := own
	ownBot.Kind, ownBot.Text = storage.TurnBot, "no msgid"
	all := append(append([]storage.Turn(nil), variants...), own, ownBot, ownLater)
	require.NoError(t, s.AppendTurns(ctx, all, storage.TranscriptLimits{}))
	require.NoError(t, s.AppendTurns(ctx, all, storage.TranscriptLimits{}))
	want = append(want, normalized(all)...)
	assert.Equal(t, want, transcript(t, s, transcriptConv, 0))
}

func testTranscriptCap(t *testing.T, s storage.TranscriptStore, c *Clock) {
	ctx := t.Context()
	start := c.Now()
	numbered := func(conv storage.Conversation, n int) []storage.Turn {
		turns := make([]storage.Turn, n)
		for i := range turns {
			turns[i] = storage.Turn{Conversation: conv, Time: start.Add(time.Duration(i) * time.Second),
				MsgID: fmt.Sprintf("m%04d", i), Kind: storage.TurnCustomer, MsgType: "text", Text: fmt.Sprintf("turn %d", i)}
		}
		return turns
	}
	limits := storage.TranscriptLimits{MaxTurns: TranscriptCap}
	conv := func(user string) storage.Conversation {
		return storage.Conversation{CorpID: transcriptConv.CorpID, OpenKFID: transcriptConv.OpenKFID, ExternalUserID: user}
	}

	t.Run("OneCall", func(t *testing.T) {
		turns := numbered(conv("one-call"), TranscriptTurns)
		require.NoError(t, s.AppendTurns(ctx, turns, limits))
		assert.Equal(t, normalized(turns[TranscriptTurns-TranscriptCap:]), transcript(t, s, conv("one-call"), 0))
	})
	t.Run("Pages", func(t *testing.T) {
		turns := numbered(conv("pages"), TranscriptTurns)
		for i := 0; i < len(turns); i += 16 {
			require.NoError(t, s.AppendTurns(ctx, turns[i:min(i+16, len(turns))], limits))
			n := min(i+16, len(turns))
			assert.Len(t, transcript(t, s, conv("pages"), 0), min(n, TranscriptCap), "after %d turns", n)
		}
		assert.Equal(t, normalized(turns[TranscriptTurns-TranscriptCap:]), transcript(t, s, conv("pages"), 0))
	})
	t.Run("NewestByTime", func(t *testing.T) {
		// Written newest first: the cap keeps the newest by Time, not the last written.
		turns := numbered(conv("reversed"), 30)
		for i := len(turns) - 1; i >= 0; i-- {
			require.NoError(t, s.AppendTurns(ctx, turns[i:i+1], storage.TranscriptLimits{MaxTurns: 10}))
		}
		assert.Equal(t, normalized(turns[20:]), transcript(t, s, conv("reversed"), 0))
	})
	t.Run("Default", func(t *testing.T) {
		turns := numbered(conv("default"), storage.DefaultTranscriptTurns+50)
		require.NoError(t, s.AppendTurns(ctx, turns, storage.TranscriptLimits{}))
		assert.Equal(t, normalized(turns[50:]), transcript(t, s, conv("default"), 0))
	})
	t.Run("ScanAll", func(t *testing.T) {
		// A scan of more turns than a store may read at once gives each conversation's
		// transcript, in one piece.
		got := scan(t, s, storage.TurnQuery{})
		for i := 0; i < len(got); {
			conv := got[i].Conversation
			want := transcript(t, s, conv, 0)
			require.GreaterOrEqual(t, len(got)-i, len(want), "conversation %+v", conv)
			assert.Equal(t, want, got[i:i+len(want)], "conversation %+v", conv)
			i += len(want)
		}
		assert.Equal(t, 2*TranscriptCap+10+storage.DefaultTranscriptTurns, len(got), "turns in all")
	})
	t.Run("PerConversation", func(t *testing.T) {
		// The cap of one conversation leaves the others alone.
		a, b := numbered(conv("cap-a"), 5), numbered(conv("cap-b"), 5)
		require.NoError(t, s.AppendTurns(ctx, append(append([]storage.Turn(nil), a...), b...), storage.TranscriptLimits{MaxTurns: 5}))
		require.NoError(t, s.AppendTurns(ctx, numbered(conv("cap-c"), 3), storage.TranscriptLimits{MaxTurns: 1}))
		assert.Len(t, transcript(t, s, conv("cap-a"), 0), 5)
		assert.Len(t, transcript(t, s, conv("cap-b"), 0), 5)
		assert.Len(t, transcript(t, s, conv("cap-c"), 0), 1)
	})
}

func testTranscriptTTL(t *testing.T, s storage.TranscriptStore, c *Clock) {
	ctx := t.Context()
	const ttl = 10 * time.Minute
	limits := storage.TranscriptLimits{TTL: ttl}
	other := storage.Conversation{CorpID: transcriptConv.CorpID, OpenKFID: transcriptConv.OpenKFID, ExternalUserID: "wm-other"}
	old := storage.Turn{Conversation: transcriptConv, Time: c.Now().Add(-time.Minute), MsgID: "old", Kind: storage.TurnCustomer, Text: "old"}
	fresh := storage.Turn{Conversation: transcriptConv, Time: c.Now(), MsgID: "fresh", Kind: storage.TurnCustomer, Text: "fresh"}
	long := storage.Turn{Conversation: other, Time: c.Now(), MsgID: "long", Kind: storage.TurnCustomer, Text: "default ttl"}
	require.NoError(t, s.AppendTurns(ctx, []storage.Turn{old, fresh}, limits))
	require.NoError(t, s.AppendTurns(ctx, []storage.Turn{long}, storage.TranscriptLimits{}))
	gone := storage.Turn{Conversation: transcriptConv, Time: c.Now().Add(-ttl), MsgID: "gone", Kind: storage.TurnCustomer}
	require.NoError(t, s.AppendTurns(ctx, []storage.Turn{gone}, limits))
	assert.Equal(t, normalized([]storage.Turn{old, fresh}), transcript(t, s, transcriptConv, 0), "a turn expired already is not stored")

	// The TTL counts from the turn's Time.
	c.Advance(ttl - time.Minute - time.Nanosecond)
	assert.Len(t, transcript(t, s, transcriptConv, 0), 2, "one nanosecond before the first expiry")
	c.Advance(time.Nanosecond)
	assert.Equal(t, normalized([]storage.Turn{fresh}), transcript(t, s, transcriptConv, 0), "at the first expiry")
	assert.ElementsMatch(t, normalized([]storage.Turn{fresh, long}), scan(t, s, storage.TurnQuery{}), "scan skips expired turns too")
	c.Advance(time.Minute)
	assert.Empty(t, transcript(t, s, transcriptConv, 0), "at expiry")
	assert.Equal(t, normalized([]storage.Turn{long}), scan(t, s, storage.TurnQuery{}), "only the default-TTL turn is left")

	// Replaying the expired turns stores nothing; a new turn starts a new transcript.
	require.NoError(t, s.AppendTurns(ctx, []storage.Turn{old, fresh}, limits))
	assert.Empty(t, transcript(t, s, transcriptConv, 0))
	next := storage.Turn{Conversation: transcriptConv, Time: c.Now(), MsgID: "next", Kind: storage.TurnCustomer, Text: "next"}
	require.NoError(t, s.AppendTurns(ctx, []storage.Turn{next}, limits))
	assert.Equal(t, normalized([]storage.Turn{next}), transcript(t, s, transcriptConv, 0))

	// The default TTL.
	c.Advance(storage.DefaultTranscriptTTL - ttl - time.Nanosecond)
	assert.Len(t, transcript(t, s, other, 0), 1, "one nanosecond before the default expiry")
	c.Advance(time.Nanosecond)
	assert.Empty(t, transcript(t, s, other, 0), "at the default expiry")
	assert.Empty(t, scan(t, s, storage.TurnQuery{}))
}

func realTranscriptTTL(t *testing.T, s storage.TranscriptStore, rt *realTime) {
	ctx := t.Context()
	limits := storage.TranscriptLimits{TTL: rt.ttl}
	var conv storage.Conversation
	rt.fresh(t, "wm-real", func(user string) func() {
		conv = storage.Conversation{CorpID: transcriptConv.CorpID, OpenKFID: transcriptConv.OpenKFID, ExternalUserID: user}
		turn := storage.Turn{Conversation: conv, Time: time.Now(), MsgID: "m1", Kind: storage.TurnCustomer, Text: "hi"}
		err1 := s.AppendTurns(ctx, []storage.Turn{turn}, limits)
		got, err2 := s.Transcript(ctx, conv, 0)
		return func() {
			require.NoError(t, errors.Join(err1, err2))
			assert.Len(t, got, 1, "before expiry")
		}
	})
	long := storage.Turn{Conversation: transcriptConv, Time: time.Now(), MsgID: "long", Kind: storage.TurnCustomer, Text: "stays"}
	require.NoError(t, s.AppendTurns(ctx, []storage.Turn{long}, storage.TranscriptLimits{TTL: time.Hour}))
	rt.expire(t, "turn", func() (bool, error) {
		got, err := s.Transcript(ctx, conv, 0)
		return len(got) == 0, err
	})
	var left []storage.Turn
	require.NoError(t, s.ScanTurns(ctx, storage.TurnQuery{}, func(t storage.Turn) error { left = append(left, t); return nil }))
	require.Len(t, left, 1, "scan skips the expired turn")
	assert.Equal(t, "long", left[0].MsgID)
}

func scan(t *testing.T, s storage.TranscriptStore, q storage.TurnQuery) []storage.Turn {
	t.Helper()
	var got []storage.Turn
	require.NoError(t, s.ScanTurns(t.Context(), q, func(turn storage.Turn) error {
		got = append(got, turn)
		return nil
	}))
	return got
}

func testTranscriptIsolation(t *testing.T, s storage.TranscriptStore, c *Clock) {
	ctx := t.Context()
	// Conversations that a naive concatenation or separator would confuse.
	convs := []storage.Conversation{
		{CorpID: "corp", OpenKFID: "wk1", ExternalUserID: "wm1"},
		{CorpID: "corp2", OpenKFID: "wk1", ExternalUserID: "wm1"},
		{CorpID: "", OpenKFID: "wk1", ExternalUserID: "wm1"},
		{CorpID: "corp", OpenKFID: "wk2", ExternalUserID: "wm1"},
		{CorpID: "corp", OpenKFID: "wk1", ExternalUserID: "wm2"},
		{CorpID: "ab", OpenKFID: "c", ExternalUserID: "d"},
		{CorpID: "a", OpenKFID: "bc", ExternalUserID: "d"},
		{CorpID: "a", OpenKFID: "b", ExternalUserID: "cd"},
		{CorpID: "a\x00b", OpenKFID: "c", ExternalUserID: "d"},
		{CorpID: "a", OpenKFID: "b/c", ExternalUserID: "d"},
		{CorpID: "a", OpenKFID: "b", ExternalUserID: "c/d"},
	}
	for i, conv := range convs {
		turn := storage.Turn{Conversation: conv, Time: c.Now().Add(time.Duration(i) * time.Second), MsgID: "same-msgid", Kind: storage.TurnCustomer, Text: fmt.Sprint(i)}
		require.NoError(t, s.AppendTurns(ctx, []storage.Turn{turn}, storage.TranscriptLimits{MaxTurns: 1}))
	}
	for i, conv := range convs {
		got := transcript(t, s, conv, 0)
		require.Len(t, got, 1, "conversation %+v", conv)
		assert.Equal(t, fmt.Sprint(i), got[0].Text, "conversation %+v", conv)
		assert.Equal(t, conv, got[0].Conversation)
	}
	// A msgid equal to another conversation's parts finds nothing of it.
	assert.Empty(t, transcript(t, s, storage.Conversation{CorpID: "corp", OpenKFID: "wk1", ExternalUserID: "wm1same-msgid"}, 0))
	assert.Empty(t, transcript(t, s, storage.Conversation{CorpID: "corp", OpenKFID: "wk1"}, 0), "no prefix matches")
	assert.Len(t, scan(t, s, storage.TurnQuery{CorpID: "corp"}), 3)
	assert.Len(t, scan(t, s, storage.TurnQuery{CorpID: "a"}), 4, "corp a, not ab or a\\x00b")
}

func testTranscriptScan(t *testing.T, s storage.TranscriptStore, c *Clock) {
	ctx := t.Context()
	start := c.Now()
	convs := []storage.Conversation{
		{CorpID: "ww1", OpenKFID: "wkA", ExternalUserID: "wm1"},
		{CorpID: "ww1", OpenKFID: "wkA", ExternalUserID: "wm2"},
		{CorpID: "ww1", OpenKFID: "wkB", ExternalUserID: "wm1"},
		{CorpID: "ww2", OpenKFID: "wkA", ExternalUserID: "wm1"},
	}
	var all []storage.Turn
	for i, conv := range convs {
		p := page(conv, fmt.Sprintf("msg%d", i), start.Add(time.Duration(i)*time.Second))
		all = append(all, p...)
	}
	// Interleaved across conversations, in one call.
	var mixed []storage.Turn
	for j := range 5 {
		for i := range convs {
			mixed = append(mixed, all[i*5+j])
		}
	}
	require.NoError(t, s.AppendTurns(ctx, mixed, storage.TranscriptLimits{}))

	since := start.Add(3 * time.Second)
	tests := []struct {
		name string
		q    storage.TurnQuery
		want func(storage.Turn) bool
	}{
		{"All", storage.TurnQuery{}, func(storage.Turn) bool { return true }},
		{"Corp", storage.TurnQuery{CorpID: "ww1"}, func(t storage.Turn) bool { return t.CorpID == "ww1" }},
		{"OpenKFID", storage.TurnQuery{OpenKFID: "wkA"}, func(t storage.Turn) bool { return t.OpenKFID == "wkA" }},
		{"CorpAndOpenKFID", storage.TurnQuery{CorpID: "ww1", OpenKFID: "wkA"}, func(t storage.Turn) bool { return t.CorpID == "ww1" && t.OpenKFID == "wkA" }},
		{"Since", storage.TurnQuery{Since: since}, func(t storage.Turn) bool { return !t.Time.Before(since) }},
		{"SinceAndCorp", storage.TurnQuery{Since: since, CorpID: "ww2"}, func(t storage.Turn) bool { return !t.Time.Before(since) && t.CorpID == "ww2" }},
		{"None", storage.TurnQuery{CorpID: "ww3"}, func(storage.Turn) bool { return false }},
		{"Future", storage.TurnQuery{Since: start.Add(time.Hour)}, func(storage.Turn) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scan(t, s, tt.q)
			var want []storage.Turn
			for _, turn := range normalized(all) {
				if tt.want(turn) {
					want = append(want, turn)
				}
			}
			assert.ElementsMatch(t, want, got)
			// Grouped by conversation, oldest first within one.
			done := make(map[storage.Conversation]bool)
			for i, turn := range got {
				if i > 0 && got[i-1].Conversation == turn.Conversation {
					assert.False(t, turn.Time.Before(got[i-1].Time), "turn %d is older than the one before", i)
					continue
				}
				assert.False(t, done[turn.Conversation], "conversation %+v comes twice", turn.Conversation)
				done[turn.Conversation] = true
			}
		})
	}

	t.Run("StopsAtError", func(t *testing.T) {
		stop := errors.New("stop here")
		calls := 0
		err := s.ScanTurns(ctx, storage.TurnQuery{}, func(storage.Turn) error {
			calls++
			if calls == 3 {
				return stop
			}
			return nil
		})
		require.ErrorIs(t, err, stop)
		assert.Equal(t, 3, calls)
	})
	t.Run("CallsTheStore", func(t *testing.T) {
		// fn may use the store, writes included.
		n := 0
		err := s.ScanTurns(ctx, storage.TurnQuery{CorpID: "ww2"}, func(turn storage.Turn) error {
			n++
			if _, err := s.Transcript(ctx, turn.Conversation, 1); err != nil {
				return err
			}
			turn.MsgID += "-copy"
			turn.CorpID = "ww9"
			return s.AppendTurns(ctx, []storage.Turn{turn}, storage.TranscriptLimits{})
		})
		require.NoError(t, err)
		assert.Equal(t, 5, n)
		assert.Len(t, scan(t, s, storage.TurnQuery{CorpID: "ww9"}), 5)
	})
}

func testTranscriptConcurrent(t *testing.T, s storage.TranscriptStore, c *Clock) {
	ctx := t.Context()
	const workers, pages = 8, 10
	start := c.Now()
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Go(func() {
			for p := range pages {
				turns := page(transcriptConv, fmt.Sprintf("w%d-p%d", w, p), start.Add(time.Duration(p)*time.Minute))
				turns = slices.Delete(turns, 3, 4) // the workers' ownership changes (no msgid, same time) are one
				if err := s.AppendTurns(ctx, turns, storage.TranscriptLimits{MaxTurns: 1000}); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	got := transcript(t, s, transcriptConv, 0)
	assert.Equal(t, workers*pages*4, len(got), "every turn is stored")
	for i := 1; i < len(got); i++ {
		assert.False(t, got[i].Time.Before(got[i-1].Time), "turn %d is older than the one before", i)
	}
}

func testTranscriptInvalid(t *testing.T, s storage.TranscriptStore, c *Clock) {
	ctx := t.Context()
	valid := storage.Turn{Conversation: transcriptConv, Time: c.Now(), MsgID: "ok", Kind: storage.TurnCustomer, Text: "ok"}
	tests := []struct {
		name   string
		change func(*storage.Turn)
		want   string
	}{
		{"EmptyOpenKFID", func(t *storage.Turn) { t.OpenKFID = "" }, "empty open_kfid"},
		{"EmptyExternalUserID", func(t *storage.Turn) { t.ExternalUserID = "" }, "empty external_userid"},
		{"ZeroKind", func(t *storage.Turn) { t.Kind = 0 }, "invalid kind"},
		{"UnknownKind", func(t *storage.Turn) { t.Kind = storage.TurnOwnership + 1 }, "invalid kind"},
		{"ZeroTime", func(t *storage.Turn) { t.Time = time.Time{} }, "zero time"},
		{"NegativeSeq", func(t *storage.Turn) { t.Seq = -1 }, "negative seq"},
		{"TextTooLong", func(t *storage.Turn) { t.Text = strings.Repeat("x", storage.MaxTurnText+1) }, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := valid
			bad.MsgID = "bad"
			tt.change(&bad)
			err := s.AppendTurns(ctx, []storage.Turn{valid, bad}, storage.TranscriptLimits{})
			require.ErrorIs(t, err, storage.ErrInvalidTurn)
			assert.ErrorContains(t, err, tt.want)
			assert.ErrorContains(t, err, "turn 1", "the error names the bad turn")
			assert.Empty(t, scan(t, s, storage.TurnQuery{}), "nothing is written")
		})
	}

	t.Run("CanceledAndClosed", func(t *testing.T) {
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		err := s.AppendTurns(canceled, []storage.Turn{valid}, storage.TranscriptLimits{})
		assert.ErrorIs(t, err, context.Canceled)
		_, err = s.Transcript(canceled, transcriptConv, 0)
		assert.ErrorIs(t, err, context.Canceled)
		err = s.ScanTurns(canceled, storage.TurnQuery{}, func(storage.Turn) error { return nil })
		assert.ErrorIs(t, err, context.Canceled)
		assert.Empty(t, scan(t, s, storage.TurnQuery{}), "nothing is written")

		closer, ok := s.(interface{ Close() error })
		if !ok {
			return
		}
		require.NoError(t, closer.Close())
		err = s.AppendTurns(ctx, []storage.Turn{valid}, storage.TranscriptLimits{})
		assert.ErrorIs(t, err, storage.ErrClosed)
		_, err = s.Transcript(ctx, transcriptConv, 0)
		assert.ErrorIs(t, err, storage.ErrClosed)
		err = s.ScanTurns(ctx, storage.TurnQuery{}, func(storage.Turn) error { return nil })
		assert.ErrorIs(t, err, storage.ErrClosed)
	})
}
