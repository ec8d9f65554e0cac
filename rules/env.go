package rules

import (
	"time"

	"github.com/expr-lang/expr"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/callback"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/storage"
)

// Env is what `when`, `set` and `{{ }}` expressions see. Expressions are compiled
// against this struct type once, at load, so a misspelt name or a type error fails the
// load. Names are the `expr` tags: msg.type, session.vars, now, …
type Env struct {
	// Msg is the message being handled.
	Msg Msg `expr:"msg"`
	// Session is the conversation's state; zero for a message that names no customer.
	Session Session `expr:"session"`
	// Customer is the customer's WeChat profile (kf/customer/batchget), fetched only when
	// some expression of the set reads it; empty for a message that names no customer or
	// when WeCom could not be asked.
	Customer Customer `expr:"customer"`
	// Event is the callback notification a `callback` rule handles (an external
	// contact added, …); zero for KF messages.
	Event Event `expr:"event"`
	// Contact is the external contact a callback rule's notification is about
	// (externalcontact/get), fetched only when some expression of the set reads it;
	// empty otherwise, for notifications about no customer, or when WeCom could not be
	// asked.
	Contact Contact `expr:"contact"`
	// Now is the current time (the set's clock, see [WithClock]) in the set's time zone.
	Now time.Time `expr:"now"`
}

// Event is a callback notification as the expressions of a `callback` rule see it:
// `event.change_type`, `event.state`, … Fields that do not apply are empty.
type Event struct {
	// Kind is the InfoType or Event: "change_external_contact", "change_contact", ….
	Kind string `expr:"kind"`
	// ChangeType is the ChangeType ("add_external_contact", "del_follow_user", …).
	ChangeType string `expr:"change_type"`
	// Corp is the corp the notification is about.
	Corp string `expr:"corp"`
	// UserID is the member (跟进成员) of an external-contact change, or the member of an
	// address-book change.
	UserID string `expr:"user_id"`
	// ExternalUserID is the customer of an external-contact change.
	ExternalUserID string `expr:"external_user_id"`
	// State is the 「联系我」 code's state (or the 获客链接's customer_channel) through
	// which the customer was added: each QR code can have its own welcome.
	State string `expr:"state"`
	// WelcomeCode reports whether the change carries a welcome code (a welcome may be sent).
	WelcomeCode bool `expr:"welcome_code"`
	// Source is del_external_contact's Source (DELETE_BY_TRANSFER), FailReason
	// transfer_fail's (customer_refused, customer_limit_exceed).
	Source     string `expr:"source"`
	FailReason string `expr:"fail_reason"`
	// ChatID is the customer group of change_external_chat; TagID the tag of
	// change_external_tag; LinkID the 获客链接 of customer_acquisition.
	ChatID string `expr:"chat_id"`
	TagID  string `expr:"tag_id"`
	LinkID string `expr:"link_id"`
	// Time is when WeCom sent it (TimeStamp or CreateTime), in the set's time zone.
	Time time.Time `expr:"time"`
}

// Contact is an external contact as expressions see it: `contact.name`, …
type Contact struct {
	// Name is the customer's name; Type 1 a WeChat user, 2 a WeCom user (whose CorpName
	// and Position are set); Gender 0 unknown, 1 male, 2 female.
	Name     string `expr:"name"`
	Type     int    `expr:"type"`
	Gender   int    `expr:"gender"`
	UnionID  string `expr:"unionid"`
	CorpName string `expr:"corp_name"`
	Position string `expr:"position"`
	// Remark, Description and Tags (tag names) are what the event's member (or, with
	// none, the first follow user) noted about the customer.
	Remark      string   `expr:"remark"`
	Description string   `expr:"description"`
	Tags        []string `expr:"tags"`
	// FollowUsers are the userids of the members who added the customer.
	FollowUsers []string `expr:"follow_users"`
}

