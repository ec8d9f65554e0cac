package kf

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Limits of externalcontact/send_welcome_msg
// (https://developer.work.weixin.qq.com/document/path/92137).
const (
	MaxWelcomeTextBytes          = 4000
	MaxWelcomeAttachments        = 9
	maxWelcomeLinkTitleBytes     = 128
	maxWelcomeLinkDescBytes      = 512
	maxWelcomeMiniProgTitleBytes = 64
)

// SendWelcomeMsgRequest is the welcome of a new external contact (客户联系): text and
// attachments, sent with the WelcomeCode of an add_external_contact (or
// add_half_external_contact) event within 20 seconds. They arrive as several messages.
type SendWelcomeMsgRequest struct {
	// WelcomeCode is the event's `WelcomeCode`: valid 20 seconds, usable once.
	WelcomeCode string
	// Text is the text (≤ 4000 bytes); "" for none.
	Text string
	// Attachments are up to 9 images, links, mini programs, videos or files.
	Attachments []WelcomeAttachment
}

// WelcomeAttachment is one attachment of a welcome: exactly one field is set.
type WelcomeAttachment struct {
	Image       *WelcomeImage
	Link        *WelcomeLink
	MiniProgram *WelcomeMiniProgram
	Video       *WelcomeMedia
	File        *WelcomeMedia
}

// WelcomeImage is an image: a media_id (素材管理, media/upload) or the pic_url of an
// image uploaded with media/uploadimg; MediaID wins when both are set.
type WelcomeImage struct{ MediaID, PicURL string }

// WelcomeLink is a link card: Title (≤ 128 bytes) and URL are required.
type WelcomeLink struct{ Title, PicURL, Desc, URL string }

// WelcomeMiniProgram is a mini program card; every field is required (Title ≤ 64 bytes,
// the AppID linked to the corp, PicMediaID a cover image advised at 520×416).
type WelcomeMiniProgram struct{ Title, PicMediaID, AppID, Page string }

// WelcomeMedia is a video or file by media_id.
type WelcomeMedia struct{ MediaID string }

// Type returns the attachment's msgtype ("image", "link", "miniprogram", "video",
// "file"), or "" when no field or several are set.
func (a WelcomeAttachment) Type() string {
	t, n := "", 0
	for _, c := range []struct {
		set bool
		t   string
	}{{a.Image != nil, "image"}, {a.Link != nil, "link"}, {a.MiniProgram != nil, "miniprogram"}, {a.Video != nil, "video"}, {a.File != nil, "file"}} {
		if c.set {
			t, n = c.t, n+1
		}
	}
	if n != 1 {
		return ""
	}
	return t
}

// check reports what WeCom would refuse in a.
func (a WelcomeAttachment) check() string {
	switch a.Type() {
	case "":
		return "set exactly one of Image, Link, MiniProgram, Video and File"
	case "image":
		if a.Image.MediaID == "" && a.Image.PicURL == "" {
			return "an image needs MediaID or PicURL"
		}
	case "link":
		switch l := a.Link; {
		case l.Title == "" || l.URL == "":
			return "a link needs Title and URL"
		case len(l.Title) > maxWelcomeLinkTitleBytes:
			return fmt.Sprintf("a link's Title is %d bytes, at most %d", len(l.Title), maxWelcomeLinkTitleBytes)
		case len(l.Desc) > maxWelcomeLinkDescBytes:
			return fmt.Sprintf("a link's Desc is %d bytes, at most %d", len(l.Desc), maxWelcomeLinkDescBytes)
		}
	case "miniprogram":
		switch m := a.MiniProgram; {
		case m.Title == "" || m.PicMediaID == "" || m.AppID == "" || m.Page == "":
			return "a mini program needs Title, PicMediaID, AppID and Page"
		case len(m.Title) > maxWelcomeMiniProgTitleBytes:
			return fmt.Sprintf("a mini program's Title is %d bytes, at most %d", len(m.Title), maxWelcomeMiniProgTitleBytes)
		}
	case "video":
		if a.Video.MediaID == "" {
			return "a video needs MediaID"
		}
	case "file":
		if a.File.MediaID == "" {
			return "a file needs MediaID"
		}
	}
	return ""
}

// welcomeWire is the JSON body of send_welcome_msg.
type welcomeWire struct {
	WelcomeCode string           `json:"welcome_code"`
	Text        *textWire        `json:"text,omitempty"` // kf/message.go's
	Attachments []attachmentWire `json:"attachments,omitempty"`
}

type attachmentWire struct {
	MsgType     string           `json:"msgtype"`
	Image       *imageWire       `json:"image,omitempty"`
	Link        *welcomeLinkWire `json:"link,omitempty"`
	MiniProgram *miniProgramWire `json:"miniprogram,omitempty"`
	Video       *mediaIDWire     `json:"video,omitempty"`
	File        *mediaIDWire     `json:"file,omitempty"`
}

