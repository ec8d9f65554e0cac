package kftest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strconv"
	"time"
)

// Limits of externalcontact/send_welcome_msg the fake enforces.
const (
	maxWelcomeText        = 4000
	maxWelcomeAttachments = 9
)

// ExternalContactEvent is a change_external_contact callback the fake produced: its
// fields and XML, the decrypted callback exactly as WeCom sends it to a self-built app
// (https://developer.work.weixin.qq.com/document/path/92130). Post it with
// [Server.NewRawCallbackRequest].
type ExternalContactEvent struct {
	ChangeType     string
	UserID         string // the member
	ExternalUserID string // the customer
	State          string // the 「联系我」 code's state
	WelcomeCode    string // "" when the event carries none
	Time           time.Time
	XML            []byte
}

// Welcome is a welcome the fake accepted (externalcontact/send_welcome_msg).
type Welcome struct {
	Code, UserID, ExternalUserID, State string
	Text                                string
	// Attachments are the attachments as sent (JSON objects with msgtype).
	Attachments []json.RawMessage
	At          time.Time
}

// welcomeCode is an issued welcome code.
type welcomeCode struct {
	userID, externalUserID, state string
	issued                        time.Time
	used                          bool
}

// relation is a member's relationship with a customer.
type relation struct {
	state string
	added time.Time
}

// externalContactState is the fake's external-contact world.
type externalContactState struct {
	relations map[string]map[string]relation // external_userid → userid → relation
	codes     map[string]*welcomeCode
	welcomes  []Welcome
	codeSeq   int
}

func (x *externalContactState) init() {
	if x.relations == nil {
		x.relations = map[string]map[string]relation{}
		x.codes = map[string]*welcomeCode{}
	}
}

// AddExternalContact plays a member (userID) adding a customer (externalUserID) through
// a 「联系我」 code with state: the relationship is recorded, a welcome code valid
// [WelcomeCodeTTL] (as KF welcome codes) and usable once is issued, and the add_external_contact event is
// returned.
func (s *Server) AddExternalContact(userID, externalUserID, state string) ExternalContactEvent {
	return s.externalContactEvent("add_external_contact", userID, externalUserID, state, "", "", true)
}

// AddExternalContactWithoutWelcome is AddExternalContact for a customer the member has
// chatted with before: WeCom gives no welcome code then.
func (s *Server) AddExternalContactWithoutWelcome(userID, externalUserID, state string) ExternalContactEvent {
	return s.externalContactEvent("add_external_contact", userID, externalUserID, state, "", "", false)
}

// DeleteExternalContact plays the member deleting the customer (del_external_contact):
// the relationship is gone, so a welcome or externalcontact/get for it answers 84061.
func (s *Server) DeleteExternalContact(userID, externalUserID string) ExternalContactEvent {
	return s.externalContactEvent("del_external_contact", userID, externalUserID, "", "", "", false)
}

// TransferFail plays a failed customer transfer to the takeover member userID
// (transfer_fail, reason customer_refused or customer_limit_exceed).
func (s *Server) TransferFail(userID, externalUserID, reason string) ExternalContactEvent {
	return s.externalContactEvent("transfer_fail", userID, externalUserID, "", "", reason, false)
}

