package syncmsg

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrMalformed is wrapped by every error about a malformed item, whatever the
// cause: invalid JSON, a field of the wrong JSON type, a missing payload.
// Match it with errors.Is.
var ErrMalformed = errors.New("syncmsg: malformed item")

// ItemError reports a malformed item of a list passed to [DecodeList].
type ItemError struct {
	// Index is the item's position in the list.
	Index int
	// MsgID is the item's `msgid`, if it could be read.
	MsgID string
	// Err is the error [Decode] returned for the item; it wraps [ErrMalformed].
	Err error
}

// Error implements error.
func (e *ItemError) Error() string {
	msg := "unknown error"
	if e.Err != nil {
		msg = strings.TrimPrefix(e.Err.Error(), "syncmsg: ")
	}
	if e.MsgID == "" {
		return fmt.Sprintf("syncmsg: item %d: %s", e.Index, msg)
	}
	return fmt.Sprintf("syncmsg: item %d (msgid %s): %s", e.Index, e.MsgID, msg)
}

// Unwrap returns e.Err.
func (e *ItemError) Unwrap() error { return e.Err }

// Decode decodes one `msg_list` item of a kf/sync_msg response.
//
// An item of a known msgtype (and, for events, a known event_type) decodes to
// the matching pointer type ([*Text], [*EnterSession], …). An item of an
// unknown type decodes to [*Unknown] with a nil error. A malformed item
// decodes to [*Unknown] holding whatever base fields could be read AND a
// non-nil error wrapping [ErrMalformed]; the message is never nil. The
// returned Header.Raw is a copy of item. Decode never panics and is safe for
// concurrent use.
func Decode(item []byte) (Message, error) {
	return decode(bytes.Clone(item), "")
}

// DecodeList decodes the items of a `msg_list`: one Message per item, in
// order, as [Decode] does. A malformed item never drops the others: its
// message is an [*Unknown], and the returned error is the errors.Join of an
// [*ItemError] for each malformed item (nil if none). Unlike Decode, the
// messages' Header.Raw share memory with items; do not modify items afterwards.
func DecodeList(items []json.RawMessage) ([]Message, error) {
	msgs := make([]Message, len(items))
	var errs []error
	for i, item := range items {
		m, err := decode(item, "")
		msgs[i] = m
		if err != nil {
			errs = append(errs, &ItemError{Index: i, MsgID: m.Head().MsgID, Err: err})
		}
	}
	return msgs, errors.Join(errs...)
}

// Message decodes MsgContent. Its shape is not documented, so three are
// accepted: a complete item (`{"msgtype":"text","text":{…}}`), an item without
// `msgtype` (`{"text":{…}}`), and a bare payload (`{"content":…}`); in the
// last two MsgType says what it is. The message's SendTime defaults to the
// item's, and its Raw is MsgContent. Results and errors are as for [Decode].
func (it MergedItem) Message() (Message, error) {
	m, err := decode([]byte(it.MsgContent), it.MsgType)
	if h := m.Head(); h.SendTime == 0 {
		h.SendTime = it.SendTime
	}
	return m, err
}

// malformed returns an Unknown for a malformed item and the error, which
// wraps ErrMalformed and, if not nil, cause.
func malformed(h Header, what string, cause error) (Message, error) {
	var err error
	if cause != nil {
		err = fmt.Errorf("%w: %s: %w", ErrMalformed, what, cause)
	} else {
		err = fmt.Errorf("%w: %s", ErrMalformed, what)
	}
	return &Unknown{Header: h, Err: err}, err
}

// present reports whether a raw payload was sent (absent and null are not).
func present(raw []byte) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// isObject reports whether b starts like a JSON object.
func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// decode is Decode without the copy. fallback is the msgtype of an item
// without one (see MergedItem.Message).
//
// The fast path decodes a well-formed item in one json.Unmarshal into an
// itemWire. Any error there (or a missing msgtype) sends the item down the
// exact two-phase path, which tells what is wrong and ignores malformed
// payloads under keys other than the item's msgtype.
func decode(item []byte, fallback MsgType) (Message, error) {
	if !isObject(item) {
		return malformed(Header{Raw: item}, "not a JSON object", nil)
	}
	if fallback != "" {
		return decodeExact(item, fallback)
	}
	w := getItemWire()
	defer putItemWire(w)
	if err := json.Unmarshal(item, w); err != nil || w.MsgType == "" {
		return decodeExact(item, "")
	}
	h := header(&w.headerWire, item)
	switch {
	case h.MsgType == TypeEvent:
		if w.Event == nil || w.Event.EventType == "" {
			return decodeExact(item, "") // says what is missing
		}
		return buildEvent(h, w.Event)
	case w.field(h.MsgType) == nil:
		return &Unknown{Header: h}, nil
	}
	return build(h, w)
}

