package kftest

import (
	"bytes"
	"encoding/json"
	"time"
)

// placeholderPNG is a 1×1 PNG stored for media ids introduced by AddImage.
var placeholderPNG = []byte("\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0b\x49\x44\x41\x54\x78\x9c\x63\x60\x00\x02\x00\x00\x05\x00\x01\x7a\x5e\xab\x3f\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82")

// appendItems runs build under the lock with a fresh msgid for each of the
// items it wants to append (it calls next for each), appends them, issues a
// callback token per item, then fires the OnAppend hook once.
func (s *Server) appendItems(openKFID string, build func(a *account, now time.Time, next func() string) [][]byte) []string {
	now := s.now()
	var ids []string
	next := func() string {
		id := s.nextMsgIDLocked()
		ids = append(ids, id)
		return id
	}
	s.mu.Lock()
	a := s.accountLocked(openKFID)
	var tok string
	for _, data := range build(a, now, next) {
		tok = s.appendLocked(a, data, now)
	}
	s.mu.Unlock()
	if tok != "" {
		s.fire(openKFID, tok)
	}
	return ids
}

func (s *Server) appendOne(openKFID string, build func(a *account, now time.Time, msgID string) []byte) string {
	ids := s.appendItems(openKFID, func(a *account, now time.Time, next func() string) [][]byte {
		return [][]byte{build(a, now, next())}
	})
	return ids[0]
}

func customerItem(msgID, openKFID, user string, now time.Time, msgType string) wireItem {
	return wireItem{
		MsgID: msgID, OpenKFID: openKFID, ExternalUserID: user,
		SendTime: now.Unix(), Origin: originCustomer, MsgType: msgType,
	}
}

func eventItem(msgID string, now time.Time, ev any) []byte {
	return marshal(wireItem{
		MsgID: msgID, SendTime: now.Unix(), Origin: originSystem, MsgType: "event", Event: ev,
	})
}

// AddText appends a text message from the customer (origin 3) and returns
// its msgid. Like every customer message it turns a session in state 4 into
// state 0, restarts the 48-hour window and resets the allowance of 5 sends.
func (s *Server) AddText(openKFID, externalUserID, text string) string {
	return s.appendOne(openKFID, func(a *account, now time.Time, id string) []byte {
		s.customerMessageLocked(a, externalUserID, now)
		return appendCustomerText(make([]byte, 0, 160+len(text)), id, openKFID, externalUserID, now.Unix(), originCustomer, "", text, "")
	})
}

// AddMenuClick appends the text message WeCom produces when the customer
// taps a click item of a menu: text.content is the item's text and
// text.menu_id its id. It counts as a customer message (see
// [Server.AddText]).
func (s *Server) AddMenuClick(openKFID, externalUserID, menuID, text string) string {
	return s.appendOne(openKFID, func(a *account, now time.Time, id string) []byte {
		s.customerMessageLocked(a, externalUserID, now)
		return appendCustomerText(make([]byte, 0, 180+len(text)), id, openKFID, externalUserID, now.Unix(), originCustomer, "", text, menuID)
	})
}

// AddImage appends an image message from the customer. If mediaID is not
// known yet it is registered as an image (a 1×1 PNG) for media/get. It
// counts as a customer message (see [Server.AddText]).
func (s *Server) AddImage(openKFID, externalUserID, mediaID string) string {
	return s.appendOne(openKFID, func(a *account, now time.Time, id string) []byte {
		it := customerItem(id, openKFID, externalUserID, now, "image")
		it.Image = &wireMedia{MediaID: mediaID}
		s.customerMessageLocked(a, externalUserID, now)
		if _, ok := s.media[mediaID]; !ok {
			s.media[mediaID] = &mediaObject{typ: "image", data: placeholderPNG, created: now, filename: mediaID + ".png"}
		}
		return marshal(it)
	})
}

