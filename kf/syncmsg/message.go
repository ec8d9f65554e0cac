package syncmsg

import "encoding/json"

// Header holds the base fields every sync_msg item carries (https://developer.work.weixin.qq.com/document/path/94670).
// Every concrete message type embeds it.
//
// For events (MsgType [TypeEvent]) WeCom sends `open_kfid`, `external_userid`
// and `servicer_userid` inside the `event` object, not at the top level;
// [Decode] copies them from there into OpenKFID, ExternalUserID and
// ServicerUserID (falling back to top-level values if the event lacks them),
// and [Encode] writes them back inside `event`.
type Header struct {
	// MsgID is `msgid`, the unique id of the item (events have one too): the
	// deduplication key.
	MsgID string
	// OpenKFID is `open_kfid`, the KF account.
	OpenKFID string
	// ExternalUserID is `external_userid`, the customer.
	ExternalUserID string
	// SendTime is `send_time` in Unix seconds.
	SendTime int64
	// Origin is `origin`: customer (3), system event (4) or servicer (5).
	Origin Origin
	// ServicerUserID is `servicer_userid`, the servicer who sent the item from
	// the WeCom client (origin 5) or, for some events, the servicer concerned.
	// Third-party apps receive the encrypted open_userid here.
	ServicerUserID string
	// MsgType is `msgtype` as received. [Encode] ignores it and uses the
	// concrete type's msgtype instead.
	MsgType MsgType
	// EventType is `event.event_type` for events, empty otherwise. [Encode]
	// ignores it and uses the concrete event type instead.
	EventType EventType
	// Raw is the whole item as received. [Decode] sets it to a copy of its
	// input, [DecodeList] to the input item itself (no copy). [Encode] ignores
	// it for every type but [Unknown].
	Raw json.RawMessage
}

// Head returns h itself, so that every message type, which embeds a Header,
// satisfies [Message].
func (h *Header) Head() *Header { return h }

// Message is one decoded sync_msg item: a message or an event. The concrete
// type is one of the pointer types of this package ([*Text], [*Image], …,
// [*EnterSession], …) or [*Unknown]; use a type switch. The interface is
// sealed: only this package's types implement it.
type Message interface {
	// Head returns the item's base fields.
	Head() *Header
	// wire returns the item's msgtype and its payload in wire form (the
	// object stored under the msgtype key), or nil for no payload.
	wire() (MsgType, any)
}

// Text is a `text` message. Large media (over 2 MB for images and voice,
// 10 MB for video, 20 MB for files) also arrive as a text placeholder.
type Text struct {
	Header
	// Content is `text.content`.
	Content string
	// MenuID is `text.menu_id`: set when the customer produced this text by
	// tapping a `click` item of a menu message; it equals that item's id and
	// Content its display text. Empty otherwise.
	MenuID string
}

// Image is an `image` message.
type Image struct {
	Header
	// MediaID is `image.media_id`; download it with media/get within 3 days.
	MediaID string
}

// Voice is a `voice` message (AMR, or SILK when sync_msg asked for
// `voice_format` 1).
type Voice struct {
	Header
	// MediaID is `voice.media_id`; download it with media/get within 3 days.
	MediaID string
}

// Video is a `video` message.
type Video struct {
	Header
	// MediaID is `video.media_id`; download it with media/get within 3 days.
	MediaID string
}

// File is a `file` message.
type File struct {
	Header
	// MediaID is `file.media_id`; download it with media/get within 3 days.
	MediaID string
}

// Location is a `location` message.
type Location struct {
	Header
	// Latitude is `location.latitude` (a JSON number).
	Latitude float64
	// Longitude is `location.longitude` (a JSON number).
	Longitude float64
	// Name is `location.name`, the place's name.
	Name string
	// Address is `location.address`.
	Address string
}

// Link is a `link` message (a link card).
type Link struct {
	Header
	// Title is `link.title`.
	Title string
	// Desc is `link.desc`.
	Desc string
	// URL is `link.url`.
	URL string
	// PicURL is `link.pic_url`, the thumbnail's URL.
	PicURL string
}

// BusinessCard is a `business_card` message: a WeCom member's card.
type BusinessCard struct {
	Header
	// UserID is `business_card.userid`, the member whose card was shared.
	UserID string
}

// Miniprogram is a `miniprogram` message (a mini program card).
type Miniprogram struct {
	Header
	// Title is `miniprogram.title`.
	Title string
	// AppID is `miniprogram.appid`.
	AppID string
	// PagePath is `miniprogram.pagepath`.
	PagePath string
	// ThumbMediaID is `miniprogram.thumb_media_id`, the cover image.
	ThumbMediaID string
}

// MsgMenu is a `msgmenu` message, typically a menu a servicer sent (origin 5).
type MsgMenu struct {
	Header
	// HeadContent is `msgmenu.head_content`, the text above the items.
	HeadContent string
	// List is `msgmenu.list`, the menu items in order.
	List []MenuItem
	// TailContent is `msgmenu.tail_content`, the text below the items.
	TailContent string
}

