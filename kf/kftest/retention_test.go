package kftest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/kftest"
)

// TestForgetStaysBounded streams 200,000 messages through pulls, as a long
// in-process load run does, and checks that the server keeps only what a
// usable cursor can reach.
func TestForgetStaysBounded(t *testing.T) {
	const (
		retention = time.Minute
		batch     = 1000
		step      = 5 * time.Second
		total     = 200_000
	)
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now), kftest.WithRetention(retention))
	a := newAPI(t, srv)
	cursor := ""
	maxItems, maxMarks := 0, 0
	for n := 0; n < total; n += batch {
		want := addTexts(srv, acct, batch)
		ids, next, _ := a.drain(acct, cursor)
		require.Equal(t, want, ids, "batch at %d", n)
		cursor = next
		clk.Advance(step)
		maxItems = max(maxItems, srv.Stats().Items)
		maxMarks = max(maxMarks, srv.LiveMarks(acct))
	}
	st := srv.Stats()
	// Live: the pulls of the last minute (plus the slot the expiry is
	// rounded up to), each of one batch.
	bound := (int(retention/step) + 2) * batch
	assert.LessOrEqual(t, maxItems, bound, "retained items")
	assert.Greater(t, st.ForgottenItems, uint64(total-bound))
	assert.Equal(t, uint64(total), st.ForgottenItems+uint64(st.Items))
	assert.LessOrEqual(t, maxMarks, 66, "live marks are bounded by the expiry slots")

	// The newest cursor still works and nothing is lost.
	want := addTexts(srv, acct, 3)
	ids, _, _ := a.drain(acct, cursor)
	assert.Equal(t, want, ids)
}

// TestRetainedCursorReplays presents older cursors again, as an engine that
// crashed before saving its newest cursor does.
func TestRetainedCursorReplays(t *testing.T) {
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now), kftest.WithRetention(time.Minute))
	srv.SetMaxPageSize(10)
	a := newAPI(t, srv)
	want := addTexts(srv, acct, 30)

	// Three pages, one every 20 s; remember the cursor of each.
	var cursors []string
	cursor := ""
	for range 3 {
		f := map[string]any{}
		if cursor != "" {
			f["cursor"] = cursor
		}
		r := a.sync(acct, f)
		require.Equal(t, 0, r.ErrCode, r.ErrMsg)
		cursor = r.NextCursor
		cursors = append(cursors, cursor)
		clk.Advance(20 * time.Second)
	}
	// 60 s after the first page: its cursor (handed out 60 s ago, but
	// presented 40 s ago) still replays from item 10.
	ids, _, _ := a.drain(acct, cursors[0])
	assert.Equal(t, want[10:], ids)
	// Long after, the cursors presented again just now still work.
	clk.Advance(50 * time.Second)
	ids, _, _ = a.drain(acct, cursors[1])
	assert.Equal(t, want[20:], ids)
	ids, _, _ = a.drain(acct, cursors[0])
	assert.Equal(t, want[10:], ids)
}

// TestForgottenCursor presents a cursor whose items were forgotten.
func TestForgottenCursor(t *testing.T) {
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now), kftest.WithRetention(time.Minute))
	a := newAPI(t, srv)
	first := addTexts(srv, acct, 5)
	_, c1, _ := a.drain(acct, "")
	second := addTexts(srv, acct, 5)
	_, c2, _ := a.drain(acct, c1)
	clk.Advance(2 * time.Minute)
	third := addTexts(srv, acct, 5)
	ids, _, _ := a.drain(acct, c2) // the only live cursor now: everything before c2 goes
	require.Equal(t, third, ids)
	assert.Equal(t, uint64(10), srv.Stats().ForgottenItems)
	assert.Len(t, srv.Items(acct), 5)

	tests := []struct {
		name   string
		cursor string
		code   int
		msg    string
	}{
		{"forgotten", c1, kftest.ErrCodeCursorExpired, "cursor expired"},
		{"foreign", "AAAAAAAAAAAAAAAAAAAAAAAAAAA", kftest.ErrCodeInvalidCursor, "invalid cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.sync(acct, map[string]any{"cursor": tt.cursor})
			assert.Equal(t, tt.code, r.ErrCode)
			assert.Contains(t, r.ErrMsg, tt.msg)
			assert.Empty(t, r.MsgList)
		})
	}
	// Without a cursor the client reads what is kept.
	ids, _, _ = a.drain(acct, "")
	assert.Equal(t, third, ids)
	_, _ = first, second
}

// TestUnreadItemsAreKept checks that items no next_cursor has passed are
// never forgotten, however old the cursors are.
func TestUnreadItemsAreKept(t *testing.T) {
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now), kftest.WithRetention(time.Second))
	a := newAPI(t, srv)
	want := addTexts(srv, acct, 10)
	r := a.sync(acct, map[string]any{"limit": 4})
	require.Equal(t, 0, r.ErrCode, r.ErrMsg)
	clk.Advance(time.Hour)
	srv.AddText(acct, user2, "poke") // appending forgets nothing
	assert.Len(t, srv.Items(acct), 11)
	// The cursor handed out an hour ago is the newest one: it still works,
	// and the pull forgets the 4 items before it.
	r2 := a.sync(acct, map[string]any{"cursor": r.NextCursor, "limit": 6})
	require.Equal(t, 0, r2.ErrCode, r2.ErrMsg)
	require.Len(t, r2.MsgList, 6)
	assert.Equal(t, want[4], msgID(t, r2.MsgList[0]))
	assert.Equal(t, uint64(4), srv.Stats().ForgottenItems)
}

// TestDefaultRetentionForgetsNothingRecent checks that the default keeps
// every item a pull of the last 3 days may still ask for.
func TestDefaultRetentionForgetsNothingRecent(t *testing.T) {
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now))
	a := newAPI(t, srv)
	want := addTexts(srv, acct, 20)
	_, c, _ := a.drain(acct, "")
	clk.Advance(kftest.Retention - time.Minute)
	_, _, _ = a.drain(acct, c)
	ids, _, _ := a.drain(acct, "")
	assert.Equal(t, want, ids, "a cold start still reads the last 3 days")
	assert.Zero(t, srv.Stats().ForgottenItems)
}

// TestMsgIDRetention checks that an outbound msgid is rejected as a
// duplicate within the retention and forgotten after it.
func TestMsgIDRetention(t *testing.T) {
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now), kftest.WithRetention(time.Minute))
	a := newAPI(t, srv)
	srv.AddText(acct, user, "hi")
	require.Equal(t, 0, a.sendText(acct, user, "out_1", "one").ErrCode)
	clk.Advance(59 * time.Second)
	assert.Equal(t, kftest.ErrCodeDuplicateMsgID, a.sendText(acct, user, "out_1", "again").ErrCode, "within the retention")
	assert.Equal(t, 1, srv.Stats().MsgIDs)
	clk.Advance(time.Second)
	assert.Equal(t, 0, a.sendText(acct, user, "out_1", "later").ErrCode, "forgotten after the retention")
	assert.Equal(t, 1, srv.Stats().MsgIDs)

	// A stream of sends keeps only the last minute's msgids.
	for i := range 600 {
		if i%5 == 0 {
			srv.AddText(acct, user, "more")
		}
		require.Equal(t, 0, a.sendText(acct, user, "", "reply").ErrCode)
		clk.Advance(time.Second)
	}
	assert.LessOrEqual(t, srv.Stats().MsgIDs, 60)
}
