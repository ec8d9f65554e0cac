package syncmsg_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/kfbot/kfbot/kf/syncmsg"
)

// benchPage builds a realistic page of n items: mostly customer texts, then
// images, events, enter_session, locations, merged records, files, voices,
// links and the odd unknown type.
func benchPage(n int) []json.RawMessage {
	const head = `"open_kfid":"wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q","external_userid":"wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"`
	texts := []string{
		"你好，我想查询一下我的订单什么时候发货？",
		"ok",
		"请问你们周末营业吗？我想周六下午过去看看，顺便问一下停车方便不方便",
		"Hi, I ordered a blue T-shirt (size M) three days ago and it still has not shipped. Order 3705115058471208928.",
	}
	page := make([]json.RawMessage, n)
	for i := range page {
		id := fmt.Sprintf("from_msgid_%d", 4622416642169452483+i)
		ts := 1615478585 + i
		var s string
		switch k := i % 100; {
		case k < 65:
			s = fmt.Sprintf(`{"msgid":%q,%s,"send_time":%d,"origin":3,"msgtype":"text","text":{"content":%q}}`, id, head, ts, texts[i%len(texts)])
		case k < 67:
			s = fmt.Sprintf(`{"msgid":%q,%s,"send_time":%d,"origin":3,"msgtype":"text","text":{"content":"查看订单状态","menu_id":"101"}}`, id, head, ts)
		case k < 70:
			s = fmt.Sprintf(`{"msgid":%q,%s,"send_time":%d,"origin":5,"servicer_userid":"Zhangsan","msgtype":"text","text":{"content":"您好，请稍等，正在为您查询。"}}`, id, head, ts)
		case k < 78:
			s = fmt.Sprintf(`{"msgid":%q,%s,"send_time":%d,"origin":3,"msgtype":"image","image":{"media_id":"2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw%d"}}`, id, head, ts, i)
		case k < 83:
			s = fmt.Sprintf(`{"msgid":%q,"send_time":%d,"origin":4,"msgtype":"event","event":{"event_type":"enter_session",%s,"scene":"123","scene_param":"abc","welcome_code":"aaaaaa%d"}}`, id, ts, head, i)
		case k < 86:
			s = fmt.Sprintf(`{"msgid":%q,"send_time":%d,"origin":4,"msgtype":"event","event":{"event_type":"session_status_change",%s,"change_type":1,"new_servicer_userid":"Zhangsan","msg_code":"MSG_CODE"}}`, id, ts, head)
		case k < 88:
			s = fmt.Sprintf(`{"msgid":%q,"send_time":%d,"origin":4,"msgtype":"event","event":{"event_type":"msg_send_fail",%s,"fail_msgid":"FAIL_%d","fail_type":10}}`, id, ts, head, i)
		case k < 89:
			s = fmt.Sprintf(`{"msgid":%q,"send_time":%d,"origin":4,"msgtype":"event","event":{"event_type":"user_recall_msg",%s,"recall_msgid":"from_msgid_%d"}}`, id, ts, head, i-1)
		case k < 92:
			s = fmt.Sprintf(`{"msgid":%q,%s,"send_time":%d,"origin":3,"msgtype":"location","location":{"latitude":23.106021881103501,"longitude":113.320503234863,"name":"广州国际媒体港(广州市海珠区)","address":"广东省广州市海珠区滨江东路"}}`, id, head, ts)
		case k < 94:
			s = fmt.Sprintf(`{"msgid":%q,%s,"send_time":%d,"origin":3,"msgtype":"merged_msg","merged_msg":{"title":"张三和李四的聊天记录","item":[{"send_time":1615478500,"msgtype":"text","sender_name":"张三","msg_content":"{\"msgtype\":\"text\",\"text\":{\"content\":\"你好\"}}"},{"send_time":1615478510,"msgtype":"image","sender_name":"李四","msg_content":"{\"msgtype\":\"image\",\"image\":{\"media_id\":\"MEDIA\"}}"}]}}`, id, head, ts)
		case k < 96:
			s = fmt.Sprintf(`{"msgid":%q,%s,"send_time":%d,"origin":3,"msgtype":"file","file":{"media_id":"FILE_MEDIA_%d"}}`, id, head, ts, i)
		case k < 98:
			s = fmt.Sprintf(`{"msgid":%q,%s,"send_time":%d,"origin":3,"msgtype":"voice","voice":{"media_id":"VOICE_MEDIA_%d"}}`, id, head, ts, i)
		case k < 99:
			s = fmt.Sprintf(`{"msgid":%q,%s,"send_time":%d,"origin":3,"msgtype":"link","link":{"title":"欢迎使用微信客服","desc":"一站式客服解决方案","url":"https://work.weixin.qq.com/kf/","pic_url":"https://wework.qpic.cn/wwpic/thumb.png"}}`, id, head, ts)
		default:
			s = fmt.Sprintf(`{"msgid":%q,%s,"send_time":%d,"origin":3,"msgtype":"hologram","hologram":{"x":1}}`, id, head, ts)
		}
		page[i] = json.RawMessage(s)
	}
	return page
}

// BenchmarkDecodeList decodes a 1,000-item mixed page; ns/msg and msgs/s are
// per item.
func BenchmarkDecodeList(b *testing.B) {
	page := benchPage(1000)
	size := 0
	for _, it := range page {
		size += len(it)
	}
	if _, err := syncmsg.DecodeList(page); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		if _, err := syncmsg.DecodeList(page); err != nil {
			b.Fatal(err)
		}
	}
	perMsg := float64(time.Since(start).Nanoseconds()) / float64(b.N) / float64(len(page))
	b.ReportMetric(perMsg, "ns/msg")
	b.ReportMetric(1e9/perMsg, "msgs/s")
}

// BenchmarkDecodeText decodes one customer text item.
func BenchmarkDecodeText(b *testing.B) {
	item := benchPage(1)[0]
	b.ReportAllocs()
	for b.Loop() {
		if _, err := syncmsg.Decode(item); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeText encodes one text message.
func BenchmarkEncodeText(b *testing.B) {
	m, err := syncmsg.Decode(benchPage(1)[0])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := syncmsg.Encode(m); err != nil {
			b.Fatal(err)
		}
	}
}
