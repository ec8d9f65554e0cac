package kftest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sent is one message the server accepted through send_msg or
// send_msg_on_event.
type Sent struct {
	// Path is "send_msg" or "send_msg_on_event".
	Path string
	// OpenKFID is the sending KF account (for send_msg_on_event, the
	// account the code belongs to).
	OpenKFID string
	// ToUser is the customer's external_userid (for send_msg_on_event, the
	// customer the code belongs to).
	ToUser string
	// MsgID is the request's msgid, or the one the server generated.
	MsgID string
	// MsgType is the request's msgtype.
	MsgType string
	// Code is the send_msg_on_event code; empty for send_msg.
	Code string
	// Text is text.content for msgtype text; empty otherwise.
	Text string
	// Body is the request body as received.
	Body json.RawMessage
	// Time is the server clock when the send was accepted.
	Time time.Time
}

// Sent returns a copy of every accepted send, in acceptance order.
func (s *Server) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// SentTo returns a copy of the accepted sends to one customer of one
// account, in acceptance order.
func (s *Server) SentTo(openKFID, externalUserID string) []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[openKFID]
	if !ok {
		return nil
	}
	ss, ok := a.sessions[externalUserID]
	if !ok {
		return nil
	}
	out := make([]Sent, 0, len(ss.sent))
	for _, i := range ss.sent {
		out = append(out, s.sent[i])
	}
	return out
}

// ResetSent forgets the recorded sends (not the msgids already used, which
// stay unique per account). Long-running embedders call it to bound memory.
func (s *Server) ResetSent() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = nil
	for _, a := range s.accounts {
		for _, ss := range a.sessions {
			ss.sent = nil
		}
	}
}

// sendRequest is the union of the send_msg and send_msg_on_event bodies.
type sendRequest struct {
	ToUser      *string          `json:"touser"`
	OpenKFID    *string          `json:"open_kfid"`
	Code        *string          `json:"code"`
	MsgID       *string          `json:"msgid"`
	MsgType     *string          `json:"msgtype"`
	Text        *textPayload     `json:"text"`
	Image       *mediaPayload    `json:"image"`
	Voice       *mediaPayload    `json:"voice"`
	Video       *mediaPayload    `json:"video"`
	File        *mediaPayload    `json:"file"`
	Link        *linkPayload     `json:"link"`
	Miniprogram *miniPayload     `json:"miniprogram"`
	MsgMenu     *menuPayload     `json:"msgmenu"`
	Location    *locationPayload `json:"location"`
	CALink      *caLinkPayload   `json:"ca_link"`
}

type textPayload struct {
	Content *string `json:"content"`
}

type mediaPayload struct {
	MediaID *string `json:"media_id"`
}

type linkPayload struct {
	Title        *string `json:"title"`
	Desc         *string `json:"desc"`
	URL          *string `json:"url"`
	ThumbMediaID *string `json:"thumb_media_id"`
}

type miniPayload struct {
	AppID        *string `json:"appid"`
	Title        *string `json:"title"`
	ThumbMediaID *string `json:"thumb_media_id"`
	PagePath     *string `json:"pagepath"`
}

type menuPayload struct {
	HeadContent *string           `json:"head_content"`
	List        []json.RawMessage `json:"list"`
	TailContent *string           `json:"tail_content"`
}

type menuItem struct {
	Type  *string `json:"type"`
	Click *struct {
		ID      *string `json:"id"`
		Content *string `json:"content"`
	} `json:"click"`
	View *struct {
		URL     *string `json:"url"`
		Content *string `json:"content"`
	} `json:"view"`
	Miniprogram *struct {
		AppID    *string `json:"appid"`
		PagePath *string `json:"pagepath"`
		Content  *string `json:"content"`
	} `json:"miniprogram"`
	Text *struct {
		Content   *string `json:"content"`
		NoNewline *uint32 `json:"no_newline"`
	} `json:"text"`
}

type locationPayload struct {
	Name      *string  `json:"name"`
	Address   *string  `json:"address"`
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
}

type caLinkPayload struct {
	LinkURL *string `json:"link_url"`
}

const maxTextBytes = 2048

