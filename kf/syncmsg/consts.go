package syncmsg

// MsgType is the `msgtype` discriminator of a sync_msg item. The payload of an
// item sits in an object named after its MsgType (for example `text` for
// [TypeText]); events use [TypeEvent] and an `event` object.
type MsgType string

// Message types of kf/sync_msg (https://developer.work.weixin.qq.com/document/path/94670).
const (
	TypeText                MsgType = "text"                  // `text`: a text message, see [Text]
	TypeImage               MsgType = "image"                 // `image`: an image, see [Image]
	TypeVoice               MsgType = "voice"                 // `voice`: a voice message, see [Voice]
	TypeVideo               MsgType = "video"                 // `video`: a video, see [Video]
	TypeFile                MsgType = "file"                  // `file`: a file, see [File]
	TypeLocation            MsgType = "location"              // `location`: a location, see [Location]
	TypeLink                MsgType = "link"                  // `link`: a link card, see [Link]
	TypeBusinessCard        MsgType = "business_card"         // `business_card`: a WeCom member's card, see [BusinessCard]
	TypeMiniprogram         MsgType = "miniprogram"           // `miniprogram`: a mini program card, see [Miniprogram]
	TypeMsgMenu             MsgType = "msgmenu"               // `msgmenu`: a menu message, see [MsgMenu]
	TypeChannelsShopProduct MsgType = "channels_shop_product" // `channels_shop_product`: a Channels shop product, see [ChannelsShopProduct]
	TypeChannelsShopOrder   MsgType = "channels_shop_order"   // `channels_shop_order`: a Channels shop order, see [ChannelsShopOrder]
	TypeMergedMsg           MsgType = "merged_msg"            // `merged_msg`: a forwarded chat record, see [MergedMsg]
	TypeChannels            MsgType = "channels"              // `channels`: a Channels (视频号) share, see [Channels]
	TypeMeeting             MsgType = "meeting"               // `meeting`: a meeting, see [Meeting]
	TypeSchedule            MsgType = "schedule"              // `schedule`: a schedule, see [Schedule]
	TypeNote                MsgType = "note"                  // `note`: a note, see [Note]
	TypeEvent               MsgType = "event"                 // `event`: an event; its kind is an [EventType]
)

// EventType is the `event.event_type` of an item whose msgtype is [TypeEvent].
type EventType string

// Event types of kf/sync_msg (https://developer.work.weixin.qq.com/document/path/94670).
const (
	EventEnterSession                  EventType = "enter_session"                     // the customer entered the session, see [EnterSession]
	EventMsgSendFail                   EventType = "msg_send_fail"                     // a message sent by the API failed, see [MsgSendFail]
	EventServicerStatusChange          EventType = "servicer_status_change"            // a servicer's receiving status changed, see [ServicerStatusChange]
	EventSessionStatusChange           EventType = "session_status_change"             // a servicer changed the session state, see [SessionStatusChange]
	EventUserRecallMsg                 EventType = "user_recall_msg"                   // the customer recalled a message, see [UserRecallMsg]
	EventServicerRecallMsg             EventType = "servicer_recall_msg"               // a servicer recalled a message, see [ServicerRecallMsg]
	EventRejectCustomerMsgSwitchChange EventType = "reject_customer_msg_switch_change" // a servicer (un)blocked a customer, see [RejectCustomerMsgSwitchChange]
)

// Origin is the `origin` of an item: who produced it.
type Origin uint32

// Origins of sync_msg items.
const (
	OriginCustomer Origin = 3 // sent by the WeChat customer; the only kind a bot should answer
	OriginSystem   Origin = 4 // an event pushed by the system
	OriginServicer Origin = 5 // sent by a servicer (接待人员) from the WeCom client
)

// FailType is the `fail_type` of a [MsgSendFail] event: why a message sent with
// kf/send_msg was not delivered.
type FailType uint32

// Failure reasons of msg_send_fail. Values 7 and 9 appear only in an older
// official list, 13 only in recent third-party sources.
const (
	FailTypeUnknown                    FailType = 0  // unknown reason
	FailTypeAccountDeleted             FailType = 1  // the KF account was deleted
	FailTypeAppClosed                  FailType = 2  // the application was closed
	FailTypeSessionExpired             FailType = 4  // the session expired (more than 48 hours)
	FailTypeSessionClosed              FailType = 5  // the session was closed
	FailTypeOverLimit                  FailType = 6  // more than the 5 messages allowed
	FailTypeChannelsNotBound           FailType = 7  // Channels (视频号) not bound
	FailTypeUnverified                 FailType = 8  // the corp entity is not verified (主体未验证)
	FailTypeChannelsNotBoundUnverified FailType = 9  // Channels not bound and entity not verified
	FailTypeCustomerRefused            FailType = 10 // the customer refuses messages (用户拒收)
	FailTypeNoMemberLoggedIn           FailType = 11 // no corp member has logged into the WeCom app
	FailTypeMsgTypeForbidden           FailType = 12 // the message type is forbidden by the KF component
	FailTypeSecurityRestriction        FailType = 13 // security restriction (安全限制)
)

