package kf

import (
	"fmt"
	"strings"

	"github.com/kfbot/kfbot/kf/syncmsg"
)

// Limits WeCom documents for outgoing messages (https://developer.work.weixin.qq.com/document/path/94677).
const (
	// MaxTextBytes is the maximum size of a text message's content in UTF-8
	// bytes (not runes). Split longer replies; each part is one message of the
	// 5 allowed per customer message.
	MaxTextBytes = 2048
	// MaxMenuItems is the maximum number of items of a [Menu] (else 95008).
	MaxMenuItems = 10
	// MaxMsgIDBytes is the maximum length of a client-chosen MsgID.
	MaxMsgIDBytes = 32
)

// Outgoing message types ([OutMessage.MsgType]): syncmsg's, plus ca_link.
const (
	MsgTypeText        = syncmsg.TypeText
	MsgTypeImage       = syncmsg.TypeImage
	MsgTypeVoice       = syncmsg.TypeVoice
	MsgTypeVideo       = syncmsg.TypeVideo
	MsgTypeFile        = syncmsg.TypeFile
	MsgTypeLink        = syncmsg.TypeLink
	MsgTypeMiniprogram = syncmsg.TypeMiniprogram
	MsgTypeMenu        = syncmsg.TypeMsgMenu
	MsgTypeLocation    = syncmsg.TypeLocation
	MsgTypeCALink      = syncmsg.MsgType("ca_link")
)

// OutMessage is a message the bot sends with [Client.SendMsg] (all types) or
// [Client.SendMsgOnEvent] ([Text] and [Menu] only). The set is closed: the
// implementations are [Text], [Image], [Voice], [Video], [File], [Link],
// [Miniprogram], [Menu], [Location] and [CALink], as values or pointers.
// Official reference: https://developer.work.weixin.qq.com/document/path/94677
type OutMessage interface {
	// MsgType returns the wire `msgtype`, e.g. "text" or "msgmenu".
	MsgType() syncmsg.MsgType
	// check validates the fields WeCom certainly rejects.
	check() error
	// put stores the wire payload into p.
	put(p *payloads)
}

// payloads holds the one payload object of an outgoing envelope; its field
// order is the wire order after msgtype.
type payloads struct {
	Text        *textWire        `json:"text,omitempty"`
	Image       *mediaWire       `json:"image,omitempty"`
	Voice       *mediaWire       `json:"voice,omitempty"`
	Video       *mediaWire       `json:"video,omitempty"`
	File        *mediaWire       `json:"file,omitempty"`
	Link        *linkWire        `json:"link,omitempty"`
	Miniprogram *miniprogramWire `json:"miniprogram,omitempty"`
	MsgMenu     *menuWire        `json:"msgmenu,omitempty"`
	Location    *locationWire    `json:"location,omitempty"`
	CALink      *caLinkWire      `json:"ca_link,omitempty"`

	// Storage for the most common payloads, so that put does not allocate
	// them apart from the envelope; never encoded.
	text  textWire
	media mediaWire
}

type textWire struct {
	Content string `json:"content"`
}

type mediaWire struct {
	MediaID string `json:"media_id"`
}

type linkWire struct {
	Title        string `json:"title"`
	Desc         string `json:"desc,omitempty"`
	URL          string `json:"url"`
	ThumbMediaID string `json:"thumb_media_id"`
}

type miniprogramWire struct {
	AppID        string `json:"appid"`
	Title        string `json:"title,omitempty"`
	ThumbMediaID string `json:"thumb_media_id"`
	PagePath     string `json:"pagepath"`
}

// menuWire is a `msgmenu` payload; its items encode themselves
// ([syncmsg.MenuItem.MarshalJSON]), as sync_msg returns them.
type menuWire struct {
	HeadContent string             `json:"head_content,omitempty"`
	List        []syncmsg.MenuItem `json:"list"`
	TailContent string             `json:"tail_content,omitempty"`
}

