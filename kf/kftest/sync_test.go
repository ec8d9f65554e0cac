package kftest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/kftest"
)

func addTexts(srv *kftest.Server, openKFID string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = srv.AddText(openKFID, user, fmt.Sprint("m", i))
	}
	return ids
}

func TestSyncPaging(t *testing.T) {
	tests := []struct {
		name     string
		maxPage  int
		limit    int
		messages int
		pages    []int
	}{
		{"default page", 0, 0, 25, []int{25}},
		{"max page 7", 7, 0, 25, []int{7, 7, 7, 4}},
		{"limit 5", 0, 5, 12, []int{5, 5, 2}},
		{"limit above max page", 7, 100, 10, []int{7, 3}},
		{"exact multiple", 5, 0, 10, []int{5, 5}},
		{"empty log", 0, 0, 0, []int{0}},
		{"limit over 1000 is capped", 0, 5000, 1001, []int{1000, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := kftest.NewUnstartedServer()
			srv.SetMaxPageSize(tt.maxPage)
			want := addTexts(srv, acct, tt.messages)
			a := newAPI(t, srv)
			var got []string
			var sizes []int
			cursor := ""
			for {
				f := map[string]any{}
				if cursor != "" {
					f["cursor"] = cursor
				}
				if tt.limit > 0 {
					f["limit"] = tt.limit
				}
				r := a.sync(acct, f)
				require.Equal(t, 0, r.ErrCode, r.ErrMsg)
				require.NotNil(t, r.HasMore, "has_more must be a number")
				require.NotEmpty(t, r.NextCursor)
				sizes = append(sizes, len(r.MsgList))
				for _, it := range r.MsgList {
					got = append(got, msgID(t, it))
				}
				cursor = r.NextCursor
				if *r.HasMore == 0 {
					break
				}
				require.Equal(t, 1, *r.HasMore)
			}
			assert.Equal(t, tt.pages, sizes)
			if len(want) == 0 {
				assert.Empty(t, got)
			} else {
				assert.Equal(t, want, got)
			}
		})
	}
}

func TestSyncHasMoreIsNumberOnWire(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	srv.SetMaxPageSize(1)
	addTexts(srv, acct, 2)
	a := newAPI(t, srv)
	r := a.sync(acct, nil)
	assert.Contains(t, string(r.Body), `"has_more":1`)
	assert.Contains(t, string(r.Body), `"errcode":0,"errmsg":"ok"`)
}

func TestSyncCursorContinuity(t *testing.T) {
	srv := kftest.NewUnstartedServer(kftest.WithSeed(1))
	a := newAPI(t, srv)
	first := addTexts(srv, acct, 3)
	ids, cursor, _ := a.drain(acct, "")
	require.Equal(t, first, ids)

	// Nothing new: same position, empty, has_more 0.
	again, cursor2, _ := a.drain(acct, cursor)
	assert.Empty(t, again)
	assert.Equal(t, cursor, cursor2, "a cursor names a position")

	second := addTexts(srv, acct, 4)
	ids, cursor, _ = a.drain(acct, cursor)
	assert.Equal(t, second, ids, "only the new messages")

	// Replaying an old cursor (a crash before persisting) re-reads.
	replay, _, _ := a.drain(acct, cursor2)
	assert.Equal(t, second, replay)

	// Without a cursor: everything.
	all, _, _ := a.drain(acct, "")
	assert.Equal(t, append(first, second...), all)

	// Accounts are independent.
	other := srv.AddText(acct2, user, "x")
	ids, _, _ = a.drain(acct2, "")
	assert.Equal(t, []string{other}, ids)
	_ = cursor
}

func TestSyncEmptyPages(t *testing.T) {
	srv := kftest.NewUnstartedServer(kftest.WithSeed(42))
	srv.SetMaxPageSize(7)
	srv.SetEmptyPageRate(0.6)
	want := addTexts(srv, acct, 30)
	a := newAPI(t, srv)

	var got []string
	empty := 0
	cursor := ""
	for range 1000 {
		f := map[string]any{}
		if cursor != "" {
			f["cursor"] = cursor
		}
		r := a.sync(acct, f)
		require.Equal(t, 0, r.ErrCode, r.ErrMsg)
		if len(r.MsgList) == 0 && *r.HasMore == 1 {
			empty++
		}
		for _, it := range r.MsgList {
			got = append(got, msgID(t, it))
		}
		cursor = r.NextCursor
		if *r.HasMore == 0 {
			break
		}
	}
	assert.Equal(t, want, got, "every message exactly once, in order")
	assert.Positive(t, empty, "empty pages with has_more=1 were served")

	// A caller that stops on an empty msg_list misses data.
	srv2 := kftest.NewUnstartedServer(kftest.WithSeed(42))
	srv2.SetEmptyPageRate(0.99)
	addTexts(srv2, acct, 3)
	r := newAPI(t, srv2).sync(acct, nil)
	assert.Empty(t, r.MsgList)
	assert.Equal(t, 1, *r.HasMore)
}