// AddMedia appends a customer's image, voice, video or file message (msgType "image",
// "voice", "video" or "file") whose medium is data, served by media/get under filename,
// and returns the message's msgid and media_id. It counts as a customer message (see
// [Server.AddText]). Another msgType panics: it is a test's mistake.
func (s *Server) AddMedia(openKFID, externalUserID, msgType, filename string, data []byte) (msgID, mediaID string) {
	switch msgType {
	case "image", "voice", "video", "file":
	default:
		panic("kftest: AddMedia: msgType " + msgType + " is not image, voice, video or file")
	}
	msgID = s.appendOne(openKFID, func(a *account, now time.Time, id string) []byte {
		mediaID = s.putMediaLocked(msgType, filename, bytes.Clone(data), now)
		it := customerItem(id, openKFID, externalUserID, now, msgType)
		m := &wireMedia{MediaID: mediaID}
		switch msgType {
		case "image":
			it.Image = m
		case "voice":
			it.Voice = m
		case "video":
			it.Video = m
		default:
			it.File = m
		}
		s.customerMessageLocked(a, externalUserID, now)
		return marshal(it)
	})
	return msgID, mediaID
}

// AddLocation appends a customer's location message. It counts as a customer message
// (see [Server.AddText]).
func (s *Server) AddLocation(openKFID, externalUserID string, latitude, longitude float64, name, address string) string {
	return s.appendOne(openKFID, func(a *account, now time.Time, id string) []byte {
		it := customerItem(id, openKFID, externalUserID, now, "location")
		it.Location = &wireLocation{Latitude: latitude, Longitude: longitude, Name: name, Address: address}
		s.customerMessageLocked(a, externalUserID, now)
		return marshal(it)
	})
}

// AddItem appends item verbatim to the account's message log, for unknown
// types and malformed items. It changes no session state. It returns the
// item's "msgid" if it is a JSON object with a string msgid, else "". An
// item that is not valid JSON makes every page containing it an invalid
// JSON response, which tests a client's handling of garbled bodies.
func (s *Server) AddItem(openKFID string, item json.RawMessage) string {
	data := append([]byte(nil), item...)
	var head struct {
		MsgID string `json:"msgid"`
	}
	_ = json.Unmarshal(data, &head)
	now := s.now()
	s.mu.Lock()
	a := s.accountLocked(openKFID)
	tok := s.appendLocked(a, data, now)
	s.mu.Unlock()
	s.fire(openKFID, tok)
	return head.MsgID
}

// EnterSession appends an enter_session event (the customer opened the chat
// through a link with scene and scene_param) and returns its msgid and the
// welcome_code, which is "" unless WeCom's conditions hold: the customer
// has not written to the account and got no welcome message in the last 48
// hours. A welcome code is valid for 20 seconds and once. The session state
// does not change.
func (s *Server) EnterSession(openKFID, externalUserID, scene, sceneParam string) (msgID, welcomeCode string) {
	msgID = s.appendOne(openKFID, func(a *account, now time.Time, id string) []byte {
		ss := a.sessionLocked(externalUserID)
		recentCustomer := ss.hasCustomer && now.Sub(ss.lastCustomer) < SendWindow
		recentWelcome := ss.welcomed && now.Sub(ss.lastWelcome) < SendWindow
		if !recentCustomer && !recentWelcome {
			welcomeCode = s.issueCodeLocked(codeWelcome, openKFID, externalUserID, ss, now)
		}
		c := s.customerLocked(externalUserID)
		c.entered, c.enterTime, c.scene, c.sceneParam = true, now, scene, sceneParam
		return eventItem(id, now, evEnterSession{
			EventType: "enter_session", OpenKFID: openKFID, ExternalUserID: externalUserID,
			Scene: scene, SceneParam: sceneParam, WelcomeCode: welcomeCode,
		})
	})
	return msgID, welcomeCode
}

// AddServicerText appends a text message a servicer typed in the WeCom
// client (origin 5, with servicer_userid). A session in state 4 is
// re-entered: it becomes state 3 with this servicer and a
// session_status_change with change_type 4 is appended first. A session in
// another state becomes state 3 with this servicer. The returned msgid is
// the text's. An unknown servicer is added as receiving.
func (s *Server) AddServicerText(openKFID, externalUserID, servicerUserID, text string) string {
	ids := s.appendItems(openKFID, func(a *account, now time.Time, next func() string) [][]byte {
		var out [][]byte
		s.servicerLocked(a, servicerUserID)
		ss := a.sessionLocked(externalUserID)
		if ss.state == StateEnded {
			out = append(out, eventItem(next(), now, evSessionStatusChange{
				EventType: "session_status_change", OpenKFID: openKFID, ExternalUserID: externalUserID,
				ChangeType: 4, OldServicerUserID: ss.servicer, NewServicerUserID: servicerUserID,
			}))
		}
		ss.setState(StateHuman)
		ss.servicer = servicerUserID
		s.customerLocked(externalUserID)
		return append(out, appendCustomerText(nil, next(), openKFID, externalUserID, now.Unix(), originServicer, servicerUserID, text, ""))
	})
	return ids[len(ids)-1]
}

