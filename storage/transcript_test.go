package storage_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
)

func fullTurn() *storage.Turn {
	return &storage.Turn{
		Conversation: storage.Conversation{CorpID: "ww1", OpenKFID: "wkA", ExternalUserID: "wmB"},
		Time:         time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC),
		MsgID:        "from_msgid_4622416642169452483",
		Seq:          2,
		Kind:         storage.TurnBot,
		MsgType:      "text",
		Text:         "您好 👋",
	}
}

func TestTurnKind(t *testing.T) {
	tests := []struct {
		kind  storage.TurnKind
		name  string
		valid bool
	}{
		{0, "TurnKind(0)", false},
		{storage.TurnCustomer, "customer", true},
		{storage.TurnBot, "bot", true},
		{storage.TurnServicer, "servicer", true},
		{storage.TurnOwnership, "ownership", true},
		{storage.TurnOwnership + 1, "TurnKind(5)", false},
		{255, "TurnKind(255)", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.name, tt.kind.String())
		assert.Equal(t, tt.valid, tt.kind.Valid(), tt.name)
	}
}

func TestTurnRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		turn *storage.Turn
	}{
		{"Full", fullTurn()},
		{"Empty", &storage.Turn{}},
		{"Ownership", &storage.Turn{Conversation: storage.Conversation{OpenKFID: "wk", ExternalUserID: "wm"},
			Time: time.Unix(-5, 7).UTC(), Kind: storage.TurnOwnership, Text: "human"}},
		{"Long", &storage.Turn{Text: strings.Repeat("x", 70000), MsgID: "\x00/\xff", Seq: 1 << 40}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.turn.MarshalBinary()
			require.NoError(t, err)
			var got storage.Turn
			require.NoError(t, got.UnmarshalBinary(b))
			assert.Equal(t, *tt.turn, got)
		})
	}
}

func TestTurnUnmarshalBad(t *testing.T) {
	good, err := fullTurn().MarshalBinary()
	require.NoError(t, err)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"Empty", nil, "truncated"},
		{"Version", append([]byte{9}, good[1:]...), "unknown version 9"},
		{"Truncated", good[:len(good)-1], "truncated"},
		{"Trailing", append(append([]byte(nil), good...), 0), "1 trailing bytes"},
		{"Nanoseconds", []byte{1, 1, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0}, "invalid time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			turn := *fullTurn()
			err := turn.UnmarshalBinary(tt.data)
			require.ErrorContains(t, err, "storage: bad turn encoding")
			assert.ErrorContains(t, err, tt.want)
			assert.Equal(t, *fullTurn(), turn, "a failed decode leaves the turn alone")
		})
	}
}

func TestCheckTurns(t *testing.T) {
	require.NoError(t, storage.CheckTurns(nil))
	ok := *fullTurn()
	require.NoError(t, storage.CheckTurns([]storage.Turn{ok, {Conversation: ok.Conversation, Time: ok.Time, Kind: storage.TurnOwnership}}),
		"an empty msgid and corp are allowed")
	bad := ok
	bad.Time = time.Time{}
	err := storage.CheckTurns([]storage.Turn{ok, ok, bad})
	require.ErrorIs(t, err, storage.ErrInvalidTurn)
	assert.EqualError(t, err, `storage: invalid turn 2 (msgid "from_msgid_4622416642169452483"): zero time; fill it in before appending`)
}

func TestTranscriptLimits(t *testing.T) {
	assert.Equal(t, storage.TranscriptLimits{TTL: 48 * time.Hour, MaxTurns: 200}, storage.TranscriptLimits{}.Limits())
	assert.Equal(t, storage.TranscriptLimits{TTL: 48 * time.Hour, MaxTurns: 200}, storage.TranscriptLimits{TTL: -1, MaxTurns: -1}.Limits())
	assert.Equal(t, storage.TranscriptLimits{TTL: time.Minute, MaxTurns: 3}, storage.TranscriptLimits{TTL: time.Minute, MaxTurns: 3}.Limits())
}

func FuzzTurnUnmarshalBinary(f *testing.F) {
	for _, turn := range []*storage.Turn{{}, fullTurn()} {
		b, err := turn.MarshalBinary()
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		var turn storage.Turn
		if err := turn.UnmarshalBinary(data); err != nil {
			return
		}
		// Anything that decodes re-encodes to something that decodes to the same turn.
		again, err := turn.MarshalBinary()
		require.NoError(t, err)
		var t2 storage.Turn
		require.NoError(t, t2.UnmarshalBinary(again))
		require.Equal(t, turn, t2)
	})
}
