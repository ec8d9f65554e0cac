package syncmsg_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/syncmsg"
)

const (
	kfID     = "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q"
	userID   = "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"
	servicer = "Zhangsan"
)

// msgHeader is the header of a golden message fixture.
func msgHeader(id string, sendTime int64, origin syncmsg.Origin, t syncmsg.MsgType) syncmsg.Header {
	return syncmsg.Header{
		MsgID: id, OpenKFID: kfID, ExternalUserID: userID, SendTime: sendTime,
		Origin: origin, ServicerUserID: servicer, MsgType: t,
	}
}

// eventHeader is the header of a golden event fixture.
func eventHeader(id string, sendTime int64, e syncmsg.EventType, servicerID string) syncmsg.Header {
	return syncmsg.Header{
		MsgID: id, OpenKFID: kfID, ExternalUserID: userID, SendTime: sendTime,
		Origin: syncmsg.OriginSystem, ServicerUserID: servicerID, MsgType: syncmsg.TypeEvent, EventType: e,
	}
}

// goldenCase is one file of testdata/syncmsg: what it decodes to (Raw aside)
// and which fields its wire form legitimately lacks.
type goldenCase struct {
	file   string
	want   syncmsg.Message
	zeroOK []string
}

// notEvent are the fields zero in every non-event message.
var notEvent = []string{"Header.EventType"}