func header(w *headerWire, item []byte) Header {
	return Header{
		MsgID: w.MsgID, OpenKFID: w.OpenKFID, ExternalUserID: w.ExternalUserID, SendTime: w.SendTime,
		Origin: w.Origin, ServicerUserID: w.ServicerUserID, MsgType: w.MsgType, Raw: item,
	}
}

// decodeExact is the two-phase path: the header and raw payloads, then the
// payload of the item's msgtype alone. When the item has no msgtype,
// fallback (if not empty) names its type, and an item without the payload key
// is taken as the payload itself.
func decodeExact(item []byte, fallback MsgType) (Message, error) {
	var r rawItemWire
	err := json.Unmarshal(item, &r)
	h := header(&r.headerWire, item)
	if err != nil {
		return malformed(h, "header", err)
	}
	raw, known := r.payload(h.MsgType)
	if h.MsgType == "" {
		if fallback == "" {
			return malformed(h, "missing msgtype", nil)
		}
		h.MsgType = fallback
		if raw, known = r.payload(fallback); known && !present(raw) {
			raw = item
		}
	}
	switch {
	case !known:
		return &Unknown{Header: h}, nil
	case h.MsgType == TypeEvent:
		return decodeEvent(h, raw)
	}
	var w itemWire
	if present(raw) {
		if err := json.Unmarshal(raw, w.field(h.MsgType)); err != nil {
			return malformed(h, string(h.MsgType), err)
		}
	}
	return build(h, &w)
}

// build makes the message of msgtype h.MsgType (not an event) from its
// decoded payload in w.
func build(h Header, w *itemWire) (Message, error) {
	missing := func() (Message, error) {
		return malformed(h, fmt.Sprintf("%s: missing %q object", h.MsgType, h.MsgType), nil)
	}
	switch h.MsgType {
	case TypeText:
		if w.Text == nil {
			return missing()
		}
		return &Text{Header: h, Content: w.Text.Content, MenuID: w.Text.MenuID}, nil
	case TypeImage:
		if w.Image == nil {
			return missing()
		}
		return &Image{Header: h, MediaID: w.Image.MediaID}, nil
	case TypeVoice:
		if w.Voice == nil {
			return missing()
		}
		return &Voice{Header: h, MediaID: w.Voice.MediaID}, nil
	case TypeVideo:
		if w.Video == nil {
			return missing()
		}
		return &Video{Header: h, MediaID: w.Video.MediaID}, nil
	case TypeFile:
		if w.File == nil {
			return missing()
		}
		return &File{Header: h, MediaID: w.File.MediaID}, nil
	case TypeLocation:
		p := w.Location
		if p == nil {
			return missing()
		}
		return &Location{Header: h, Latitude: p.Latitude, Longitude: p.Longitude, Name: p.Name, Address: p.Address}, nil
	case TypeLink:
		p := w.Link
		if p == nil {
			return missing()
		}
		return &Link{Header: h, Title: p.Title, Desc: p.Desc, URL: p.URL, PicURL: p.PicURL}, nil
	case TypeBusinessCard:
		if w.BusinessCard == nil {
			return missing()
		}
		return &BusinessCard{Header: h, UserID: w.BusinessCard.UserID}, nil
	case TypeMiniprogram:
		p := w.Miniprogram
		if p == nil {
			return missing()
		}
		return &Miniprogram{Header: h, Title: p.Title, AppID: p.AppID, PagePath: p.PagePath, ThumbMediaID: p.ThumbMediaID}, nil
	case TypeMsgMenu:
		p := w.MsgMenu
		if p == nil {
			return missing()
		}
		return &MsgMenu{Header: h, HeadContent: p.HeadContent, List: p.List, TailContent: p.TailContent}, nil
	case TypeChannelsShopProduct:
		p := w.ChannelsShopProduct
		if p == nil {
			return missing()
		}
		return &ChannelsShopProduct{
			Header: h, ProductID: p.ProductID, HeadImage: cmp.Or(p.HeadImage, p.HeadImg), Title: p.Title,
			SalesPrice: p.SalesPrice, ShopNickname: p.ShopNickname, ShopHeadImage: cmp.Or(p.ShopHeadImage, p.ShopHeadImg),
		}, nil
	case TypeChannelsShopOrder:
		p := w.ChannelsShopOrder
		if p == nil {
			return missing()
		}
		return &ChannelsShopOrder{
			Header: h, OrderID: p.OrderID, ProductTitles: p.ProductTitles, PriceWording: p.PriceWording,
			State: p.State, ImageURL: p.ImageURL, ShopNickname: p.ShopNickname,
		}, nil
	case TypeMergedMsg:
		p := w.MergedMsg
		if p == nil {
			return missing()
		}
		m := &MergedMsg{Header: h, Title: p.Title}
		if len(p.Item) > 0 {
			m.Items = make([]MergedItem, len(p.Item))
			for i, it := range p.Item {
				m.Items[i] = MergedItem{SendTime: it.SendTime, MsgType: MsgType(it.MsgType), SenderName: it.SenderName, MsgContent: it.MsgContent}
			}
		}
		return m, nil
	case TypeChannels:
		p := w.Channels
		if p == nil {
			return missing()
		}
		return &Channels{Header: h, SubType: p.SubType, Nickname: p.Nickname, Title: p.Title}, nil
	case TypeMeeting:
		return &Meeting{Header: h, Payload: compact(w.Meeting)}, nil
	case TypeSchedule:
		return &Schedule{Header: h, Payload: compact(w.Schedule)}, nil
	case TypeNote:
		return &Note{Header: h, Payload: compact(w.Note)}, nil
	}
	return &Unknown{Header: h}, nil // unreachable: callers checked the msgtype
}