// MenuItem is one item of a menu's `list`; its JSON form is the wire form
// `{"type": T, T: {…}}`, which package kf sends too. Exactly the field that
// matches Type is set; an item of an unknown type keeps its JSON in Raw.
type MenuItem struct {
	// Type is the item's `type`.
	Type MenuItemType
	// Click is the `click` object, for [MenuTypeClick].
	Click *MenuClick
	// View is the `view` object, for [MenuTypeView].
	View *MenuView
	// Miniprogram is the `miniprogram` object, for [MenuTypeMiniprogram].
	Miniprogram *MenuMiniprogram
	// Text is the `text` object, for [MenuTypeText].
	Text *MenuText
	// Raw is the whole item (compacted JSON) for an unknown Type, encoded unchanged.
	Raw json.RawMessage
}

// MenuClick is a reply item (回复菜单) of a menu.
type MenuClick struct {
	// ID is `click.id`; tapping the item sends a text whose `menu_id` is ID.
	ID string
	// Content is `click.content`, the item's text.
	Content string
}

// MenuView is a hyperlink item (超链接) of a menu.
type MenuView struct {
	// URL is `view.url`.
	URL string
	// Content is `view.content`, the item's text.
	Content string
}

// MenuMiniprogram is a mini program item of a menu.
type MenuMiniprogram struct {
	// AppID is `miniprogram.appid`.
	AppID string
	// PagePath is `miniprogram.pagepath`.
	PagePath string
	// Content is `miniprogram.content`, the item's text.
	Content string
}

// MenuText is a plain text line of a menu.
type MenuText struct {
	// Content is `text.content`.
	Content string
	// NoNewline is `text.no_newline` = 1: no line break after the item.
	NoNewline bool
}

// ChannelsShopProduct is a `channels_shop_product` message: a Channels (视频号)
// shop product. Decode accepts both `head_image`/`shop_head_image` (the
// documented spelling, which Encode writes) and `head_img`/`shop_head_img`.
type ChannelsShopProduct struct {
	Header
	// ProductID is `product_id`.
	ProductID string
	// HeadImage is `head_image` (or `head_img`), the product image URL.
	HeadImage string
	// Title is `title`, the product title.
	Title string
	// SalesPrice is `sales_price`, the price in fen (分) as a decimal string.
	SalesPrice string
	// ShopNickname is `shop_nickname`.
	ShopNickname string
	// ShopHeadImage is `shop_head_image` (or `shop_head_img`), the shop's avatar URL.
	ShopHeadImage string
}

// ChannelsShopOrder is a `channels_shop_order` message: a Channels shop order.
type ChannelsShopOrder struct {
	Header
	// OrderID is `order_id`.
	OrderID string
	// ProductTitles is `product_titles`.
	ProductTitles string
	// PriceWording is `price_wording`, the displayed price.
	PriceWording string
	// State is `state`, the displayed order state.
	State string
	// ImageURL is `image_url`.
	ImageURL string
	// ShopNickname is `shop_nickname`.
	ShopNickname string
}

// MergedMsg is a `merged_msg` message: a forwarded chat record (聊天记录).
type MergedMsg struct {
	Header
	// Title is `merged_msg.title`.
	Title string
	// Items is `merged_msg.item`, the forwarded messages in order.
	Items []MergedItem
}

// MergedItem is one message of a [MergedMsg].
type MergedItem struct {
	// SendTime is `send_time` in Unix seconds.
	SendTime int64
	// MsgType is `msgtype`. Sources disagree whether it is a string ("text")
	// or a number; a number is kept as its decimal text ("1").
	MsgType MsgType
	// SenderName is `sender_name`.
	SenderName string
	// MsgContent is `msg_content`: a JSON document encoded as a string. Use
	// [MergedItem.Message] to decode it.
	MsgContent string
}

// Channels is a `channels` message: a Channels (视频号) share.
type Channels struct {
	Header
	// SubType is `channels.sub_type`: post, live stream or profile card.
	SubType ChannelsSubType
	// Nickname is `channels.nickname`, the Channels account's name.
	Nickname string
	// Title is `channels.title`, only for [ChannelsSubTypeFeed].
	Title string
}

// Meeting is a `meeting` message. Its body is not documented, so it is kept
// as raw JSON.
type Meeting struct {
	Header
	// Payload is the `meeting` value (compacted JSON), nil when absent.
	Payload json.RawMessage
}

// Schedule is a `schedule` message (日程). Its body is not documented, so it
// is kept as raw JSON.
type Schedule struct {
	Header
	// Payload is the `schedule` value (compacted JSON), nil when absent.
	Payload json.RawMessage
}

// Note is a `note` message (笔记). WeCom returns no details for notes yet
// (an empty or absent object); whatever comes is kept as raw JSON.
type Note struct {
	Header
	// Payload is the `note` value (compacted JSON), nil when absent.
	Payload json.RawMessage
}

// Unknown is an item this package cannot represent: an unknown msgtype or
// event_type (new types are added over time), or a malformed item. Header
// holds whatever base fields could be read, and Raw the whole item.
type Unknown struct {
	Header
	// Err is nil when the item is merely of an unknown type, and says what
	// was wrong when it is malformed (the same error Decode returned).
	Err error
}
