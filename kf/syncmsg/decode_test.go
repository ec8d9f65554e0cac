package syncmsg_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/syncmsg"
)

func TestDecodeListKeepsGoodItemsAroundBadOnes(t *testing.T) {
	items := []json.RawMessage{
		readGolden(t, "text.json"),
		json.RawMessage(`{"msgid":"m1","send_time":1,"origin":3,"msgtype":"hologram","hologram":{"x":1}}`),
		readGolden(t, "event_enter_session.json"),
		json.RawMessage(`{"msgid":"m3","open_kfid":"wk","external_userid":"wm","send_time":3,"origin":3,"msgtype":"text","text":42}`),
		json.RawMessage(`{"msgid":"m4","send_time":4,"origin":4,"msgtype":"event","event":{"event_type":"teleport","open_kfid":"wk4","external_userid":"wm4"}}`),
		json.RawMessage(`{"msgid":"m5","open_kfid":"wk","send_time":"x","origin":3,"msgtype":"image","image":{"media_id":"a"}}`),
		json.RawMessage(`{"msgid":"m6",`),
		readGolden(t, "location.json"),
	}
	msgs, err := syncmsg.DecodeList(items)
	require.Len(t, msgs, len(items))

	// Good items decode normally, in order.
	assert.IsType(t, &syncmsg.Text{}, msgs[0])
	assert.IsType(t, &syncmsg.EnterSession{}, msgs[2])
	assert.IsType(t, &syncmsg.Location{}, msgs[7])

	// Unknown types are Unknown without an error.
	u1 := requireUnknown(t, msgs[1])
	assert.NoError(t, u1.Err)
	assert.Equal(t, syncmsg.MsgType("hologram"), u1.MsgType)
	assert.Equal(t, "m1", u1.MsgID)
	assert.JSONEq(t, string(items[1]), string(u1.Raw))

	u4 := requireUnknown(t, msgs[4])
	assert.NoError(t, u4.Err)
	assert.Equal(t, syncmsg.TypeEvent, u4.MsgType)
	assert.Equal(t, syncmsg.EventType("teleport"), u4.EventType)
	assert.Equal(t, "wk4", u4.OpenKFID, "event ids come from inside event")
	assert.Equal(t, "wm4", u4.ExternalUserID)

	// Malformed items are Unknown with the error, and what header could be read.
	u3 := requireUnknown(t, msgs[3])
	require.ErrorIs(t, u3.Err, syncmsg.ErrMalformed)
	assert.Equal(t, syncmsg.Header{
		MsgID: "m3", OpenKFID: "wk", ExternalUserID: "wm", SendTime: 3, Origin: 3, MsgType: syncmsg.TypeText, Raw: items[3],
	}, u3.Header)
	u5 := requireUnknown(t, msgs[5])
	require.ErrorIs(t, u5.Err, syncmsg.ErrMalformed)
	assert.Equal(t, "m5", u5.MsgID)
	assert.Equal(t, "wk", u5.OpenKFID)
	assert.Equal(t, syncmsg.TypeImage, u5.MsgType)
	u6 := requireUnknown(t, msgs[6])
	require.ErrorIs(t, u6.Err, syncmsg.ErrMalformed)
	assert.Equal(t, []byte(items[6]), []byte(u6.Raw))

	// The error lists exactly the malformed items.
	require.ErrorIs(t, err, syncmsg.ErrMalformed)
	var joined interface{ Unwrap() []error }
	require.ErrorAs(t, err, &joined)
	var got []syncmsg.ItemError
	for _, e := range joined.Unwrap() {
		var ie *syncmsg.ItemError
		require.ErrorAs(t, e, &ie)
		got = append(got, syncmsg.ItemError{Index: ie.Index, MsgID: ie.MsgID})
		assert.Equal(t, msgs[ie.Index].(*syncmsg.Unknown).Err, ie.Err)
	}
	assert.Equal(t, []syncmsg.ItemError{{Index: 3, MsgID: "m3"}, {Index: 5, MsgID: "m5"}, {Index: 6}}, got)
	assert.Contains(t, err.Error(), `syncmsg: item 3 (msgid m3): malformed item: text: json: cannot unmarshal number`)
}

func requireUnknown(t *testing.T, m syncmsg.Message) *syncmsg.Unknown {
	t.Helper()
	u, ok := m.(*syncmsg.Unknown)
	require.Truef(t, ok, "got %T, want *syncmsg.Unknown", m)
	return u
}