// mediaRef is a media_id a send refers to, checked under the lock.
type mediaRef struct {
	id  string
	typ string
}

// requiredString checks a required string field: present, non-empty and at
// most max bytes (0 = no limit).
func requiredString(name string, v *string, maxLen int) *apiError {
	switch {
	case v == nil:
		return missingField(name)
	case *v == "":
		return emptyField(name)
	case maxLen > 0 && len(*v) > maxLen:
		return errf(ErrCodeInvalidParameter, "field "+name+" exceed max length "+strconv.Itoa(maxLen)+". invalid Request Parameter")
	}
	return nil
}

// optionalString checks an optional string field's length. An empty string
// counts as absent.
func optionalString(name string, v *string, maxLen int) *apiError {
	if v != nil && len(*v) > maxLen {
		return errf(ErrCodeInvalidParameter, "field "+name+" exceed max length "+strconv.Itoa(maxLen)+". invalid Request Parameter")
	}
	return nil
}

// validMsgID reports whether id is 1–32 bytes of [0-9a-zA-Z_-].
func validMsgID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func checkMsgID(v *string) *apiError {
	if v == nil {
		return nil
	}
	if *v == "" {
		return emptyField("msgid")
	}
	if !validMsgID(*v) {
		return errf(ErrCodeInvalidParameter, "invalid msgid: at most 32 bytes of [0-9a-zA-Z_-]. invalid Request Parameter")
	}
	return nil
}

func checkText(p *textPayload) *apiError {
	if p == nil {
		return missingField("text")
	}
	if p.Content == nil || *p.Content == "" {
		return errf(ErrCodeEmptyContent, "empty content")
	}
	if len(*p.Content) > maxTextBytes {
		return errf(ErrCodeContentTooLong, "content size out of limit")
	}
	return nil
}

func checkMenu(p *menuPayload) *apiError {
	if p == nil {
		return missingField("msgmenu")
	}
	if e := optionalString("msgmenu.head_content", p.HeadContent, 1024); e != nil {
		return e
	}
	if e := optionalString("msgmenu.tail_content", p.TailContent, 1024); e != nil {
		return e
	}
	if len(p.List) > 10 {
		return errf(ErrCodeMenuTooLong, "menu item count exceed limit")
	}
	for i, raw := range p.List {
		var it menuItem
		if json.Unmarshal(raw, &it) != nil {
			return badJSON()
		}
		field := "msgmenu.list[" + strconv.Itoa(i) + "]"
		if it.Type == nil {
			return missingField(field + ".type")
		}
		var e *apiError
		switch *it.Type {
		case "click":
			if it.Click == nil {
				return missingField(field + ".click")
			}
			if it.Click.ID != nil {
				e = requiredString(field+".click.id", it.Click.ID, 128)
			}
			if e == nil {
				e = requiredString(field+".click.content", it.Click.Content, 128)
			}
		case "view":
			if it.View == nil {
				return missingField(field + ".view")
			}
			if e = requiredString(field+".view.url", it.View.URL, 2048); e == nil {
				e = requiredString(field+".view.content", it.View.Content, 1024)
			}
		case "miniprogram":
			if it.Miniprogram == nil {
				return missingField(field + ".miniprogram")
			}
			if e = requiredString(field+".miniprogram.appid", it.Miniprogram.AppID, 32); e == nil {
				if e = requiredString(field+".miniprogram.pagepath", it.Miniprogram.PagePath, 1024); e == nil {
					e = requiredString(field+".miniprogram.content", it.Miniprogram.Content, 1024)
				}
			}
		case "text":
			if it.Text == nil {
				return missingField(field + ".text")
			}
			if e = requiredString(field+".text.content", it.Text.Content, 256); e == nil &&
				it.Text.NoNewline != nil && *it.Text.NoNewline > 1 {
				e = errf(ErrCodeInvalidParameter, "invalid "+field+".text.no_newline. invalid Request Parameter")
			}
		default:
			return errf(ErrCodeInvalidMenuItemType, "invalid menu item type")
		}
		if e != nil {
			return e
		}
	}
	return nil
}

