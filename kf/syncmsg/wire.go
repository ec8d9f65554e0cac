package syncmsg

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// This file holds the wire (JSON) shapes of items and payloads. The exported
// types carry no json tags: Decode and Encode own the wire format.

// headerWire is the top level of an item without its payload.
type headerWire struct {
	MsgID          string  `json:"msgid"`
	OpenKFID       string  `json:"open_kfid,omitempty"`
	ExternalUserID string  `json:"external_userid,omitempty"`
	SendTime       int64   `json:"send_time"`
	Origin         Origin  `json:"origin"`
	ServicerUserID string  `json:"servicer_userid,omitempty"`
	MsgType        MsgType `json:"msgtype"`
}

// itemWire is the fast path of decoding: the header plus the typed payload
// of every known msgtype, so that one json.Unmarshal decodes a well-formed
// item completely. Events and the payloads kept raw stay raw here.
type itemWire struct {
	headerWire
	Text                *textWire                `json:"text"`
	Image               *mediaWire               `json:"image"`
	Voice               *mediaWire               `json:"voice"`
	Video               *mediaWire               `json:"video"`
	File                *mediaWire               `json:"file"`
	Location            *locationWire            `json:"location"`
	Link                *linkWire                `json:"link"`
	BusinessCard        *businessCardWire        `json:"business_card"`
	Miniprogram         *miniprogramWire         `json:"miniprogram"`
	MsgMenu             *msgMenuWire             `json:"msgmenu"`
	ChannelsShopProduct *channelsShopProductWire `json:"channels_shop_product"`
	ChannelsShopOrder   *channelsShopOrderWire   `json:"channels_shop_order"`
	MergedMsg           *mergedMsgWire           `json:"merged_msg"`
	Channels            *channelsWire            `json:"channels"`
	Meeting             json.RawMessage          `json:"meeting"`
	Schedule            json.RawMessage          `json:"schedule"`
	Note                json.RawMessage          `json:"note"`
	Event               *eventWire               `json:"event"`
}

// field returns a pointer to w's payload field for msgtype t, to decode
// into, or nil when t is not a known msgtype.
func (w *itemWire) field(t MsgType) any {
	switch t {
	case TypeText:
		return &w.Text
	case TypeImage:
		return &w.Image
	case TypeVoice:
		return &w.Voice
	case TypeVideo:
		return &w.Video
	case TypeFile:
		return &w.File
	case TypeLocation:
		return &w.Location
	case TypeLink:
		return &w.Link
	case TypeBusinessCard:
		return &w.BusinessCard
	case TypeMiniprogram:
		return &w.Miniprogram
	case TypeMsgMenu:
		return &w.MsgMenu
	case TypeChannelsShopProduct:
		return &w.ChannelsShopProduct
	case TypeChannelsShopOrder:
		return &w.ChannelsShopOrder
	case TypeMergedMsg:
		return &w.MergedMsg
	case TypeChannels:
		return &w.Channels
	case TypeMeeting:
		return &w.Meeting
	case TypeSchedule:
		return &w.Schedule
	case TypeNote:
		return &w.Note
	case TypeEvent:
		return &w.Event
	}
	return nil
}

// rawItemWire is phase one of the exact (two-phase) path: the header plus
// the raw payload of every known msgtype. Phase two decodes only the payload
// of the item's own msgtype, so a malformed payload under another key never
// fails the item.
type rawItemWire struct {
	headerWire
	Text                json.RawMessage `json:"text"`
	Image               json.RawMessage `json:"image"`
	Voice               json.RawMessage `json:"voice"`
	Video               json.RawMessage `json:"video"`
	File                json.RawMessage `json:"file"`
	Location            json.RawMessage `json:"location"`
	Link                json.RawMessage `json:"link"`
	BusinessCard        json.RawMessage `json:"business_card"`
	Miniprogram         json.RawMessage `json:"miniprogram"`
	MsgMenu             json.RawMessage `json:"msgmenu"`
	ChannelsShopProduct json.RawMessage `json:"channels_shop_product"`
	ChannelsShopOrder   json.RawMessage `json:"channels_shop_order"`
	MergedMsg           json.RawMessage `json:"merged_msg"`
	Channels            json.RawMessage `json:"channels"`
	Meeting             json.RawMessage `json:"meeting"`
	Schedule            json.RawMessage `json:"schedule"`
	Note                json.RawMessage `json:"note"`
	Event               json.RawMessage `json:"event"`
}