// newContact builds the expressions' view of ec for the member userID.
func newContact(ec *kf.ExternalContact, userID string) Contact {
	c := Contact{Name: ec.Contact.Name, Type: ec.Contact.Type, Gender: ec.Contact.Gender, UnionID: ec.Contact.UnionID,
		CorpName: ec.Contact.CorpName, Position: ec.Contact.Position}
	var mine *kf.FollowUser
	for i := range ec.FollowUsers {
		f := &ec.FollowUsers[i]
		c.FollowUsers = append(c.FollowUsers, f.UserID)
		if mine == nil || f.UserID == userID && mine.UserID != userID {
			mine = f
		}
	}
	if mine != nil {
		c.Remark, c.Description = mine.Remark, mine.Description
		for _, t := range mine.Tags {
			c.Tags = append(c.Tags, t.TagName)
		}
	}
	return c
}

// newEventEnv builds the environment of one notification.
func newEventEnv(n callback.Notification, now time.Time, loc *time.Location) Env {
	h := n.Head()
	ev := Event{Kind: bot.NotificationKind(n), ChangeType: bot.NotificationChangeType(n), Corp: h.Corp(), Time: h.Time.In(loc)}
	switch e := n.(type) {
	case *callback.ExternalContactChange:
		ev.UserID, ev.ExternalUserID, ev.State, ev.WelcomeCode = e.UserID, e.ExternalUserID, e.State, e.WelcomeCode != ""
		ev.Source, ev.FailReason = e.Source, e.FailReason
	case *callback.ContactChange:
		ev.UserID = e.UserID
	case *callback.ExternalChatChange:
		ev.ChatID = e.ChatID
	case *callback.ExternalTagChange:
		ev.TagID = e.ID
	case *callback.CustomerAcquisition:
		ev.LinkID, ev.State = e.LinkID, e.State
	}
	return Env{Event: ev, Now: now.In(loc)}
}

// Customer is the customer's profile as expressions see it: `customer.nickname`, …
type Customer struct {
	// Nickname is the WeChat nickname.
	Nickname string `expr:"nickname"`
	// Avatar is the avatar's URL.
	Avatar string `expr:"avatar"`
	// Gender is 0 unknown, 1 male, 2 female.
	Gender int `expr:"gender"`
	// UnionID is set only when the corp has a bound WeChat Open Platform account.
	UnionID string `expr:"unionid"`
}

// Msg is the message as expressions see it: `msg.type`, `msg.text`, …
// Fields that do not apply to a message are empty (zero).
type Msg struct {
	// Type is the msgtype: "text", "image", "voice", "video", "file", "location",
	// "link", "business_card", "miniprogram", "msgmenu", …, or "event".
	Type string `expr:"type"`
	// Event is the event_type of an event ("enter_session", "msg_send_fail",
	// "session_status_change", …), "" for other messages.
	Event string `expr:"event"`
	// Text is the content of a text message (also of a menu click).
	Text string `expr:"text"`
	// MenuID is the id of the menu item the customer tapped (text messages).
	MenuID string `expr:"menu_id"`
	// MediaID is the media_id of an image, voice, video or file message.
	MediaID string `expr:"media_id"`
	// MsgID is the message's msgid.
	MsgID string `expr:"msgid"`
	// OpenKFID is the KF account.
	OpenKFID string `expr:"open_kfid"`
	// ExternalUserID is the customer.
	ExternalUserID string `expr:"external_userid"`
	// ServicerUserID is the servicer concerned, if any.
	ServicerUserID string `expr:"servicer_userid"`
	// Origin is 3 (customer), 4 (system event) or 5 (servicer). Rules never see
	// origin 5: messages typed by servicers are left to Go handlers.
	Origin int `expr:"origin"`
	// SendTime is when the message was sent, in the set's time zone.
	SendTime time.Time `expr:"send_time"`
	// Scene and SceneParam come from an enter_session event: the contact link's scene
	// and its scene_param.
	Scene      string `expr:"scene"`
	SceneParam string `expr:"scene_param"`
	// ChangeType is the change_type of a session_status_change event: 1 picked up from
	// the pool, 2 transferred, 3 ended, 4 re-entered.
	ChangeType int `expr:"change_type"`
	// FailType is the fail_type of a msg_send_fail event.
	FailType int `expr:"fail_type"`
}

