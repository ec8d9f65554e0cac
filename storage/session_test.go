package storage_test

import (
	"encoding"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/storage"
)

var (
	_ encoding.BinaryMarshaler   = (*storage.Session)(nil)
	_ encoding.BinaryAppender    = (*storage.Session)(nil)
	_ encoding.BinaryUnmarshaler = (*storage.Session)(nil)
)

func fullSession() *storage.Session {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)
	return &storage.Session{
		Conversation: storage.Conversation{CorpID: "ww1234567890abcdef", OpenKFID: "wkAJ2GCAAASSm4", ExternalUserID: "wmAJ2GCAAAme1X"},
		Vars:         map[string]any{"a": "b", "n": float64(2), "m": map[string]any{"x": []any{true}}},
		Messages:     3,
		FirstSeen:    t0,
		LastSeen:     t0.Add(time.Hour),
		Human:        true,
		Pooled:       true,
		HumanSince:   t0.Add(2 * time.Minute),
		ServicerLast: t0.Add(3 * time.Minute),
		OwnerChecked: t0.Add(4 * time.Minute),
		Customer:     storage.Customer{Nickname: "小明", Avatar: "https://wx.qlogo.cn/a.png", Gender: 1, UnionID: "oUnion", Fetched: t0.Add(5 * time.Minute)},
		RepliesLeft:  -2,
		WindowStart:  t0.Add(time.Minute),
		Stopped:      true,
		LastMsgID:    "from_msgid_4622416642169452483",
	}
}

func TestSessionBinaryRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   *storage.Session
	}{
		{"zero", &storage.Session{}},
		{"full", fullSession()},
		{"extreme ints", &storage.Session{Messages: math.MaxInt, RepliesLeft: math.MinInt}},
		{"before epoch", &storage.Session{FirstSeen: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC)}},
		{"empty vars", &storage.Session{Vars: map[string]any{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := tt.in.MarshalBinary()
			require.NoError(t, err)
			var got storage.Session
			require.NoError(t, got.UnmarshalBinary(data))
			want := *tt.in
			if len(want.Vars) == 0 {
				want.Vars = nil // no vars decode as nil
			}
			assert.Equal(t, want, got)
			assert.True(t, got.FirstSeen.IsZero() == tt.in.FirstSeen.IsZero())
		})
	}
}

func TestSessionBinaryLocalTime(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	in := &storage.Session{LastSeen: time.Date(2026, 3, 1, 18, 0, 0, 5, cst)}
	data, err := in.MarshalBinary()
	require.NoError(t, err)
	var got storage.Session
	require.NoError(t, got.UnmarshalBinary(data))
	assert.True(t, in.LastSeen.Equal(got.LastSeen))
	assert.Equal(t, time.UTC, got.LastSeen.Location())
}

func TestSessionAppendBinaryKeepsPrefix(t *testing.T) {
	prefix := []byte("prefix")
	b, err := fullSession().AppendBinary(prefix)
	require.NoError(t, err)
	require.Equal(t, "prefix", string(b[:6]))
	var got storage.Session
	require.NoError(t, got.UnmarshalBinary(b[6:]))
	assert.Equal(t, *fullSession(), got)
}

func TestSessionMarshalBadVars(t *testing.T) {
	_, err := (&storage.Session{Vars: map[string]any{"f": func() {}}}).MarshalBinary()
	require.Error(t, err)
	_, err = (&storage.Session{Vars: map[string]any{"nan": math.NaN()}}).MarshalBinary()
	require.Error(t, err)
}

func TestSessionUnmarshalErrors(t *testing.T) {
	good, err := fullSession().MarshalBinary()
	require.NoError(t, err)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{9}, good[1:]...)},
		{"unknown flags", append([]byte{good[0], 0x80}, good[2:]...)},
		{"trailing byte", append(append([]byte{}, good...), 0)},
		{"bad vars json", []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, '{', '}' + 1}},
		{"vars not an object", []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, '[', ']'}},
		{"nanoseconds out of range", []byte{1, 0, 0, 0, 0, 0, 0, 0x80, 0x94, 0xeb, 0xdc, 0x03, 0, 0, 0, 0, 0, 0}},
		{"length past end", []byte{1, 0, 50, 'a'}},
	}
	for i := range len(good) - 1 {
		tests = append(tests, struct {
			name string
			data []byte
		}{"truncated", good[:i]})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s storage.Session
			s.Messages = 77
			assert.Error(t, s.UnmarshalBinary(tt.data))
			assert.Equal(t, 77, s.Messages, "a failed decode leaves s alone")
		})
	}
}