// payload returns the raw payload stored under msgtype t, and whether t is a
// known msgtype at all.
func (w *rawItemWire) payload(t MsgType) (json.RawMessage, bool) {
	switch t {
	case TypeText:
		return w.Text, true
	case TypeImage:
		return w.Image, true
	case TypeVoice:
		return w.Voice, true
	case TypeVideo:
		return w.Video, true
	case TypeFile:
		return w.File, true
	case TypeLocation:
		return w.Location, true
	case TypeLink:
		return w.Link, true
	case TypeBusinessCard:
		return w.BusinessCard, true
	case TypeMiniprogram:
		return w.Miniprogram, true
	case TypeMsgMenu:
		return w.MsgMenu, true
	case TypeChannelsShopProduct:
		return w.ChannelsShopProduct, true
	case TypeChannelsShopOrder:
		return w.ChannelsShopOrder, true
	case TypeMergedMsg:
		return w.MergedMsg, true
	case TypeChannels:
		return w.Channels, true
	case TypeMeeting:
		return w.Meeting, true
	case TypeSchedule:
		return w.Schedule, true
	case TypeNote:
		return w.Note, true
	case TypeEvent:
		return w.Event, true
	}
	return nil, false
}

type textWire struct {
	Content string `json:"content"`
	MenuID  string `json:"menu_id,omitempty"`
}

type mediaWire struct {
	MediaID string `json:"media_id"`
}

type locationWire struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name"`
	Address   string  `json:"address"`
}

type linkWire struct {
	Title  string `json:"title"`
	Desc   string `json:"desc"`
	URL    string `json:"url"`
	PicURL string `json:"pic_url"`
}

type businessCardWire struct {
	UserID string `json:"userid"`
}

type miniprogramWire struct {
	Title        string `json:"title"`
	AppID        string `json:"appid"`
	PagePath     string `json:"pagepath"`
	ThumbMediaID string `json:"thumb_media_id"`
}

type msgMenuWire struct {
	HeadContent string    `json:"head_content,omitempty"`
	List        menuItems `json:"list"`
	TailContent string    `json:"tail_content,omitempty"`
}

type menuItemWire struct {
	Type        MenuItemType         `json:"type"`
	Click       *menuClickWire       `json:"click,omitempty"`
	View        *menuViewWire        `json:"view,omitempty"`
	Miniprogram *menuMiniprogramWire `json:"miniprogram,omitempty"`
	Text        *menuTextWire        `json:"text,omitempty"`
}

// The menu item wire structs have the field layout of their exported twins,
// so they convert to each other directly.

type menuClickWire struct {
	ID      string `json:"id,omitempty"`
	Content string `json:"content"`
}

type menuViewWire struct {
	URL     string `json:"url"`
	Content string `json:"content"`
}

type menuMiniprogramWire struct {
	AppID    string `json:"appid"`
	PagePath string `json:"pagepath"`
	Content  string `json:"content"`
}

type menuTextWire struct {
	Content   string `json:"content"`
	NoNewline uint32 `json:"no_newline,omitempty"`
}

type channelsShopProductWire struct {
	ProductID     string `json:"product_id"`
	HeadImage     string `json:"head_image,omitempty"`
	HeadImg       string `json:"head_img,omitempty"`
	Title         string `json:"title"`
	SalesPrice    string `json:"sales_price"`
	ShopNickname  string `json:"shop_nickname"`
	ShopHeadImage string `json:"shop_head_image,omitempty"`
	ShopHeadImg   string `json:"shop_head_img,omitempty"`
}

type channelsShopOrderWire struct {
	OrderID       string `json:"order_id"`
	ProductTitles string `json:"product_titles"`
	PriceWording  string `json:"price_wording"`
	State         string `json:"state"`
	ImageURL      string `json:"image_url"`
	ShopNickname  string `json:"shop_nickname"`
}

type mergedMsgWire struct {
	Title string           `json:"title"`
	Item  []mergedItemWire `json:"item"`
}

type mergedItemWire struct {
	SendTime   int64      `json:"send_time"`
	MsgType    flexString `json:"msgtype"`
	SenderName string     `json:"sender_name"`
	MsgContent string     `json:"msg_content"`
}

type channelsWire struct {
	SubType  ChannelsSubType `json:"sub_type"`
	Nickname string          `json:"nickname"`
	Title    string          `json:"title,omitempty"`
}

// eventHeadWire is the part of the `event` object common to all events.
type eventHeadWire struct {
	EventType      EventType `json:"event_type"`
	OpenKFID       string    `json:"open_kfid,omitempty"`
	ExternalUserID string    `json:"external_userid,omitempty"`
	ServicerUserID string    `json:"servicer_userid,omitempty"`
}