func goldenCases() []goldenCase {
	menuZero := []string{
		"List[0].View", "List[0].Miniprogram", "List[0].Text", "List[0].Raw",
		"List[1].Click", "List[1].Miniprogram", "List[1].Text", "List[1].Raw",
		"List[2].Click", "List[2].View", "List[2].Text", "List[2].Raw",
		"List[3].Click", "List[3].View", "List[3].Miniprogram", "List[3].Raw",
		"List[4].Click", "List[4].View", "List[4].Miniprogram", "List[4].Text",
	}
	wantProduct := func(id string) *syncmsg.ChannelsShopProduct {
		return &syncmsg.ChannelsShopProduct{
			Header:    msgHeader(id, 1615478592, syncmsg.OriginCustomer, syncmsg.TypeChannelsShopProduct),
			ProductID: "10000032614938", HeadImage: "https://wx.qlogo.cn/finderhead/product.jpg",
			Title: "夏季新款纯棉T恤", SalesPrice: "9900", ShopNickname: "微信客服小店",
			ShopHeadImage: "https://wx.qlogo.cn/finderhead/shop.jpg",
		}
	}
	enter := func(id string, scene syncmsg.ChannelsScene) *syncmsg.EnterSession {
		return &syncmsg.EnterSession{
			Header: eventHeader(id, 1615478600, syncmsg.EventEnterSession, ""),
			Scene:  "123", SceneParam: "abc", WelcomeCode: "aaaaaa",
			WechatChannels: &syncmsg.WechatChannels{Nickname: "进入会话的视频号名称", ShopNickname: "视频号小店名称", Scene: scene},
		}
	}
	media := "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw_"
	return []goldenCase{
		{file: "text.json", want: &syncmsg.Text{
			Header:  msgHeader("from_msgid_4622416642169452483", 1615478585, syncmsg.OriginCustomer, syncmsg.TypeText),
			Content: "查看订单状态", MenuID: "101",
		}},
		{file: "image.json", want: &syncmsg.Image{
			Header: msgHeader("from_msgid_image_4622416642169452483", 1615478586, syncmsg.OriginServicer, syncmsg.TypeImage), MediaID: media + "image",
		}},
		{file: "voice.json", want: &syncmsg.Voice{
			Header: msgHeader("from_msgid_voice_4622416642169452483", 1615478586, syncmsg.OriginServicer, syncmsg.TypeVoice), MediaID: media + "voice",
		}},
		{file: "video.json", want: &syncmsg.Video{
			Header: msgHeader("from_msgid_video_4622416642169452483", 1615478586, syncmsg.OriginServicer, syncmsg.TypeVideo), MediaID: media + "video",
		}},
		{file: "file.json", want: &syncmsg.File{
			Header: msgHeader("from_msgid_file_4622416642169452483", 1615478586, syncmsg.OriginServicer, syncmsg.TypeFile), MediaID: media + "file",
		}},
		{file: "location.json", want: &syncmsg.Location{
			Header:   msgHeader("from_msgid_location_1", 1615478587, syncmsg.OriginServicer, syncmsg.TypeLocation),
			Latitude: 23.106021881103501, Longitude: 113.320503234863,
			Name: "广州国际媒体港(广州市海珠区)", Address: "广东省广州市海珠区滨江东路",
		}},
		{file: "link.json", want: &syncmsg.Link{
			Header: msgHeader("from_msgid_link_1", 1615478588, syncmsg.OriginServicer, syncmsg.TypeLink),
			Title:  "欢迎使用微信客服", Desc: "一站式客服解决方案",
			URL: "https://work.weixin.qq.com/kf/?a=1&b=<2>", PicURL: "https://wework.qpic.cn/wwpic/thumb.png",
		}},
		{file: "business_card.json", want: &syncmsg.BusinessCard{
			Header: msgHeader("from_msgid_business_card_1", 1615478589, syncmsg.OriginServicer, syncmsg.TypeBusinessCard), UserID: "LiSi",
		}},
		{file: "miniprogram.json", want: &syncmsg.Miniprogram{
			Header: msgHeader("from_msgid_miniprogram_1", 1615478590, syncmsg.OriginCustomer, syncmsg.TypeMiniprogram),
			Title:  "欢迎报名夏令营", AppID: "wx123123123123123",
			PagePath: "pages/index?userid=zhangsan&orderid=123123123", ThumbMediaID: "MEDIA_ID_thumb",
		}},
		{file: "msgmenu.json", zeroOK: menuZero, want: &syncmsg.MsgMenu{
			Header:      msgHeader("from_msgid_msgmenu_1", 1615478591, syncmsg.OriginServicer, syncmsg.TypeMsgMenu),
			HeadContent: "您对本次服务是否满意呢? ",
			List: []syncmsg.MenuItem{
				{Type: syncmsg.MenuTypeClick, Click: &syncmsg.MenuClick{ID: "101", Content: "满意"}},
				{Type: syncmsg.MenuTypeView, View: &syncmsg.MenuView{URL: "https://work.weixin.qq.com", Content: "点击跳转到自助查询页面"}},
				{Type: syncmsg.MenuTypeMiniprogram, Miniprogram: &syncmsg.MenuMiniprogram{
					AppID: "wx123123123123123", PagePath: "pages/index?userid=zhangsan&orderid=123123123", Content: "点击打开小程序查询更多",
				}},
				{Type: syncmsg.MenuTypeText, Text: &syncmsg.MenuText{Content: "纯文本，支持\n换行", NoNewline: true}},
				{Type: "ca_link", Raw: json.RawMessage(`{"type":"ca_link","ca_link":{"link_url":"https://work.weixin.qq.com/ca/cawcde"}}`)},
			},
			TailContent: "欢迎再次光临",
		}},
		{file: "channels_shop_product.json", want: wantProduct("from_msgid_channels_shop_product_1")},
		{file: "channels_shop_product_head_img.json", want: wantProduct("from_msgid_channels_shop_product_2")},
		{file: "channels_shop_order.json", want: &syncmsg.ChannelsShopOrder{
			Header:  msgHeader("from_msgid_channels_shop_order_1", 1615478593, syncmsg.OriginCustomer, syncmsg.TypeChannelsShopOrder),
			OrderID: "3705115058471208928", ProductTitles: "夏季新款纯棉T恤,纯棉袜子", PriceWording: "¥99.00",
			State: "待发货", ImageURL: "https://wx.qlogo.cn/finderhead/order.jpg", ShopNickname: "微信客服小店",
		}},
		{file: "merged_msg.json", want: &syncmsg.MergedMsg{
			Header: msgHeader("from_msgid_merged_msg_1", 1615478594, syncmsg.OriginCustomer, syncmsg.TypeMergedMsg),
			Title:  "张三和李四的聊天记录",
			Items: []syncmsg.MergedItem{
				{SendTime: 1615478500, MsgType: syncmsg.TypeText, SenderName: "张三", MsgContent: `{"msgtype":"text","text":{"content":"你好"}}`},
				{SendTime: 1615478510, MsgType: "2", SenderName: "李四", MsgContent: `{"image":{"media_id":"MEDIA_ID_merged"}}`},
			},
		}},
		{file: "channels.json", want: &syncmsg.Channels{
			Header:  msgHeader("from_msgid_channels_1", 1615478595, syncmsg.OriginCustomer, syncmsg.TypeChannels),
			SubType: syncmsg.ChannelsSubTypeFeed, Nickname: "视频号名称", Title: "视频号动态标题",
		}},
		{file: "meeting.json", want: &syncmsg.Meeting{
			Header:  msgHeader("from_msgid_meeting_1", 1615478596, syncmsg.OriginCustomer, syncmsg.TypeMeeting),
			Payload: json.RawMessage(`{"meetingid":"hyXY0MBQAAo3hrwmY6jb9hDdaG5z0Xig"}`),
		}},
		{file: "schedule.json", want: &syncmsg.Schedule{
			Header:  msgHeader("from_msgid_schedule_1", 1615478597, syncmsg.OriginCustomer, syncmsg.TypeSchedule),
			Payload: json.RawMessage(`{"schedule_id":"17c7d2bd9f20d652840f72f59e796AAA"}`),
		}},
		{file: "note.json", want: &syncmsg.Note{
			Header:  msgHeader("from_msgid_note_1", 1615478598, syncmsg.OriginCustomer, syncmsg.TypeNote),
			Payload: json.RawMessage(`{}`),
		}},
		{file: "event_enter_session.json", zeroOK: []string{"Header.ServicerUserID"},
			want: enter("from_msgid_event_enter_session_1", syncmsg.ChannelsSceneHome)},
		{file: "event_enter_session_scene_string.json", zeroOK: []string{"Header.ServicerUserID"},
			want: enter("from_msgid_event_enter_session_2", syncmsg.ChannelsSceneShopProduct)},
		{file: "event_msg_send_fail.json", zeroOK: []string{"Header.ServicerUserID"}, want: &syncmsg.MsgSendFail{
			Header:    eventHeader("from_msgid_event_msg_send_fail_1", 1615478601, syncmsg.EventMsgSendFail, ""),
			FailMsgID: "FAIL_MSGID", FailType: syncmsg.FailTypeSessionExpired,
		}},
		{file: "event_servicer_status_change.json", zeroOK: []string{"Header.ExternalUserID"}, want: &syncmsg.ServicerStatusChange{
			Header: func() syncmsg.Header {
				h := eventHeader("from_msgid_event_servicer_status_change_1", 1615478602, syncmsg.EventServicerStatusChange, servicer)
				h.ExternalUserID = ""
				return h
			}(),
			Status: syncmsg.ServicerStatusStopped, StopType: syncmsg.StopTypeSuspended,
		}},
		{file: "event_session_status_change.json", zeroOK: []string{"Header.ServicerUserID"}, want: &syncmsg.SessionStatusChange{
			Header:     eventHeader("from_msgid_event_session_status_change_1", 1615478603, syncmsg.EventSessionStatusChange, ""),
			ChangeType: syncmsg.ChangeTypeTransfer, OldServicerUserID: "Zhangsan", NewServicerUserID: "LiSi", MsgCode: "MSG_CODE",
		}},
		{file: "event_user_recall_msg.json", zeroOK: []string{"Header.ServicerUserID"}, want: &syncmsg.UserRecallMsg{
			Header:      eventHeader("from_msgid_event_user_recall_msg_1", 1615478604, syncmsg.EventUserRecallMsg, ""),
			RecallMsgID: "from_msgid_4622416642169452483",
		}},
		{file: "event_servicer_recall_msg.json", want: &syncmsg.ServicerRecallMsg{
			Header:      eventHeader("from_msgid_event_servicer_recall_msg_1", 1615478605, syncmsg.EventServicerRecallMsg, servicer),
			RecallMsgID: "from_msgid_servicer_1",
		}},
		{file: "event_reject_customer_msg_switch_change.json", want: &syncmsg.RejectCustomerMsgSwitchChange{
			Header:       eventHeader("from_msgid_event_reject_customer_msg_switch_change_1", 1615478606, syncmsg.EventRejectCustomerMsgSwitchChange, servicer),
			RejectSwitch: syncmsg.RejectSwitchOn,
		}},
	}
}

