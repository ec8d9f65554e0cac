package callback

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
)

// EventName is the value of the Event element of a decrypted callback.
type EventName string

// Event names of the callbacks a KF bot receives. Other values (other app events arriving at the
// same URL) parse fine and should be ignored.
const (
	// EventKFMsgOrEvent (`kf_msg_or_event`): new messages or events are waiting for the KF
	// account OpenKFID; pull them with kf/sync_msg, passing Token.
	EventKFMsgOrEvent EventName = "kf_msg_or_event"
	// EventKFAccountAuthChange (`kf_account_auth_change`): the set of KF accounts the app may
	// manage changed; see AuthAddOpenKFID and AuthDelOpenKFID.
	EventKFAccountAuthChange EventName = "kf_account_auth_change"
)

// Event is a decrypted callback, as returned by [ParseEvent]. Text values have surrounding
// white space removed. Elements that are absent leave their field zero.
type Event struct {
	// ToUserName (`ToUserName`) is the CorpID.
	ToUserName string
	// CreateTime (`CreateTime`) is the Unix time in seconds at which WeCom created the
	// callback.
	CreateTime int64
	// MsgType (`MsgType`) is "event" for KF callbacks.
	MsgType string
	// Event (`Event`) is the event name; compare with [EventKFMsgOrEvent] and
	// [EventKFAccountAuthChange], treat anything else as unknown.
	Event EventName
	// Token (`Token`, kf_msg_or_event) is the token to pass to kf/sync_msg (valid 10 minutes).
	Token string
	// OpenKFID (`OpenKfId`, kf_msg_or_event) is the KF account with new data. It may be empty
	// in old-style callbacks: then sync every configured account.
	OpenKFID string
	// AuthAddOpenKFID (`AuthAddOpenKfId`, repeated, kf_account_auth_change) lists the KF
	// accounts the app may now manage.
	AuthAddOpenKFID []string
	// AuthDelOpenKFID (`AuthDelOpenKfId`, repeated, kf_account_auth_change) lists the KF
	// accounts the app may no longer manage.
	AuthDelOpenKFID []string
	// Raw is the plaintext given to ParseEvent (the same slice, not a copy).
	Raw []byte
}

// eventXML holds the raw element texts; encoding/xml fills it on the slow path.
type eventXML struct {
	ToUserName      string   `xml:"ToUserName"`
	CreateTime      string   `xml:"CreateTime"`
	MsgType         string   `xml:"MsgType"`
	Event           string   `xml:"Event"`
	Token           string   `xml:"Token"`
	OpenKfID        string   `xml:"OpenKfId"`
	AuthAddOpenKfID []string `xml:"AuthAddOpenKfId"`
	AuthDelOpenKfID []string `xml:"AuthDelOpenKfId"`
}

// ParseEvent parses the decrypted inner XML of a callback (the result of
// [Cipher.DecryptMessage]). Element order does not matter and unknown elements are ignored, so
// any event parses; only XML that cannot be parsed, or a CreateTime that is not an integer,
// fails with [ErrBadXML]. ParseEvent never panics.
func ParseEvent(plain []byte) (*Event, error) {
	var x eventXML
	if scanEvent(plain, &x) {
		return x.event(plain)
	}
	return parseEventXML(plain)
}

// parseEventXML is the encoding/xml path of ParseEvent, for documents scanFlat does not handle.
func parseEventXML(plain []byte) (*Event, error) {
	var x eventXML
	if err := xml.Unmarshal(plain, &x); err != nil {
		return nil, fmt.Errorf("%w: decrypted callback is not XML (%v)", ErrBadXML, err)
	}
	return x.event(plain)
}

// scanEvent fills x from plain through scanFlat. All strings are substrings of one copy of
// plain.
func scanEvent(plain []byte, x *eventXML) bool {
	s := string(plain)
	return scanFlat(plain, func(name []byte, start, end int) {
		v := s[start:end]
		switch string(name) {
		case "ToUserName":
			x.ToUserName = v
		case "CreateTime":
			x.CreateTime = v
		case "MsgType":
			x.MsgType = v
		case "Event":
			x.Event = v
		case "Token":
			x.Token = v
		case "OpenKfId":
			x.OpenKfID = v
		case "AuthAddOpenKfId":
			x.AuthAddOpenKfID = append(x.AuthAddOpenKfID, v)
		case "AuthDelOpenKfId":
			x.AuthDelOpenKfID = append(x.AuthDelOpenKfID, v)
		}
	})
}

func (x *eventXML) event(raw []byte) (*Event, error) {
	e := &Event{
		ToUserName:      strings.TrimSpace(x.ToUserName),
		MsgType:         strings.TrimSpace(x.MsgType),
		Event:           EventName(strings.TrimSpace(x.Event)),
		Token:           strings.TrimSpace(x.Token),
		OpenKFID:        strings.TrimSpace(x.OpenKfID),
		AuthAddOpenKFID: trimAll(x.AuthAddOpenKfID),
		AuthDelOpenKFID: trimAll(x.AuthDelOpenKfID),
		Raw:             raw,
	}
	if ct := strings.TrimSpace(x.CreateTime); ct != "" {
		n, err := strconv.ParseInt(ct, 10, 64)
		if err != nil {
			const maxShown = 32
			if len(ct) > maxShown {
				ct = ct[:maxShown]
			}
			return nil, fmt.Errorf("%w: CreateTime %q is not an integer", ErrBadXML, ct)
		}
		e.CreateTime = n
	}
	return e, nil
}

func trimAll(ss []string) []string {
	for i, s := range ss {
		ss[i] = strings.TrimSpace(s)
	}
	return ss
}