func (s *Server) externalContactEvent(change, userID, externalUserID, state, source, failReason string, code bool) ExternalContactEvent {
	now := s.now()
	s.mu.Lock()
	x := &s.contacts
	x.init()
	ev := ExternalContactEvent{ChangeType: change, UserID: userID, ExternalUserID: externalUserID, State: state, Time: now}
	switch change {
	case "add_external_contact":
		if x.relations[externalUserID] == nil {
			x.relations[externalUserID] = map[string]relation{}
		}
		x.relations[externalUserID][userID] = relation{state: state, added: now}
		if code {
			x.codeSeq++
			ev.WelcomeCode = "kftest_welcome_" + strconv.Itoa(x.codeSeq)
			x.codes[ev.WelcomeCode] = &welcomeCode{userID: userID, externalUserID: externalUserID, state: state, issued: now}
		}
	case "del_external_contact":
		delete(x.relations[externalUserID], userID)
	}
	s.mu.Unlock()

	var b bytes.Buffer
	b.WriteString("<xml>")
	cdata(&b, "ToUserName", s.cfg.corpID)
	cdata(&b, "FromUserName", "sys")
	b.WriteString("<CreateTime>" + strconv.FormatInt(now.Unix(), 10) + "</CreateTime>")
	cdata(&b, "MsgType", "event")
	cdata(&b, "Event", "change_external_contact")
	cdata(&b, "ChangeType", change)
	cdata(&b, "UserID", userID)
	cdata(&b, "ExternalUserID", externalUserID)
	if change == "add_external_contact" {
		cdata(&b, "State", state)
		if ev.WelcomeCode != "" {
			cdata(&b, "WelcomeCode", ev.WelcomeCode)
		}
	}
	if source != "" {
		cdata(&b, "Source", source)
	}
	if failReason != "" {
		cdata(&b, "FailReason", failReason)
	}
	b.WriteString("</xml>")
	ev.XML = b.Bytes()
	return ev
}

// Welcomes returns the welcomes the fake accepted, in order.
func (s *Server) Welcomes() []Welcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Welcome(nil), s.contacts.welcomes...)
}

// welcomeRequest is the body of send_welcome_msg.
type welcomeRequest struct {
	WelcomeCode *string `json:"welcome_code"`
	Text        *struct {
		Content *string `json:"content"`
	} `json:"text"`
	Attachments []json.RawMessage `json:"attachments"`
}

// attachment is one attachment, for its checks.
type attachment struct {
	MsgType string `json:"msgtype"`
	Image   *struct {
		MediaID *string `json:"media_id"`
		PicURL  *string `json:"pic_url"`
	} `json:"image"`
	Link *struct {
		Title  *string `json:"title"`
		PicURL *string `json:"picurl"`
		Desc   *string `json:"desc"`
		URL    *string `json:"url"`
	} `json:"link"`
	MiniProgram *struct {
		Title      *string `json:"title"`
		PicMediaID *string `json:"pic_media_id"`
		AppID      *string `json:"appid"`
		Page       *string `json:"page"`
	} `json:"miniprogram"`
	Video *struct {
		MediaID *string `json:"media_id"`
	} `json:"video"`
	File *struct {
		MediaID *string `json:"media_id"`
	} `json:"file"`
}

// handleSendWelcomeMsg serves externalcontact/send_welcome_msg with WeCom's rules: a
// code issued by AddExternalContact, at most WelcomeCodeTTL old (41050), used once
// (41051), its relationship still there (84061); text ≤ 4000 bytes, ≤ 9 attachments,
// not both empty, each attachment with the body its msgtype names (40058).
func (s *Server) handleSendWelcomeMsg(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, true) {
		return
	}
	buf, ok := readBody(r)
	body := bytes.Clone(buf.Bytes())
	putBuf(buf)
	var req welcomeRequest
	if !ok || json.Unmarshal(body, &req) != nil {
		s.writeErr(w, badJSON())
		return
	}
	text := ""
	if req.Text != nil && req.Text.Content != nil {
		text = *req.Text.Content
	}
	var e *apiError
	switch {
	case req.WelcomeCode == nil || *req.WelcomeCode == "":
		e = errf(41049, "welcome code missing")
	case len(text) > maxWelcomeText:
		e = errf(ErrCodeInvalidParameter, "text.content exceeds 4000 bytes. invalid Request Parameter")
	case len(req.Attachments) > maxWelcomeAttachments:
		e = errf(ErrCodeInvalidParameter, "attachments exceeds 9. invalid Request Parameter")
	case text == "" && len(req.Attachments) == 0:
		e = errf(ErrCodeInvalidParameter, "text and attachments both empty. invalid Request Parameter")
	}
	var refs []mediaRef
	for i := 0; e == nil && i < len(req.Attachments); i++ {
		var ref mediaRef
		ref, e = checkAttachment(req.Attachments[i])
		if ref.id != "" {
			refs = append(refs, ref)
		}
	}
	if e != nil {
		s.writeErr(w, e)
		return
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	x := &s.contacts
	x.init()
	c := x.codes[*req.WelcomeCode]
	switch {
	case s.mediaOKLocked(refs, now) != nil:
		e = errf(ErrCodeInvalidMediaID, "invalid media_id")
	case c == nil || now.Sub(c.issued) > WelcomeCodeTTL:
		e = errf(41050, "invalid welcome code: use it within 20 seconds of the add event")
	case c.used:
		e = errf(41051, "customer and member already chatting, or the welcome code was used")
	default:
		if _, ok := x.relations[c.externalUserID][c.userID]; !ok {
			e = errf(84061, "no external contact relation")
		}
	}
	if e != nil {
		s.writeErr(w, e)
		return
	}
	c.used = true
	x.welcomes = append(x.welcomes, Welcome{Code: *req.WelcomeCode, UserID: c.userID, ExternalUserID: c.externalUserID,
		State: c.state, Text: text, Attachments: req.Attachments, At: now})
	writeOK(w, nil)
}

