package kftest

import (
	"encoding/json"
	"time"
)

// AddCustomerMessage appends a message of msgType from the customer whose body, the
// value of the msgType key, is body marshalled as JSON: for example "voice" with
// {"media_id": "…"}, "file" with {"media_id": "…"} or "location" with {"latitude": …,
// "longitude": …, "name": …, "address": …} (see
// https://developer.work.weixin.qq.com/document/path/94670). It counts as a customer
// message (see [Server.AddText]) and returns its msgid.
func (s *Server) AddCustomerMessage(openKFID, externalUserID, msgType string, body any) string {
	return s.appendOne(openKFID, func(a *account, now time.Time, id string) []byte {
		s.customerMessageLocked(a, externalUserID, now)
		b := marshal(customerItem(id, openKFID, externalUserID, now, msgType))
		payload, err := json.Marshal(body)
		if err != nil {
			payload = []byte("{}")
		}
		key, _ := json.Marshal(msgType)
		b = append(b[:len(b)-1], ',')
		b = append(b, key...)
		b = append(b, ':')
		b = append(b, payload...)
		return append(b, '}')
	})
}
