package kftest_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/kftest"
)

func TestStateTransitions(t *testing.T) {
	const (
		ok  = 0
		bad = 95016
		end = 95013
	)
	// want[from][to], with servicer "bob" for to = 3 (the session's own
	// servicer, if any, is "alice").
	want := [5][5]int{
		0: {bad, ok, ok, ok, bad},
		1: {bad, bad, ok, ok, bad},
		2: {bad, bad, bad, ok, ok}, // 2 → 4: undocumented, done in practice
		3: {bad, bad, bad, ok, ok},
		4: {end, end, end, end, end},
	}
	for from := range 5 {
		for to := range 5 {
			t.Run(fmt.Sprintf("%d to %d", from, to), func(t *testing.T) {
				srv := kftest.NewUnstartedServer()
				srv.AddServicer(acct, "alice")
				srv.AddServicer(acct, "bob")
				srv.SetSessionState(acct, user, from, "alice")
				servicer := ""
				if to == kftest.StateHuman {
					servicer = "bob"
				}
				r := newAPI(t, srv).trans(acct, user, to, servicer)
				require.Equal(t, want[from][to], r.ErrCode, r.ErrMsg)
				wantState := from
				if r.ErrCode == 0 {
					wantState = to
				}
				assert.Equal(t, wantState, srv.SessionState(acct, user))
			})
		}
	}
}

func TestStateGetAndMsgCodes(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	srv.AddServicer(acct, "alice")
	srv.AddServicer(acct, "bob")
	a := newAPI(t, srv)
	get := func() (int, string) {
		r := a.post("kf/service_state/get", map[string]any{"open_kfid": acct, "external_userid": user})
		require.Equal(t, 0, r.ErrCode, r.ErrMsg)
		require.NotNil(t, r.State)
		return *r.State, r.Servicer
	}

	st, _ := get()
	assert.Equal(t, 4, st, "not started")
	srv.AddText(acct, user, "hi")
	st, _ = get()
	assert.Equal(t, 0, st)

	steps := []struct {
		to       int
		servicer string
		code     bool
	}{
		{1, "", false},
		{3, "alice", true}, // first change to 3
		{3, "bob", false},  // transfer
		{4, "", true},      // closing code
	}
	for _, s := range steps {
		r := a.trans(acct, user, s.to, s.servicer)
		require.Equal(t, 0, r.ErrCode, r.ErrMsg)
		assert.Equal(t, s.code, r.MsgCode != "", "to %d", s.to)
		st, srvID := get()
		assert.Equal(t, s.to, st)
		if s.to == 3 {
			assert.Equal(t, s.servicer, srvID)
		}
	}
	assert.Empty(t, srv.Items(acct)[1:], "trans emits no events")

	// A new session gets a new first-change code.
	srv.AddText(acct, user, "again")
	r := a.trans(acct, user, 2, "")
	assert.NotEmpty(t, r.MsgCode)

	// Validation.
	assert.Equal(t, 40058, a.post("kf/service_state/get", map[string]any{"open_kfid": acct}).ErrCode)
	assert.Equal(t, 40058, a.post("kf/service_state/trans", map[string]any{"open_kfid": acct, "external_userid": user}).ErrCode)
	assert.Equal(t, 40058, a.trans(acct, user, 3, "").ErrCode, "servicer_userid required for 3")
	assert.Equal(t, 40058, a.trans(acct, user, 7, "").ErrCode)
}

func TestTransServicerChecks(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	a := newAPI(t, srv)
	srv.AddText(acct, user, "hi")

	assert.Equal(t, 95014, a.trans(acct, user, 3, "nobody").ErrCode)
	srv.AddServicer(acct, "carol")
	id := srv.SetServicerStatus(acct, "carol", kftest.ServicerStopped, 0)
	assert.Equal(t, 95019, a.trans(acct, user, 3, "carol").ErrCode)
	srv.SetServicerStatus(acct, "carol", kftest.ServicerStopped, 1)
	assert.Equal(t, 95019, a.trans(acct, user, 3, "carol").ErrCode, "suspended")
	srv.SetServicerStatus(acct, "carol", kftest.ServicerReceiving, 0)
	assert.Equal(t, 0, a.trans(acct, user, 3, "carol").ErrCode)
	assert.Equal(t, "carol", srv.SessionServicer(acct, user))
	assert.Equal(t, 95016, a.trans(acct, user, 3, "carol").ErrCode, "already with carol")

	items := srv.Items(acct)
	require.Len(t, items, 4)
	assert.Equal(t, id, msgID(t, items[1]))

	r := a.do("GET", "kf/servicer/list", map[string][]string{"access_token": {a.getToken()}, "open_kfid": {acct}}, nil, "")
	assert.JSONEq(t, `{"errcode":0,"errmsg":"ok","servicer_list":[{"userid":"carol","status":0,"stop_type":0}]}`, string(r.Body))
}

