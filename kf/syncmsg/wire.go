package syncmsg

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// This file holds the wire (JSON) shapes of items and payloads, each with the
// wire method of the message types it encodes; the payloads and events
// tables of decode.go decode them. The exported types carry no json tags:
// Decode and Encode own the wire format.

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

type textWire struct {
	Content string `json:"content"`
	MenuID  string `json:"menu_id,omitempty"`
}

func (m *Text) wire() (MsgType, any) {
	return TypeText, textWire{Content: m.Content, MenuID: m.MenuID}
}

type mediaWire struct {
	MediaID string `json:"media_id"`
}

func (m *Image) wire() (MsgType, any) { return TypeImage, mediaWire{MediaID: m.MediaID} }
func (m *Voice) wire() (MsgType, any) { return TypeVoice, mediaWire{MediaID: m.MediaID} }
func (m *Video) wire() (MsgType, any) { return TypeVideo, mediaWire{MediaID: m.MediaID} }
func (m *File) wire() (MsgType, any)  { return TypeFile, mediaWire{MediaID: m.MediaID} }

type locationWire struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name"`
	Address   string  `json:"address"`
}

func (m *Location) wire() (MsgType, any) {
	return TypeLocation, locationWire{Latitude: m.Latitude, Longitude: m.Longitude, Name: m.Name, Address: m.Address}
}

type linkWire struct {
	Title  string `json:"title"`
	Desc   string `json:"desc"`
	URL    string `json:"url"`
	PicURL string `json:"pic_url"`
}

func (m *Link) wire() (MsgType, any) {
	return TypeLink, linkWire{Title: m.Title, Desc: m.Desc, URL: m.URL, PicURL: m.PicURL}
}

type businessCardWire struct {
	UserID string `json:"userid"`
}

func (m *BusinessCard) wire() (MsgType, any) {
	return TypeBusinessCard, businessCardWire{UserID: m.UserID}
}

type miniprogramWire struct {
	Title        string `json:"title"`
	AppID        string `json:"appid"`
	PagePath     string `json:"pagepath"`
	ThumbMediaID string `json:"thumb_media_id"`
}

func (m *Miniprogram) wire() (MsgType, any) {
	return TypeMiniprogram, miniprogramWire{Title: m.Title, AppID: m.AppID, PagePath: m.PagePath, ThumbMediaID: m.ThumbMediaID}
}

// msgMenuWire is a `msgmenu` payload; menu.go holds its items' wire form.
type msgMenuWire struct {
	HeadContent string    `json:"head_content,omitempty"`
	List        menuItems `json:"list"`
	TailContent string    `json:"tail_content,omitempty"`
}