func checkURL(name string, v *string, maxLen int) *apiError {
	if e := requiredString(name, v, maxLen); e != nil {
		return e
	}
	if !strings.HasPrefix(*v, "http://") && !strings.HasPrefix(*v, "https://") {
		return errf(ErrCodeInvalidParameter, "field "+name+" must start with http:// or https://. invalid Request Parameter")
	}
	return nil
}

// checkPayload validates the payload of a send_msg request and returns the
// media it refers to and the text content.
func checkPayload(req *sendRequest) (refs []mediaRef, text string, e *apiError) {
	mt := *req.MsgType
	media := func(p *mediaPayload) ([]mediaRef, string, *apiError) {
		if p == nil {
			return nil, "", missingField(mt)
		}
		if e := requiredString(mt+".media_id", p.MediaID, 0); e != nil {
			return nil, "", e
		}
		return []mediaRef{{id: *p.MediaID, typ: mt}}, "", nil
	}
	switch mt {
	case "text":
		if e := checkText(req.Text); e != nil {
			return nil, "", e
		}
		return nil, *req.Text.Content, nil
	case "image":
		return media(req.Image)
	case "voice":
		return media(req.Voice)
	case "video":
		return media(req.Video)
	case "file":
		return media(req.File)
	case "link":
		p := req.Link
		if p == nil {
			return nil, "", missingField("link")
		}
		if e := requiredString("link.title", p.Title, 0); e != nil {
			return nil, "", e
		}
		if e := checkURL("link.url", p.URL, 2048); e != nil {
			return nil, "", e
		}
		if e := requiredString("link.thumb_media_id", p.ThumbMediaID, 0); e != nil {
			return nil, "", e
		}
		return []mediaRef{{id: *p.ThumbMediaID, typ: "image"}}, "", nil
	case "miniprogram":
		p := req.Miniprogram
		if p == nil {
			return nil, "", missingField("miniprogram")
		}
		if e := requiredString("miniprogram.appid", p.AppID, 0); e != nil {
			return nil, "", e
		}
		if e := requiredString("miniprogram.pagepath", p.PagePath, 0); e != nil {
			return nil, "", e
		}
		if e := requiredString("miniprogram.thumb_media_id", p.ThumbMediaID, 0); e != nil {
			return nil, "", e
		}
		return []mediaRef{{id: *p.ThumbMediaID, typ: "image"}}, "", nil
	case "msgmenu":
		return nil, "", checkMenu(req.MsgMenu)
	case "location":
		p := req.Location
		if p == nil {
			return nil, "", missingField("location")
		}
		switch {
		case p.Latitude == nil:
			return nil, "", missingField("location.latitude")
		case p.Longitude == nil:
			return nil, "", missingField("location.longitude")
		case *p.Latitude < -90 || *p.Latitude > 90 || *p.Longitude < -180 || *p.Longitude > 180:
			return nil, "", errf(ErrCodeInvalidParameter, "invalid location. invalid Request Parameter")
		}
		return nil, "", nil
	case "ca_link":
		if req.CALink == nil {
			return nil, "", missingField("ca_link")
		}
		return nil, "", checkURL("ca_link.link_url", req.CALink.LinkURL, 0)
	}
	return nil, "", errf(ErrCodeInvalidMsgType, "invalid message type")
}

// decodeSend reads and decodes a send body. The body bytes are returned as
// a fresh copy (for Sent.Body).
func (s *Server) decodeSend(w http.ResponseWriter, r *http.Request) (*sendRequest, []byte, bool) {
	if !s.admit(w, r, true) {
		return nil, nil, false
	}
	buf, ok := readBody(r)
	body := bytes.Clone(buf.Bytes())
	putBuf(buf)
	req := new(sendRequest)
	if !ok || json.Unmarshal(body, req) != nil {
		s.writeErr(w, badJSON())
		return nil, nil, false
	}
	return req, body, true
}

// mediaOKLocked checks that the media exist, are unexpired and of the type
// the message needs.
func (s *Server) mediaOKLocked(refs []mediaRef, now time.Time) *apiError {
	for _, ref := range refs {
		m, ok := s.media[ref.id]
		if !ok || m.typ != ref.typ || now.Sub(m.created) > MediaTTL {
			return errf(ErrCodeInvalidMediaID, "invalid media_id")
		}
	}
	return nil
}