// decodeEvent is phase two of the exact path for events: the `event`
// object's head (event_type and the ids that go to the Header), then only the
// body of its event type.
func decodeEvent(h Header, raw []byte) (Message, error) {
	if !present(raw) {
		return malformed(h, `event: missing "event" object`, nil)
	}
	var w eventWire
	err := json.Unmarshal(raw, &w.eventHeadWire)
	h = eventHeader(h, &w.eventHeadWire)
	if err != nil {
		return malformed(h, "event", err)
	}
	if h.EventType == "" {
		return malformed(h, "event: missing event_type", nil)
	}
	body := w.body(h.EventType)
	if body == nil {
		return &Unknown{Header: h}, nil
	}
	if err := json.Unmarshal(raw, body); err != nil {
		return malformed(h, "event "+string(h.EventType), err)
	}
	return buildEvent(h, &w)
}

// eventHeader returns h completed from the event's head: the event type and
// the ids, which events carry inside `event` (top-level values, should
// WeCom ever send them, are the fallback).
func eventHeader(h Header, w *eventHeadWire) Header {
	h.EventType = w.EventType
	h.OpenKFID = cmp.Or(w.OpenKFID, h.OpenKFID)
	h.ExternalUserID = cmp.Or(w.ExternalUserID, h.ExternalUserID)
	h.ServicerUserID = cmp.Or(w.ServicerUserID, h.ServicerUserID)
	return h
}

// buildEvent makes the event of w's event type, with h completed from w's
// head; an unknown event type gives an Unknown.
func buildEvent(h Header, w *eventWire) (Message, error) {
	h = eventHeader(h, &w.eventHeadWire)
	switch h.EventType {
	case EventEnterSession:
		m := &EnterSession{Header: h, Scene: w.Scene, SceneParam: w.SceneParam, WelcomeCode: w.WelcomeCode}
		if c := w.WechatChannels; c != nil {
			m.WechatChannels = &WechatChannels{Nickname: c.Nickname, ShopNickname: c.ShopNickname, Scene: ChannelsScene(c.Scene)}
		}
		return m, nil
	case EventMsgSendFail:
		return &MsgSendFail{Header: h, FailMsgID: w.FailMsgID, FailType: w.FailType}, nil
	case EventServicerStatusChange:
		return &ServicerStatusChange{Header: h, Status: w.Status, StopType: w.StopType}, nil
	case EventSessionStatusChange:
		return &SessionStatusChange{
			Header: h, ChangeType: w.ChangeType, OldServicerUserID: w.OldServicerUserID,
			NewServicerUserID: w.NewServicerUserID, MsgCode: w.MsgCode,
		}, nil
	case EventUserRecallMsg:
		return &UserRecallMsg{Header: h, RecallMsgID: w.RecallMsgID}, nil
	case EventServicerRecallMsg:
		return &ServicerRecallMsg{Header: h, RecallMsgID: w.RecallMsgID}, nil
	case EventRejectCustomerMsgSwitchChange:
		return &RejectCustomerMsgSwitchChange{Header: h, RejectSwitch: w.RejectSwitch}, nil
	}
	return &Unknown{Header: h}, nil
}

// compact returns a compacted copy of the valid JSON raw, or nil when raw
// is absent or null.
func compact(raw []byte) json.RawMessage {
	if !present(raw) {
		return nil
	}
	var buf bytes.Buffer
	buf.Grow(len(raw))
	if err := json.Compact(&buf, raw); err != nil {
		return bytes.Clone(raw) // unreachable: raw was validated by json.Unmarshal
	}
	return buf.Bytes()
}