// ServicerPickUp simulates a servicer taking the session from the waiting
// pool in the WeCom client: the session becomes state 3 with the servicer
// and a session_status_change with change_type 1 and a msg_code (valid 48
// hours, text only, while the session stays in state 3) is appended. It
// returns the event's msgid and the msg_code. An unknown servicer is added
// as receiving.
func (s *Server) ServicerPickUp(openKFID, externalUserID, servicerUserID string) (msgID, msgCode string) {
	msgID = s.appendOne(openKFID, func(a *account, now time.Time, id string) []byte {
		s.servicerLocked(a, servicerUserID)
		ss := a.sessionLocked(externalUserID)
		ss.setState(StateHuman)
		ss.servicer = servicerUserID
		ss.replyCode = true
		msgCode = s.issueCodeLocked(codePickUp, openKFID, externalUserID, ss, now)
		return eventItem(id, now, evSessionStatusChange{
			EventType: "session_status_change", OpenKFID: openKFID, ExternalUserID: externalUserID,
			ChangeType: 1, NewServicerUserID: servicerUserID, MsgCode: msgCode,
		})
	})
	return msgID, msgCode
}

// ServicerTransfer simulates the current servicer transferring the session
// to another servicer in the WeCom client: the session becomes state 3 with
// the new servicer and a session_status_change with change_type 2 (old and
// new servicer) is appended. It returns the event's msgid.
func (s *Server) ServicerTransfer(openKFID, externalUserID, newServicerUserID string) string {
	return s.appendOne(openKFID, func(a *account, now time.Time, id string) []byte {
		s.servicerLocked(a, newServicerUserID)
		ss := a.sessionLocked(externalUserID)
		old := ss.servicer
		ss.setState(StateHuman)
		ss.servicer = newServicerUserID
		return eventItem(id, now, evSessionStatusChange{
			EventType: "session_status_change", OpenKFID: openKFID, ExternalUserID: externalUserID,
			ChangeType: 2, OldServicerUserID: old, NewServicerUserID: newServicerUserID,
		})
	})
}

// ServicerEnd simulates the servicer ending the session in the WeCom
// client: the session becomes state 4 and a session_status_change with
// change_type 3 and a closing msg_code (valid 20 seconds, text or menu,
// while the session stays ended) is appended. It returns the event's msgid
// and the msg_code.
func (s *Server) ServicerEnd(openKFID, externalUserID string) (msgID, msgCode string) {
	msgID = s.appendOne(openKFID, func(a *account, now time.Time, id string) []byte {
		ss := a.sessionLocked(externalUserID)
		old := ss.servicer
		ss.setState(StateEnded)
		msgCode = s.issueCodeLocked(codeClosing, openKFID, externalUserID, ss, now)
		return eventItem(id, now, evSessionStatusChange{
			EventType: "session_status_change", OpenKFID: openKFID, ExternalUserID: externalUserID,
			ChangeType: 3, OldServicerUserID: old, MsgCode: msgCode,
		})
	})
	return msgID, msgCode
}

// UserRecall appends a user_recall_msg event: the customer recalled the
// message recallMsgID. The recalled message stays in the log, as in WeCom.
func (s *Server) UserRecall(openKFID, externalUserID, recallMsgID string) string {
	return s.appendOne(openKFID, func(_ *account, now time.Time, id string) []byte {
		return eventItem(id, now, evUserRecall{
			EventType: "user_recall_msg", OpenKFID: openKFID, ExternalUserID: externalUserID,
			RecallMsgID: recallMsgID,
		})
	})
}

// SendFail appends a msg_send_fail event for a message the bot sent
// (failMsgID, the msgid send_msg returned) with the wire fail_type (e.g. 4
// session expired, 6 over the 5-message limit, 10 customer refused).
func (s *Server) SendFail(openKFID, externalUserID, failMsgID string, failType int) string {
	return s.appendOne(openKFID, func(_ *account, now time.Time, id string) []byte {
		return eventItem(id, now, evMsgSendFail{
			EventType: "msg_send_fail", OpenKFID: openKFID, ExternalUserID: externalUserID,
			FailMsgID: failMsgID, FailType: failType,
		})
	})
}
