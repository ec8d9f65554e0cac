package syncmsg

// Events arrive with msgtype [TypeEvent], origin [OriginSystem] and an `event`
// object holding `event_type` plus per-type fields. Their Header takes
// OpenKFID, ExternalUserID and ServicerUserID from inside `event`.

// EnterSession is the `enter_session` event: the customer entered the session
// (opened the chat), possibly through a link made with kf/add_contact_way.
type EnterSession struct {
	Header
	// Scene is `event.scene`, the developer-defined value of the contact link.
	Scene string
	// SceneParam is `event.scene_param`, the `scene_param=` value appended to
	// the link, returned as given.
	SceneParam string
	// WelcomeCode is `event.welcome_code`, present only when a welcome message
	// may be sent: pass it to kf/send_msg_on_event within 20 seconds; it is
	// single use.
	WelcomeCode string
	// WechatChannels is `event.wechat_channels`, set when the customer came
	// from Channels (视频号), nil otherwise.
	WechatChannels *WechatChannels
}

// WechatChannels tells where in Channels (视频号) a customer entered from.
type WechatChannels struct {
	// Nickname is `nickname`, the Channels account's name (scenes 1–3).
	Nickname string
	// ShopNickname is `shop_nickname`, the shop's name (scenes 4–5).
	ShopNickname string
	// Scene is `scene`. WeCom documents a number; some SDKs type it as a
	// string, so a numeric string is accepted too.
	Scene ChannelsScene
}

// MsgSendFail is the `msg_send_fail` event: a message the API accepted could
// not be delivered.
type MsgSendFail struct {
	Header
	// FailMsgID is `event.fail_msgid`, the msgid kf/send_msg returned.
	FailMsgID string
	// FailType is `event.fail_type`, the reason.
	FailType FailType
}

// ServicerStatusChange is the `servicer_status_change` event: the servicer
// Header.ServicerUserID (from `event.servicer_userid`) changed their
// receiving status. It has no external_userid.
type ServicerStatusChange struct {
	Header
	// Status is `event.status`: receiving (1) or stopped (2).
	Status ServicerStatus
	// StopType is `event.stop_type` when Status is [ServicerStatusStopped]:
	// stopped (0) or suspended (1).
	StopType StopType
}

// SessionStatusChange is the `session_status_change` event: a servicer
// changed the session in the WeCom client (not a kf/service_state/trans call).
type SessionStatusChange struct {
	Header
	// ChangeType is `event.change_type`.
	ChangeType ChangeType
	// OldServicerUserID is `event.old_servicer_userid`, for change types 2, 3 and 4.
	OldServicerUserID string
	// NewServicerUserID is `event.new_servicer_userid`, for change types 1, 2 and 4.
	NewServicerUserID string
	// MsgCode is `event.msg_code`, for change types 1 and 3: a code for one
	// kf/send_msg_on_event reply (valid 48 hours for 1, 20 seconds for 3).
	MsgCode string
}

// UserRecallMsg is the `user_recall_msg` event: the customer recalled a message.
type UserRecallMsg struct {
	Header
	// RecallMsgID is `event.recall_msgid`, the msgid of the recalled message.
	RecallMsgID string
}

// ServicerRecallMsg is the `servicer_recall_msg` event: the servicer
// Header.ServicerUserID recalled a message.
type ServicerRecallMsg struct {
	Header
	// RecallMsgID is `event.recall_msgid`, the msgid of the recalled message.
	RecallMsgID string
}

// RejectCustomerMsgSwitchChange is the `reject_customer_msg_switch_change`
// event: the servicer Header.ServicerUserID started or stopped refusing the
// customer's messages.
type RejectCustomerMsgSwitchChange struct {
	Header
	// RejectSwitch is `event.reject_switch`: 1 refusing, 0 refusal cancelled.
	RejectSwitch RejectSwitch
}
