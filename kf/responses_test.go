package kf_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/syncmsg"
)

const syncPage = `{"errcode":0,"errmsg":"ok","next_cursor":"4gw7MepFLfgF2VC5npN","has_more":1,"msg_list":[
 {"msgid":"from_msgid_4622416642169452483","open_kfid":"wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q",
  "external_userid":"wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw","send_time":1615478585,"origin":3,
  "servicer_userid":"Zhangsan","msgtype":"text","text":{"content":"hello","menu_id":"101"}},
 {"msgid":"m2","send_time":1615478586,"origin":4,"msgtype":"event",
  "event":{"event_type":"enter_session","open_kfid":"wk1","external_userid":"wm1","scene":"s1","welcome_code":"WELCOME"}}]}`

func TestSyncMsgParsesPage(t *testing.T) {
	f := newFake().on("kf/sync_msg", seq(syncPage))
	resp, err := newClient(f).SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: "wk1"})
	require.NoError(t, err)
	assert.Equal(t, "4gw7MepFLfgF2VC5npN", resp.NextCursor)
	assert.True(t, resp.HasMore, "has_more is the number 1 on the wire")
	require.Len(t, resp.MsgList, 2)

	msgs, err := resp.Messages()
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	text, ok := msgs[0].(*syncmsg.Text)
	require.True(t, ok, "%T", msgs[0])
	assert.Equal(t, "hello", text.Content)
	assert.Equal(t, "101", text.MenuID)
	assert.Equal(t, syncmsg.OriginCustomer, text.Head().Origin)
	enter, ok := msgs[1].(*syncmsg.EnterSession)
	require.True(t, ok, "%T", msgs[1])
	assert.Equal(t, "WELCOME", enter.WelcomeCode)
	assert.Equal(t, "wk1", enter.Head().OpenKFID)
}

func TestSyncMsgHasMoreVariants(t *testing.T) {
	tests := []struct {
		wire string
		want bool
	}{
		{`"has_more":0`, false}, {`"has_more":1`, true}, {`"has_more":true`, true}, {`"has_more":"1"`, true}, {``, false},
	}
	for _, tt := range tests {
		t.Run(tt.wire, func(t *testing.T) {
			body := `{"errcode":0,"next_cursor":"c"}`
			if tt.wire != "" {
				body = `{"errcode":0,"next_cursor":"c",` + tt.wire + `}`
			}
			f := newFake().on("kf/sync_msg", seq(body))
			resp, err := newClient(f).SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: "wk1"})
			require.NoError(t, err)
			assert.Equal(t, tt.want, resp.HasMore)
			assert.Empty(t, resp.MsgList)
		})
	}
}

func TestMessagesKeepsGoodItemsAndReportsBadOnes(t *testing.T) {
	f := newFake().on("kf/sync_msg", seq(`{"errcode":0,"msg_list":[{"msgid":"a","msgtype":"text","text":{"content":"x"}},{"msgid":"b","msgtype":"text","text":"oops"}]}`))
	resp, err := newClient(f).SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: "wk1"})
	require.NoError(t, err)
	msgs, err := resp.Messages()
	require.Error(t, err)
	require.Len(t, msgs, 2)
	var ie *syncmsg.ItemError
	require.True(t, errors.As(err, &ie))
	assert.Equal(t, 1, ie.Index)
	assert.Contains(t, err.Error(), "kf: sync_msg: decode msg_list")
}

func TestStateAccountCustomerResponses(t *testing.T) {
	f := newFake().
		on("kf/service_state/get", seq(okJSON(`"service_state":1,"servicer_userid":""`))).
		on("kf/service_state/trans", seq(okJSON(`"msg_code":"MSG_CODE"`))).
		on("kf/account/list", seq(okJSON(`"account_list":[{"open_kfid":"wk1","name":"Shop","avatar":"https://a","manage_privilege":true}]`))).
		on("kf/customer/batchget", seq(okJSON(`"customer_list":[
			{"external_userid":"wm1","nickname":"Ann","avatar":"https://b","gender":2,"unionid":"oU1",
			 "enter_session_context":{"scene":"s","scene_param":"p","wechat_channels":{"nickname":"ch","shop_nickname":"sh","scene":"2"}}},
			{"external_userid":"wm2","nickname":"Bob","gender":1,"enter_session_context":{"wechat_channels":{"scene":3}}}],
			"invalid_external_userid":["wmX"]`)))
	cl := newClient(f)

	st, err := cl.ServiceState(t.Context(), kf.ServiceStateRequest{OpenKFID: "wk1", ExternalUserID: "wm1"})
	require.NoError(t, err)
	assert.Equal(t, kf.StateBot, st.ServiceState)
	assert.Equal(t, "bot", st.ServiceState.String())

	tr, err := cl.TransServiceState(t.Context(), kf.TransServiceStateRequest{OpenKFID: "wk1", ExternalUserID: "wm1", ServiceState: kf.StateEnded})
	require.NoError(t, err)
	assert.Equal(t, "MSG_CODE", tr.MsgCode)

	al, err := cl.AccountList(t.Context(), kf.AccountListRequest{})
	require.NoError(t, err)
	assert.Equal(t, []kf.Account{{OpenKFID: "wk1", Name: "Shop", Avatar: "https://a", ManagePrivilege: true}}, al.AccountList)

	bg, err := cl.BatchGetCustomer(t.Context(), kf.BatchGetCustomerRequest{ExternalUserIDs: []string{"wm1", "wm2", "wmX"}})
	require.NoError(t, err)
	require.Len(t, bg.CustomerList, 2)
	c := bg.CustomerList[0]
	assert.Equal(t, "Ann", c.Nickname)
	assert.Equal(t, 2, c.Gender)
	assert.Equal(t, "oU1", c.UnionID)
	require.NotNil(t, c.EnterSessionContext)
	assert.Equal(t, "p", c.EnterSessionContext.SceneParam)
	assert.Equal(t, &kf.WechatChannels{Nickname: "ch", ShopNickname: "sh", Scene: 2}, c.EnterSessionContext.WechatChannels, "scene as a string")
	assert.Equal(t, 3, bg.CustomerList[1].EnterSessionContext.WechatChannels.Scene, "scene as a number")
	assert.Equal(t, []string{"wmX"}, bg.InvalidExternalUserIDs)
}
