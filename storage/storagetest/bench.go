package storagetest

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kfbot/kfbot/storage"
)

// Bench runs the shared benchmarks, each on a fresh store from newStore (real clock),
// reporting allocations and ops/s: FirstSeen of new, duplicate and parallel ids, Cursor
// Set and Get, Session Put and Get of a typical session, SendLog Set, and, for a
// [storage.TranscriptStore], appending a page ([BenchPage] turns) and reading a
// transcript. Bench closes every store it gets.
func Bench(b *testing.B, newStore func(b *testing.B) storage.Store) {
	open := func(b *testing.B) storage.Store {
		s := newStore(b)
		b.Cleanup(func() { _ = s.Close() })
		b.ReportAllocs()
		return s
	}

	b.Run("FirstSeen/new", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		buf := []byte("from_msgid_")
		n := 0
		for b.Loop() {
			id := string(strconv.AppendInt(buf[:11], int64(n), 10))
			first, err := s.FirstSeen(ctx, id, time.Hour)
			if err != nil || !first {
				b.Fatalf("FirstSeen(%s) = %v, %v", id, first, err)
			}
			n++
		}
		reportRate(b, n)
	})

	b.Run("FirstSeen/dup", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		ids := make([]string, 1000)
		for i := range ids {
			ids[i] = "from_msgid_" + strconv.Itoa(i)
			if _, err := s.FirstSeen(ctx, ids[i], time.Hour); err != nil {
				b.Fatal(err)
			}
		}
		n := 0
		for b.Loop() {
			first, err := s.FirstSeen(ctx, ids[n%len(ids)], time.Hour)
			if err != nil || first {
				b.Fatalf("FirstSeen = %v, %v", first, err)
			}
			n++
		}
		reportRate(b, n)
	})

	b.Run("FirstSeen/parallel", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		var next atomic.Int64
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := "from_msgid_" + strconv.FormatInt(next.Add(1), 10)
				if first, err := s.FirstSeen(ctx, id, time.Hour); err != nil || !first {
					b.Errorf("FirstSeen(%s) = %v, %v", id, first, err)
					return
				}
			}
		})
		b.ReportMetric(float64(next.Load())/time.Since(start).Seconds(), "ops/s")
	})

	acct := storage.Account{CorpID: "ww1234567890abcdef", OpenKFID: "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q"}
	b.Run("Cursor/Set", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		cursors := []string{"4gw7MepFLfgF2VC5npN", "4gw7MepFLfgF2VC5npO"}
		n := 0
		for b.Loop() {
			if err := s.SetCursor(ctx, acct, cursors[n&1]); err != nil {
				b.Fatal(err)
			}
			n++
		}
		reportRate(b, n)
	})

	b.Run("Cursor/Get", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		if err := s.SetCursor(ctx, acct, "4gw7MepFLfgF2VC5npN"); err != nil {
			b.Fatal(err)
		}
		n := 0
		for b.Loop() {
			if c, err := s.Cursor(ctx, acct); err != nil || c == "" {
				b.Fatalf("Cursor = %q, %v", c, err)
			}
			n++
		}
		reportRate(b, n)
	})

	sess := benchSession()
	b.Run("Session/Put", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		n := 0
		for b.Loop() {
			sess.Messages = n
			if err := s.PutSession(ctx, sess, storage.DefaultSessionTTL); err != nil {
				b.Fatal(err)
			}
			n++
		}
		reportRate(b, n)
	})

	b.Run("Session/Get", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		if err := s.PutSession(ctx, sess, storage.DefaultSessionTTL); err != nil {
			b.Fatal(err)
		}
		n := 0
		for b.Loop() {
			if _, err := s.Session(ctx, sess.Conversation); err != nil {
				b.Fatal(err)
			}
			n++
		}
		reportRate(b, n)
	})

	b.Run("SendLog/Set", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		buf := []byte("r_from_msgid_")
		n := 0
		for b.Loop() {
			id := string(strconv.AppendInt(buf[:13], int64(n), 10))
			if err := s.SetSendState(ctx, id, storage.SendPending, 0); err != nil {
				b.Fatal(err)
			}
			n++
		}
		reportRate(b, n)
	})

	benchTranscripts(b, open)
}