func TestSyncEmptyPagesDeterministic(t *testing.T) {
	run := func() []int {
		srv := kftest.NewUnstartedServer(kftest.WithSeed(7))
		srv.SetMaxPageSize(3)
		srv.SetEmptyPageRate(0.5)
		addTexts(srv, acct, 12)
		a := newAPI(t, srv)
		var sizes []int
		cursor := ""
		for {
			f := map[string]any{}
			if cursor != "" {
				f["cursor"] = cursor
			}
			r := a.sync(acct, f)
			sizes = append(sizes, len(r.MsgList))
			cursor = r.NextCursor
			if *r.HasMore == 0 {
				return sizes
			}
		}
	}
	assert.Equal(t, run(), run())
}

func TestSyncRequestValidation(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	other := kftest.NewUnstartedServer()
	addTexts(srv, acct, 2)
	addTexts(srv, acct2, 2)
	addTexts(other, acct, 2)
	a := newAPI(t, srv)
	_, cursorAcct2, _ := a.drain(acct2, "")
	_, cursorOther, _ := newAPI(t, other).drain(acct, "")

	tests := []struct {
		name string
		body string
		code int
		msg  string
	}{
		{"ok minimal", `{"open_kfid":"` + acct + `"}`, 0, "ok"},
		{"missing open_kfid", `{"limit":10}`, 40058, "open_kfid"},
		{"empty open_kfid", `{"open_kfid":""}`, 40058, "field open_kfid unexpected empty string"},
		{"empty cursor", `{"open_kfid":"` + acct + `","cursor":""}`, 40058, "field cursor unexpected empty string"},
		{"empty token", `{"open_kfid":"` + acct + `","token":""}`, 40058, "field token unexpected empty string"},
		{"garbage cursor", `{"open_kfid":"` + acct + `","cursor":"not-a-cursor"}`, kftest.ErrCodeInvalidCursor, "invalid cursor"},
		{"cursor of another account", `{"open_kfid":"` + acct + `","cursor":"` + cursorAcct2 + `"}`, kftest.ErrCodeInvalidCursor, "invalid cursor"},
		{"cursor of another server", `{"open_kfid":"` + acct + `","cursor":"` + cursorOther + `"}`, kftest.ErrCodeInvalidCursor, "invalid cursor"},
		{"unknown token", `{"open_kfid":"` + acct + `","token":"ENCforged"}`, 95007, "msg token"},
		{"negative limit", `{"open_kfid":"` + acct + `","limit":-1}`, 40058, "json"},
		{"limit of wrong type", `{"open_kfid":"` + acct + `","limit":"10"}`, 40058, "json"},
		{"not json", `open_kfid=x`, 40058, "wrong json format"},
		{"bad voice_format", `{"open_kfid":"` + acct + `","voice_format":2}`, 40058, "voice_format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.post("kf/sync_msg", tt.body)
			assert.Equal(t, tt.code, r.ErrCode, r.ErrMsg)
			assert.Contains(t, r.ErrMsg, tt.msg)
		})
	}

	r := a.do(http.MethodGet, "kf/sync_msg", map[string][]string{"access_token": {a.getToken()}}, nil, "")
	assert.Equal(t, 40058, r.ErrCode, "GET is rejected")
}

func TestSyncStrictAccounts(t *testing.T) {
	srv := kftest.NewUnstartedServer(kftest.WithStrictAccounts())
	a := newAPI(t, srv)
	assert.Equal(t, 95004, a.sync("wkUNKNOWN", nil).ErrCode)
	srv.AddAccount("wkKNOWN", "Known")
	assert.Equal(t, 0, a.sync("wkKNOWN", nil).ErrCode)
}

func TestSyncCallbackToken(t *testing.T) {
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now))
	a := newAPI(t, srv)
	var hooked []string
	srv.OnAppend(func(openKFID, token string) { hooked = append(hooked, openKFID+" "+token) })

	srv.AddText(acct, user, "hi")
	tok := srv.CallbackToken(acct)
	require.NotEmpty(t, tok)
	assert.Equal(t, []string{acct + " " + tok}, hooked)
	srv.AddText(acct2, user, "hi")
	tok2 := srv.CallbackToken(acct2)

	withToken := func(openKFID, token string) int {
		return a.sync(openKFID, map[string]any{"token": token}).ErrCode
	}
	assert.Equal(t, 0, withToken(acct, tok))
	assert.Equal(t, 0, withToken(acct, tok), "a token may be reused")
	assert.Equal(t, 95007, withToken(acct, tok2), "another account's token")
	assert.Equal(t, 0, a.sync(acct, nil).ErrCode, "token omitted")

	clk.Advance(10 * time.Minute)
	assert.Equal(t, 0, withToken(acct, tok), "valid for 10 minutes")
	clk.Advance(time.Second)
	assert.Equal(t, 95007, withToken(acct, tok), "expired after 10 minutes")

	srv.AddText(acct, user, "again")
	fresh := srv.CallbackToken(acct)
	assert.NotEqual(t, tok, fresh)
	assert.Equal(t, 0, withToken(acct, fresh))
	assert.Equal(t, 95007, withToken(acct, tok), "old token stays expired")
}