func TestSessionClone(t *testing.T) {
	assert.Nil(t, (*storage.Session)(nil).Clone())
	in := fullSession()
	c := in.Clone()
	require.Equal(t, in, c)
	c.Vars["a"] = "changed"
	c.Vars["m"].(map[string]any)["x"].([]any)[0] = false
	assert.Equal(t, fullSession(), in, "the clone shares nothing")
}

func TestSendStateString(t *testing.T) {
	for st, want := range map[storage.SendState]string{
		storage.SendNone: "none", storage.SendPending: "pending", storage.SendDone: "done", 9: "SendState(9)",
	} {
		assert.Equal(t, want, st.String())
		assert.Equal(t, st <= storage.SendDone, st.Valid())
	}
}

func FuzzSessionUnmarshalBinary(f *testing.F) {
	for _, s := range []*storage.Session{{}, fullSession(), {Vars: map[string]any{"k": []any{nil, 1.5}}}} {
		b, err := s.MarshalBinary()
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{1, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		var s storage.Session
		if err := s.UnmarshalBinary(data); err != nil {
			return
		}
		// Anything that decodes re-encodes to something that decodes to the same session.
		again, err := s.MarshalBinary()
		require.NoError(t, err)
		var s2 storage.Session
		require.NoError(t, s2.UnmarshalBinary(again))
		require.Equal(t, s, s2)
	})
}

// BenchmarkSessionCodec compares the binary encoding with JSON of the whole struct; both
// report the encoded size (bytes/session).
func BenchmarkSessionCodec(b *testing.B) {
	s := fullSession()
	s.Vars = map[string]any{"step": "ask_order", "order_id": "20260301-4711", "attempts": float64(2), "vip": true}
	bin, err := s.MarshalBinary()
	require.NoError(b, err)
	js, err := json.Marshal(s)
	require.NoError(b, err)
	b.Run("binary/encode", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 256)
		for b.Loop() {
			if _, err := s.AppendBinary(buf[:0]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(bin)), "bytes/session")
	})
	b.Run("binary/decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var got storage.Session
			if err := got.UnmarshalBinary(bin); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json/encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(s); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(js)), "bytes/session")
	})
	b.Run("json/decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var got storage.Session
			if err := json.Unmarshal(js, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Sessions written before LastMsgID existed (version 1) still decode.
func TestSessionDecodesVersion1(t *testing.T) {
	// version 1, no flags, "wk", "wm", messages 1, replies 5, three zero times, no vars
	v1 := []byte{1, 0, 2, 'w', 'k', 2, 'w', 'm', 2, 10, 0, 0, 0, 0, 0, 0, 0}
	var s storage.Session
	require.NoError(t, s.UnmarshalBinary(v1))
	assert.Equal(t, "wk", s.OpenKFID)
	assert.Equal(t, "wm", s.ExternalUserID)
	assert.Equal(t, 1, s.Messages)
	assert.Equal(t, 5, s.RepliesLeft)
	assert.Empty(t, s.LastMsgID)
}

// Sessions written before CorpID existed (version 2) still decode, with no corp.
func TestSessionDecodesVersion2(t *testing.T) {
	// version 2, human, "wk", "wm", last msgid "m1", messages 1, replies 5, three zero times, no vars
	v2 := []byte{2, 1, 2, 'w', 'k', 2, 'w', 'm', 2, 'm', '1', 2, 10, 0, 0, 0, 0, 0, 0, 0}
	var s storage.Session
	require.NoError(t, s.UnmarshalBinary(v2))
	assert.Equal(t, storage.Session{
		Conversation: storage.Conversation{OpenKFID: "wk", ExternalUserID: "wm"},
		Human:        true, LastMsgID: "m1", Messages: 1, RepliesLeft: 5,
		FirstSeen: time.Unix(0, 0).UTC(), LastSeen: time.Unix(0, 0).UTC(), WindowStart: time.Unix(0, 0).UTC(),
	}, s)
}

// Sessions written before the ownership times existed (version 3) still decode, with none.
func TestSessionDecodesVersion3(t *testing.T) {
	// version 3, human, corp "ww", "wk", "wm", last msgid "m1", messages 1, replies 5, three zero times, no vars
	v3 := []byte{3, 1, 2, 'w', 'w', 2, 'w', 'k', 2, 'w', 'm', 2, 'm', '1', 2, 10, 0, 0, 0, 0, 0, 0, 0}
	var s storage.Session
	require.NoError(t, s.UnmarshalBinary(v3))
	assert.Equal(t, storage.Session{
		Conversation: storage.Conversation{CorpID: "ww", OpenKFID: "wk", ExternalUserID: "wm"},
		Human:        true, LastMsgID: "m1", Messages: 1, RepliesLeft: 5,
		FirstSeen: time.Unix(0, 0).UTC(), LastSeen: time.Unix(0, 0).UTC(), WindowStart: time.Unix(0, 0).UTC(),
	}, s)
}
