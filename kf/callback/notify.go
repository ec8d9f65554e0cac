package callback

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Notification is a decrypted callback of the WeCom world around a KF bot, decoded by
// [DecodeNotification] into its own type: provider command callbacks (InfoType form),
// app events (MsgType=event form) and the license events. Switch on the concrete type;
// [*Unknown] keeps what no type describes.
type Notification interface {
	// Head returns the fields every notification has.
	Head() *NotifyHeader
}

// NotifyHeader holds the fields common to notifications. Which are set depends on the
// form: InfoType payloads carry SuiteID (or ServiceCorpID) and usually AuthCorpID; Event
// payloads carry ToUserName (the corp) and FromUserName.
type NotifyHeader struct {
	// InfoType (`InfoType`) names an InfoType payload; "" for the Event form.
	InfoType string
	// Event (`Event`, with MsgType "event") names an Event payload; "" for InfoType.
	Event string
	// SuiteID (`SuiteId`): the suite, or 代开发 template, the callback is for.
	SuiteID string
	// AuthCorpID (`AuthCorpId`): the authorising corp of an InfoType payload.
	AuthCorpID string
	// ServiceCorpID (`ServiceCorpId`): the provider of a license event.
	ServiceCorpID string
	// ToUserName (`ToUserName`): the corp of an Event payload.
	ToUserName string
	// FromUserName (`FromUserName`): the member (or "sys") of an Event payload.
	FromUserName string
	// AgentID (`AgentID`).
	AgentID int64
	// Time is `TimeStamp` (InfoType) or `CreateTime` (Event); zero when absent.
	Time time.Time
	// Raw is the plaintext given to DecodeNotification (the same slice, not a copy).
	Raw []byte
	// Key identifies the notification for deduplication against WeCom's retries: a hash
	// of every field decoded (of the whole plaintext too for an [*Unknown]), so a retry of
	// the same event has the same key however it is re-encoded, and two events that differ
	// in anything decoded have different keys.
	Key string
	// ReceiveID is the receive id found inside the ciphertext (the CorpID of a self-built
	// app, the SuiteID of a suite): set by [Cipher.DecodeNotification], "" when the
	// plaintext was decoded alone.
	ReceiveID string
}

// Head implements [Notification].
func (h *NotifyHeader) Head() *NotifyHeader { return h }

// Corp returns the corp the notification is about: AuthCorpID, else ToUserName.
func (h *NotifyHeader) Corp() string {
	if h.AuthCorpID != "" {
		return h.AuthCorpID
	}
	return h.ToUserName
}

// SuiteTicket (`suite_ticket`): the suite's latest ticket, pushed every 10 minutes and
// valid 30.
type SuiteTicket struct {
	NotifyHeader
	Ticket string // `SuiteTicket`
}

// Auth is `create_auth`, `change_auth` or `cancel_auth` (see InfoType).
type Auth struct {
	NotifyHeader
	// AuthCode (`AuthCode`, create_auth): the temporary code (10 minutes, once) to
	// exchange with get_permanent_code.
	AuthCode string
	// State (`State`) of the install link or QR code.
	State string
	// OpenKFIDs are the KF accounts a KF component's authorisation names
	// (`ExtraInfo/AuthOpenKfIdList/OpenKfId`).
	OpenKFIDs []string
}

// ResetPermanentCode (`reset_permanent_code`, 代开发): exchange AuthCode for the new secret.
type ResetPermanentCode struct {
	NotifyHeader
	AuthCode string
}

// ContactChange (`change_contact`): a member, department or tag of an authorised corp
// changed; ChangeType says which (create_user, update_user, delete_user, create_party,
// update_party, delete_party, update_tag).
type ContactChange struct {
	NotifyHeader
	ChangeType string
	// Members.
	UserID, OpenUserID, NewUserID, Name string
	Departments                         []int64 // `Department`, "1,2,3"
	MainDepartment                      int64
	IsLeaderInDept                      []int64
	DirectLeaders                       []string
	Mobile, Position, Email, Avatar     string
	Alias, Telephone, BizMail           string
	Gender                              int64
	// Departments (`Id`, `Name`, `ParentId`, `Order` or `OrderId`).
	PartyID, ParentID, Order int64
	// Tags.
	TagID                        int64
	AddUserItems, DelUserItems   []string
	AddPartyItems, DelPartyItems []int64
}

