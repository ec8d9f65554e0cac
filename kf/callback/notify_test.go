package callback_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/callback"
)

// The samples are WeCom's documented payloads (https://developer.work.weixin.qq.com/document/path/90628,
// 90642, 97175, 90639, 93373, 92277, 96361, 97402, 97196, 95994, 95716), with the element
// names WeCom sends (SuiteTicket, ChangeType) and comma-separated lists.
var notifySamples = []struct {
	name string
	xml  string
	want callback.Notification
}{
	{"suite_ticket", `<xml><SuiteId><![CDATA[ww4asffe99e54c0fxxxx]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType>
<TimeStamp>1403610513</TimeStamp><SuiteTicket><![CDATA[asdfasfdasdfasdf]]></SuiteTicket></xml>`,
		&callback.SuiteTicket{NotifyHeader: hdr("suite_ticket", "", "ww4asffe99e54c0fxxxx", ""), Ticket: "asdfasfdasdfasdf"}},
	{"create_auth of a KF component", `<xml><SuiteId><![CDATA[ww4asffe9xxx4c0f4c]]></SuiteId><AuthCode><![CDATA[AUTHCODE]]></AuthCode>
<InfoType><![CDATA[create_auth]]></InfoType><TimeStamp>1403610513</TimeStamp><State><![CDATA[123]]></State>
<ExtraInfo><AuthOpenKfIdList><OpenKfId>wkA</OpenKfId><OpenKfId> wkB </OpenKfId></AuthOpenKfIdList></ExtraInfo></xml>`,
		&callback.Auth{NotifyHeader: hdr("create_auth", "", "ww4asffe9xxx4c0f4c", ""), AuthCode: "AUTHCODE", State: "123", OpenKFIDs: []string{"wkA", "wkB"}}},
	{"cancel_auth", `<xml><SuiteId>s</SuiteId><AuthCorpId>wxcorp</AuthCorpId><InfoType>cancel_auth</InfoType><TimeStamp>1403610513</TimeStamp></xml>`,
		&callback.Auth{NotifyHeader: hdr("cancel_auth", "", "s", "wxcorp")}},
	{"reset_permanent_code", `<xml><SuiteId><![CDATA[dk4asffe9xxx4c0f4c]]></SuiteId><AuthCode><![CDATA[AUTHCODE]]></AuthCode>
<InfoType><![CDATA[reset_permanent_code]]></InfoType><TimeStamp>1403610513</TimeStamp></xml>`,
		&callback.ResetPermanentCode{NotifyHeader: hdr("reset_permanent_code", "", "dk4asffe9xxx4c0f4c", ""), AuthCode: "AUTHCODE"}},
	{"change_contact create_user", `<xml><SuiteId><![CDATA[ww4asffe99e54c0f4c]]></SuiteId><AuthCorpId><![CDATA[wxf8b4f85f3axxxxxx]]></AuthCorpId>
<InfoType><![CDATA[change_contact]]></InfoType><TimeStamp>1403610513</TimeStamp><ChangeType><![CDATA[create_user]]></ChangeType>
<UserID><![CDATA[zhangsan]]></UserID><OpenUserID><![CDATA[woxxx]]></OpenUserID><Name><![CDATA[张三]]></Name>
<Department><![CDATA[1,2,3]]></Department><MainDepartment>1</MainDepartment><IsLeaderInDept><![CDATA[1,0,0]]></IsLeaderInDept>
<DirectLeader><![CDATA[lisi,wangwu]]></DirectLeader><Mobile/><Position/><Gender>1</Gender><Email/><BizMail/><Avatar/><Alias/><Telephone/>
<ExtAttr><Item><Name/><Type>0</Type><Text><Value/></Text></Item></ExtAttr></xml>`,
		&callback.ContactChange{NotifyHeader: hdr("change_contact", "", "ww4asffe99e54c0f4c", "wxf8b4f85f3axxxxxx"), ChangeType: "create_user",
			UserID: "zhangsan", OpenUserID: "woxxx", Name: "张三", Departments: []int64{1, 2, 3}, MainDepartment: 1,
			IsLeaderInDept: []int64{1, 0, 0}, DirectLeaders: []string{"lisi", "wangwu"}, Gender: 1}},
	{"change_contact update_tag", `<xml><SuiteId>s</SuiteId><AuthCorpId>c</AuthCorpId><InfoType>change_contact</InfoType><TimeStamp>1403610513</TimeStamp>
<ChangeType>update_tag</ChangeType><TagId>7</TagId><AddUserItems>a,b</AddUserItems><DelPartyItems>3,4</DelPartyItems></xml>`,
		&callback.ContactChange{NotifyHeader: hdr("change_contact", "", "s", "c"), ChangeType: "update_tag", TagID: 7,
			AddUserItems: []string{"a", "b"}, DelPartyItems: []int64{3, 4}}},
	{"change_contact party with OrderId", `<xml><SuiteId>s</SuiteId><AuthCorpId>c</AuthCorpId><InfoType>change_contact</InfoType><TimeStamp>1403610513</TimeStamp>
<ChangeType>create_party</ChangeType><Id>2</Id><Name>Sales</Name><ParentId>1</ParentId><OrderId>9</OrderId></xml>`,
		&callback.ContactChange{NotifyHeader: hdr("change_contact", "", "s", "c"), ChangeType: "create_party", Name: "Sales", PartyID: 2, ParentID: 1, Order: 9}},
	{"share_agent_change", `<xml><SuiteId><![CDATA[ww4asffe99exxx0f4c]]></SuiteId><InfoType><![CDATA[share_agent_change]]></InfoType>
<TimeStamp>1403610513</TimeStamp><AppId>11</AppId><CorpId><![CDATA[ww11111]]></CorpId><AgentId>11</AgentId></xml>`,
		&callback.ShareAgentChange{NotifyHeader: withAgent(hdr("share_agent_change", "", "ww4asffe99exxx0f4c", ""), 11), CorpID: "ww11111"}},
	{"change_external_contact, third-party form", `<xml><SuiteId><![CDATA[ww4asffe99e54c0f4c]]></SuiteId><AuthCorpId><![CDATA[wxf8b4f85f3a794e77]]></AuthCorpId>
<InfoType><![CDATA[change_external_contact]]></InfoType><TimeStamp>1403610513</TimeStamp><ChangeType><![CDATA[add_external_contact]]></ChangeType>
<UserID><![CDATA[zhangsan]]></UserID><ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACH71w]]></ExternalUserID>
<State><![CDATA[teststate]]></State><WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode></xml>`,
		&callback.ExternalContactChange{NotifyHeader: hdr("change_external_contact", "", "ww4asffe99e54c0f4c", "wxf8b4f85f3a794e77"),
			ChangeType: callback.ChangeAddExternalContact, UserID: "zhangsan", ExternalUserID: "woAJ2GCAAAXtWyujaWJHDDGi0mACH71w",
			State: "teststate", WelcomeCode: "WELCOMECODE"}},
	{"change_external_contact, app event form", `<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>
<CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[transfer_fail]]></ChangeType><UserID><![CDATA[lisi]]></UserID><ExternalUserID><![CDATA[wmX]]></ExternalUserID>
<FailReason><![CDATA[customer_refused]]></FailReason></xml>`,
		&callback.ExternalContactChange{NotifyHeader: eventHdr("change_external_contact", "toUser", "sys"),
			ChangeType: callback.ChangeTransferFail, UserID: "lisi", ExternalUserID: "wmX", FailReason: "customer_refused"}},
	{"change_external_chat", `<xml><ToUserName>c</ToUserName><FromUserName>sys</FromUserName><CreateTime>1403610513</CreateTime><MsgType>event</MsgType>
<Event>change_external_chat</Event><ChatId>wrx</ChatId><ChangeType>update</ChangeType><UpdateDetail>add_member</UpdateDetail>
<JoinScene>3</JoinScene><MemChangeCnt>2</MemChangeCnt></xml>`,
		&callback.ExternalChatChange{NotifyHeader: eventHdr("change_external_chat", "c", "sys"), ChangeType: "update", ChatID: "wrx",
			UpdateDetail: "add_member", JoinScene: 3, MemChangeCnt: 2}},
	{"change_external_tag", `<xml><ToUserName>c</ToUserName><FromUserName>sys</FromUserName><CreateTime>1403610513</CreateTime><MsgType>event</MsgType>
<Event>change_external_tag</Event><Id>etx</Id><TagType>tag_group</TagType><ChangeType>shuffle</ChangeType><StrategyId>5</StrategyId></xml>`,
		&callback.ExternalTagChange{NotifyHeader: eventHdr("change_external_tag", "c", "sys"), ChangeType: "shuffle", ID: "etx", TagType: "tag_group", StrategyID: 5}},
	{"customer_acquisition", `<xml><SuiteId><![CDATA[ww4asffe99e54c0f4c]]></SuiteId><AuthCorpId><![CDATA[wxf8b4f85f3a794e77]]></AuthCorpId>
<InfoType><![CDATA[customer_acquisition]]></InfoType><TimeStamp>1403610513</TimeStamp><ChangeType><![CDATA[friend_request]]></ChangeType>
<LinkId>cawx</LinkId><State>ad1</State></xml>`,
		&callback.CustomerAcquisition{NotifyHeader: hdr("customer_acquisition", "", "ww4asffe99e54c0f4c", "wxf8b4f85f3a794e77"),
			ChangeType: "friend_request", LinkID: "cawx", State: "ad1"}},
	{"license_pay_success", `<xml><ServiceCorpId><![CDATA[xxxx]]></ServiceCorpId><InfoType><![CDATA[license_pay_success]]></InfoType>
<AuthCorpId><![CDATA[yyyy]]></AuthCorpId><OrderId><![CDATA[zzzz]]></OrderId><BuyerUserId><![CDATA[USERID]]></BuyerUserId><TimeStamp>1403610513</TimeStamp></xml>`,
		&callback.License{NotifyHeader: withService(hdr("license_pay_success", "", "", "yyyy"), "xxxx"), OrderID: "zzzz", BuyerUserID: "USERID"}},
	{"auto_activate", `<xml><ServiceCorpId>xxxx</ServiceCorpId><InfoType>auto_activate</InfoType><AuthCorpId>yyyy</AuthCorpId><Scene>1</Scene>
<TimeStamp>1403610513</TimeStamp><AccountList><ActiveCode>code1</ActiveCode><Type>2</Type><ExpireTime>1500000000</ExpireTime>
<UserId>zhangsan</UserId><PreviousStatus>1</PreviousStatus></AccountList></xml>`,
		&callback.License{NotifyHeader: withService(hdr("auto_activate", "", "", "yyyy"), "xxxx"), Scene: 1,
			Accounts: []callback.ActivatedAccount{{ActiveCode: "code1", Type: 2, ExpireTime: time.Unix(1500000000, 0), UserID: "zhangsan", PreviousStatus: 1}}}},
	{"unlicensed_notify", `<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[FromUser]]></FromUserName>
<CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unlicensed_notify]]></Event><AgentID>1</AgentID></xml>`,
		&callback.Unlicensed{NotifyHeader: withAgent(eventHdr("unlicensed_notify", "toUser", "FromUser"), 1)}},
	{"change_auth", `<xml><SuiteId>s</SuiteId><AuthCorpId>wxcorp</AuthCorpId><InfoType>change_auth</InfoType><TimeStamp>1403610513</TimeStamp><State>st</State></xml>`,
		&callback.Auth{NotifyHeader: hdr("change_auth", "", "s", "wxcorp"), State: "st"}},
	{"share_chain_change", `<xml><SuiteId>s</SuiteId><InfoType>share_chain_change</InfoType><TimeStamp>1403610513</TimeStamp><AppId>3</AppId><CorpId>wwUp</CorpId><AgentId>3</AgentId></xml>`,
		&callback.ShareAgentChange{NotifyHeader: withAgent(hdr("share_chain_change", "", "s", ""), 3), CorpID: "wwUp", Chain: true}},
	{"license_refund", `<xml><ServiceCorpId>xxxx</ServiceCorpId><InfoType>license_refund</InfoType><AuthCorpId>yyyy</AuthCorpId><OrderId>o1</OrderId><OrderStatus>1</OrderStatus><TimeStamp>1403610513</TimeStamp></xml>`,
		&callback.License{NotifyHeader: withService(hdr("license_refund", "", "", "yyyy"), "xxxx"), OrderID: "o1", OrderStatus: 1}},
	{"an InfoType nobody describes", `<xml><SuiteId>s</SuiteId><InfoType>register_corp</InfoType><TimeStamp>1403610513</TimeStamp></xml>`,
		&callback.Unknown{NotifyHeader: hdr("register_corp", "", "s", "")}},
}