func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "syncmsg", name))
	require.NoError(t, err)
	return b
}

// withoutRaw returns a copy of m's concrete value with Header.Raw cleared, for
// comparisons that ignore the raw item.
func withoutRaw(t testing.TB, m syncmsg.Message) syncmsg.Message {
	t.Helper()
	c := clone(m)
	c.Head().Raw = nil
	return c
}

func TestDecodeGolden(t *testing.T) {
	cases := goldenCases()
	files, err := filepath.Glob(filepath.Join("testdata", "syncmsg", "*.json"))
	require.NoError(t, err)
	require.Len(t, cases, len(files), "every golden file has a case")

	for _, tc := range cases {
		t.Run(strings.TrimSuffix(tc.file, ".json"), func(t *testing.T) {
			raw := readGolden(t, tc.file)
			m, err := syncmsg.Decode(raw)
			require.NoError(t, err)
			require.IsType(t, tc.want, m)
			assert.JSONEq(t, string(raw), string(m.Head().Raw), "Raw is the whole item")
			assert.Equal(t, tc.want, withoutRaw(t, m))

			zeroOK := tc.zeroOK
			if m.Head().MsgType != syncmsg.TypeEvent {
				zeroOK = append(zeroOK, notEvent...)
			}
			assertNoZeroFields(t, m, zeroOK...)
		})
	}
}

// TestRoundTripGolden checks Decode → Encode → Decode on every golden file.
func TestRoundTripGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(strings.TrimSuffix(tc.file, ".json"), func(t *testing.T) {
			m, err := syncmsg.Decode(readGolden(t, tc.file))
			require.NoError(t, err)
			enc, err := syncmsg.Encode(m)
			require.NoError(t, err)
			require.True(t, json.Valid(enc), "%s", enc)
			again, err := syncmsg.Decode(enc)
			require.NoError(t, err, "%s", enc)
			assert.Equal(t, withoutRaw(t, m), withoutRaw(t, again), "%s", enc)
		})
	}
}