func (s *Server) generatedMsgIDLocked() string {
	s.sendSeq++
	return "kftest_send_" + strconv.FormatUint(s.sendSeq, 10)
}

// handleSendMsg serves POST /cgi-bin/kf/send_msg.
func (s *Server) handleSendMsg(w http.ResponseWriter, r *http.Request) {
	req, body, ok := s.decodeSend(w, r)
	if !ok {
		return
	}
	var e *apiError
	switch {
	case req.ToUser == nil:
		e = missingField("touser")
	case *req.ToUser == "":
		e = emptyField("touser")
	case req.OpenKFID == nil:
		e = missingField("open_kfid")
	case *req.OpenKFID == "":
		e = emptyField("open_kfid")
	case req.MsgType == nil:
		e = missingField("msgtype")
	case *req.MsgType == "":
		e = emptyField("msgtype")
	}
	if e == nil {
		e = checkMsgID(req.MsgID)
	}
	var refs []mediaRef
	var text string
	if e == nil {
		refs, text, e = checkPayload(req)
	}
	if e != nil {
		s.writeErr(w, e)
		return
	}

	now := s.now()
	s.mu.Lock()
	msgID, e := s.acceptSendLocked(req, refs, now)
	var sent Sent
	if e == nil {
		a := s.accounts[*req.OpenKFID]
		sent = Sent{
			Path: "send_msg", OpenKFID: *req.OpenKFID, ToUser: *req.ToUser,
			MsgID: msgID, MsgType: *req.MsgType, Text: text, Body: body, Time: now,
		}
		s.recordLocked(a.sessions[*req.ToUser], sent)
	}
	s.mu.Unlock()
	if e != nil {
		s.writeErr(w, e)
		return
	}
	writeMsgID(w, msgID)
	s.fireSent(sent)
}

// acceptSendLocked applies WeCom's send_msg rules and, when they pass,
// consumes the msgid and one unit of the allowance.
func (s *Server) acceptSendLocked(req *sendRequest, refs []mediaRef, now time.Time) (string, *apiError) {
	a, e := s.apiAccountLocked(*req.OpenKFID)
	if e != nil {
		return "", e
	}
	a.forgetMsgIDsLocked(now)
	if req.MsgID != nil {
		if _, dup := a.msgIDs[*req.MsgID]; dup {
			return "", errf(ErrCodeDuplicateMsgID, "msgid duplicated")
		}
	}
	if e := s.mediaOKLocked(refs, now); e != nil {
		return "", e
	}
	ss := a.sessions[*req.ToUser]
	switch {
	case ss == nil || !ss.hasCustomer:
		return "", errf(ErrCodeNoConsultation, "customer has not consulted in 48 hours")
	case now.Sub(ss.lastCustomer) > SendWindow:
		return "", errf(ErrCodeSendTimeLimit, "send msg time limit")
	case ss.state != StateUntreated && ss.state != StateBot:
		return "", errf(ErrCodeStateForbidsSend, "current session state does not allow sending")
	case ss.quota <= 0:
		return "", errf(ErrCodeSendCountLimit, "send msg count limit")
	}
	msgID := ""
	if req.MsgID != nil {
		msgID = *req.MsgID
	} else {
		for {
			msgID = s.generatedMsgIDLocked()
			if _, dup := a.msgIDs[msgID]; !dup {
				break
			}
		}
	}
	s.rememberMsgIDLocked(a, msgID, now)
	ss.quota--
	if ss.state == StateUntreated {
		ss.setState(StateBot)
	}
	return msgID, nil
}

func (s *Server) recordLocked(ss *session, sent Sent) {
	s.sent = append(s.sent, sent)
	ss.sent = append(ss.sent, len(s.sent)-1)
}

// writeMsgID writes {"errcode":0,"errmsg":"ok","msgid":"…"}; msgid is
// always [0-9a-zA-Z_-].
func writeMsgID(w http.ResponseWriter, msgID string) {
	extra := make([]byte, 0, len(msgID)+12)
	extra = append(extra, `,"msgid":"`...)
	extra = append(extra, msgID...)
	extra = append(extra, '"')
	writeOK(w, extra)
}

