package kftest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// WeCom errcodes the server answers with. The values of codes marked
// "undocumented" are the fake's choice; WeCom's real value is not documented
// (the table at https://developer.work.weixin.qq.com/document/path/90313 has none), so clients must not depend on them.
const (
	ErrCodeOK                  = 0
	ErrCodeSystemBusy          = -1    // 系统繁忙; the default injected fault
	ErrCodeInvalidSecret       = 40001 // wrong corpsecret
	ErrCodeInvalidMediaType    = 40004 // media content does not match the type
	ErrCodeInvalidMediaTypeArg = 40005 // invalid type parameter of media/upload
	ErrCodeInvalidFileSize     = 40006 // file ≤ 5 bytes, or voice/file too large
	ErrCodeInvalidMediaID      = 40007 // unknown, expired or wrong-typed media_id
	ErrCodeInvalidMsgType      = 40008 // unsupported msgtype
	ErrCodeInvalidImageSize    = 40009 // image larger than 10 MB
	ErrCodeInvalidVideoSize    = 40011 // video larger than 10 MB
	ErrCodeInvalidCorpID       = 40013 // wrong corpid
	ErrCodeInvalidAccessToken  = 40014 // access_token never issued
	ErrCodeInvalidParameter    = 40058 // bad JSON, missing field, "" for a field, bad value
	ErrCodeAccessTokenMissing  = 41001 // no access_token query parameter
	ErrCodeCorpIDMissing       = 41002 // gettoken without corpid
	ErrCodeSecretMissing       = 41004 // gettoken without corpsecret
	ErrCodeMediaMissing        = 41005 // media/upload without a "media" part
	ErrCodeAccessTokenExpired  = 42001 // access_token expired (or [Server.ExpireTokens])
	ErrCodeEmptyContent        = 44004 // text content empty
	ErrCodeContentTooLong      = 45002 // text content over 2048 bytes
	ErrCodeAccountNotFound     = 95004 // unknown open_kfid with [WithStrictAccounts]
	ErrCodeSendCountLimit      = 95001 // more than 5 sends since the last customer message
	ErrCodeSendTimeLimit       = 95002 // more than 48 h since the last customer message
	ErrCodeInvalidMsgToken     = 95007 // sync_msg token unknown, for another account, or > 10 min old
	ErrCodeMenuTooLong         = 95008 // msgmenu with more than 10 items
	ErrCodeInvalidMenuItemType = 95009 // msgmenu item type not click/view/miniprogram/text
	ErrCodeSessionEnded        = 95013 // trans on a session in state 4
	ErrCodeNotServicer         = 95014 // trans to 3 with an unknown servicer
	ErrCodeInvalidTransition   = 95016 // trans not allowed from the current state
	ErrCodeStateForbidsSend    = 95018 // send_msg outside state 0/1; event code for a changed session
	ErrCodeServicerStopped     = 95019 // trans to 3 with a servicer who stopped or is suspended
	ErrCodeNoConsultation      = 95031 // send_msg to a customer who never wrote

	// ErrCodeDuplicateMsgID answers a send_msg or send_msg_on_event whose msgid
	// was already accepted for the same KF account, with errmsg
	// "msgid duplicated". Undocumented.
	ErrCodeDuplicateMsgID = 40058
	// ErrCodeInvalidEventCode answers a send_msg_on_event whose code is unknown,
	// already used or expired, with errmsg "invalid code", "code already used"
	// or "code expired". Undocumented. (A code whose session has left the state
	// it was issued in gets [ErrCodeStateForbidsSend].)
	ErrCodeInvalidEventCode = 40058
	// ErrCodeInvalidCursor answers a sync_msg whose cursor was not issued by
	// this server for this account, with errmsg "invalid cursor". Undocumented.
	ErrCodeInvalidCursor = 40058
	// ErrCodeCursorExpired answers a sync_msg whose cursor points before
	// the items the server has forgotten (see [WithRetention]), with errmsg
	// "cursor expired". WeCom documents no errcode for a cursor older than
	// its 3-day retention (UNCONFIRMED); the fake answers 40058, invalid
	// parameter, like the other undocumented cases, so a client must drop
	// the cursor and read without one.
	ErrCodeCursorExpired = 40058
)

