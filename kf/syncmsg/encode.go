package syncmsg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// Encode returns the wire JSON of m as kf/sync_msg would return it in
// `msg_list`: the inverse of [Decode], for fakes and tests.
//
// The msgtype (and for events the event_type) comes from m's concrete type;
// Header.MsgType, Header.EventType and Header.Raw are ignored. Events carry
// `open_kfid`, `external_userid` and `servicer_userid` inside `event`. Empty
// optional fields are omitted. An [*Unknown] encodes to a copy of its Raw,
// which must be valid JSON. Encode is safe for concurrent use.
func Encode(m Message) ([]byte, error) {
	if m == nil || reflect.ValueOf(m).IsNil() {
		return nil, errors.New("syncmsg: encode: nil message")
	}
	h := m.Head()
	if _, ok := m.(*Unknown); ok {
		if !json.Valid(h.Raw) {
			return nil, fmt.Errorf("syncmsg: encode unknown item %q: raw is not valid JSON", h.MsgID)
		}
		return bytes.Clone(h.Raw), nil
	}
	t, payload := m.wire()
	hw := headerWire{MsgID: h.MsgID, SendTime: h.SendTime, Origin: h.Origin, MsgType: t}
	if t != TypeEvent {
		hw.OpenKFID, hw.ExternalUserID, hw.ServicerUserID = h.OpenKFID, h.ExternalUserID, h.ServicerUserID
	}
	out, err := marshal(hw)
	if err != nil {
		return nil, fmt.Errorf("syncmsg: encode %s item %q: %w", t, h.MsgID, err)
	}
	out = out[:len(out)-1] // the payload goes before the closing brace
	if payload != nil {
		p, err := marshal(payload)
		if err != nil {
			return nil, fmt.Errorf("syncmsg: encode %s item %q: %w", t, h.MsgID, err)
		}
		out = append(append(append(append(out, `,"`...), t...), `":`...), p...)
	}
	return append(out, '}'), nil
}

// marshal is json.Marshal without HTML escaping, the way WeCom writes JSON.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func (m *Text) wire() (MsgType, any) {
	return TypeText, textWire{Content: m.Content, MenuID: m.MenuID}
}

func (m *Image) wire() (MsgType, any) { return TypeImage, mediaWire{MediaID: m.MediaID} }
func (m *Voice) wire() (MsgType, any) { return TypeVoice, mediaWire{MediaID: m.MediaID} }
func (m *Video) wire() (MsgType, any) { return TypeVideo, mediaWire{MediaID: m.MediaID} }
func (m *File) wire() (MsgType, any)  { return TypeFile, mediaWire{MediaID: m.MediaID} }

func (m *Location) wire() (MsgType, any) {
	return TypeLocation, locationWire{Latitude: m.Latitude, Longitude: m.Longitude, Name: m.Name, Address: m.Address}
}

func (m *Link) wire() (MsgType, any) {
	return TypeLink, linkWire{Title: m.Title, Desc: m.Desc, URL: m.URL, PicURL: m.PicURL}
}

func (m *BusinessCard) wire() (MsgType, any) {
	return TypeBusinessCard, businessCardWire{UserID: m.UserID}
}

func (m *Miniprogram) wire() (MsgType, any) {
	return TypeMiniprogram, miniprogramWire{Title: m.Title, AppID: m.AppID, PagePath: m.PagePath, ThumbMediaID: m.ThumbMediaID}
}

func (m *MsgMenu) wire() (MsgType, any) {
	return TypeMsgMenu, msgMenuWire{HeadContent: m.HeadContent, TailContent: m.TailContent, List: m.List}
}

func (m *ChannelsShopProduct) wire() (MsgType, any) {
	return TypeChannelsShopProduct, channelsShopProductWire{
		ProductID: m.ProductID, HeadImage: m.HeadImage, Title: m.Title, SalesPrice: m.SalesPrice,
		ShopNickname: m.ShopNickname, ShopHeadImage: m.ShopHeadImage,
	}
}