func TestDecodeListEmpty(t *testing.T) {
	msgs, err := syncmsg.DecodeList(nil)
	require.NoError(t, err)
	assert.Empty(t, msgs)
}

func TestDecodeMalformed(t *testing.T) {
	tests := []struct {
		name, item string
		want       syncmsg.Header // Raw aside
		errText    string
	}{
		{name: "empty", item: ``, errText: "not a JSON object"},
		{name: "null", item: `null`, errText: "not a JSON object"},
		{name: "array", item: `[{"msgtype":"text"}]`, errText: "not a JSON object"},
		{name: "truncated", item: `{"msgid":"a","msgtype":"text"`, errText: "header"},
		{name: "no msgtype", item: `{"msgid":"a","text":{"content":"hi"}}`, want: syncmsg.Header{MsgID: "a"}, errText: "missing msgtype"},
		{name: "origin negative", item: `{"msgid":"a","origin":-1,"msgtype":"text","text":{"content":"hi"}}`,
			want: syncmsg.Header{MsgID: "a", MsgType: syncmsg.TypeText}, errText: "header"},
		{name: "missing payload", item: `{"msgid":"a","msgtype":"text"}`,
			want: syncmsg.Header{MsgID: "a", MsgType: syncmsg.TypeText}, errText: `text: missing "text" object`},
		{name: "null payload", item: `{"msgid":"a","msgtype":"image","image":null}`,
			want: syncmsg.Header{MsgID: "a", MsgType: syncmsg.TypeImage}, errText: `image: missing "image" object`},
		{name: "latitude string", item: `{"msgid":"a","msgtype":"location","location":{"latitude":"23.1","longitude":1}}`,
			want: syncmsg.Header{MsgID: "a", MsgType: syncmsg.TypeLocation}, errText: "location: json: cannot unmarshal string"},
		{name: "menu item without its object", item: `{"msgid":"a","msgtype":"msgmenu","msgmenu":{"list":[{"type":"click","view":{}}]}}`,
			want: syncmsg.Header{MsgID: "a", MsgType: syncmsg.TypeMsgMenu}, errText: `list[0]: missing "click" object`},
		{name: "menu item not an object", item: `{"msgid":"a","msgtype":"msgmenu","msgmenu":{"list":[1]}}`,
			want: syncmsg.Header{MsgID: "a", MsgType: syncmsg.TypeMsgMenu}, errText: `list[0]: not a JSON object`},
		{name: "merged item msgtype bool", item: `{"msgid":"a","msgtype":"merged_msg","merged_msg":{"item":[{"msgtype":true}]}}`,
			want: syncmsg.Header{MsgID: "a", MsgType: syncmsg.TypeMergedMsg}, errText: "want a string or a number, got a boolean"},
		{name: "event missing", item: `{"msgid":"a","msgtype":"event"}`,
			want: syncmsg.Header{MsgID: "a", MsgType: syncmsg.TypeEvent}, errText: `event: missing "event" object`},
		{name: "event without type", item: `{"msgid":"a","msgtype":"event","event":{"open_kfid":"wk"}}`,
			want: syncmsg.Header{MsgID: "a", OpenKFID: "wk", MsgType: syncmsg.TypeEvent}, errText: "missing event_type"},
		{name: "event fail_type string", item: `{"msgid":"a","msgtype":"event","event":{"event_type":"msg_send_fail","open_kfid":"wk","fail_type":"4"}}`,
			want:    syncmsg.Header{MsgID: "a", OpenKFID: "wk", MsgType: syncmsg.TypeEvent, EventType: syncmsg.EventMsgSendFail},
			errText: "event msg_send_fail: json: cannot unmarshal string"},
		{name: "scene object", item: `{"msgid":"a","msgtype":"event","event":{"event_type":"enter_session","wechat_channels":{"scene":{}}}}`,
			want:    syncmsg.Header{MsgID: "a", MsgType: syncmsg.TypeEvent, EventType: syncmsg.EventEnterSession},
			errText: "want a number or a numeric string, got an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := syncmsg.Decode([]byte(tt.item))
			require.ErrorIs(t, err, syncmsg.ErrMalformed)
			assert.Contains(t, err.Error(), tt.errText)
			assert.Regexp(t, `^syncmsg: malformed item: `, err.Error())
			u := requireUnknown(t, m)
			assert.Equal(t, err, u.Err)
			assert.Equal(t, tt.item, string(u.Raw))
			u.Raw = nil
			assert.Equal(t, tt.want, u.Header)
		})
	}
}