// maxBody caps JSON request bodies.
const maxBody = 1 << 20

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 {
		bufPool.Put(b)
	}
}

// readBody reads the request body into a pooled buffer. The caller releases
// it with putBuf. ok is false when the body exceeds maxBody or fails to read.
func readBody(r *http.Request) (*bytes.Buffer, bool) {
	b := getBuf()
	if r.Body == nil {
		return b, true
	}
	n, err := b.ReadFrom(io.LimitReader(r.Body, maxBody+1))
	if err != nil || n > maxBody {
		return b, false
	}
	return b, true
}

// apiError is an errcode with an errmsg, the result of a failed check.
type apiError struct {
	code int
	msg  string
}

func errf(code int, msg string) *apiError { return &apiError{code: code, msg: msg} }

func emptyField(name string) *apiError {
	return errf(ErrCodeInvalidParameter, "field "+name+" unexpected empty string. invalid Request Parameter")
}

func missingField(name string) *apiError {
	return errf(ErrCodeInvalidParameter, "missing required field "+name+". invalid Request Parameter")
}

func badJSON() *apiError {
	return errf(ErrCodeInvalidParameter, "Warning: wrong json format. invalid Request Parameter")
}

// writeJSON writes a complete JSON response.
func writeJSON(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// writeErr writes a WeCom error response. hint makes errmsg look like
// WeCom's ("…, hint: [...], more info at …") so that clients which key on
// errmsg instead of errcode fail their tests.
func (s *Server) writeErr(w http.ResponseWriter, e *apiError) {
	b := make([]byte, 0, 128+len(e.msg))
	b = append(b, `{"errcode":`...)
	b = strconv.AppendInt(b, int64(e.code), 10)
	b = append(b, `,"errmsg":`...)
	msg := e.msg + ", hint: [" + strconv.FormatUint(s.hintSeq.Add(1), 10) +
		"_kftest], more info at https://open.work.weixin.qq.com/devtool/query?e=" +
		strconv.Itoa(e.code)
	b = appendJSONString(b, msg)
	b = append(b, '}')
	writeJSON(w, b)
}

// okPrefix starts every successful response.
const okPrefix = `{"errcode":0,"errmsg":"ok"`

// writeOK writes {"errcode":0,"errmsg":"ok"} followed by extra, which must be
// empty or start with a comma and hold valid JSON members.
func writeOK(w http.ResponseWriter, extra []byte) {
	b := make([]byte, 0, len(okPrefix)+len(extra)+1)
	b = append(b, okPrefix...)
	b = append(b, extra...)
	b = append(b, '}')
	writeJSON(w, b)
}

// writeOKValue writes a successful response merging the members of v (a
// struct marshalled to a JSON object) after errcode/errmsg.
func writeOKValue(w http.ResponseWriter, v any) {
	obj := marshal(v)
	if len(obj) <= 2 { // "{}"
		writeOK(w, nil)
		return
	}
	extra := make([]byte, 0, len(obj))
	extra = append(extra, ',')
	extra = append(extra, obj[1:len(obj)-1]...)
	writeOK(w, extra)
}

// marshal encodes v as compact JSON without HTML escaping, as WeCom does. It
// is only used with types that always marshal.
func marshal(v any) []byte {
	b := getBuf()
	defer putBuf(b)
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return []byte("null")
	}
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	return bytes.Clone(out)
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	if isPlain(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	return append(b, marshal(s)...)
}

// isPlain reports whether s can be written raw inside a JSON string with the
// same result as encoding/json without HTML escaping: no control characters,
// quotes or backslashes, valid UTF-8 and no U+2028/U+2029.
func isPlain(s string) bool {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	return ascii || utf8.ValidString(s) && !strings.Contains(s, "\u2028") && !strings.Contains(s, "\u2029")
}

// appendCustomerText appends the JSON of a text item (origin 3 or 5), byte
// for byte what marshal(wireItem{…}) produces, without reflection.
func appendCustomerText(b []byte, msgID, openKFID, user string, sendTime int64, origin int, servicerUserID, content, menuID string) []byte {
	b = append(b, `{"msgid":`...)
	b = appendJSONString(b, msgID)
	b = append(b, `,"open_kfid":`...)
	b = appendJSONString(b, openKFID)
	b = append(b, `,"external_userid":`...)
	b = appendJSONString(b, user)
	b = append(b, `,"send_time":`...)
	b = strconv.AppendInt(b, sendTime, 10)
	b = append(b, `,"origin":`...)
	b = strconv.AppendInt(b, int64(origin), 10)
	if servicerUserID != "" {
		b = append(b, `,"servicer_userid":`...)
		b = appendJSONString(b, servicerUserID)
	}
	b = append(b, `,"msgtype":"text","text":{"content":`...)
	b = appendJSONString(b, content)
	if menuID != "" {
		b = append(b, `,"menu_id":`...)
		b = appendJSONString(b, menuID)
	}
	return append(b, "}}"...)
}

// Wire shapes of msg_list items. Field order follows the official examples.

type wireItem struct {
	MsgID          string        `json:"msgid"`
	OpenKFID       string        `json:"open_kfid,omitempty"`
	ExternalUserID string        `json:"external_userid,omitempty"`
	SendTime       int64         `json:"send_time"`
	Origin         int           `json:"origin"`
	ServicerUserID string        `json:"servicer_userid,omitempty"`
	MsgType        string        `json:"msgtype"`
	Text           *wireText     `json:"text,omitempty"`
	Image          *wireMedia    `json:"image,omitempty"`
	Voice          *wireMedia    `json:"voice,omitempty"`
	Video          *wireMedia    `json:"video,omitempty"`
	File           *wireMedia    `json:"file,omitempty"`
	Location       *wireLocation `json:"location,omitempty"`
	Event          any           `json:"event,omitempty"`
}

type wireLocation struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name"`
	Address   string  `json:"address"`
}