// checkAttachment checks one attachment's msgtype and body, and returns the medium it
// names by media_id, if any (it must have been uploaded).
func checkAttachment(raw json.RawMessage) (mediaRef, *apiError) {
	var a attachment
	if json.Unmarshal(raw, &a) != nil {
		return mediaRef{}, badJSON()
	}
	bad := func(field string) (mediaRef, *apiError) {
		return mediaRef{}, errf(ErrCodeInvalidParameter, "attachments."+a.MsgType+"."+field+" missing or invalid. invalid Request Parameter")
	}
	empty := func(p *string) bool { return p == nil || *p == "" }
	switch a.MsgType {
	case "image":
		switch {
		case a.Image == nil || empty(a.Image.MediaID) && empty(a.Image.PicURL):
			return bad("media_id")
		case !empty(a.Image.MediaID):
			return mediaRef{id: *a.Image.MediaID, typ: "image"}, nil
		}
	case "link":
		switch {
		case a.Link == nil || empty(a.Link.Title) || len(*a.Link.Title) > 128:
			return bad("title")
		case empty(a.Link.URL):
			return bad("url")
		case a.Link.Desc != nil && len(*a.Link.Desc) > 512:
			return bad("desc")
		}
	case "miniprogram":
		m := a.MiniProgram
		switch {
		case m == nil || empty(m.Title) || len(*m.Title) > 64:
			return bad("title")
		case empty(m.PicMediaID):
			return bad("pic_media_id")
		case empty(m.AppID):
			return bad("appid")
		case empty(m.Page):
			return bad("page")
		}
		return mediaRef{id: *m.PicMediaID, typ: "image"}, nil
	case "video":
		if a.Video == nil || empty(a.Video.MediaID) {
			return bad("media_id")
		}
		return mediaRef{id: *a.Video.MediaID, typ: "video"}, nil
	case "file":
		if a.File == nil || empty(a.File.MediaID) {
			return bad("media_id")
		}
		return mediaRef{id: *a.File.MediaID, typ: "file"}, nil
	default:
		return mediaRef{}, errf(ErrCodeInvalidParameter, "attachments.msgtype "+strconv.Quote(a.MsgType)+" is not image, link, miniprogram, video or file. invalid Request Parameter")
	}
	return mediaRef{}, nil
}