type locationWire struct {
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

type caLinkWire struct {
	LinkURL string `json:"link_url"`
}

// Text is a text message (`text.content`). Content must be 1..[MaxTextBytes]
// bytes of UTF-8.
type Text struct {
	// Content is the text (`text.content`), 1..2048 bytes.
	Content string
}

// MsgType returns "text".
func (Text) MsgType() syncmsg.MsgType { return MsgTypeText }

func (m Text) check() error { return checkText("text", m.Content) }

func (m Text) put(p *payloads) {
	p.text = textWire(m)
	p.Text = &p.text
}

func checkText(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%s content is empty (WeCom answers 44004); skip the message instead", what)
	case len(s) > MaxTextBytes:
		return fmt.Errorf("%s content is %d bytes, more than the %d allowed; split it on rune boundaries into several messages", what, len(s), MaxTextBytes)
	}
	return nil
}

// Image is an image message (`image.media_id`); MediaID comes from
// [Client.UploadMedia] with [MediaImage].
type Image struct {
	// MediaID is the temporary media id (`image.media_id`). Required.
	MediaID string
}

// MsgType returns "image".
func (Image) MsgType() syncmsg.MsgType { return MsgTypeImage }

func (m Image) check() error { return checkMediaID("image", m.MediaID) }

func (m Image) put(p *payloads) {
	p.media = mediaWire(m)
	p.Image = &p.media
}

// Voice is a voice message (`voice.media_id`); MediaID comes from
// [Client.UploadMedia] with [MediaVoice] (AMR, ≤ 2 MB, ≤ 60 s).
type Voice struct {
	// MediaID is the temporary media id (`voice.media_id`). Required.
	MediaID string
}

// MsgType returns "voice".
func (Voice) MsgType() syncmsg.MsgType { return MsgTypeVoice }

func (m Voice) check() error { return checkMediaID("voice", m.MediaID) }

func (m Voice) put(p *payloads) {
	p.media = mediaWire(m)
	p.Voice = &p.media
}

// Video is a video message (`video.media_id`); MediaID comes from
// [Client.UploadMedia] with [MediaVideo] (MP4, ≤ 10 MB).
type Video struct {
	// MediaID is the temporary media id (`video.media_id`). Required.
	MediaID string
}

// MsgType returns "video".
func (Video) MsgType() syncmsg.MsgType { return MsgTypeVideo }

func (m Video) check() error { return checkMediaID("video", m.MediaID) }

func (m Video) put(p *payloads) {
	p.media = mediaWire(m)
	p.Video = &p.media
}

// File is a file message (`file.media_id`); MediaID comes from
// [Client.UploadMedia] with [MediaFile] (≤ 20 MB).
type File struct {
	// MediaID is the temporary media id (`file.media_id`). Required.
	MediaID string
}

// MsgType returns "file".
func (File) MsgType() syncmsg.MsgType { return MsgTypeFile }

func (m File) check() error { return checkMediaID("file", m.MediaID) }

func (m File) put(p *payloads) {
	p.media = mediaWire(m)
	p.File = &p.media
}

func checkMediaID(what, id string) error {
	if id == "" {
		return fmt.Errorf("%s message needs a MediaID; upload the media first with UploadMedia", what)
	}
	return nil
}

// Link is a link card (图文链接, `link`).
type Link struct {
	// Title is required (`title`, ≤ 128 bytes, longer is truncated by WeCom).
	Title string
	// Desc is optional (`desc`, ≤ 512 bytes, truncated); omitted when empty.
	Desc string
	// URL is required (`url`, ≤ 2048 bytes) and must start with http:// or https://.
	URL string
	// ThumbMediaID is the required cover image (`thumb_media_id`), a temporary media id.
	ThumbMediaID string
}

// MsgType returns "link".
func (Link) MsgType() syncmsg.MsgType { return MsgTypeLink }

func (m Link) check() error {
	switch {
	case m.Title == "":
		return fmt.Errorf("link message needs a Title")
	case !strings.HasPrefix(m.URL, "http://") && !strings.HasPrefix(m.URL, "https://"):
		return fmt.Errorf("link message URL %q must start with http:// or https://", m.URL)
	case m.ThumbMediaID == "":
		return fmt.Errorf("link message needs a ThumbMediaID; upload the cover image first with UploadMedia")
	}
	return nil
}

func (m Link) put(p *payloads) {
	p.Link = &linkWire{Title: m.Title, Desc: m.Desc, URL: m.URL, ThumbMediaID: m.ThumbMediaID}
}

// Miniprogram is a mini program card (`miniprogram`).
type Miniprogram struct {
	// AppID is required (`appid`); the mini program must be associated with the corp.
	AppID string
	// Title is optional (`title`, ≤ 64 bytes, truncated); omitted when empty.
	Title string
	// ThumbMediaID is the required cover (`thumb_media_id`, recommended 520×416).
	ThumbMediaID string
	// PagePath is the required page (`pagepath`).
	PagePath string
}