// ShareAgentChange (`share_agent_change`, `share_chain_change`): an upper corp shared its
// app with a lower corp, or stopped.
type ShareAgentChange struct {
	NotifyHeader
	CorpID string // `CorpId`: the upper (upstream) corp
	Chain  bool   // share_chain_change (上下游) rather than 企业互联
}

// ExternalContactChange (`change_external_contact`): a customer relationship changed;
// ChangeType is add_external_contact, edit_external_contact, add_half_external_contact,
// del_external_contact, del_follow_user or transfer_fail.
type ExternalContactChange struct {
	NotifyHeader
	ChangeType     string
	UserID         string // the member (for transfer_fail, the takeover member)
	ExternalUserID string
	State          string // the 「联系我」 channel's state
	WelcomeCode    string // send_welcome_msg within 20 s; absent when no welcome is allowed
	Source         string // del_external_contact: DELETE_BY_TRANSFER
	FailReason     string // transfer_fail: customer_refused, customer_limit_exceed
}

// ExternalChatChange (`change_external_chat`): a customer group was created, updated or
// dismissed.
type ExternalChatChange struct {
	NotifyHeader
	ChangeType, ChatID, UpdateDetail string
	JoinScene, QuitScene             int64
	MemChangeCnt                     int64
}

// ExternalTagChange (`change_external_tag`): a customer tag or tag group changed.
type ExternalTagChange struct {
	NotifyHeader
	ChangeType, ID, TagType string
	StrategyID              int64
}

// CustomerAcquisition (`customer_acquisition`, 获客助手): balance_low, balance_exhausted,
// open_profile, friend_request, customer_start_chat, link_unavailable, ….
type CustomerAcquisition struct {
	NotifyHeader
	ChangeType, LinkID, State string
}

// License is `license_pay_success`, `license_refund` or `auto_activate` (see InfoType).
type License struct {
	NotifyHeader
	OrderID, BuyerUserID string
	OrderStatus          int64 // license_refund: 1 refunded, 2 refused
	Scene                int64 // auto_activate
	Accounts             []ActivatedAccount
}

// ActivatedAccount is one `AccountList` entry of auto_activate.
type ActivatedAccount struct {
	ActiveCode, UserID, PreviousActiveCode string
	Type, PreviousStatus                   int64
	ExpireTime                             time.Time
}

// Unlicensed (Event `unlicensed_notify`): a member without a license opened the app;
// FromUserName is the member.
type Unlicensed struct {
	NotifyHeader
}

// Unknown is a notification no type describes; Raw (in the header) keeps it whole.
type Unknown struct {
	NotifyHeader
}

// Kinds are the InfoType and Event names DecodeNotification gives a type of its own;
// every other kind decodes to an [*Unknown].
func Kinds() []string {
	return []string{"suite_ticket", "create_auth", "change_auth", "cancel_auth", "reset_permanent_code",
		"change_contact", "share_agent_change", "share_chain_change", "change_external_contact",
		"change_external_chat", "change_external_tag", "customer_acquisition", "license_pay_success",
		"license_refund", "auto_activate", "unlicensed_notify"}
}

// Change types of the external-contact change.
const (
	ChangeAddExternalContact     = "add_external_contact"
	ChangeEditExternalContact    = "edit_external_contact"
	ChangeAddHalfExternalContact = "add_half_external_contact"
	ChangeDelExternalContact     = "del_external_contact"
	ChangeDelFollowUser          = "del_follow_user"
	ChangeTransferFail           = "transfer_fail"
)

// notifyXML is the superset of the elements every notification may carry.
type notifyXML struct {
	InfoType, SuiteId, AuthCorpId, ServiceCorpId, ToUserName, FromUserName, MsgType, Event string
	TimeStamp, CreateTime, AgentID, AgentId                                                string
	SuiteTicket, AuthCode, State, ChangeType, CorpId                                       string
	ExtraInfo                                                                              struct {
		OpenKfID []string `xml:"AuthOpenKfIdList>OpenKfId"`
	}
	UserID, OpenUserID, NewUserID, Name, Department, MainDepartment, IsLeaderInDept  string
	DirectLeader, Mobile, Position, Gender, Email, BizMail, Avatar, Alias, Telephone string
	Id, ParentId, Order, OrderId, TagId                                              string
	AddUserItems, DelUserItems, AddPartyItems, DelPartyItems                         string
	ExternalUserID, WelcomeCode, Source, FailReason                                  string
	ChatId, UpdateDetail, JoinScene, QuitScene, MemChangeCnt, TagType, StrategyId    string
	LinkId, BuyerUserId, OrderStatus, Scene                                          string
	AccountList                                                                      []struct {
		ActiveCode, UserId, PreviousActiveCode, Type, PreviousStatus, ExpireTime string
	}
}