// handleExternalContactGet serves externalcontact/get: the customer and the members who
// added them (one follow user per member, with the state and time of the add);
// 84061 when nobody has.
func (s *Server) handleExternalContactGet(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, false) {
		return
	}
	id := r.URL.Query().Get("external_userid")
	if id == "" {
		s.writeErr(w, missingField("external_userid"))
		return
	}
	s.mu.Lock()
	rels := s.contacts.relations[id]
	type follow struct {
		UserID     string `json:"userid"`
		CreateTime int64  `json:"createtime"`
		State      string `json:"state,omitempty"`
		AddWay     int    `json:"add_way"`
	}
	var follows []follow
	for uid, rel := range rels {
		follows = append(follows, follow{UserID: uid, CreateTime: rel.added.Unix(), State: rel.state, AddWay: 1})
	}
	s.mu.Unlock()
	if len(follows) == 0 {
		s.writeErr(w, errf(84061, "no external contact relation"))
		return
	}
	sort.Slice(follows, func(i, j int) bool { return follows[i].UserID < follows[j].UserID })
	writeOKValue(w, struct {
		Contact struct {
			ExternalUserID string `json:"external_userid"`
			Name           string `json:"name"`
			Type           int    `json:"type"`
		} `json:"external_contact"`
		FollowUser []follow `json:"follow_user"`
		NextCursor string   `json:"next_cursor"`
	}{Contact: struct {
		ExternalUserID string `json:"external_userid"`
		Name           string `json:"name"`
		Type           int    `json:"type"`
	}{id, "customer " + id, 1}, FollowUser: follows})
}

// eventForm are the kinds WeCom sends to a self-built app's callback as MsgType=event;
// the others are the InfoType payloads of a provider's command URL.
var eventForm = map[string]bool{"change_external_contact": true, "change_external_chat": true,
	"change_external_tag": true, "unlicensed_notify": true}

// NotificationXML returns the decrypted callback of kind (suite_ticket, create_auth,
// change_contact, change_external_chat, license_pay_success, unlicensed_notify, …) as
// WeCom sends it: an app event (ToUserName = the server's CorpID, FromUserName,
// CreateTime, MsgType event, Event) for change_external_contact, change_external_chat,
// change_external_tag and unlicensed_notify, else an InfoType payload (SuiteId,
// AuthCorpId = the server's CorpID, InfoType, TimeStamp), followed by fields, each an
// element, in the order of their names. A field named like a header element replaces it.
func (s *Server) NotificationXML(kind string, fields map[string]string) []byte {
	var head map[string]string
	ts := strconv.FormatInt(s.now().Unix(), 10)
	var order []string
	if eventForm[kind] {
		head = map[string]string{"ToUserName": s.cfg.corpID, "FromUserName": "sys", "CreateTime": ts, "MsgType": "event", "Event": kind}
		order = []string{"ToUserName", "FromUserName", "CreateTime", "MsgType", "Event"}
	} else {
		head = map[string]string{"SuiteId": "wwkftestsuite", "AuthCorpId": s.cfg.corpID, "InfoType": kind, "TimeStamp": ts}
		order = []string{"SuiteId", "AuthCorpId", "InfoType", "TimeStamp"}
	}
	names := make([]string, 0, len(fields))
	for k, v := range fields {
		if _, ok := head[k]; ok {
			head[k] = v
			continue
		}
		names = append(names, k)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("<xml>")
	for _, k := range order {
		element(&b, k, head[k])
	}
	for _, k := range names {
		element(&b, k, fields[k])
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

// element writes a number as is and anything else as CDATA, as WeCom does.
func element(b *bytes.Buffer, name, v string) {
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		b.WriteString("<" + name + ">" + v + "</" + name + ">")
		return
	}
	cdata(b, name, v)
}

// PostNotification posts plaintext to targetURL as WeCom does, tries times: WeCom
// retries a callback not answered with 200 within 5 seconds, about 3 times, each a
// freshly sealed request (new nonce and timestamp) of the same plaintext. It returns
// the status of each try, or the error of the first that could not be sent.
func (s *Server) PostNotification(ctx context.Context, client *http.Client, targetURL string, plaintext []byte, tries int) ([]int, error) {
	var codes []int
	for range tries {
		req, err := s.NewRawCallbackRequest(targetURL, plaintext)
		if err != nil {
			return codes, err
		}
		resp, err := client.Do(req.WithContext(ctx))
		if err != nil {
			return codes, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	return codes, nil
}
