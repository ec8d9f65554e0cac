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

// decode is Decode without the copy, in the two phases the package doc
// describes. fallback is the msgtype of an item without one (see
// MergedItem.Message), and an item without the payload key is then taken as
// the payload itself.
func decode(item []byte, fallback MsgType) (Message, error) {
	if !isObject(item) {
		return malformed(Header{Raw: item}, "not a JSON object", nil)
	}
	h, err := decodeHeader(item)
	if err != nil {
		return malformed(h, "header", err)
	}
	hasType := h.MsgType != ""
	if !hasType && fallback == "" {
		return malformed(h, "missing msgtype", nil)
	}
	h.MsgType = cmp.Or(h.MsgType, fallback)
	decode, known := payloads[h.MsgType]
	if !known {
		return &Unknown{Header: h}, nil
	}
	raw := member(item, string(h.MsgType))
	if !hasType && !present(raw) {
		raw = item
	}
	return decode(h, raw)
}

// payloads is the one table of the msgtypes this package knows: each one's
// payload decoder, which gets the raw payload (nil when absent). A new
// msgtype takes its constant, its [Message] type, its wire struct with the
// wire method, and an entry here.
var payloads = map[MsgType]func(h Header, raw []byte) (Message, error){
	TypeText: payload(func(h Header, w *textWire) Message {
		return &Text{Header: h, Content: w.Content, MenuID: w.MenuID}
	}),
	TypeImage: payload(func(h Header, w *mediaWire) Message { return &Image{Header: h, MediaID: w.MediaID} }),
	TypeVoice: payload(func(h Header, w *mediaWire) Message { return &Voice{Header: h, MediaID: w.MediaID} }),
	TypeVideo: payload(func(h Header, w *mediaWire) Message { return &Video{Header: h, MediaID: w.MediaID} }),
	TypeFile:  payload(func(h Header, w *mediaWire) Message { return &File{Header: h, MediaID: w.MediaID} }),
	TypeLocation: payload(func(h Header, w *locationWire) Message {
		return &Location{Header: h, Latitude: w.Latitude, Longitude: w.Longitude, Name: w.Name, Address: w.Address}
	}),
	TypeLink: payload(func(h Header, w *linkWire) Message {
		return &Link{Header: h, Title: w.Title, Desc: w.Desc, URL: w.URL, PicURL: w.PicURL}
	}),
	TypeBusinessCard: payload(func(h Header, w *businessCardWire) Message { return &BusinessCard{Header: h, UserID: w.UserID} }),
	TypeMiniprogram: payload(func(h Header, w *miniprogramWire) Message {
		return &Miniprogram{Header: h, Title: w.Title, AppID: w.AppID, PagePath: w.PagePath, ThumbMediaID: w.ThumbMediaID}
	}),
	TypeMsgMenu: payload(func(h Header, w *msgMenuWire) Message {
		return &MsgMenu{Header: h, HeadContent: w.HeadContent, List: w.List, TailContent: w.TailContent}
	}),
	TypeChannelsShopProduct: payload(func(h Header, w *channelsShopProductWire) Message {
		return &ChannelsShopProduct{
			Header: h, ProductID: w.ProductID, HeadImage: cmp.Or(w.HeadImage, w.HeadImg), Title: w.Title,
			SalesPrice: w.SalesPrice, ShopNickname: w.ShopNickname, ShopHeadImage: cmp.Or(w.ShopHeadImage, w.ShopHeadImg),
		}
	}),
	TypeChannelsShopOrder: payload(func(h Header, w *channelsShopOrderWire) Message {
		return &ChannelsShopOrder{
			Header: h, OrderID: w.OrderID, ProductTitles: w.ProductTitles, PriceWording: w.PriceWording,
			State: w.State, ImageURL: w.ImageURL, ShopNickname: w.ShopNickname,
		}
	}),
	TypeMergedMsg: payload(func(h Header, w *mergedMsgWire) Message {
		m := &MergedMsg{Header: h, Title: w.Title}
		if len(w.Item) > 0 {
			m.Items = make([]MergedItem, len(w.Item))
			for i, it := range w.Item {
				m.Items[i] = MergedItem{SendTime: it.SendTime, MsgType: MsgType(it.MsgType), SenderName: it.SenderName, MsgContent: it.MsgContent}
			}
		}
		return m
	}),
	TypeChannels: payload(func(h Header, w *channelsWire) Message {
		return &Channels{Header: h, SubType: w.SubType, Nickname: w.Nickname, Title: w.Title}
	}),
	TypeMeeting:  rawPayload(func(h Header, p json.RawMessage) Message { return &Meeting{Header: h, Payload: p} }),
	TypeSchedule: rawPayload(func(h Header, p json.RawMessage) Message { return &Schedule{Header: h, Payload: p} }),
	TypeNote:     rawPayload(func(h Header, p json.RawMessage) Message { return &Note{Header: h, Payload: p} }),
	TypeEvent:    decodeEvent,
}