func TestSyncDoesNotReturnSends(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	a := newAPI(t, srv)
	in := srv.AddText(acct, user, "hi")
	require.Equal(t, 0, a.sendText(acct, user, "", "hello").ErrCode)
	ids, _, _ := a.drain(acct, "")
	assert.Equal(t, []string{in}, ids)
}

func TestSyncRetention(t *testing.T) {
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now))
	a := newAPI(t, srv)
	old := srv.AddText(acct, user, "old")
	_, cursor, _ := a.drain(acct, "")
	clk.Advance(kftest.Retention + time.Second)
	fresh := srv.AddText(acct, user, "new")

	ids, _, _ := a.drain(acct, "")
	assert.Equal(t, []string{fresh}, ids, "no cursor: last 3 days only")
	_ = old
	ids, _, _ = a.drain(acct, cursor)
	assert.Equal(t, []string{fresh}, ids)
}

func TestItemWireShapes(t *testing.T) {
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now), kftest.WithSeed(3))
	ts := fmt.Sprint(t0.Unix())

	id1 := srv.AddText(acct, user, `a "quoted" <b>`)
	id2 := srv.AddMenuClick(acct, user, "menu1", "Yes")
	id3 := srv.AddImage(acct, user, "MEDIA1")
	id4, welcome := srv.EnterSession(acct, user2, "scene1", "p=1")
	id5 := srv.UserRecall(acct, user, id1)
	id6 := srv.SendFail(acct, user, "out_1", 6)
	id7 := srv.AddServicerText(acct, user2, "alice", "human here") // state 4 → 3 (+ event first)
	id9, code := srv.ServicerEnd(acct, user2)
	id10 := srv.SetServicerStatus(acct, "alice", kftest.ServicerStopped, 1)
	id11 := srv.AddItem(acct, json.RawMessage(`{"msgid":"custom","msgtype":"hologram"}`))
	require.NotEmpty(t, welcome)
	require.NotEmpty(t, code)
	assert.Equal(t, "custom", id11)

	want := []string{
		`{"msgid":"` + id1 + `","open_kfid":"` + acct + `","external_userid":"` + user + `","send_time":` + ts + `,"origin":3,"msgtype":"text","text":{"content":"a \"quoted\" <b>"}}`,
		`{"msgid":"` + id2 + `","open_kfid":"` + acct + `","external_userid":"` + user + `","send_time":` + ts + `,"origin":3,"msgtype":"text","text":{"content":"Yes","menu_id":"menu1"}}`,
		`{"msgid":"` + id3 + `","open_kfid":"` + acct + `","external_userid":"` + user + `","send_time":` + ts + `,"origin":3,"msgtype":"image","image":{"media_id":"MEDIA1"}}`,
		`{"msgid":"` + id4 + `","send_time":` + ts + `,"origin":4,"msgtype":"event","event":{"event_type":"enter_session","open_kfid":"` + acct + `","external_userid":"` + user2 + `","scene":"scene1","scene_param":"p=1","welcome_code":"` + welcome + `"}}`,
		`{"msgid":"` + id5 + `","send_time":` + ts + `,"origin":4,"msgtype":"event","event":{"event_type":"user_recall_msg","open_kfid":"` + acct + `","external_userid":"` + user + `","recall_msgid":"` + id1 + `"}}`,
		`{"msgid":"` + id6 + `","send_time":` + ts + `,"origin":4,"msgtype":"event","event":{"event_type":"msg_send_fail","open_kfid":"` + acct + `","external_userid":"` + user + `","fail_msgid":"out_1","fail_type":6}}`,
		`{"msgid":"from_msgid_7","send_time":` + ts + `,"origin":4,"msgtype":"event","event":{"event_type":"session_status_change","open_kfid":"` + acct + `","external_userid":"` + user2 + `","change_type":4,"new_servicer_userid":"alice"}}`,
		`{"msgid":"` + id7 + `","open_kfid":"` + acct + `","external_userid":"` + user2 + `","send_time":` + ts + `,"origin":5,"servicer_userid":"alice","msgtype":"text","text":{"content":"human here"}}`,
		`{"msgid":"` + id9 + `","send_time":` + ts + `,"origin":4,"msgtype":"event","event":{"event_type":"session_status_change","open_kfid":"` + acct + `","external_userid":"` + user2 + `","change_type":3,"old_servicer_userid":"alice","msg_code":"` + code + `"}}`,
		`{"msgid":"` + id10 + `","send_time":` + ts + `,"origin":4,"msgtype":"event","event":{"event_type":"servicer_status_change","servicer_userid":"alice","status":2,"stop_type":1,"open_kfid":"` + acct + `"}}`,
		`{"msgid":"custom","msgtype":"hologram"}`,
	}
	items := srv.Items(acct)
	require.Len(t, items, len(want))
	for i := range want {
		assert.Equal(t, want[i], string(items[i]), "item %d", i)
	}
	assert.Equal(t, "from_msgid_8", id7)

	// sync_msg returns the same bytes.
	r := newAPI(t, srv).sync(acct, nil)
	require.Len(t, r.MsgList, len(want))
	for i := range want {
		assert.Equal(t, want[i], string(r.MsgList[i]))
	}
}