func (m *ChannelsShopOrder) wire() (MsgType, any) {
	return TypeChannelsShopOrder, channelsShopOrderWire{
		OrderID: m.OrderID, ProductTitles: m.ProductTitles, PriceWording: m.PriceWording,
		State: m.State, ImageURL: m.ImageURL, ShopNickname: m.ShopNickname,
	}
}

func (m *MergedMsg) wire() (MsgType, any) {
	w := mergedMsgWire{Title: m.Title, Item: make([]mergedItemWire, len(m.Items))}
	for i, it := range m.Items {
		w.Item[i] = mergedItemWire{SendTime: it.SendTime, MsgType: flexString(it.MsgType), SenderName: it.SenderName, MsgContent: it.MsgContent}
	}
	return TypeMergedMsg, w
}

func (m *Channels) wire() (MsgType, any) {
	return TypeChannels, channelsWire{SubType: m.SubType, Nickname: m.Nickname, Title: m.Title}
}

func (m *Meeting) wire() (MsgType, any)  { return TypeMeeting, rawPayload(m.Payload) }
func (m *Schedule) wire() (MsgType, any) { return TypeSchedule, rawPayload(m.Payload) }
func (m *Note) wire() (MsgType, any)     { return TypeNote, rawPayload(m.Payload) }

// rawPayload returns p, or an untyped nil (no payload key) when p is empty.
func rawPayload(p json.RawMessage) any {
	if len(p) == 0 {
		return nil
	}
	return p
}

// wire of Unknown is never used: Encode writes its Raw.
func (m *Unknown) wire() (MsgType, any) { return m.MsgType, nil }

func (m *EnterSession) wire() (MsgType, any) {
	w := enterSessionWire{eventHead(EventEnterSession, &m.Header), enterSessionBody{
		Scene: m.Scene, SceneParam: m.SceneParam, WelcomeCode: m.WelcomeCode,
	}}
	if c := m.WechatChannels; c != nil {
		w.WechatChannels = &wechatChannelsWire{Nickname: c.Nickname, ShopNickname: c.ShopNickname, Scene: flexUint32(c.Scene)}
	}
	return TypeEvent, w
}

func (m *MsgSendFail) wire() (MsgType, any) {
	return TypeEvent, msgSendFailWire{eventHead(EventMsgSendFail, &m.Header), msgSendFailBody{FailMsgID: m.FailMsgID, FailType: m.FailType}}
}

func (m *ServicerStatusChange) wire() (MsgType, any) {
	return TypeEvent, servicerStatusChangeWire{eventHead(EventServicerStatusChange, &m.Header), servicerStatusChangeBody{Status: m.Status, StopType: m.StopType}}
}

func (m *SessionStatusChange) wire() (MsgType, any) {
	return TypeEvent, sessionStatusChangeWire{eventHead(EventSessionStatusChange, &m.Header), sessionStatusChangeBody{
		ChangeType: m.ChangeType, OldServicerUserID: m.OldServicerUserID, NewServicerUserID: m.NewServicerUserID, MsgCode: m.MsgCode,
	}}
}

func (m *UserRecallMsg) wire() (MsgType, any) {
	return TypeEvent, recallWire{eventHead(EventUserRecallMsg, &m.Header), recallBody{RecallMsgID: m.RecallMsgID}}
}

func (m *ServicerRecallMsg) wire() (MsgType, any) {
	return TypeEvent, recallWire{eventHead(EventServicerRecallMsg, &m.Header), recallBody{RecallMsgID: m.RecallMsgID}}
}

func (m *RejectCustomerMsgSwitchChange) wire() (MsgType, any) {
	return TypeEvent, rejectSwitchWire{eventHead(EventRejectCustomerMsgSwitchChange, &m.Header), rejectSwitchBody{RejectSwitch: m.RejectSwitch}}
}
