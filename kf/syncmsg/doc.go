// Package syncmsg decodes the messages and events that WeChat Customer
// Service (WeCom "KF") returns from kf/sync_msg, and encodes them back.
//
// Each `msg_list` item becomes a [Message]: a sealed interface whose concrete
// types are pointers to one struct per msgtype ([*Text], [*Image], [*Voice],
// [*Video], [*File], [*Location], [*Link], [*BusinessCard], [*Miniprogram],
// [*MsgMenu], [*ChannelsShopProduct], [*ChannelsShopOrder], [*MergedMsg],
// [*Channels], [*Meeting], [*Schedule], [*Note]) and per event type
// ([*EnterSession], [*MsgSendFail], [*ServicerStatusChange],
// [*SessionStatusChange], [*UserRecallMsg], [*ServicerRecallMsg],
// [*RejectCustomerMsgSwitchChange]). Every one embeds a [Header] with the base
// fields (msgid, open_kfid, external_userid, send_time, origin,
// servicer_userid, msgtype) and the raw item. Use a type switch:
//
//	msgs, err := syncmsg.DecodeList(resp.MsgList) // err: only malformed items
//	for _, m := range msgs {
//		switch m := m.(type) {
//		case *syncmsg.Text:
//			// m.Content, m.MenuID
//		case *syncmsg.EnterSession:
//			// m.WelcomeCode: reply within 20 seconds
//		case *syncmsg.Unknown:
//			// a new type (m.Err == nil) or a malformed item (m.Err != nil)
//		}
//	}
//
// # How items are decoded
//
// Decoding has two phases and never goes through maps: the first reads the
// header (the base fields and msgtype), skipping every payload; the second
// decodes with encoding/json only the payload msgtype names (e.g. `text`; for
// events, the `event` object's common part, then its event_type's fields). So
// an item is malformed exactly when its own data is, never because of a key of
// another type, and the error says what is wrong.
//
// Field types follow https://developer.work.weixin.qq.com/document/path/94670: latitude and longitude are numbers;
// `merged_msg.item[].msgtype` and `wechat_channels.scene` may be strings or
// numbers; `channels_shop_product` accepts `head_image` and `head_img`.
//
// # Forward compatibility
//
// WeCom adds message and event types over time. An item of an unknown
// msgtype or event_type decodes to [*Unknown] with the raw JSON and a nil
// error, never failing the page. A malformed item (invalid JSON, a field of
// the wrong JSON type, a missing payload object) also decodes to an
// [*Unknown], which keeps whatever base fields could be read, together with
// an error wrapping [ErrMalformed]; [DecodeList] still returns every other
// item, in order, and reports each bad one as an [*ItemError]. Nothing in
// this package panics on input data.
//
// # Events
//
// Event items (msgtype `event`, origin 4) carry no top-level `open_kfid`,
// `external_userid` or `servicer_userid`: WeCom puts them inside the `event`
// object. Decode copies them from there into the Header, so OpenKFID and
// ExternalUserID are set for events as for messages, and Header.EventType
// holds the event type. [Encode] writes them back inside `event`.
//
// The functions of this package are safe for concurrent use. A decoded
// Message is a plain value owned by the caller.
package syncmsg
