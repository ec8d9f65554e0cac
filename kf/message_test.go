package kf_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/syncmsg"
)

// Expected wire JSON per https://developer.work.weixin.qq.com/document/path/94677 (official field names and order).
var outMessageWire = []struct {
	name string
	msg  kf.OutMessage
	want string // the payload part after "msgtype"
}{
	{"text", kf.Text{Content: "hello"}, `"msgtype":"text","text":{"content":"hello"}`},
	{"text pointer", &kf.Text{Content: "你好"}, `"msgtype":"text","text":{"content":"你好"}`},
	{"image", kf.Image{MediaID: "MEDIA_ID"}, `"msgtype":"image","image":{"media_id":"MEDIA_ID"}`},
	{"voice", kf.Voice{MediaID: "MEDIA_ID"}, `"msgtype":"voice","voice":{"media_id":"MEDIA_ID"}`},
	{"video", kf.Video{MediaID: "MEDIA_ID"}, `"msgtype":"video","video":{"media_id":"MEDIA_ID"}`},
	{"file", kf.File{MediaID: "MEDIA_ID"}, `"msgtype":"file","file":{"media_id":"MEDIA_ID"}`},
	{"link", kf.Link{Title: "Title", Desc: "Desc", URL: "https://example.com/a", ThumbMediaID: "THUMB"},
		`"msgtype":"link","link":{"title":"Title","desc":"Desc","url":"https://example.com/a","thumb_media_id":"THUMB"}`},
	{"link without desc", kf.Link{Title: "Title", URL: "http://example.com", ThumbMediaID: "THUMB"},
		`"msgtype":"link","link":{"title":"Title","url":"http://example.com","thumb_media_id":"THUMB"}`},
	{"miniprogram", kf.Miniprogram{AppID: "wx123", Title: "Shop", ThumbMediaID: "THUMB", PagePath: "pages/index?x=1"},
		`"msgtype":"miniprogram","miniprogram":{"appid":"wx123","title":"Shop","thumb_media_id":"THUMB","pagepath":"pages/index?x=1"}`},
	{"miniprogram without title", kf.Miniprogram{AppID: "wx123", ThumbMediaID: "THUMB", PagePath: "pages/index"},
		`"msgtype":"miniprogram","miniprogram":{"appid":"wx123","thumb_media_id":"THUMB","pagepath":"pages/index"}`},
	{"menu with every item type", kf.Menu{
		Head: "Are you satisfied?",
		Items: []kf.MenuItem{
			kf.MenuClick{ID: "101", Content: "Yes"},
			&kf.MenuClick{Content: "No"},
			kf.MenuView{URL: "https://example.com", Content: "Website"},
			kf.MenuMiniprogram{AppID: "wx123", PagePath: "pages/index", Content: "Open"},
			kf.MenuText{Content: "line one", NoNewline: true},
			kf.MenuText{Content: "line two"},
		},
		Tail: "Thanks",
	}, `"msgtype":"msgmenu","msgmenu":{"head_content":"Are you satisfied?","list":[` +
		`{"type":"click","click":{"id":"101","content":"Yes"}},` +
		`{"type":"click","click":{"content":"No"}},` +
		`{"type":"view","view":{"url":"https://example.com","content":"Website"}},` +
		`{"type":"miniprogram","miniprogram":{"appid":"wx123","pagepath":"pages/index","content":"Open"}},` +
		`{"type":"text","text":{"content":"line one","no_newline":1}},` +
		`{"type":"text","text":{"content":"line two"}}` +
		`],"tail_content":"Thanks"}`},
	{"menu without head and tail", kf.Menu{Items: []kf.MenuItem{kf.MenuClick{ID: "1", Content: "A"}}},
		`"msgtype":"msgmenu","msgmenu":{"list":[{"type":"click","click":{"id":"1","content":"A"}}]}`},
	{"location", kf.Location{Name: "Tower", Address: "1 Road", Latitude: 39.9042, Longitude: 116.4074},
		`"msgtype":"location","location":{"name":"Tower","address":"1 Road","latitude":39.9042,"longitude":116.4074}`},
	{"location at 0,0 keeps coordinates", kf.Location{},
		`"msgtype":"location","location":{"latitude":0,"longitude":0}`},
	{"ca_link", kf.CALink{LinkURL: "https://work.weixin.qq.com/ca/cawcde"},
		`"msgtype":"ca_link","ca_link":{"link_url":"https://work.weixin.qq.com/ca/cawcde"}`},
}

func TestOutMessageMarshalsToWireJSON(t *testing.T) {
	for _, tt := range outMessageWire {
		t.Run(tt.name, func(t *testing.T) {
			want := `{"touser":"wm1","open_kfid":"wk1","msgid":"m1",` + tt.want + `}`
			got, err := json.Marshal(kf.SendMsgRequest{ToUser: "wm1", OpenKFID: "wk1", MsgID: "m1", Message: tt.msg})
			require.NoError(t, err)
			assert.Equal(t, want, string(got))
		})
	}
}