type imageWire struct {
	MediaID string `json:"media_id,omitempty"`
	PicURL  string `json:"pic_url,omitempty"`
}

type welcomeLinkWire struct {
	Title  string `json:"title"`
	PicURL string `json:"picurl,omitempty"`
	Desc   string `json:"desc,omitempty"`
	URL    string `json:"url"`
}

type miniProgramWire struct {
	Title      string `json:"title"`
	PicMediaID string `json:"pic_media_id"`
	AppID      string `json:"appid"`
	Page       string `json:"page"`
}

type mediaIDWire struct {
	MediaID string `json:"media_id"`
}

// SendWelcomeMsg sends a new external contact's welcome with
// `externalcontact/send_welcome_msg`. The request is checked first (a code, text ≤ 4000
// bytes, ≤ 9 attachments each with its required fields, not both empty). A welcome code
// is single use, so a request that may have reached WeCom is never repeated. Errors
// 41050, 41051, 41096 and 84061 mean the welcome can never be sent ([WelcomeSkippable]).
func (cl *Client) SendWelcomeMsg(ctx context.Context, req SendWelcomeMsgRequest) error {
	const op = "send_welcome_msg"
	switch {
	case req.WelcomeCode == "":
		return invalid(op, "WelcomeCode is empty: pass the WelcomeCode of the add_external_contact event")
	case req.Text == "" && len(req.Attachments) == 0:
		return invalid(op, "Text and Attachments are both empty")
	case len(req.Text) > MaxWelcomeTextBytes:
		return invalid(op, fmt.Sprintf("Text is %d bytes, at most %d", len(req.Text), MaxWelcomeTextBytes))
	case len(req.Attachments) > MaxWelcomeAttachments:
		return invalid(op, fmt.Sprintf("%d Attachments, at most %d", len(req.Attachments), MaxWelcomeAttachments))
	}
	w := welcomeWire{WelcomeCode: req.WelcomeCode}
	if req.Text != "" {
		w.Text = &textWire{req.Text}
	}
	for i, a := range req.Attachments {
		if why := a.check(); why != "" {
			return invalid(op, fmt.Sprintf("Attachments[%d]: %s", i, why))
		}
		aw := attachmentWire{MsgType: a.Type()}
		switch {
		case a.Image != nil:
			aw.Image = &imageWire{a.Image.MediaID, a.Image.PicURL}
		case a.Link != nil:
			aw.Link = &welcomeLinkWire{a.Link.Title, a.Link.PicURL, a.Link.Desc, a.Link.URL}
		case a.MiniProgram != nil:
			aw.MiniProgram = &miniProgramWire{a.MiniProgram.Title, a.MiniProgram.PicMediaID, a.MiniProgram.AppID, a.MiniProgram.Page}
		case a.Video != nil:
			aw.Video = &mediaIDWire{a.Video.MediaID}
		case a.File != nil:
			aw.File = &mediaIDWire{a.File.MediaID}
		}
		w.Attachments = append(w.Attachments, aw)
	}
	var out apiStatus
	return cl.doJSON(ctx, op, "externalcontact/send_welcome_msg", &w, false, &out)
}

// GetExternalContactRequest names the customer of `externalcontact/get`.
type GetExternalContactRequest struct {
	// ExternalUserID is the customer (`external_userid`).
	ExternalUserID string
	// Cursor is the `next_cursor` of the previous page (more than 500 follow users); "" for
	// the first.
	Cursor string
}

// ExternalContact is the answer of `externalcontact/get`
// (https://developer.work.weixin.qq.com/document/path/96315).
type ExternalContact struct {
	Contact     ExternalContactInfo `json:"external_contact"`
	FollowUsers []FollowUser        `json:"follow_user"`
	// NextCursor is set when more follow users remain.
	NextCursor string `json:"next_cursor"`
}

// ExternalContactInfo is the customer.
type ExternalContactInfo struct {
	ExternalUserID string `json:"external_userid"`
	Name           string `json:"name"`
	Avatar         string `json:"avatar"` // not for third-party apps
	// Type is 1 for a WeChat user, 2 for a WeCom user (whose Position, CorpName,
	// CorpFullName and ExternalProfile are set).
	Type            int              `json:"type"`
	Gender          int              `json:"gender"` // 0 unknown, 1 male, 2 female
	UnionID         string           `json:"unionid"`
	Position        string           `json:"position"`
	CorpName        string           `json:"corp_name"`
	CorpFullName    string           `json:"corp_full_name"`
	ExternalProfile *ExternalProfile `json:"external_profile,omitempty"`
}

