package syncmsg_test

import (
	"encoding/json"
	"fmt"

	"github.com/kfbot/kfbot/kf/syncmsg"
)

func ExampleDecode() {
	item := []byte(`{"msgid":"from_msgid_4622416642169452483","open_kfid":"wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q",
		"external_userid":"wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw","send_time":1615478585,"origin":3,
		"msgtype":"text","text":{"content":"hello"}}`)

	m, err := syncmsg.Decode(item)
	if err != nil {
		fmt.Println("malformed:", err)
		return
	}
	switch m := m.(type) {
	case *syncmsg.Text:
		fmt.Printf("text from %s: %q\n", m.ExternalUserID, m.Content)
		fmt.Println("from the customer:", m.Origin == syncmsg.OriginCustomer)
	case *syncmsg.EnterSession:
		fmt.Println("welcome code:", m.WelcomeCode)
	case *syncmsg.Unknown:
		fmt.Println("unknown type:", m.MsgType)
	}
	// Output:
	// text from wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw: "hello"
	// from the customer: true
}

func ExampleDecodeList() {
	page := []json.RawMessage{
		json.RawMessage(`{"msgid":"1","send_time":1,"origin":4,"msgtype":"event",
			"event":{"event_type":"enter_session","open_kfid":"wk1","external_userid":"wm1","welcome_code":"W"}}`),
		json.RawMessage(`{"msgid":"2","open_kfid":"wk1","external_userid":"wm1","send_time":2,"origin":3,"msgtype":"hologram"}`),
		json.RawMessage(`{"msgid":"3","open_kfid":"wk1","external_userid":"wm1","send_time":3,"origin":3,"msgtype":"text","text":42}`),
		json.RawMessage(`{"msgid":"4","open_kfid":"wk1","external_userid":"wm1","send_time":4,"origin":3,"msgtype":"text","text":{"content":"hi"}}`),
	}
	msgs, err := syncmsg.DecodeList(page)
	for _, m := range msgs {
		switch m := m.(type) {
		case *syncmsg.EnterSession:
			fmt.Printf("%s: %s entered %s, welcome code %s\n", m.MsgID, m.ExternalUserID, m.OpenKFID, m.WelcomeCode)
		case *syncmsg.Text:
			fmt.Printf("%s: text %q\n", m.MsgID, m.Content)
		case *syncmsg.Unknown:
			fmt.Printf("%s: unknown %s, malformed: %t\n", m.MsgID, m.MsgType, m.Err != nil)
		}
	}
	fmt.Println(err != nil)
	// Output:
	// 1: wm1 entered wk1, welcome code W
	// 2: unknown hologram, malformed: false
	// 3: unknown text, malformed: true
	// 4: text "hi"
	// true
}