// BenchPage is how many turns the transcript benchmarks append per call: a page's worth.
const BenchPage = 16

// benchTranscripts benchmarks a [storage.TranscriptStore]: appending a page of turns to a
// new conversation and to one at the default cap (which trims as many), and reading the
// newest 20 turns of a full conversation. Skipped for stores that are not one.
func benchTranscripts(b *testing.B, open func(*testing.B) storage.Store) {
	transcripts := func(b *testing.B) storage.TranscriptStore {
		ts, ok := open(b).(storage.TranscriptStore)
		if !ok {
			b.Skip("the store does not implement storage.TranscriptStore")
		}
		return ts
	}
	conv := benchSession().Conversation
	start := time.Now()
	turns := func(c storage.Conversation, from, n int) []storage.Turn {
		out := make([]storage.Turn, n)
		for i := range out {
			kind, seq := storage.TurnCustomer, 0
			if i%2 == 1 {
				kind, seq = storage.TurnBot, 0
			}
			out[i] = storage.Turn{Conversation: c, Time: start.Add(time.Duration(from+i) * time.Millisecond),
				MsgID: "from_msgid_" + strconv.Itoa((from+i)/2), Seq: seq, Kind: kind, MsgType: "text",
				Text: "您好，请问我的订单 20260301-4711 什么时候发货？"}
		}
		return out
	}
	b.Run("Transcript/Append16/new", func(b *testing.B) {
		s := transcripts(b)
		ctx := b.Context()
		n := 0
		for b.Loop() {
			c := conv
			c.ExternalUserID += strconv.Itoa(n)
			if err := s.AppendTurns(ctx, turns(c, 0, BenchPage), storage.TranscriptLimits{}); err != nil {
				b.Fatal(err)
			}
			n++
		}
		reportRate(b, n)
	})
	b.Run("Transcript/Append16/full", func(b *testing.B) {
		s := transcripts(b)
		ctx := b.Context()
		if err := s.AppendTurns(ctx, turns(conv, 0, storage.DefaultTranscriptTurns), storage.TranscriptLimits{}); err != nil {
			b.Fatal(err)
		}
		n := 0
		for b.Loop() {
			from := storage.DefaultTranscriptTurns + n*BenchPage
			if err := s.AppendTurns(ctx, turns(conv, from, BenchPage), storage.TranscriptLimits{}); err != nil {
				b.Fatal(err)
			}
			n++
		}
		reportRate(b, n)
	})
	b.Run("Transcript/Read20", func(b *testing.B) {
		s := transcripts(b)
		ctx := b.Context()
		if err := s.AppendTurns(ctx, turns(conv, 0, storage.DefaultTranscriptTurns), storage.TranscriptLimits{}); err != nil {
			b.Fatal(err)
		}
		n := 0
		for b.Loop() {
			if got, err := s.Transcript(ctx, conv, 20); err != nil || len(got) != 20 {
				b.Fatalf("Transcript = %d turns, %v", len(got), err)
			}
			n++
		}
		reportRate(b, n)
	})
}

// benchSession returns the session the benchmarks store: a few variables of the kinds
// rules use, and every other field set.
func benchSession() *storage.Session {
	now := time.Now()
	return &storage.Session{
		Conversation: storage.Conversation{CorpID: "ww1234567890abcdef", OpenKFID: "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q", ExternalUserID: "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"},
		Vars: map[string]any{
			"step":     "ask_order",
			"order_id": "20260301-4711",
			"attempts": float64(2),
			"vip":      true,
		},
		Messages:    12,
		FirstSeen:   now.Add(-time.Hour),
		LastSeen:    now,
		RepliesLeft: 4,
		WindowStart: now,
	}
}

func reportRate(b *testing.B, n int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(n)/s, "ops/s")
	}
}