// ChangeType is the `change_type` of a [SessionStatusChange] event. Every
// change is made by a servicer in the WeCom client, never by kf/service_state/trans.
type ChangeType uint32

// Session status changes.
const (
	ChangeTypeFromPool ChangeType = 1 // a servicer picked the session up from the waiting pool
	ChangeTypeTransfer ChangeType = 2 // the session was transferred to another servicer
	ChangeTypeEnd      ChangeType = 3 // the session was ended
	ChangeTypeReenter  ChangeType = 4 // a servicer re-entered an ended or transferred session
)

// ServiceState is a session state (`service_state`) as used by
// kf/service_state/get and kf/service_state/trans (https://developer.work.weixin.qq.com/document/path/94669).
type ServiceState int

// Session states.
const (
	StateUntreated ServiceState = 0 // new session, not yet handled (未处理)
	StateBot       ServiceState = 1 // handled by the bot (由智能助手接待)
	StatePool      ServiceState = 2 // queued in the waiting pool (待接入池排队中)
	StateHuman     ServiceState = 3 // handled by a human servicer (由人工接待)
	StateEnded     ServiceState = 4 // ended or not started (已结束/未开始)
)

// ServicerStatus is the `status` of a [ServicerStatusChange] event. Careful:
// kf/servicer/list encodes a servicer's status differently (0 receiving, 1 stopped).
type ServicerStatus uint32

// Servicer receiving states in servicer_status_change.
const (
	ServicerStatusReceiving ServicerStatus = 1 // receiving customers (接待中)
	ServicerStatusStopped   ServicerStatus = 2 // stopped receiving (停止接待)
)

// StopType is the `stop_type` of a [ServicerStatusChange] event whose status
// is [ServicerStatusStopped].
type StopType uint32

// Ways a servicer stops receiving.
const (
	StopTypeStopped   StopType = 0 // stopped
	StopTypeSuspended StopType = 1 // temporarily suspended (暂时挂起)
)

// ChannelsSubType is the `sub_type` of a [Channels] message.
type ChannelsSubType uint32

// Kinds of Channels (视频号) shares.
const (
	ChannelsSubTypeFeed    ChannelsSubType = 1 // a Channels post (视频号动态)
	ChannelsSubTypeLive    ChannelsSubType = 2 // a Channels live stream (视频号直播)
	ChannelsSubTypeProfile ChannelsSubType = 3 // a Channels profile card (视频号名片)
)

// ChannelsScene is the `scene` of an enter_session event's
// `wechat_channels` object: where in Channels the customer came from.
type ChannelsScene uint32

// Channels entry scenes.
const (
	ChannelsSceneHome            ChannelsScene = 1 // the Channels home page (视频号主页)
	ChannelsSceneLiveProductList ChannelsScene = 2 // a live stream's product list (直播间商品列表页)
	ChannelsSceneShowcase        ChannelsScene = 3 // the product showcase (商品橱窗页)
	ChannelsSceneShopProduct     ChannelsScene = 4 // a shop product detail page (小店商品详情页)
	ChannelsSceneShopOrder       ChannelsScene = 5 // a shop order page (小店订单页)
)

// RejectSwitch is the `reject_switch` of a [RejectCustomerMsgSwitchChange] event.
type RejectSwitch uint32

// Reject switch values.
const (
	RejectSwitchOff RejectSwitch = 0 // the servicer accepts the customer's messages again
	RejectSwitchOn  RejectSwitch = 1 // the servicer refuses the customer's messages
)

// MenuItemType is the `type` of an item of a menu message's `list`.
type MenuItemType string

// Menu item types (https://developer.work.weixin.qq.com/document/path/94677).
const (
	MenuTypeClick       MenuItemType = "click"       // a reply item: tapping it sends a text with `menu_id`, see [MenuClick]
	MenuTypeView        MenuItemType = "view"        // a hyperlink, see [MenuView]
	MenuTypeMiniprogram MenuItemType = "miniprogram" // a mini program link, see [MenuMiniprogram]
	MenuTypeText        MenuItemType = "text"        // a plain text line, see [MenuText]
)