func TestDecodeLenient(t *testing.T) {
	tests := []struct {
		name, item string
		want       syncmsg.Message
	}{
		{name: "scene as numeric string", item: `{"msgtype":"event","event":{"event_type":"enter_session","wechat_channels":{"scene":"5"}}}`,
			want: &syncmsg.EnterSession{
				Header:         syncmsg.Header{MsgType: syncmsg.TypeEvent, EventType: syncmsg.EventEnterSession},
				WechatChannels: &syncmsg.WechatChannels{Scene: syncmsg.ChannelsSceneShopOrder},
			}},
		{name: "scene empty string", item: `{"msgtype":"event","event":{"event_type":"enter_session","wechat_channels":{"scene":""}}}`,
			want: &syncmsg.EnterSession{
				Header:         syncmsg.Header{MsgType: syncmsg.TypeEvent, EventType: syncmsg.EventEnterSession},
				WechatChannels: &syncmsg.WechatChannels{},
			}},
		{name: "event ids fall back to top level", item: `{"open_kfid":"wk","external_userid":"wm","msgtype":"event","event":{"event_type":"user_recall_msg","external_userid":"wm2"}}`,
			want: &syncmsg.UserRecallMsg{Header: syncmsg.Header{
				OpenKFID: "wk", ExternalUserID: "wm2", MsgType: syncmsg.TypeEvent, EventType: syncmsg.EventUserRecallMsg,
			}}},
		{name: "unknown fields ignored", item: `{"msgtype":"text","text":{"content":"hi","future":[1,2]},"future":{}}`,
			want: &syncmsg.Text{Header: syncmsg.Header{MsgType: syncmsg.TypeText}, Content: "hi"}},
		{name: "bad payload under another key", item: `{"msgtype":"text","text":{"content":"hi"},"image":42,"event":[]}`,
			want: &syncmsg.Text{Header: syncmsg.Header{MsgType: syncmsg.TypeText}, Content: "hi"}},
		{name: "bad field of another event type", item: `{"msgtype":"event","event":{"event_type":"user_recall_msg","recall_msgid":"r","fail_type":"x"}}`,
			want: &syncmsg.UserRecallMsg{Header: syncmsg.Header{MsgType: syncmsg.TypeEvent, EventType: syncmsg.EventUserRecallMsg}, RecallMsgID: "r"}},
		{name: "unknown event reusing a field name", item: `{"msgtype":"event","event":{"event_type":"teleport","status":"beaming","open_kfid":"wk"}}`,
			want: &syncmsg.Unknown{Header: syncmsg.Header{OpenKFID: "wk", MsgType: syncmsg.TypeEvent, EventType: "teleport"}}},
		{name: "unknown type reusing a payload key", item: `{"msgtype":"hologram","text":"fallback","hologram":{}}`,
			want: &syncmsg.Unknown{Header: syncmsg.Header{MsgType: "hologram"}}},
		{name: "note without body", item: `{"msgtype":"note"}`, want: &syncmsg.Note{Header: syncmsg.Header{MsgType: syncmsg.TypeNote}}},
		{name: "meeting body compacted", item: `{"msgtype":"meeting","meeting": { "id" : [1, 2] } }`,
			want: &syncmsg.Meeting{Header: syncmsg.Header{MsgType: syncmsg.TypeMeeting}, Payload: json.RawMessage(`{"id":[1,2]}`)}},
		{name: "empty menu", item: `{"msgtype":"msgmenu","msgmenu":{"list":[]}}`, want: &syncmsg.MsgMenu{Header: syncmsg.Header{MsgType: syncmsg.TypeMsgMenu}}},
		{name: "leading space", item: " \n{\"msgtype\":\"video\",\"video\":{\"media_id\":\"v\"}}",
			want: &syncmsg.Video{Header: syncmsg.Header{MsgType: syncmsg.TypeVideo}, MediaID: "v"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := syncmsg.Decode([]byte(tt.item))
			require.NoError(t, err)
			assert.Equal(t, tt.want, withoutRaw(t, m))
		})
	}
}