// ErrNotNotification reports plaintext that is not a callback's XML.
var ErrNotNotification = errors.New("callback: not a notification (want <xml> with InfoType or MsgType=event)")

// DecodeNotification decodes a decrypted callback. Text values are trimmed;
// comma-separated lists become slices; times become time.Time. Malformed XML, or a
// number that is not one, is an error; a well-formed payload of a type not described
// here is an [*Unknown]. It never panics.
func DecodeNotification(plain []byte) (Notification, error) { return decodeNotification(plain, true) }

// decodeNotification is DecodeNotification; fast=false skips the fast path (for the fuzz
// target that compares both).
func decodeNotification(plain []byte, fast bool) (Notification, error) {
	var x notifyXML
	if !fast || !x.scan(plain) {
		x = notifyXML{}
		dec := xml.NewDecoder(bytes.NewReader(plain))
		dec.Strict = true
		if err := dec.Decode(&x); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNotNotification, err)
		}
	}
	x.trim()
	h := NotifyHeader{InfoType: x.InfoType, SuiteID: x.SuiteId, AuthCorpID: x.AuthCorpId, ServiceCorpID: x.ServiceCorpId,
		ToUserName: x.ToUserName, FromUserName: x.FromUserName, Raw: plain}
	if x.InfoType == "" {
		if !strings.EqualFold(x.MsgType, "event") || x.Event == "" {
			return nil, ErrNotNotification
		}
		h.Event = x.Event
	}
	p := &numParser{}
	agent := x.AgentID
	if agent == "" {
		agent = x.AgentId // share_agent_change spells it so
	}
	h.AgentID = p.int("AgentID", agent)
	if ts := p.int("TimeStamp", x.TimeStamp); ts != 0 {
		h.Time = time.Unix(ts, 0)
	} else if ct := p.int("CreateTime", x.CreateTime); ct != 0 {
		h.Time = time.Unix(ct, 0)
	}
	name := h.InfoType
	if name == "" {
		name = h.Event
	}
	var n Notification
	switch name {
	case "suite_ticket":
		n = &SuiteTicket{NotifyHeader: h, Ticket: x.SuiteTicket}
	case "create_auth", "change_auth", "cancel_auth":
		n = &Auth{NotifyHeader: h, AuthCode: x.AuthCode, State: x.State, OpenKFIDs: trimAll(x.ExtraInfo.OpenKfID)}
	case "reset_permanent_code":
		n = &ResetPermanentCode{NotifyHeader: h, AuthCode: x.AuthCode}
	case "change_contact":
		order := x.Order
		if order == "" {
			order = x.OrderId
		}
		n = &ContactChange{NotifyHeader: h, ChangeType: x.ChangeType, UserID: x.UserID, OpenUserID: x.OpenUserID,
			NewUserID: x.NewUserID, Name: x.Name, Departments: p.ints("Department", x.Department),
			MainDepartment: p.int("MainDepartment", x.MainDepartment), IsLeaderInDept: p.ints("IsLeaderInDept", x.IsLeaderInDept),
			DirectLeaders: list(x.DirectLeader), Mobile: x.Mobile, Position: x.Position, Email: x.Email, Avatar: x.Avatar,
			Alias: x.Alias, Telephone: x.Telephone, BizMail: x.BizMail, Gender: p.int("Gender", x.Gender),
			PartyID: p.int("Id", x.Id), ParentID: p.int("ParentId", x.ParentId), Order: p.int("Order", order),
			TagID: p.int("TagId", x.TagId), AddUserItems: list(x.AddUserItems), DelUserItems: list(x.DelUserItems),
			AddPartyItems: p.ints("AddPartyItems", x.AddPartyItems), DelPartyItems: p.ints("DelPartyItems", x.DelPartyItems)}
	case "share_agent_change", "share_chain_change":
		n = &ShareAgentChange{NotifyHeader: h, CorpID: x.CorpId, Chain: name == "share_chain_change"}
	case "change_external_contact":
		n = &ExternalContactChange{NotifyHeader: h, ChangeType: x.ChangeType, UserID: x.UserID, ExternalUserID: x.ExternalUserID,
			State: x.State, WelcomeCode: x.WelcomeCode, Source: x.Source, FailReason: x.FailReason}
	case "change_external_chat":
		n = &ExternalChatChange{NotifyHeader: h, ChangeType: x.ChangeType, ChatID: x.ChatId, UpdateDetail: x.UpdateDetail,
			JoinScene: p.int("JoinScene", x.JoinScene), QuitScene: p.int("QuitScene", x.QuitScene), MemChangeCnt: p.int("MemChangeCnt", x.MemChangeCnt)}
	case "change_external_tag":
		n = &ExternalTagChange{NotifyHeader: h, ChangeType: x.ChangeType, ID: x.Id, TagType: x.TagType, StrategyID: p.int("StrategyId", x.StrategyId)}
	case "customer_acquisition":
		n = &CustomerAcquisition{NotifyHeader: h, ChangeType: x.ChangeType, LinkID: x.LinkId, State: x.State}
	case "license_pay_success", "license_refund", "auto_activate":
		l := &License{NotifyHeader: h, OrderID: x.OrderId, BuyerUserID: x.BuyerUserId, OrderStatus: p.int("OrderStatus", x.OrderStatus),
			Scene: p.int("Scene", x.Scene)}
		for _, a := range x.AccountList {
			acc := ActivatedAccount{ActiveCode: a.ActiveCode, UserID: a.UserId,
				PreviousActiveCode: a.PreviousActiveCode, Type: p.int("Type", a.Type),
				PreviousStatus: p.int("PreviousStatus", a.PreviousStatus)}
			if e := p.int("ExpireTime", a.ExpireTime); e != 0 {
				acc.ExpireTime = time.Unix(e, 0)
			}
			l.Accounts = append(l.Accounts, acc)
		}
		n = l
	case "unlicensed_notify":
		n = &Unlicensed{NotifyHeader: h}
	default:
		n = &Unknown{NotifyHeader: h}
	}
	if p.err != nil {
		return nil, fmt.Errorf("callback: %s: %w", name, p.err)
	}
	_, unknown := n.(*Unknown)
	n.Head().Key = x.key(plain, !unknown)
	return n, nil
}