// MsgType returns "miniprogram".
func (Miniprogram) MsgType() syncmsg.MsgType { return MsgTypeMiniprogram }

func (m Miniprogram) check() error {
	switch {
	case m.AppID == "":
		return fmt.Errorf("miniprogram message needs an AppID")
	case m.ThumbMediaID == "":
		return fmt.Errorf("miniprogram message needs a ThumbMediaID; upload the cover image first with UploadMedia")
	case m.PagePath == "":
		return fmt.Errorf("miniprogram message needs a PagePath")
	}
	return nil
}

func (m Miniprogram) put(p *payloads) {
	p.Miniprogram = &miniprogramWire{AppID: m.AppID, Title: m.Title, ThumbMediaID: m.ThumbMediaID, PagePath: m.PagePath}
}

// Menu is a menu message (`msgtype` "msgmenu"): an optional head line, 1 to
// [MaxMenuItems] items (see [MenuClick] for replies) and an optional tail line.
type Menu struct {
	// Head is the optional text above the items (`head_content`, ≤ 1024 bytes).
	Head string
	// Items are the menu lines, in order: [MenuClick], [MenuView], [MenuMiniprogram], [MenuText].
	Items []MenuItem
	// Tail is the optional text below the items (`tail_content`, ≤ 1024 bytes).
	Tail string
}

// MsgType returns "msgmenu".
func (Menu) MsgType() syncmsg.MsgType { return MsgTypeMenu }

func (m Menu) check() error {
	switch {
	case len(m.Items) == 0:
		return fmt.Errorf("menu message has no items; send a Text instead")
	case len(m.Items) > MaxMenuItems:
		return fmt.Errorf("menu message has %d items, more than the %d allowed (WeCom answers 95008); split it into several menus", len(m.Items), MaxMenuItems)
	}
	for i, it := range m.Items {
		if isNil(it) {
			return fmt.Errorf("menu item %d is nil", i)
		}
		if err := it.checkItem(); err != nil {
			return fmt.Errorf("menu item %d: %w", i, err)
		}
	}
	return nil
}

func (m Menu) put(p *payloads) {
	w := &menuWire{HeadContent: m.Head, TailContent: m.Tail, List: make([]syncmsg.MenuItem, len(m.Items))}
	for i, it := range m.Items {
		if !isNil(it) { // nil items are rejected by check; never panic here
			w.List[i] = it.menuItem()
		}
	}
	p.MsgMenu = w
}

// MenuItem is one line of a [Menu]: [MenuClick], [MenuView],
// [MenuMiniprogram] or [MenuText] (values or pointers), named and shaped as
// the [syncmsg] items that sync_msg returns. The set is closed.
type MenuItem interface {
	// MenuItemType returns the wire item `type`, e.g. [syncmsg.MenuTypeClick].
	MenuItemType() syncmsg.MenuItemType
	checkItem() error
	menuItem() syncmsg.MenuItem
}

// MenuClick is a reply item (回复菜单, `click`). Tapping it makes the customer
// send Content as a text message carrying ID as its menu id.
type MenuClick struct {
	// ID is optional (`id`, ≤ 64 bytes to be safe with older docs); omitted when empty.
	ID string
	// Content is the required label (`content`, 1–128 bytes).
	Content string
}

// MenuItemType returns "click".
func (MenuClick) MenuItemType() syncmsg.MenuItemType { return syncmsg.MenuTypeClick }

func (c MenuClick) checkItem() error { return needContent("click", c.Content) }

func (c MenuClick) menuItem() syncmsg.MenuItem {
	w := syncmsg.MenuClick(c)
	return syncmsg.MenuItem{Type: syncmsg.MenuTypeClick, Click: &w}
}

// MenuView is a hyperlink item (超链接, `view`).
type MenuView struct {
	// URL is the required link (`url`, 1–2048 bytes).
	URL string
	// Content is the required label (`content`, 1–1024 bytes).
	Content string
}

// MenuItemType returns "view".
func (MenuView) MenuItemType() syncmsg.MenuItemType { return syncmsg.MenuTypeView }

