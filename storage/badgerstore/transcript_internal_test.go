package badgerstore

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
)

func quietMemStore(t *testing.T, opts ...Option) *Store {
	t.Helper()
	s, err := OpenInMemory(append([]Option{WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func numberedTurns(conv storage.Conversation, start time.Time, n int, text string) []storage.Turn {
	turns := make([]storage.Turn, n)
	for i := range turns {
		turns[i] = storage.Turn{Conversation: conv, Time: start.Add(time.Duration(i) * time.Millisecond),
			MsgID: fmt.Sprintf("m%05d", i), Kind: storage.TurnCustomer, MsgType: "text", Text: text}
	}
	return turns
}

// keysOf counts the keys of each transcript kind and checks that each has a Badger TTL
// within ttl (plus the second of rounding) of now.
func keysOf(t *testing.T, s *Store, ttl time.Duration) map[byte]int {
	t.Helper()
	n := map[byte]int{}
	limit := uint64(time.Now().Add(ttl).Unix()) + 2
	require.NoError(t, s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			kind := item.Key()[1]
			if kind != kindTurn && kind != kindTurnID && kind != kindTurnCount {
				continue
			}
			n[kind]++
			assert.NotZero(t, item.ExpiresAt(), "key %q has no TTL", item.Key())
			assert.LessOrEqual(t, item.ExpiresAt(), limit, "key %q outlives the ttl", item.Key())
		}
		return nil
	}))
	return n
}

// The cap deletes a trimmed turn's identity key with it, and every key expires by
// Badger's TTL, so nothing is left behind.
func TestTranscriptFootprint(t *testing.T) {
	ctx := t.Context()
	s := quietMemStore(t)
	conv := storage.Conversation{CorpID: "ww", OpenKFID: "wk", ExternalUserID: "wm"}
	start := time.Now()
	turns := numberedTurns(conv, start, 500, "hi")
	for i := 0; i < len(turns); i += 16 {
		require.NoError(t, s.AppendTurns(ctx, turns[i:min(i+16, len(turns))], storage.TranscriptLimits{TTL: time.Hour, MaxTurns: 200}))
	}
	assert.Equal(t, map[byte]int{kindTurn: 200, kindTurnID: 200, kindTurnCount: 1}, keysOf(t, s, time.Hour))
	require.NoError(t, s.db.View(func(txn *badger.Txn) error {
		c, err := readTurnCount(txn, conv)
		require.NoError(t, err)
		assert.Equal(t, uint64(200), c.count)
		assert.Equal(t, uint64(500), c.next)
		assert.Equal(t, turnKey(nil, turns[300].Time, 300), c.low, "the trim walk starts at the oldest turn left")
		return nil
	}))
}

// A call bigger than one transaction is written in parts: 10,000 turns into a store
// whose transactions hold about 150 KB.
func TestAppendTurnsSplits(t *testing.T) {
	ctx := t.Context()
	s := quietMemStore(t, WithMemTableSize(MinMemTableSize))
	text := strings.Repeat("长", 100)
	var turns []storage.Turn
	for c := range 5 {
		conv := storage.Conversation{CorpID: "ww", OpenKFID: "wk", ExternalUserID: fmt.Sprint("wm", c)}
		turns = append(turns, numberedTurns(conv, time.Now(), 2000, text)...)
	}
	require.NoError(t, s.AppendTurns(ctx, turns, storage.TranscriptLimits{MaxTurns: 1500}))
	for c := range 5 {
		conv := storage.Conversation{CorpID: "ww", OpenKFID: "wk", ExternalUserID: fmt.Sprint("wm", c)}
		got, err := s.Transcript(ctx, conv, 0)
		require.NoError(t, err)
		require.Len(t, got, 1500)
		assert.Equal(t, "m00500", got[0].MsgID)
		assert.Equal(t, "m01999", got[len(got)-1].MsgID)
	}

}

// Turns survive a reopen, and later turns of the same time still sort after them.
func TestTranscriptReopen(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	open := func() *Store {
		s, err := Open(dir, WithLogger(slog.New(slog.DiscardHandler)))
		require.NoError(t, err)
		return s
	}
	conv := storage.Conversation{CorpID: "ww", OpenKFID: "wk", ExternalUserID: "wm"}
	at := time.Now()
	s := open()
	require.NoError(t, s.AppendTurns(ctx, []storage.Turn{{Conversation: conv, Time: at, MsgID: "a", Kind: storage.TurnCustomer}}, storage.TranscriptLimits{}))
	require.NoError(t, s.Close())
	s = open()
	defer s.Close()
	require.NoError(t, s.AppendTurns(ctx, []storage.Turn{
		{Conversation: conv, Time: at, MsgID: "a", Kind: storage.TurnCustomer}, // a replay
		{Conversation: conv, Time: at, MsgID: "b", Kind: storage.TurnCustomer},
	}, storage.TranscriptLimits{}))
	got, err := s.Transcript(ctx, conv, 0)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "a", got[0].MsgID)
	assert.Equal(t, "b", got[1].MsgID)
}

func TestTranscriptCorruptValues(t *testing.T) {
	ctx := t.Context()
	s := quietMemStore(t)
	conv := storage.Conversation{CorpID: "ww", OpenKFID: "wk", ExternalUserID: "wm"}
	require.NoError(t, s.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(turnKey(convPrefix(kindTurn, conv), time.Now(), 0), []byte{1, 2, 3}); err != nil {
			return err
		}
		return txn.Set(convPrefix(kindTurnCount, conv), []byte{0xff})
	}))
	_, err := s.Transcript(ctx, conv, 0)
	assert.ErrorContains(t, err, "bad stored value")
	err = s.ScanTurns(ctx, storage.TurnQuery{}, func(storage.Turn) error { return nil })
	assert.ErrorContains(t, err, "bad stored value")
	err = s.AppendTurns(ctx, []storage.Turn{{Conversation: conv, Time: time.Now(), MsgID: "m", Kind: storage.TurnCustomer}}, storage.TranscriptLimits{})
	assert.ErrorContains(t, err, "bad stored value")
}

func TestTranscriptKeyLayout(t *testing.T) {
	conv := storage.Conversation{CorpID: "ww", OpenKFID: "wk", ExternalUserID: "wm"}
	at := time.Unix(0, 5)
	assert.Equal(t, []byte("\x01t\x02ww\x02wk\x02wm\x80\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x00\x00\x00\x00\x07"),
		turnKey(convPrefix(kindTurn, conv), at, 7))
	assert.Equal(t, []byte("\x01u\x02ww\x02wk\x02wm\x01m\x03\x02"),
		turnIDKey(&storage.Turn{Conversation: conv, Time: at, MsgID: "m", Seq: 3, Kind: storage.TurnBot}))
	assert.Equal(t, []byte("\x01u\x02ww\x02wk\x02wm\x00\x00\x04\x80\x00\x00\x00\x00\x00\x00\x05"),
		turnIDKey(&storage.Turn{Conversation: conv, Time: at, Kind: storage.TurnOwnership}), "no msgid: the time counts")
	assert.Less(t, string(turnKey(nil, time.Unix(-1, 0), 0)), string(turnKey(nil, time.Unix(0, 0), 0)), "times before 1970 sort first")
	got, err := idConversation(turnIDKey(&storage.Turn{Conversation: conv, MsgID: "m"}))
	require.NoError(t, err)
	assert.Equal(t, conv, got)
}