func (m *MsgMenu) wire() (MsgType, any) {
	return TypeMsgMenu, msgMenuWire{HeadContent: m.HeadContent, TailContent: m.TailContent, List: m.List}
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

func (m *ChannelsShopProduct) wire() (MsgType, any) {
	return TypeChannelsShopProduct, channelsShopProductWire{
		ProductID: m.ProductID, HeadImage: m.HeadImage, Title: m.Title, SalesPrice: m.SalesPrice,
		ShopNickname: m.ShopNickname, ShopHeadImage: m.ShopHeadImage,
	}
}

type channelsShopOrderWire struct {
	OrderID       string `json:"order_id"`
	ProductTitles string `json:"product_titles"`
	PriceWording  string `json:"price_wording"`
	State         string `json:"state"`
	ImageURL      string `json:"image_url"`
	ShopNickname  string `json:"shop_nickname"`
}

func (m *ChannelsShopOrder) wire() (MsgType, any) {
	return TypeChannelsShopOrder, channelsShopOrderWire{
		OrderID: m.OrderID, ProductTitles: m.ProductTitles, PriceWording: m.PriceWording,
		State: m.State, ImageURL: m.ImageURL, ShopNickname: m.ShopNickname,
	}
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

func (m *MergedMsg) wire() (MsgType, any) {
	w := mergedMsgWire{Title: m.Title, Item: make([]mergedItemWire, len(m.Items))}
	for i, it := range m.Items {
		w.Item[i] = mergedItemWire{SendTime: it.SendTime, MsgType: flexString(it.MsgType), SenderName: it.SenderName, MsgContent: it.MsgContent}
	}
	return TypeMergedMsg, w
}

type channelsWire struct {
	SubType  ChannelsSubType `json:"sub_type"`
	Nickname string          `json:"nickname"`
	Title    string          `json:"title,omitempty"`
}

func (m *Channels) wire() (MsgType, any) {
	return TypeChannels, channelsWire{SubType: m.SubType, Nickname: m.Nickname, Title: m.Title}
}

// The payloads kept raw.

func (m *Meeting) wire() (MsgType, any)  { return TypeMeeting, rawOrNone(m.Payload) }
func (m *Schedule) wire() (MsgType, any) { return TypeSchedule, rawOrNone(m.Payload) }
func (m *Note) wire() (MsgType, any)     { return TypeNote, rawOrNone(m.Payload) }

// rawOrNone returns p, or an untyped nil (no payload key) when p is empty.
func rawOrNone(p json.RawMessage) any {
	if len(p) == 0 {
		return nil
	}
	return p
}

// wire of Unknown is never used: Encode writes its Raw.
func (m *Unknown) wire() (MsgType, any) { return m.MsgType, nil }

// eventHeadWire is the part of the `event` object common to all events.
type eventHeadWire struct {
	EventType      EventType `json:"event_type"`
	OpenKFID       string    `json:"open_kfid,omitempty"`
	ExternalUserID string    `json:"external_userid,omitempty"`
	ServicerUserID string    `json:"servicer_userid,omitempty"`
}

// eventWire is an `event` object as Encode writes it: the members of the
// head, then those of the event type's body.
type eventWire struct {
	head eventHeadWire
	body any
}

// event returns the msgtype and payload of the event of type t, header h and body.
func event(t EventType, h *Header, body any) (MsgType, any) {
	head := eventHeadWire{EventType: t, OpenKFID: h.OpenKFID, ExternalUserID: h.ExternalUserID, ServicerUserID: h.ServicerUserID}
	return TypeEvent, eventWire{head, body}
}

// MarshalJSON implements json.Marshaler: one object of the head's and the
// body's members.
func (w eventWire) MarshalJSON() ([]byte, error) {
	head, err := marshal(w.head)
	if err != nil {
		return nil, err
	}
	body, err := marshal(w.body)
	if err != nil || len(body) <= len("{}") {
		return head, err
	}
	return append(append(head[:len(head)-1], ','), body[1:]...), nil
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

func (m *EnterSession) wire() (MsgType, any) {
	b := enterSessionBody{Scene: m.Scene, SceneParam: m.SceneParam, WelcomeCode: m.WelcomeCode}
	if c := m.WechatChannels; c != nil {
		b.WechatChannels = &wechatChannelsWire{Nickname: c.Nickname, ShopNickname: c.ShopNickname, Scene: flexUint32(c.Scene)}
	}
	return event(EventEnterSession, &m.Header, b)
}

type msgSendFailBody struct {
	FailMsgID string   `json:"fail_msgid"`
	FailType  FailType `json:"fail_type"`
}

func (m *MsgSendFail) wire() (MsgType, any) {
	return event(EventMsgSendFail, &m.Header, msgSendFailBody{FailMsgID: m.FailMsgID, FailType: m.FailType})
}

type servicerStatusChangeBody struct {
	Status   ServicerStatus `json:"status"`
	StopType StopType       `json:"stop_type"`
}

func (m *ServicerStatusChange) wire() (MsgType, any) {
	return event(EventServicerStatusChange, &m.Header, servicerStatusChangeBody{Status: m.Status, StopType: m.StopType})
}

type sessionStatusChangeBody struct {
	ChangeType        ChangeType `json:"change_type"`
	OldServicerUserID string     `json:"old_servicer_userid,omitempty"`
	NewServicerUserID string     `json:"new_servicer_userid,omitempty"`
	MsgCode           string     `json:"msg_code,omitempty"`
}

func (m *SessionStatusChange) wire() (MsgType, any) {
	return event(EventSessionStatusChange, &m.Header, sessionStatusChangeBody{
		ChangeType: m.ChangeType, OldServicerUserID: m.OldServicerUserID, NewServicerUserID: m.NewServicerUserID, MsgCode: m.MsgCode,
	})
}

type recallBody struct {
	RecallMsgID string `json:"recall_msgid"`
}

func (m *UserRecallMsg) wire() (MsgType, any) {
	return event(EventUserRecallMsg, &m.Header, recallBody{RecallMsgID: m.RecallMsgID})
}

func (m *ServicerRecallMsg) wire() (MsgType, any) {
	return event(EventServicerRecallMsg, &m.Header, recallBody{RecallMsgID: m.RecallMsgID})
}

type rejectSwitchBody struct {
	RejectSwitch RejectSwitch `json:"reject_switch"`
}

func (m *RejectCustomerMsgSwitchChange) wire() (MsgType, any) {
	return event(EventRejectCustomerMsgSwitchChange, &m.Header, rejectSwitchBody{RejectSwitch: m.RejectSwitch})
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
