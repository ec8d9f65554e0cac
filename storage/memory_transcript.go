package storage

import (
	"context"
	"slices"
	"time"
)

// transcript is one conversation's turns in a [Memory], oldest first (by Time, then by
// insertion), with the identities of those it holds.
type transcript struct {
	turns []memTurn
	ids   map[turnID]struct{}
}

type memTurn struct {
	Turn
	expires time.Time
}

// AppendTurns implements [TranscriptStore]. A conversation's expired turns are dropped
// when it is appended to; a conversation whose turns have all expired is swept whole,
// like the other entries.
func (m *Memory) AppendTurns(ctx context.Context, turns []Turn, opt TranscriptLimits) error {
	if err := CheckTurns(turns); err != nil {
		return err
	}
	opt = opt.Limits()
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	now := m.now()
	touched := make(map[Conversation]*transcript)
	for i := range turns {
		t := turns[i]
		t.Time = t.Time.UTC() // as a store that encodes it keeps it: UTC, no monotonic reading
		exp := t.Time.Add(opt.TTL)
		if !now.Before(exp) {
			continue
		}
		tr, ok := touched[t.Conversation]
		if !ok {
			tr = m.liveTranscript(t.Conversation, now)
			touched[t.Conversation] = tr
		}
		id := t.id()
		if _, dup := tr.ids[id]; dup {
			continue
		}
		tr.ids[id] = struct{}{}
		// After every turn not later than t: ties keep insertion order.
		at, _ := slices.BinarySearchFunc(tr.turns, t.Time, func(e memTurn, at time.Time) int {
			if e.Time.After(at) {
				return 1
			}
			return -1
		})
		tr.turns = slices.Insert(tr.turns, at, memTurn{Turn: t, expires: exp})
	}
	for c, tr := range touched {
		if extra := len(tr.turns) - opt.MaxTurns; extra > 0 {
			for _, e := range tr.turns[:extra] {
				delete(tr.ids, e.id())
			}
			tr.turns = slices.Delete(tr.turns, 0, extra)
		}
		m.putTranscript(c, tr)
	}
	m.wrote(now)
	return nil
}

// liveTranscript returns c's transcript without its turns expired at now, a new one if
// it has none. Called with mu held.
func (m *Memory) liveTranscript(c Conversation, now time.Time) *transcript {
	tr, ok := m.turns.get(c, now)
	if !ok {
		return &transcript{ids: make(map[turnID]struct{})}
	}
	tr.turns = slices.DeleteFunc(tr.turns, func(e memTurn) bool {
		if now.Before(e.expires) {
			return false
		}
		delete(tr.ids, e.id())
		return true
	})
	return tr
}

// putTranscript stores tr as c's transcript until its last turn expires, or removes it
// when it is empty. Called with mu held.
func (m *Memory) putTranscript(c Conversation, tr *transcript) {
	if len(tr.turns) == 0 {
		m.turns.del(c)
		return
	}
	var last time.Time
	for _, e := range tr.turns {
		if e.expires.After(last) {
			last = e.expires
		}
	}
	m.turns.put(c, tr, last)
}

// Transcript implements [TranscriptStore].
func (m *Memory) Transcript(ctx context.Context, c Conversation, limit int) ([]Turn, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	now := m.now()
	tr, ok := m.turns.get(c, now)
	if !ok {
		return nil, nil
	}
	var out []Turn
	for i := len(tr.turns) - 1; i >= 0 && (limit <= 0 || len(out) < limit); i-- {
		if e := tr.turns[i]; now.Before(e.expires) {
			out = append(out, e.Turn)
		}
	}
	slices.Reverse(out)
	return out, nil
}

// ScanTurns implements [TranscriptStore]: it copies the selected turns under the lock,
// then calls fn without it, conversations ordered by corp, open_kfid and
// external_userid.
func (m *Memory) ScanTurns(ctx context.Context, q TurnQuery, fn func(Turn) error) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	now := m.now()
	var convs []Conversation
	for c, e := range m.turns.m {
		if now.Before(e.expires) && (q.CorpID == "" || c.CorpID == q.CorpID) && (q.OpenKFID == "" || c.OpenKFID == q.OpenKFID) {
			convs = append(convs, c)
		}
	}
	slices.SortFunc(convs, compareConversations)
	var out []Turn
	for _, c := range convs {
		for _, e := range m.turns.m[c].v.turns {
			if now.Before(e.expires) && q.Match(&e.Turn) {
				out = append(out, e.Turn)
			}
		}
	}
	m.mu.Unlock()
	for _, t := range out {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(t); err != nil {
			return err
		}
	}
	return nil
}