func TestServicerActions(t *testing.T) {
	srv := kftest.NewUnstartedServer()
	a := newAPI(t, srv)
	srv.AddText(acct, user, "hi")
	require.Equal(t, 0, a.trans(acct, user, kftest.StatePool, "").ErrCode)

	_, pick := srv.ServicerPickUp(acct, user, "alice")
	require.NotEmpty(t, pick)
	assert.Equal(t, kftest.StateHuman, srv.SessionState(acct, user))
	assert.Equal(t, 95018, a.sendText(acct, user, "", "bot").ErrCode, "human owns it")
	assert.Equal(t, 0, a.sendOnEvent(pick, "text").ErrCode, "pick-up notice")

	srv.ServicerTransfer(acct, user, "bob")
	assert.Equal(t, "bob", srv.SessionServicer(acct, user))

	_, closing := srv.ServicerEnd(acct, user)
	assert.Equal(t, kftest.StateEnded, srv.SessionState(acct, user))
	assert.Equal(t, 0, a.sendOnEvent(closing, "text").ErrCode)

	srv.AddServicerText(acct, user, "bob", "I'm back")
	assert.Equal(t, kftest.StateHuman, srv.SessionState(acct, user), "re-entered")

	var changes []int
	for _, it := range srv.Items(acct) {
		var ev struct {
			Event struct {
				EventType  string `json:"event_type"`
				ChangeType int    `json:"change_type"`
			} `json:"event"`
		}
		require.NoError(t, json.Unmarshal(it, &ev))
		if ev.Event.EventType == "session_status_change" {
			changes = append(changes, ev.Event.ChangeType)
		}
	}
	assert.Equal(t, []int{1, 2, 3, 4}, changes)
}

func TestAccountListAndCustomers(t *testing.T) {
	clk := newClock()
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now))
	a := newAPI(t, srv)
	srv.AddAccount("wkA", "Alpha")
	srv.AddText("wkB", user, "hi") // auto-created
	srv.AddAccount("wkC", "Gamma")
	srv.AddCustomer(user, "Zhang San")
	srv.EnterSession("wkA", user2, "sc", "sp")

	r := a.post("kf/account/list", map[string]any{"offset": 1, "limit": 1})
	require.Equal(t, 0, r.ErrCode, r.ErrMsg)
	var list struct {
		AccountList []struct {
			OpenKFID        string `json:"open_kfid"`
			Name            string `json:"name"`
			ManagePrivilege bool   `json:"manage_privilege"`
		} `json:"account_list"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &list))
	require.Len(t, list.AccountList, 1)
	assert.Equal(t, "wkB", list.AccountList[0].OpenKFID)
	assert.True(t, list.AccountList[0].ManagePrivilege)

	r = a.post("kf/account/list", `{}`)
	require.NoError(t, json.Unmarshal(r.Body, &list))
	assert.Len(t, list.AccountList, 3)
	assert.Equal(t, 40058, a.post("kf/account/list", map[string]any{"limit": 101}).ErrCode)

	r = a.post("kf/customer/batchget", map[string]any{
		"external_userid_list":       []string{user, "wmNOBODY", user2},
		"need_enter_session_context": 1,
	})
	require.Equal(t, 0, r.ErrCode, r.ErrMsg)
	var cust struct {
		CustomerList []struct {
			ExternalUserID string `json:"external_userid"`
			Nickname       string `json:"nickname"`
			Context        *struct {
				Scene      string `json:"scene"`
				SceneParam string `json:"scene_param"`
			} `json:"enter_session_context"`
		} `json:"customer_list"`
		Invalid []string `json:"invalid_external_userid"`
	}
	require.NoError(t, json.Unmarshal(r.Body, &cust))
	require.Len(t, cust.CustomerList, 2)
	assert.Equal(t, "Zhang San", cust.CustomerList[0].Nickname)
	assert.Nil(t, cust.CustomerList[0].Context)
	require.NotNil(t, cust.CustomerList[1].Context)
	assert.Equal(t, "sp", cust.CustomerList[1].Context.SceneParam)
	assert.Equal(t, []string{"wmNOBODY"}, cust.Invalid)
	assert.Equal(t, 40058, a.post("kf/customer/batchget", map[string]any{"external_userid_list": []string{}}).ErrCode)
}
