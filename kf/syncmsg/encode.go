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