// numParser parses numbers, keeping the first error.
type numParser struct{ err error }

func (p *numParser) int(field, s string) int64 {
	if s == "" {
		return 0
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("%s %q is not a whole number", field, s)
	}
	return v
}

func (p *numParser) ints(field, s string) []int64 {
	var out []int64
	for _, f := range list(s) {
		out = append(out, p.int(field, f))
	}
	return out
}

// list splits a comma-separated value; "" is none.
func list(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// fields returns x's text fields in a fixed order: what trim trims and key hashes.
func (x *notifyXML) fields() [57]*string {
	return [...]*string{&x.InfoType, &x.SuiteId, &x.AuthCorpId, &x.ServiceCorpId, &x.ToUserName, &x.FromUserName,
		&x.MsgType, &x.Event, &x.TimeStamp, &x.CreateTime, &x.AgentID, &x.AgentId, &x.SuiteTicket, &x.AuthCode, &x.State, &x.ChangeType,
		&x.CorpId, &x.UserID, &x.OpenUserID, &x.NewUserID, &x.Name, &x.Department, &x.MainDepartment, &x.IsLeaderInDept,
		&x.DirectLeader, &x.Mobile, &x.Position, &x.Gender, &x.Email, &x.BizMail, &x.Avatar, &x.Alias, &x.Telephone,
		&x.Id, &x.ParentId, &x.Order, &x.OrderId, &x.TagId, &x.AddUserItems, &x.DelUserItems, &x.AddPartyItems,
		&x.DelPartyItems, &x.ExternalUserID, &x.WelcomeCode, &x.Source, &x.FailReason, &x.ChatId, &x.UpdateDetail,
		&x.JoinScene, &x.QuitScene, &x.MemChangeCnt, &x.TagType, &x.StrategyId, &x.LinkId, &x.BuyerUserId,
		&x.OrderStatus, &x.Scene}
}

// field returns the text field of x for a child element named name, or nil for an
// element notifyXML has no text field for.
func (x *notifyXML) field(name string) *string {
	switch name {
	case "InfoType":
		return &x.InfoType
	case "SuiteId":
		return &x.SuiteId
	case "AuthCorpId":
		return &x.AuthCorpId
	case "ServiceCorpId":
		return &x.ServiceCorpId
	case "ToUserName":
		return &x.ToUserName
	case "FromUserName":
		return &x.FromUserName
	case "MsgType":
		return &x.MsgType
	case "Event":
		return &x.Event
	case "TimeStamp":
		return &x.TimeStamp
	case "CreateTime":
		return &x.CreateTime
	case "AgentID":
		return &x.AgentID
	case "AgentId":
		return &x.AgentId
	case "SuiteTicket":
		return &x.SuiteTicket
	case "AuthCode":
		return &x.AuthCode
	case "State":
		return &x.State
	case "ChangeType":
		return &x.ChangeType
	case "CorpId":
		return &x.CorpId
	case "UserID":
		return &x.UserID
	case "OpenUserID":
		return &x.OpenUserID
	case "NewUserID":
		return &x.NewUserID
	case "Name":
		return &x.Name
	case "Department":
		return &x.Department
	case "MainDepartment":
		return &x.MainDepartment
	case "IsLeaderInDept":
		return &x.IsLeaderInDept
	case "DirectLeader":
		return &x.DirectLeader
	case "Mobile":
		return &x.Mobile
	case "Position":
		return &x.Position
	case "Gender":
		return &x.Gender
	case "Email":
		return &x.Email
	case "BizMail":
		return &x.BizMail
	case "Avatar":
		return &x.Avatar
	case "Alias":
		return &x.Alias
	case "Telephone":
		return &x.Telephone
	case "Id":
		return &x.Id
	case "ParentId":
		return &x.ParentId
	case "Order":
		return &x.Order
	case "OrderId":
		return &x.OrderId
	case "TagId":
		return &x.TagId
	case "AddUserItems":
		return &x.AddUserItems
	case "DelUserItems":
		return &x.DelUserItems
	case "AddPartyItems":
		return &x.AddPartyItems
	case "DelPartyItems":
		return &x.DelPartyItems
	case "ExternalUserID":
		return &x.ExternalUserID
	case "WelcomeCode":
		return &x.WelcomeCode
	case "Source":
		return &x.Source
	case "FailReason":
		return &x.FailReason
	case "ChatId":
		return &x.ChatId
	case "UpdateDetail":
		return &x.UpdateDetail
	case "JoinScene":
		return &x.JoinScene
	case "QuitScene":
		return &x.QuitScene
	case "MemChangeCnt":
		return &x.MemChangeCnt
	case "TagType":
		return &x.TagType
	case "StrategyId":
		return &x.StrategyId
	case "LinkId":
		return &x.LinkId
	case "BuyerUserId":
		return &x.BuyerUserId
	case "OrderStatus":
		return &x.OrderStatus
	case "Scene":
		return &x.Scene
	}
	return nil
}

// scan fills x from a flat document (see scanFlat) and reports whether it was one; the
// strings are substrings of one copy of plain. A document with nested elements
// (ExtraInfo, AccountList) or anything else scanFlat leaves alone is for encoding/xml.
func (x *notifyXML) scan(plain []byte) bool {
	s := string(plain)
	return scanFlat(plain, func(name []byte, start, end int) {
		if f := x.field(string(name)); f != nil {
			*f = s[start:end]
		}
	})
}

// trim trims every text field of x, and those of the account list.
func (x *notifyXML) trim() {
	for _, f := range x.fields() {
		*f = strings.TrimSpace(*f)
	}
	for i := range x.AccountList {
		a := &x.AccountList[i]
		for _, f := range []*string{&a.ActiveCode, &a.UserId, &a.PreviousActiveCode, &a.Type, &a.PreviousStatus, &a.ExpireTime} {
			*f = strings.TrimSpace(*f)
		}
	}
}

// key returns the dedup key of the notification x was decoded from: a hash of every
// field it decodes (so a retry that re-encodes the same event, in another element order
// or with other white space, has the same key), and of the whole plaintext as well when
// the type is not known (its fields are not all decoded).
func (x *notifyXML) key(plain []byte, known bool) string {
	b := make([]byte, 0, 512)
	add := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for _, f := range x.fields() {
		add(*f)
	}
	for _, id := range x.ExtraInfo.OpenKfID {
		add(id)
	}
	for _, a := range x.AccountList {
		add(a.ActiveCode)
		add(a.UserId)
		add(a.PreviousActiveCode)
		add(a.Type)
		add(a.PreviousStatus)
		add(a.ExpireTime)
	}
	if !known {
		b = append(b, plain...)
	}
	sum := sha256.Sum256(b)
	return "cb1:" + hex.EncodeToString(sum[:16])
}