func hdr(infoType, event, suite, corp string) callback.NotifyHeader {
	return callback.NotifyHeader{InfoType: infoType, Event: event, SuiteID: suite, AuthCorpID: corp, Time: time.Unix(1403610513, 0)}
}

func eventHdr(event, to, from string) callback.NotifyHeader {
	return callback.NotifyHeader{Event: event, ToUserName: to, FromUserName: from, Time: time.Unix(1403610513, 0)}
}

func withAgent(h callback.NotifyHeader, id int64) callback.NotifyHeader { h.AgentID = id; return h }

func withService(h callback.NotifyHeader, corp string) callback.NotifyHeader {
	h.ServiceCorpID = corp
	return h
}

func TestDecodeNotification(t *testing.T) {
	for _, tt := range notifySamples {
		t.Run(tt.name, func(t *testing.T) {
			got, err := callback.DecodeNotification([]byte(tt.xml))
			require.NoError(t, err)
			assert.Equal(t, tt.xml, string(got.Head().Raw))
			assert.Regexp(t, `^cb1:[0-9a-f]{32}$`, got.Head().Key)
			got.Head().Raw, got.Head().Key = nil, ""
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestDecodeNotificationErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not XML":               "hello",
		"no InfoType nor event": "<xml><ToUserName>c</ToUserName><MsgType>text</MsgType></xml>",
		"bad number":            "<xml><InfoType>change_contact</InfoType><TimeStamp>1</TimeStamp><TagId>x</TagId></xml>",
		"bad time":              "<xml><InfoType>suite_ticket</InfoType><TimeStamp>soon</TimeStamp></xml>",
		"truncated":             "<xml><InfoType>suite_ticket</InfoType",
	} {
		_, err := callback.DecodeNotification([]byte(in))
		assert.Error(t, err, name)
	}
	assert.Equal(t, "c", (&callback.NotifyHeader{ToUserName: "c"}).Corp())
}

// TestNotificationKeys: a retry re-encoded another way has the event's key; events that
// differ in any decoded field, or unknown ones that differ at all, have other keys.
func TestNotificationKeys(t *testing.T) {
	key := func(s string) string {
		n, err := callback.DecodeNotification([]byte(s))
		require.NoError(t, err, s)
		return n.Head().Key
	}
	const add = `<xml><ToUserName>c</ToUserName><CreateTime>1403610513</CreateTime><MsgType>event</MsgType><Event>change_external_contact</Event>` +
		`<ChangeType>add_external_contact</ChangeType><UserID>u</UserID><ExternalUserID>wm1</ExternalUserID><State>qr-a</State><WelcomeCode>W1</WelcomeCode></xml>`
	same := []string{
		strings.ReplaceAll(add, "<State>qr-a</State>", "<State><![CDATA[ qr-a ]]></State>"),
		strings.ReplaceAll(strings.ReplaceAll(add, "<UserID>u</UserID>", ""), "</xml>", "<UserID>u</UserID>\n</xml>"),
		strings.ReplaceAll(add, "<State>", "<Unrelated>1</Unrelated><State>"),
	}
	for _, s := range same {
		assert.Equal(t, key(add), key(s), s)
	}
	differ := []string{
		strings.ReplaceAll(add, "qr-a", "qr-b"),
		strings.ReplaceAll(add, "W1", "W2"),
		strings.ReplaceAll(add, "1403610513", "1403610514"),
		strings.ReplaceAll(add, "<ToUserName>c</ToUserName>", "<ToUserName>d</ToUserName>"),
	}
	keys := map[string]bool{key(add): true}
	for _, s := range differ {
		k := key(s)
		assert.False(t, keys[k], s)
		keys[k] = true
	}
	const unknown = `<xml><SuiteId>s</SuiteId><InfoType>register_corp</InfoType><TimeStamp>1</TimeStamp><RegisterCode>A</RegisterCode></xml>`
	assert.NotEqual(t, key(unknown), key(strings.ReplaceAll(unknown, ">A<", ">B<")))
}

// TestKinds: every kind has its own type, and the samples cover every kind.
func TestKinds(t *testing.T) {
	covered := map[string]bool{}
	for _, s := range notifySamples {
		n, err := callback.DecodeNotification([]byte(s.xml))
		require.NoError(t, err)
		h := n.Head()
		covered[h.InfoType+h.Event] = true
	}
	for _, k := range callback.Kinds() {
		n, err := callback.DecodeNotification([]byte("<xml><InfoType>" + k + "</InfoType><TimeStamp>1</TimeStamp></xml>"))
		require.NoError(t, err, k)
		_, unknown := n.(*callback.Unknown)
		assert.False(t, unknown, k)
		assert.True(t, covered[k], "no sample of %s", k)
	}
}

func FuzzDecodeNotification(f *testing.F) {
	for _, s := range notifySamples {
		f.Add([]byte(s.xml))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := callback.DecodeNotification(data)
		if err == nil {
			require.NotNil(t, n)
			h := n.Head()
			require.True(t, h.InfoType != "" || h.Event != "")
			require.NotEmpty(t, h.Key)
		}
		// The fast path decodes flat documents exactly as encoding/xml does.
		slow, serr := callback.DecodeNotificationSlow(data)
		if err != nil || serr != nil {
			require.Equal(t, err != nil, serr != nil, "fast: %v, encoding/xml: %v", err, serr)
			return
		}
		require.Equal(t, slow, n)
	})
}

func BenchmarkDecodeNotification(b *testing.B) {
	in := []byte(notifySamples[8].xml) // change_external_contact
	b.ReportAllocs()
	for b.Loop() {
		if _, err := callback.DecodeNotification(in); err != nil {
			b.Fatal(err)
		}
	}
}
