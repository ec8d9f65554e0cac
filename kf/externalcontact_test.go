package kf_test

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf"
)

// TestSendWelcomeMsgBody: the body is WeCom's (https://developer.work.weixin.qq.com/document/path/92137),
// every attachment type, empty optional fields left out.
func TestSendWelcomeMsgBody(t *testing.T) {
	f := newFake().on("externalcontact/send_welcome_msg", seq(okJSON("")))
	cl := newClient(f)
	err := cl.SendWelcomeMsg(t.Context(), kf.SendWelcomeMsgRequest{WelcomeCode: "CODE", Text: "你好", Attachments: []kf.WelcomeAttachment{
		{Image: &kf.WelcomeImage{MediaID: "M1"}},
		{Image: &kf.WelcomeImage{PicURL: "https://p.qpic.cn/x.png"}},
		{Link: &kf.WelcomeLink{Title: "T", URL: "https://e.com"}},
		{MiniProgram: &kf.WelcomeMiniProgram{Title: "MP", PicMediaID: "M2", AppID: "wx1", Page: "/p"}},
		{Video: &kf.WelcomeMedia{MediaID: "M3"}},
		{File: &kf.WelcomeMedia{MediaID: "M4"}},
	}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"welcome_code":"CODE","text":{"content":"你好"},"attachments":[
		{"msgtype":"image","image":{"media_id":"M1"}},
		{"msgtype":"image","image":{"pic_url":"https://p.qpic.cn/x.png"}},
		{"msgtype":"link","link":{"title":"T","url":"https://e.com"}},
		{"msgtype":"miniprogram","miniprogram":{"title":"MP","pic_media_id":"M2","appid":"wx1","page":"/p"}},
		{"msgtype":"video","video":{"media_id":"M3"}},
		{"msgtype":"file","file":{"media_id":"M4"}}]}`, f.lastBody("externalcontact/send_welcome_msg"))

	require.NoError(t, cl.SendWelcomeMsg(t.Context(), kf.SendWelcomeMsgRequest{WelcomeCode: "C2", Attachments: []kf.WelcomeAttachment{{File: &kf.WelcomeMedia{MediaID: "M"}}}}))
	assert.JSONEq(t, `{"welcome_code":"C2","attachments":[{"msgtype":"file","file":{"media_id":"M"}}]}`, f.lastBody("externalcontact/send_welcome_msg"))
}

func TestSendWelcomeMsgInvalid(t *testing.T) {
	img := kf.WelcomeAttachment{Image: &kf.WelcomeImage{MediaID: "M"}}
	for name, req := range map[string]kf.SendWelcomeMsgRequest{
		"no code":               {Text: "hi"},
		"nothing to send":       {WelcomeCode: "C"},
		"text too long":         {WelcomeCode: "C", Text: strings.Repeat("x", 4001)},
		"ten attachments":       {WelcomeCode: "C", Attachments: []kf.WelcomeAttachment{img, img, img, img, img, img, img, img, img, img}},
		"empty attachment":      {WelcomeCode: "C", Attachments: []kf.WelcomeAttachment{{}}},
		"two bodies":            {WelcomeCode: "C", Attachments: []kf.WelcomeAttachment{{Image: img.Image, File: &kf.WelcomeMedia{MediaID: "F"}}}},
		"image without id":      {WelcomeCode: "C", Attachments: []kf.WelcomeAttachment{{Image: &kf.WelcomeImage{}}}},
		"link without url":      {WelcomeCode: "C", Attachments: []kf.WelcomeAttachment{{Link: &kf.WelcomeLink{Title: "T"}}}},
		"link title too long":   {WelcomeCode: "C", Attachments: []kf.WelcomeAttachment{{Link: &kf.WelcomeLink{Title: strings.Repeat("t", 129), URL: "u"}}}},
		"link desc too long":    {WelcomeCode: "C", Attachments: []kf.WelcomeAttachment{{Link: &kf.WelcomeLink{Title: "t", URL: "u", Desc: strings.Repeat("d", 513)}}}},
		"mini program no appid": {WelcomeCode: "C", Attachments: []kf.WelcomeAttachment{{MiniProgram: &kf.WelcomeMiniProgram{Title: "t", PicMediaID: "m", Page: "/"}}}},
		"mini program title":    {WelcomeCode: "C", Attachments: []kf.WelcomeAttachment{{MiniProgram: &kf.WelcomeMiniProgram{Title: strings.Repeat("t", 65), PicMediaID: "m", AppID: "a", Page: "/"}}}},
		"video without id":      {WelcomeCode: "C", Attachments: []kf.WelcomeAttachment{{Video: &kf.WelcomeMedia{}}}},
	} {
		f := newFake()
		err := newClient(f).SendWelcomeMsg(t.Context(), req)
		assert.ErrorIs(t, err, kf.ErrInvalidRequest, name)
		assert.Zero(t, f.count("externalcontact/send_welcome_msg"), name)
	}
}

// TestSendWelcomeMsgErrors: WeCom's welcome errors are the documented sentinels; those
// after which a welcome can never go out are skippable; none is retried, nor is a 5xx.
func TestSendWelcomeMsgErrors(t *testing.T) {
	for _, tt := range []struct {
		reply     string
		want      error
		skippable bool
	}{
		{errJSON(41049, "missing welcome code"), kf.ErrWelcomeCodeMissing, false},
		{errJSON(41050, "invalid welcome code"), kf.ErrWelcomeCodeInvalid, true},
		{errJSON(41051, "chatting"), kf.ErrWelcomeAlreadyChatting, true},
		{errJSON(41096, "sending"), kf.ErrWelcomeSending, true},
		{errJSON(84061, "no relation"), kf.ErrNoExternalContactRelation, true},
		{"503", nil, false},
	} {
		synctest.Test(t, func(t *testing.T) {
			f := newFake().on("externalcontact/send_welcome_msg", seq(tt.reply, okJSON("")))
			err := newClient(f, kf.WithRetry(testPolicy)).SendWelcomeMsg(t.Context(), kf.SendWelcomeMsgRequest{WelcomeCode: "C", Text: "hi"})
			require.Error(t, err, tt.reply)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			}
			assert.Equal(t, tt.skippable, kf.WelcomeSkippable(err), tt.reply)
			assert.Equal(t, 1, f.count("externalcontact/send_welcome_msg"), "a single-use code is never sent twice: %s", tt.reply)
		})
	}
}

// The answer of https://developer.work.weixin.qq.com/document/path/96315.
const externalContactJSON = `{"errcode":0,"errmsg":"ok",
 "external_contact":{"external_userid":"woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA","name":"李四","position":"Manager",
   "avatar":"https://a","corp_name":"腾讯","corp_full_name":"腾讯科技有限公司","type":2,"gender":1,
   "unionid":"ozynqsulJFCZ2z1aYeS8h-nuasdAAA",
   "external_profile":{"external_attr":[{"type":0,"name":"文本名称","text":{"value":"文本"}},
     {"type":1,"name":"网页名称","web":{"url":"http://www.test.com","title":"标题"}},
     {"type":2,"name":"测试app","miniprogram":{"appid":"wx8bd80126147df384","pagepath":"/index","title":"my miniprogram"}}]}},
 "follow_user":[{"userid":"rocky","remark":"李部长","description":"对接采购事务","createtime":1525779812,
   "tags":[{"group_name":"标签分组名称","tag_name":"标签名称","tag_id":"etAJ","type":1}],
   "remark_corp_name":"腾讯科技","remark_mobiles":["13800000001"],"oper_userid":"rocky","add_way":1,"state":"qr-a"}],
 "next_cursor":""}`

func TestGetExternalContact(t *testing.T) {
	f := newFake().on("externalcontact/get", seq(externalContactJSON))
	got, err := newClient(f).GetExternalContact(t.Context(), kf.GetExternalContactRequest{ExternalUserID: "woAJ"})
	require.NoError(t, err)
	assert.Equal(t, &kf.ExternalContact{
		Contact: kf.ExternalContactInfo{ExternalUserID: "woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA", Name: "李四", Position: "Manager", Avatar: "https://a",
			CorpName: "腾讯", CorpFullName: "腾讯科技有限公司", Type: 2, Gender: 1, UnionID: "ozynqsulJFCZ2z1aYeS8h-nuasdAAA",
			ExternalProfile: &kf.ExternalProfile{ExternalAttrs: []kf.ExternalAttr{
				{Type: 0, Name: "文本名称", Text: &kf.ExternalAttrText{Value: "文本"}},
				{Type: 1, Name: "网页名称", Web: &kf.ExternalAttrWeb{URL: "http://www.test.com", Title: "标题"}},
				{Type: 2, Name: "测试app", MiniProgram: &kf.ExternalAttrMiniProgram{AppID: "wx8bd80126147df384", PagePath: "/index", Title: "my miniprogram"}},
			}}},
		FollowUsers: []kf.FollowUser{{UserID: "rocky", Remark: "李部长", Description: "对接采购事务", CreateTime: time.Unix(1525779812, 0),
			Tags: []kf.FollowUserTag{{GroupName: "标签分组名称", TagName: "标签名称", TagID: "etAJ", Type: 1}}, RemarkCorpName: "腾讯科技",
			RemarkMobiles: []string{"13800000001"}, OperUserID: "rocky", AddWay: 1, State: "qr-a"}},
	}, got)

	_, err = newClient(f).GetExternalContact(t.Context(), kf.GetExternalContactRequest{})
	assert.ErrorIs(t, err, kf.ErrInvalidRequest)
}

// TestGetExternalContactAll follows next_cursor.
func TestGetExternalContactAll(t *testing.T) {
	f := newFake().on("externalcontact/get", seq(
		okJSON(`"external_contact":{"external_userid":"wm1"},"follow_user":[{"userid":"a"}],"next_cursor":"c2"`),
		okJSON(`"external_contact":{"external_userid":"wm1"},"follow_user":[{"userid":"b"}],"next_cursor":""`)))
	got, err := newClient(f).GetExternalContactAll(t.Context(), "wm1")
	require.NoError(t, err)
	require.Len(t, got.FollowUsers, 2)
	assert.Equal(t, "b", got.FollowUsers[1].UserID)
	assert.Equal(t, 2, f.count("externalcontact/get"))
}
