package syncmsg_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/syncmsg"
)

func TestEncode(t *testing.T) {
	tests := []struct {
		name string
		msg  syncmsg.Message
		want string
	}{
		{name: "text", msg: &syncmsg.Text{
			Header:  syncmsg.Header{MsgID: "m", OpenKFID: "wk", ExternalUserID: "wm", SendTime: 5, Origin: syncmsg.OriginCustomer, MsgType: "ignored"},
			Content: "a<b & c",
		}, want: `{"msgid":"m","open_kfid":"wk","external_userid":"wm","send_time":5,"origin":3,"msgtype":"text","text":{"content":"a<b & c"}}`},
		{name: "servicer message", msg: &syncmsg.Image{
			Header:  syncmsg.Header{MsgID: "m", OpenKFID: "wk", ExternalUserID: "wm", SendTime: 5, Origin: syncmsg.OriginServicer, ServicerUserID: "zs"},
			MediaID: "id",
		}, want: `{"msgid":"m","open_kfid":"wk","external_userid":"wm","send_time":5,"origin":5,"servicer_userid":"zs","msgtype":"image","image":{"media_id":"id"}}`},
		{name: "event ids inside event", msg: &syncmsg.SessionStatusChange{
			Header:     syncmsg.Header{MsgID: "e", OpenKFID: "wk", ExternalUserID: "wm", SendTime: 6, Origin: syncmsg.OriginSystem},
			ChangeType: syncmsg.ChangeTypeEnd, OldServicerUserID: "zs", MsgCode: "code",
		}, want: `{"msgid":"e","send_time":6,"origin":4,"msgtype":"event","event":{"event_type":"session_status_change","open_kfid":"wk","external_userid":"wm","change_type":3,"old_servicer_userid":"zs","msg_code":"code"}}`},
		{name: "servicer event", msg: &syncmsg.ServicerStatusChange{
			Header: syncmsg.Header{MsgID: "e", OpenKFID: "wk", ServicerUserID: "zs", SendTime: 6, Origin: syncmsg.OriginSystem},
			Status: syncmsg.ServicerStatusReceiving,
		}, want: `{"msgid":"e","send_time":6,"origin":4,"msgtype":"event","event":{"event_type":"servicer_status_change","open_kfid":"wk","servicer_userid":"zs","status":1,"stop_type":0}}`},
		{name: "menu", msg: &syncmsg.MsgMenu{List: []syncmsg.MenuItem{
			{Type: syncmsg.MenuTypeText, Text: &syncmsg.MenuText{Content: "t"}},
			{Type: "future", Raw: json.RawMessage(`{"type":"future", "future":{}}`)},
			{Type: "bare"},
		}}, want: `{"msgid":"","send_time":0,"origin":0,"msgtype":"msgmenu","msgmenu":{"list":[{"type":"text","text":{"content":"t"}},{"type":"future","future":{}},{"type":"bare"}]}}`},
		{name: "note without payload", msg: &syncmsg.Note{},
			want: `{"msgid":"","send_time":0,"origin":0,"msgtype":"note"}`},
		{name: "merged numeric msgtype written as string", msg: &syncmsg.MergedMsg{Items: []syncmsg.MergedItem{{MsgType: "1"}}},
			want: `{"msgid":"","send_time":0,"origin":0,"msgtype":"merged_msg","merged_msg":{"title":"","item":[{"send_time":0,"msgtype":"1","sender_name":"","msg_content":""}]}}`},
		{name: "unknown is its raw", msg: &syncmsg.Unknown{Header: syncmsg.Header{Raw: json.RawMessage(`{"msgtype":"x"}`)}},
			want: `{"msgtype":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := syncmsg.Encode(tt.msg)
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		msg     syncmsg.Message
		errText string
	}{
		{name: "nil", msg: nil, errText: "syncmsg: encode: nil message"},
		{name: "typed nil", msg: (*syncmsg.Text)(nil), errText: "syncmsg: encode: nil message"},
		{name: "unknown without raw", msg: &syncmsg.Unknown{}, errText: "raw is not valid JSON"},
		{name: "unknown invalid raw", msg: &syncmsg.Unknown{Header: syncmsg.Header{MsgID: "u", Raw: json.RawMessage(`{`)}}, errText: `syncmsg: encode unknown item "u"`},
		{name: "menu item without object", msg: &syncmsg.MsgMenu{List: []syncmsg.MenuItem{{Type: syncmsg.MenuTypeClick}}},
			errText: `list[0]: item of type "click" without its object`},
		{name: "invalid meeting payload", msg: &syncmsg.Meeting{Payload: json.RawMessage(`{"a"`)}, errText: "syncmsg: encode meeting item"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := syncmsg.Encode(tt.msg)
			require.Error(t, err)
			assert.Nil(t, got)
			assert.Contains(t, err.Error(), tt.errText)
		})
	}
}

// TestEncodeUnknownRoundTrip: an Unknown re-decodes to the same Unknown.
func TestEncodeUnknownRoundTrip(t *testing.T) {
	item := []byte(`{"msgid":"x","msgtype":"hologram","hologram":{}}`)
	m, err := syncmsg.Decode(item)
	require.NoError(t, err)
	enc, err := syncmsg.Encode(m)
	require.NoError(t, err)
	assert.Equal(t, item, enc)
}