// ExternalProfile is a WeCom user's public profile.
type ExternalProfile struct {
	ExternalAttrs []ExternalAttr `json:"external_attr"`
}

// ExternalAttr is one attribute: a text (Type 0), a web page (1) or a mini program (2).
type ExternalAttr struct {
	Type        int                      `json:"type"`
	Name        string                   `json:"name"`
	Text        *ExternalAttrText        `json:"text,omitempty"`
	Web         *ExternalAttrWeb         `json:"web,omitempty"`
	MiniProgram *ExternalAttrMiniProgram `json:"miniprogram,omitempty"`
}

// ExternalAttrText is a text attribute.
type ExternalAttrText struct {
	Value string `json:"value"`
}

// ExternalAttrWeb is a web-page attribute.
type ExternalAttrWeb struct {
	URL   string `json:"url"`
	Title string `json:"title"`
}

// ExternalAttrMiniProgram is a mini program attribute.
type ExternalAttrMiniProgram struct {
	AppID    string `json:"appid"`
	PagePath string `json:"pagepath"`
	Title    string `json:"title"`
}

// FollowUser is a member who added the customer.
type FollowUser struct {
	UserID         string
	Remark         string
	Description    string
	CreateTime     time.Time // when the member added the customer
	Tags           []FollowUserTag
	RemarkCorpName string
	RemarkMobiles  []string // not for third-party apps
	OperUserID     string
	AddWay         int
	// State is the 「联系我」 code's state through which the customer was added.
	State string
}

// FollowUserTag is a tag the member gave the customer (Type 1 corp, 2 personal, 3 rule group).
type FollowUserTag struct {
	GroupName string `json:"group_name"`
	TagName   string `json:"tag_name"`
	TagID     string `json:"tag_id"`
	Type      int    `json:"type"`
}

// UnmarshalJSON decodes a follow user with its createtime in Unix seconds.
func (f *FollowUser) UnmarshalJSON(data []byte) error {
	var w struct {
		UserID         string          `json:"userid"`
		Remark         string          `json:"remark"`
		Description    string          `json:"description"`
		CreateTime     int64           `json:"createtime"`
		Tags           []FollowUserTag `json:"tags"`
		RemarkCorpName string          `json:"remark_corp_name"`
		RemarkMobiles  []string        `json:"remark_mobiles"`
		OperUserID     string          `json:"oper_userid"`
		AddWay         int             `json:"add_way"`
		State          string          `json:"state"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*f = FollowUser{UserID: w.UserID, Remark: w.Remark, Description: w.Description, Tags: w.Tags,
		RemarkCorpName: w.RemarkCorpName, RemarkMobiles: w.RemarkMobiles, OperUserID: w.OperUserID, AddWay: w.AddWay, State: w.State}
	if w.CreateTime != 0 {
		f.CreateTime = time.Unix(w.CreateTime, 0)
	}
	return nil
}

// GetExternalContact reads a customer and a page of their follow users with
// `externalcontact/get`. Only follow users in the app's visible range are returned.
func (cl *Client) GetExternalContact(ctx context.Context, req GetExternalContactRequest) (*ExternalContact, error) {
	const op = "externalcontact_get"
	if req.ExternalUserID == "" {
		return nil, invalid(op, "ExternalUserID is empty")
	}
	q := "external_userid=" + url.QueryEscape(req.ExternalUserID)
	if req.Cursor != "" {
		q += "&cursor=" + url.QueryEscape(req.Cursor)
	}
	var out struct {
		apiStatus
		ExternalContact
	}
	c := &call{op: op, method: http.MethodGet, path: "externalcontact/get", query: q, replayable: true, idempotent: true}
	if err := cl.do(ctx, c, &out); err != nil {
		return nil, err
	}
	return &out.ExternalContact, nil
}

// maxExternalContactPages bounds GetExternalContactAll.
const maxExternalContactPages = 100

// GetExternalContactAll is GetExternalContact following next_cursor until every follow
// user is read (at most 100 pages).
func (cl *Client) GetExternalContactAll(ctx context.Context, externalUserID string) (*ExternalContact, error) {
	var all *ExternalContact
	cursor := ""
	for range maxExternalContactPages {
		page, err := cl.GetExternalContact(ctx, GetExternalContactRequest{ExternalUserID: externalUserID, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		if all == nil {
			all = page
		} else {
			all.FollowUsers = append(all.FollowUsers, page.FollowUsers...)
		}
		if page.NextCursor == "" {
			all.NextCursor = ""
			return all, nil
		}
		cursor = page.NextCursor
	}
	return nil, fmt.Errorf("kf: externalcontact_get %s: more than %d pages of follow users; read them with GetExternalContact", externalUserID, maxExternalContactPages)
}