// payload returns the decoder of a payload of wire type W, which build
// turns into the message; an absent payload is malformed.
func payload[W any](build func(Header, *W) Message) func(Header, []byte) (Message, error) {
	return func(h Header, raw []byte) (Message, error) {
		if !present(raw) {
			return malformed(h, fmt.Sprintf("%s: missing %q object", h.MsgType, h.MsgType), nil)
		}
		w := new(W)
		if err := json.Unmarshal(raw, w); err != nil {
			return malformed(h, string(h.MsgType), err)
		}
		return build(h, w), nil
	}
}

// rawPayload returns the decoder of a payload kept as raw JSON: compacted,
// nil when absent.
func rawPayload(build func(Header, json.RawMessage) Message) func(Header, []byte) (Message, error) {
	return func(h Header, raw []byte) (Message, error) { return build(h, compact(raw)), nil }
}

// decodeEvent is phase two for events: the `event` object's head
// (event_type and the ids that go to the Header), then only the body of its
// event type.
func decodeEvent(h Header, raw []byte) (Message, error) {
	if !present(raw) {
		return malformed(h, `event: missing "event" object`, nil)
	}
	w, err := decodeEventHead(raw)
	h.EventType = w.EventType
	h.OpenKFID = cmp.Or(w.OpenKFID, h.OpenKFID)
	h.ExternalUserID = cmp.Or(w.ExternalUserID, h.ExternalUserID)
	h.ServicerUserID = cmp.Or(w.ServicerUserID, h.ServicerUserID)
	switch decode, known := events[h.EventType]; {
	case err != nil:
		return malformed(h, "event", err)
	case h.EventType == "":
		return malformed(h, "event: missing event_type", nil)
	case !known:
		return &Unknown{Header: h}, nil
	default:
		return decode(h, raw)
	}
}

// events is the one table of the event types this package knows: each
// one's body decoder, which gets the whole `event` object. A new event type
// takes its constant, its [Message] type, its body struct with the wire
// method, and an entry here.
var events = map[EventType]func(h Header, raw []byte) (Message, error){
	EventEnterSession: body(func(h Header, b *enterSessionBody) Message {
		m := &EnterSession{Header: h, Scene: b.Scene, SceneParam: b.SceneParam, WelcomeCode: b.WelcomeCode}
		if c := b.WechatChannels; c != nil {
			m.WechatChannels = &WechatChannels{Nickname: c.Nickname, ShopNickname: c.ShopNickname, Scene: ChannelsScene(c.Scene)}
		}
		return m
	}),
	EventMsgSendFail: body(func(h Header, b *msgSendFailBody) Message {
		return &MsgSendFail{Header: h, FailMsgID: b.FailMsgID, FailType: b.FailType}
	}),
	EventServicerStatusChange: body(func(h Header, b *servicerStatusChangeBody) Message {
		return &ServicerStatusChange{Header: h, Status: b.Status, StopType: b.StopType}
	}),
	EventSessionStatusChange: body(func(h Header, b *sessionStatusChangeBody) Message {
		return &SessionStatusChange{
			Header: h, ChangeType: b.ChangeType, OldServicerUserID: b.OldServicerUserID,
			NewServicerUserID: b.NewServicerUserID, MsgCode: b.MsgCode,
		}
	}),
	EventUserRecallMsg: body(func(h Header, b *recallBody) Message {
		return &UserRecallMsg{Header: h, RecallMsgID: b.RecallMsgID}
	}),
	EventServicerRecallMsg: body(func(h Header, b *recallBody) Message {
		return &ServicerRecallMsg{Header: h, RecallMsgID: b.RecallMsgID}
	}),
	EventRejectCustomerMsgSwitchChange: body(func(h Header, b *rejectSwitchBody) Message {
		return &RejectCustomerMsgSwitchChange{Header: h, RejectSwitch: b.RejectSwitch}
	}),
}

// body returns the decoder of an event body of wire type B, which build
// turns into the event.
func body[B any](build func(Header, *B) Message) func(Header, []byte) (Message, error) {
	return func(h Header, raw []byte) (Message, error) {
		b := new(B)
		if err := json.Unmarshal(raw, b); err != nil {
			return malformed(h, "event "+string(h.EventType), err)
		}
		return build(h, b), nil
	}
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