type wireText struct {
	Content string `json:"content"`
	MenuID  string `json:"menu_id,omitempty"`
}

type wireMedia struct {
	MediaID string `json:"media_id"`
}

type evEnterSession struct {
	EventType      string `json:"event_type"`
	OpenKFID       string `json:"open_kfid"`
	ExternalUserID string `json:"external_userid"`
	Scene          string `json:"scene"`
	SceneParam     string `json:"scene_param"`
	WelcomeCode    string `json:"welcome_code,omitempty"`
}

type evSessionStatusChange struct {
	EventType         string `json:"event_type"`
	OpenKFID          string `json:"open_kfid"`
	ExternalUserID    string `json:"external_userid"`
	ChangeType        int    `json:"change_type"`
	OldServicerUserID string `json:"old_servicer_userid,omitempty"`
	NewServicerUserID string `json:"new_servicer_userid,omitempty"`
	MsgCode           string `json:"msg_code,omitempty"`
}

type evMsgSendFail struct {
	EventType      string `json:"event_type"`
	OpenKFID       string `json:"open_kfid"`
	ExternalUserID string `json:"external_userid"`
	FailMsgID      string `json:"fail_msgid"`
	FailType       int    `json:"fail_type"`
}

type evUserRecall struct {
	EventType      string `json:"event_type"`
	OpenKFID       string `json:"open_kfid"`
	ExternalUserID string `json:"external_userid"`
	RecallMsgID    string `json:"recall_msgid"`
}

type evServicerStatusChange struct {
	EventType      string `json:"event_type"`
	ServicerUserID string `json:"servicer_userid"`
	Status         int    `json:"status"`
	StopType       int    `json:"stop_type"`
	OpenKFID       string `json:"open_kfid"`
}

// Wire values.
const (
	originCustomer = 3
	originSystem   = 4
	originServicer = 5
)