func (v MenuView) checkItem() error {
	if v.URL == "" {
		return fmt.Errorf("view item needs a URL")
	}
	return needContent("view", v.Content)
}

func (v MenuView) menuItem() syncmsg.MenuItem {
	w := syncmsg.MenuView(v)
	return syncmsg.MenuItem{Type: syncmsg.MenuTypeView, View: &w}
}

// MenuMiniprogram is a mini program item (`miniprogram`).
type MenuMiniprogram struct {
	// AppID is required (`appid`, 1–32 bytes).
	AppID string
	// PagePath is required (`pagepath`, 1–1024 bytes).
	PagePath string
	// Content is the required label (`content`, 1–1024 bytes).
	Content string
}

// MenuItemType returns "miniprogram".
func (MenuMiniprogram) MenuItemType() syncmsg.MenuItemType { return syncmsg.MenuTypeMiniprogram }

func (m MenuMiniprogram) checkItem() error {
	if m.AppID == "" || m.PagePath == "" {
		return fmt.Errorf("miniprogram item needs an AppID and a PagePath")
	}
	return needContent("miniprogram", m.Content)
}

func (m MenuMiniprogram) menuItem() syncmsg.MenuItem {
	w := syncmsg.MenuMiniprogram(m)
	return syncmsg.MenuItem{Type: syncmsg.MenuTypeMiniprogram, Miniprogram: &w}
}

// MenuText is a plain text line (`text`) between the items.
type MenuText struct {
	// Content is required (`content`, 1–256 bytes; the two characters `\n` give a line break).
	Content string
	// NoNewline suppresses the line break after the item (`no_newline` 1);
	// omitted when false (WeCom's default 0, a line break).
	NoNewline bool
}

// MenuItemType returns "text".
func (MenuText) MenuItemType() syncmsg.MenuItemType { return syncmsg.MenuTypeText }

func (t MenuText) checkItem() error { return needContent("text", t.Content) }

func (t MenuText) menuItem() syncmsg.MenuItem {
	w := syncmsg.MenuText(t)
	return syncmsg.MenuItem{Type: syncmsg.MenuTypeText, Text: &w}
}

func needContent(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s item needs a Content", what)
	}
	return nil
}

// Location is a location message (`location`).
type Location struct {
	// Name is optional (`name`); omitted when empty.
	Name string
	// Address is optional (`address`); omitted when empty.
	Address string
	// Latitude is required (`latitude`, −90…90).
	Latitude float64
	// Longitude is required (`longitude`, −180…180).
	Longitude float64
}

// MsgType returns "location".
func (Location) MsgType() syncmsg.MsgType { return MsgTypeLocation }

func (m Location) check() error {
	// NaN fails both comparisons and is rejected too.
	if !(m.Latitude >= -90 && m.Latitude <= 90) || !(m.Longitude >= -180 && m.Longitude <= 180) {
		return fmt.Errorf("location (%v, %v) is out of range: latitude must be within ±90 and longitude within ±180", m.Latitude, m.Longitude)
	}
	return nil
}

func (m Location) put(p *payloads) {
	p.Location = &locationWire{Name: m.Name, Address: m.Address, Latitude: m.Latitude, Longitude: m.Longitude}
}

// CALink is a customer-acquisition link (获客链接, `ca_link`).
type CALink struct {
	// LinkURL is required (`link_url`): a link created with the 获客助手.
	LinkURL string
}

// MsgType returns "ca_link".
func (CALink) MsgType() syncmsg.MsgType { return MsgTypeCALink }

func (m CALink) check() error {
	if m.LinkURL == "" {
		return fmt.Errorf("ca_link message needs a LinkURL")
	}
	return nil
}

func (m CALink) put(p *payloads) { p.CALink = &caLinkWire{LinkURL: m.LinkURL} }

// checkMsgID validates a client-chosen msgid: ≤ 32 bytes of [0-9a-zA-Z_-].
// The empty string (let WeCom choose) is valid.
func checkMsgID(id string) error {
	if len(id) > MaxMsgIDBytes {
		return fmt.Errorf("msgid %q is %d bytes, more than the %d allowed; use e.g. a 32-character hex hash of the inbound msgid and reply index", id, len(id), MaxMsgIDBytes)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-') {
			return fmt.Errorf("msgid %q contains %q; only [0-9a-zA-Z_-] is allowed", id, c)
		}
	}
	return nil
}