// Session is the conversation state as expressions see it: `session.vars`, …
type Session struct {
	// Vars are the conversation's variables, set by the `set` action and by Go
	// handlers. A missing variable reads as nil, so `session.vars.name ?? "friend"`
	// works. Numbers that went through the store come back as floats.
	Vars map[string]any `expr:"vars"`
	// Messages counts the customer's messages in this conversation, this one included.
	Messages int `expr:"messages"`
	// FirstSeen and LastSeen are when the first and the previous customer message came.
	FirstSeen time.Time `expr:"first_seen"`
	LastSeen  time.Time `expr:"last_seen"`
	// Human reports that a human servicer owns the conversation.
	Human bool `expr:"human"`
}

// newEnv builds the environment of one message.
func newEnv(m syncmsg.Message, s *storage.Session, now time.Time, loc *time.Location) Env {
	h := m.Head()
	env := Env{
		Msg: Msg{
			Type:           string(h.MsgType),
			Event:          string(h.EventType),
			MsgID:          h.MsgID,
			OpenKFID:       h.OpenKFID,
			ExternalUserID: h.ExternalUserID,
			ServicerUserID: h.ServicerUserID,
			Origin:         int(h.Origin),
			SendTime:       time.Unix(h.SendTime, 0).In(loc),
		},
		Now: now.In(loc),
	}
	switch m := m.(type) {
	case *syncmsg.Text:
		env.Msg.Text, env.Msg.MenuID = m.Content, m.MenuID
	case *syncmsg.Image:
		env.Msg.MediaID = m.MediaID
	case *syncmsg.Voice:
		env.Msg.MediaID = m.MediaID
	case *syncmsg.Video:
		env.Msg.MediaID = m.MediaID
	case *syncmsg.File:
		env.Msg.MediaID = m.MediaID
	case *syncmsg.EnterSession:
		env.Msg.Scene, env.Msg.SceneParam = m.Scene, m.SceneParam
	case *syncmsg.SessionStatusChange:
		env.Msg.ChangeType = int(m.ChangeType)
	case *syncmsg.MsgSendFail:
		env.Msg.FailType = int(m.FailType)
	}
	if s != nil {
		env.Session = Session{
			Vars:      s.Vars,
			Messages:  s.Messages,
			FirstSeen: s.FirstSeen.In(loc),
			LastSeen:  s.LastSeen.In(loc),
			Human:     s.Human,
		}
	}
	return env
}

// helpers are the functions expressions may call besides expr's builtins. Their typed
// signatures let the checker reject wrong arguments at load.
var helpers = []expr.Option{
	expr.Function("hour", func(p ...any) (any, error) {
		return p[0].(time.Time).Hour(), nil
	}, new(func(time.Time) int)),
	expr.Function("minute", func(p ...any) (any, error) {
		return p[0].(time.Time).Minute(), nil
	}, new(func(time.Time) int)),
	expr.Function("weekday", func(p ...any) (any, error) {
		return int(p[0].(time.Time).Weekday()), nil
	}, new(func(time.Time) int)),
	expr.Function("clock", func(p ...any) (any, error) {
		return p[0].(time.Time).Format("15:04"), nil
	}, new(func(time.Time) string)),
	expr.Function("ymd", func(p ...any) (any, error) {
		return p[0].(time.Time).Format(time.DateOnly), nil
	}, new(func(time.Time) string)),
	expr.Function("between", func(p ...any) (any, error) {
		c := p[0].(time.Time).Format("15:04")
		from, to := p[1].(string), p[2].(string)
		if from <= to {
			return c >= from && c < to, nil
		}
		return c >= from || c < to, nil // a range across midnight, e.g. 22:00–06:00
	}, new(func(time.Time, string, string) bool)),
	// The builtin now() would read the wall clock and defeat WithClock and
	// conversation tests; `now` is a variable instead.
	expr.DisableBuiltin("now"),
}