// handleSendMsgOnEvent serves POST /cgi-bin/kf/send_msg_on_event.
func (s *Server) handleSendMsgOnEvent(w http.ResponseWriter, r *http.Request) {
	req, body, ok := s.decodeSend(w, r)
	if !ok {
		return
	}
	var e *apiError
	switch {
	case req.Code == nil:
		e = missingField("code")
	case *req.Code == "":
		e = emptyField("code")
	case req.MsgType == nil:
		e = missingField("msgtype")
	case *req.MsgType == "":
		e = emptyField("msgtype")
	case *req.MsgType != "text" && *req.MsgType != "msgmenu":
		e = errf(ErrCodeInvalidMsgType, "invalid message type")
	}
	if e == nil {
		e = checkMsgID(req.MsgID)
	}
	var text string
	if e == nil {
		_, text, e = checkPayload(req)
	}
	if e != nil {
		s.writeErr(w, e)
		return
	}

	now := s.now()
	s.mu.Lock()
	msgID, sent, e := s.acceptEventSendLocked(req, now)
	if e == nil {
		sent.Text, sent.Body = text, body
		ss := s.accounts[sent.OpenKFID].sessions[sent.ToUser]
		s.recordLocked(ss, sent)
	}
	s.mu.Unlock()
	if e != nil {
		s.writeErr(w, e)
		return
	}
	writeMsgID(w, msgID)
	s.fireSent(sent)
}

// fireSent calls the OnSend hook, outside the lock.
func (s *Server) fireSent(sent Sent) {
	if fn := s.sendHook.Load(); fn != nil {
		(*fn)(sent)
	}
}

// OnSend sets a hook called after every accepted send_msg and send_msg_on_event, once
// the answer is written, with the recorded send. Tests use it to wait for replies without
// polling. The hook runs on the request's goroutine outside the server's lock; concurrent
// sends call it concurrently. nil removes it. Safe for concurrent use.
func (s *Server) OnSend(fn func(Sent)) {
	if fn == nil {
		s.sendHook.Store(nil)
		return
	}
	s.sendHook.Store(&fn)
}

func (s *Server) acceptEventSendLocked(req *sendRequest, now time.Time) (string, Sent, *apiError) {
	code := *req.Code
	ec, ok := s.codes[code]
	if !ok {
		return "", Sent{}, errf(ErrCodeInvalidEventCode, "invalid code")
	}
	a := s.accountLocked(ec.openKFID)
	// A retried send (same msgid) learns that it was accepted before.
	a.forgetMsgIDsLocked(now)
	if req.MsgID != nil {
		if _, dup := a.msgIDs[*req.MsgID]; dup {
			return "", Sent{}, errf(ErrCodeDuplicateMsgID, "msgid duplicated")
		}
	}
	switch {
	case ec.used:
		return "", Sent{}, errf(ErrCodeInvalidEventCode, "code already used")
	case now.After(ec.expires):
		return "", Sent{}, errf(ErrCodeInvalidEventCode, "code expired")
	}
	if *req.MsgType == "msgmenu" && (ec.kind == codePool || ec.kind == codePickUp) {
		return "", Sent{}, errf(ErrCodeInvalidMsgType, "msgtype not allowed for this code")
	}
	ss := a.sessionLocked(ec.user)
	if ec.kind != codeWelcome && (ss.state != ec.state || ss.gen != ec.gen) {
		return "", Sent{}, errf(ErrCodeStateForbidsSend, "current session state does not allow sending")
	}
	msgID := ""
	if req.MsgID != nil {
		msgID = *req.MsgID
	} else {
		for {
			msgID = s.generatedMsgIDLocked()
			if _, dup := a.msgIDs[msgID]; !dup {
				break
			}
		}
	}
	s.rememberMsgIDLocked(a, msgID, now)
	ec.used = true
	if ec.kind == codeWelcome {
		ss.welcomed, ss.lastWelcome = true, now
	}
	return msgID, Sent{
		Path: "send_msg_on_event", OpenKFID: ec.openKFID, ToUser: ec.user,
		MsgID: msgID, MsgType: *req.MsgType, Code: code, Time: now,
	}, nil
}