func TestDecodeCopiesButDecodeListShares(t *testing.T) {
	item := []byte(`{"msgid":"a","msgtype":"voice","voice":{"media_id":"v"}}`)
	m, err := syncmsg.Decode(item)
	require.NoError(t, err)
	ms, err := syncmsg.DecodeList([]json.RawMessage{item})
	require.NoError(t, err)
	item[2] = 'X'
	assert.Equal(t, byte('m'), m.Head().Raw[2], "Decode copies")
	assert.Equal(t, byte('X'), ms[0].Head().Raw[2], "DecodeList shares")
}

func TestMergedItemMessage(t *testing.T) {
	tests := []struct {
		name string
		item syncmsg.MergedItem
		want syncmsg.Message
	}{
		{name: "complete item", item: syncmsg.MergedItem{SendTime: 7, MsgType: "1", MsgContent: `{"msgtype":"text","text":{"content":"hi"}}`},
			want: &syncmsg.Text{Header: syncmsg.Header{SendTime: 7, MsgType: syncmsg.TypeText}, Content: "hi"}},
		{name: "own send_time wins", item: syncmsg.MergedItem{SendTime: 7, MsgContent: `{"send_time":9,"msgtype":"text","text":{"content":"hi"}}`},
			want: &syncmsg.Text{Header: syncmsg.Header{SendTime: 9, MsgType: syncmsg.TypeText}, Content: "hi"}},
		{name: "payload key only", item: syncmsg.MergedItem{SendTime: 7, MsgType: syncmsg.TypeImage, MsgContent: `{"image":{"media_id":"m"}}`},
			want: &syncmsg.Image{Header: syncmsg.Header{SendTime: 7, MsgType: syncmsg.TypeImage}, MediaID: "m"}},
		{name: "bare payload", item: syncmsg.MergedItem{SendTime: 7, MsgType: syncmsg.TypeLink, MsgContent: `{"title":"t","url":"u"}`},
			want: &syncmsg.Link{Header: syncmsg.Header{SendTime: 7, MsgType: syncmsg.TypeLink}, Title: "t", URL: "u"}},
		{name: "numeric msgtype is unknown", item: syncmsg.MergedItem{SendTime: 7, MsgType: "2", MsgContent: `{"image":{"media_id":"m"}}`},
			want: &syncmsg.Unknown{Header: syncmsg.Header{SendTime: 7, MsgType: "2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tt.item.Message()
			require.NoError(t, err)
			assert.Equal(t, tt.item.MsgContent, string(m.Head().Raw))
			assert.Equal(t, tt.want, withoutRaw(t, m))
		})
	}

	m, err := syncmsg.MergedItem{SendTime: 7, MsgType: syncmsg.TypeText, MsgContent: "not json"}.Message()
	require.ErrorIs(t, err, syncmsg.ErrMalformed)
	assert.Equal(t, int64(7), requireUnknown(t, m).SendTime)
}

func TestMergedItemMessageGolden(t *testing.T) {
	m, err := syncmsg.Decode(readGolden(t, "merged_msg.json"))
	require.NoError(t, err)
	inner, err := m.(*syncmsg.MergedMsg).Items[0].Message()
	require.NoError(t, err)
	require.IsType(t, &syncmsg.Text{}, inner)
	assert.Equal(t, "你好", inner.(*syncmsg.Text).Content)
	assert.Equal(t, int64(1615478500), inner.Head().SendTime)
}

func TestItemErrorWithoutErr(t *testing.T) {
	e := &syncmsg.ItemError{Index: 2}
	assert.Equal(t, "syncmsg: item 2: unknown error", e.Error())
	assert.NoError(t, errors.Unwrap(e))
}

// A wechat_channels.scene that is not a number must not cost the enter_session event its
// welcome code: it decodes as scene 0.
func TestDecodeEnterSessionOddSceneKeepsWelcomeCode(t *testing.T) {
	m, err := syncmsg.Decode([]byte(`{"msgid":"a","origin":4,"msgtype":"event","event":{"event_type":"enter_session",` +
		`"open_kfid":"wk","external_userid":"wm","welcome_code":"W","wechat_channels":{"scene":"home"}}}`))
	require.NoError(t, err)
	e, ok := m.(*syncmsg.EnterSession)
	require.True(t, ok, "got %T", m)
	assert.Equal(t, "W", e.WelcomeCode)
	require.NotNil(t, e.WechatChannels)
	assert.Equal(t, syncmsg.ChannelsScene(0), e.WechatChannels.Scene)
}