func TestSendMsgSendsWireJSON(t *testing.T) {
	for _, tt := range outMessageWire {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake().on("kf/send_msg", seq(okJSON(`"msgid":"m1"`)))
			resp, err := newClient(f).SendMsg(t.Context(), kf.SendMsgRequest{ToUser: "wm1", OpenKFID: "wk1", MsgID: "m1", Message: tt.msg})
			require.NoError(t, err)
			assert.Equal(t, "m1", resp.MsgID)
			assert.Equal(t, `{"touser":"wm1","open_kfid":"wk1","msgid":"m1",`+tt.want+`}`, f.lastBody("kf/send_msg"))
		})
	}
}

func TestEmptyOptionalFieldsAreOmitted(t *testing.T) {
	tests := []struct {
		name string
		path string
		call func(cl *kf.Client) error
		want string
	}{
		{"sync_msg minimal", "kf/sync_msg", func(cl *kf.Client) error {
			_, err := cl.SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: "wk1"})
			return err
		}, `{"open_kfid":"wk1"}`},
		{"sync_msg full", "kf/sync_msg", func(cl *kf.Client) error {
			_, err := cl.SyncMsg(t.Context(), kf.SyncMsgRequest{Cursor: "c1", Token: "ENCtok", Limit: 500, VoiceFormat: kf.VoiceSILK, OpenKFID: "wk1"})
			return err
		}, `{"cursor":"c1","token":"ENCtok","limit":500,"voice_format":1,"open_kfid":"wk1"}`},
		{"send_msg without msgid", "kf/send_msg", func(cl *kf.Client) error {
			_, err := cl.SendMsg(t.Context(), kf.SendMsgRequest{ToUser: "wm1", OpenKFID: "wk1", Message: kf.Text{Content: "hi"}})
			return err
		}, `{"touser":"wm1","open_kfid":"wk1","msgtype":"text","text":{"content":"hi"}}`},
		{"send_msg_on_event text", "kf/send_msg_on_event", func(cl *kf.Client) error {
			_, err := cl.SendMsgOnEvent(t.Context(), kf.SendMsgOnEventRequest{Code: "CODE", MsgID: "w1", Message: kf.Text{Content: "欢迎咨询"}})
			return err
		}, `{"code":"CODE","msgid":"w1","msgtype":"text","text":{"content":"欢迎咨询"}}`},
		{"send_msg_on_event menu without msgid", "kf/send_msg_on_event", func(cl *kf.Client) error {
			_, err := cl.SendMsgOnEvent(t.Context(), kf.SendMsgOnEventRequest{Code: "CODE", Message: kf.Menu{Items: []kf.MenuItem{kf.MenuClick{Content: "Yes"}}}})
			return err
		}, `{"code":"CODE","msgtype":"msgmenu","msgmenu":{"list":[{"type":"click","click":{"content":"Yes"}}]}}`},
		{"service_state/get", "kf/service_state/get", func(cl *kf.Client) error {
			_, err := cl.ServiceState(t.Context(), kf.ServiceStateRequest{OpenKFID: "wk1", ExternalUserID: "wm1"})
			return err
		}, `{"open_kfid":"wk1","external_userid":"wm1"}`},
		{"service_state/trans to pool", "kf/service_state/trans", func(cl *kf.Client) error {
			_, err := cl.TransServiceState(t.Context(), kf.TransServiceStateRequest{OpenKFID: "wk1", ExternalUserID: "wm1", ServiceState: kf.StatePool})
			return err
		}, `{"open_kfid":"wk1","external_userid":"wm1","service_state":2}`},
		{"service_state/trans to human", "kf/service_state/trans", func(cl *kf.Client) error {
			_, err := cl.TransServiceState(t.Context(), kf.TransServiceStateRequest{OpenKFID: "wk1", ExternalUserID: "wm1", ServiceState: kf.StateHuman, ServicerUserID: "zhangsan"})
			return err
		}, `{"open_kfid":"wk1","external_userid":"wm1","service_state":3,"servicer_userid":"zhangsan"}`},
		{"account/list defaults", "kf/account/list", func(cl *kf.Client) error {
			_, err := cl.AccountList(t.Context(), kf.AccountListRequest{})
			return err
		}, `{}`},
		{"account/list page", "kf/account/list", func(cl *kf.Client) error {
			_, err := cl.AccountList(t.Context(), kf.AccountListRequest{Offset: 100, Limit: 50})
			return err
		}, `{"offset":100,"limit":50}`},
		{"customer/batchget", "kf/customer/batchget", func(cl *kf.Client) error {
			_, err := cl.BatchGetCustomer(t.Context(), kf.BatchGetCustomerRequest{ExternalUserIDs: []string{"wm1", "wm2"}})
			return err
		}, `{"external_userid_list":["wm1","wm2"]}`},
		{"customer/batchget with context", "kf/customer/batchget", func(cl *kf.Client) error {
			_, err := cl.BatchGetCustomer(t.Context(), kf.BatchGetCustomerRequest{ExternalUserIDs: []string{"wm1"}, NeedEnterSessionContext: true})
			return err
		}, `{"external_userid_list":["wm1"],"need_enter_session_context":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake().on(tt.path, seq(okJSON("")))
			require.NoError(t, tt.call(newClient(f)))
			body := f.lastBody(tt.path)
			assert.Equal(t, tt.want, body)
			assert.NotContains(t, body, `:""`, "no empty strings on the wire")
			assert.NotContains(t, body, `null`)
		})
	}
}

func TestSendMsgOnEventWireJSON(t *testing.T) {
	got, err := json.Marshal(kf.SendMsgOnEventRequest{Code: "CODE", MsgID: "MSG_ID", Message: kf.Text{Content: "欢迎咨询"}})
	require.NoError(t, err)
	assert.Equal(t, `{"code":"CODE","msgid":"MSG_ID","msgtype":"text","text":{"content":"欢迎咨询"}}`, string(got))

	_, err = json.Marshal(kf.SendMsgRequest{ToUser: "wm1", OpenKFID: "wk1"})
	require.Error(t, err, "a nil Message cannot be marshalled")
}

func TestOutMessageTypes(t *testing.T) {
	want := map[string]string{
		"text": "text", "text pointer": "text", "image": "image", "voice": "voice", "video": "video", "file": "file",
		"link": "link", "link without desc": "link", "miniprogram": "miniprogram", "miniprogram without title": "miniprogram",
		"menu with every item type": "msgmenu", "menu without head and tail": "msgmenu",
		"location": "location", "location at 0,0 keeps coordinates": "location", "ca_link": "ca_link",
	}
	for _, tt := range outMessageWire {
		assert.Equal(t, want[tt.name], string(tt.msg.MsgType()), tt.name)
	}
}

// TestMenuRoundTripsThroughSyncmsg: a menu kf sends decodes, item by item,
// to the syncmsg items of the same names and fields, as sync_msg returns it
// (a servicer's menu, origin 5).
func TestMenuRoundTripsThroughSyncmsg(t *testing.T) {
	tests := []struct {
		item kf.MenuItem
		want syncmsg.MenuItem
	}{
		{kf.MenuClick{ID: "101", Content: "Yes"},
			syncmsg.MenuItem{Type: syncmsg.MenuTypeClick, Click: &syncmsg.MenuClick{ID: "101", Content: "Yes"}}},
		{&kf.MenuView{URL: "https://example.com", Content: "Website"},
			syncmsg.MenuItem{Type: syncmsg.MenuTypeView, View: &syncmsg.MenuView{URL: "https://example.com", Content: "Website"}}},
		{kf.MenuMiniprogram{AppID: "wx123", PagePath: "pages/index", Content: "Open"},
			syncmsg.MenuItem{Type: syncmsg.MenuTypeMiniprogram, Miniprogram: &syncmsg.MenuMiniprogram{AppID: "wx123", PagePath: "pages/index", Content: "Open"}}},
		{kf.MenuText{Content: "line one", NoNewline: true},
			syncmsg.MenuItem{Type: syncmsg.MenuTypeText, Text: &syncmsg.MenuText{Content: "line one", NoNewline: true}}},
	}
	for _, tt := range tests {
		t.Run(string(tt.item.MenuItemType()), func(t *testing.T) {
			assert.Equal(t, tt.want.Type, tt.item.MenuItemType())
			body, err := json.Marshal(kf.SendMsgRequest{ToUser: "wm", OpenKFID: "wk", Message: kf.Menu{Head: "H", Items: []kf.MenuItem{tt.item}}})
			require.NoError(t, err)
			var sent struct {
				MsgMenu json.RawMessage `json:"msgmenu"`
			}
			require.NoError(t, json.Unmarshal(body, &sent))
			m, err := syncmsg.Decode([]byte(`{"msgid":"m","origin":5,"msgtype":"msgmenu","msgmenu":` + string(sent.MsgMenu) + `}`))
			require.NoError(t, err)
			require.IsType(t, &syncmsg.MsgMenu{}, m)
			assert.Equal(t, "H", m.(*syncmsg.MsgMenu).HeadContent)
			assert.Equal(t, []syncmsg.MenuItem{tt.want}, m.(*syncmsg.MsgMenu).List)
		})
	}
}