func eventHead(t EventType, h *Header) eventHeadWire {
	return eventHeadWire{EventType: t, OpenKFID: h.OpenKFID, ExternalUserID: h.ExternalUserID, ServicerUserID: h.ServicerUserID}
}

// eventWire is an `event` object of any known event type: the head plus the
// body of every event type. No two bodies share a field name, so one
// json.Unmarshal decodes a well-formed event (the fast path); the exact path
// decodes the head, then only the body of its event type.
type eventWire struct {
	eventHeadWire
	enterSessionBody
	msgSendFailBody
	servicerStatusChangeBody
	sessionStatusChangeBody
	recallBody
	rejectSwitchBody
}

// body returns a pointer to the body of event type t, or nil when t is not
// a known event type.
func (w *eventWire) body(t EventType) any {
	switch t {
	case EventEnterSession:
		return &w.enterSessionBody
	case EventMsgSendFail:
		return &w.msgSendFailBody
	case EventServicerStatusChange:
		return &w.servicerStatusChangeBody
	case EventSessionStatusChange:
		return &w.sessionStatusChangeBody
	case EventUserRecallMsg, EventServicerRecallMsg:
		return &w.recallBody
	case EventRejectCustomerMsgSwitchChange:
		return &w.rejectSwitchBody
	}
	return nil
}

type enterSessionBody struct {
	Scene          string              `json:"scene"`
	SceneParam     string              `json:"scene_param"`
	WelcomeCode    string              `json:"welcome_code,omitempty"`
	WechatChannels *wechatChannelsWire `json:"wechat_channels,omitempty"`
}

type wechatChannelsWire struct {
	Nickname     string     `json:"nickname,omitempty"`
	ShopNickname string     `json:"shop_nickname,omitempty"`
	Scene        flexUint32 `json:"scene"`
}

type msgSendFailBody struct {
	FailMsgID string   `json:"fail_msgid"`
	FailType  FailType `json:"fail_type"`
}

type servicerStatusChangeBody struct {
	Status   ServicerStatus `json:"status"`
	StopType StopType       `json:"stop_type"`
}

type sessionStatusChangeBody struct {
	ChangeType        ChangeType `json:"change_type"`
	OldServicerUserID string     `json:"old_servicer_userid,omitempty"`
	NewServicerUserID string     `json:"new_servicer_userid,omitempty"`
	MsgCode           string     `json:"msg_code,omitempty"`
}

type recallBody struct {
	RecallMsgID string `json:"recall_msgid"`
}

type rejectSwitchBody struct {
	RejectSwitch RejectSwitch `json:"reject_switch"`
}

// The encoded forms of the events: head and body.

type enterSessionWire struct {
	eventHeadWire
	enterSessionBody
}

type msgSendFailWire struct {
	eventHeadWire
	msgSendFailBody
}

type servicerStatusChangeWire struct {
	eventHeadWire
	servicerStatusChangeBody
}

type sessionStatusChangeWire struct {
	eventHeadWire
	sessionStatusChangeBody
}

type recallWire struct {
	eventHeadWire
	recallBody
}

type rejectSwitchWire struct {
	eventHeadWire
	rejectSwitchBody
}

// flexString decodes a JSON string or a JSON number (kept as its literal
// text). It encodes as a JSON string.
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0 || string(b) == "null":
		return nil
	case b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*s = flexString(b) // json has validated the number literal
	default:
		return fmt.Errorf("want a string or a number, got %s", jsonKind(b))
	}
	return nil
}

// flexUint32 decodes a JSON number or a string holding a decimal number ("" is
// 0). A string that is not a number decodes as 0 (unknown) rather than failing: it is
// only used for wechat_channels.scene, and failing there would lose the enter_session
// event and its welcome code. It encodes as a JSON number.
type flexUint32 uint32

func (n *flexUint32) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if v, err := strconv.ParseUint(s, 10, 32); err == nil {
			*n = flexUint32(v)
		} else {
			*n = 0
		}
		return nil
	} else if b[0] != '-' && (b[0] < '0' || b[0] > '9') {
		return fmt.Errorf("want a number or a numeric string, got %s", jsonKind(b))
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return fmt.Errorf("want an unsigned 32-bit integer, got %q", truncate(s, 32))
	}
	*n = flexUint32(v)
	return nil
}

// jsonKind names the kind of the JSON value b for error messages.
func jsonKind(b []byte) string {
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case '"':
		return "a string"
	}
	return "a number"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
