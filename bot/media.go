package bot

import (
	"errors"
	"fmt"

	"github.com/kfbot/kfbot/kf"
	"github.com/kfbot/kfbot/kf/syncmsg"
)

// ErrNoMedia is returned by [Context.OpenMedia] for a message that carries no medium (only
// image, voice, video and file messages do).
var ErrNoMedia = errors.New("bot: this message carries no medium (only image, voice, video and file messages do)")

// MediaID returns the media_id of an image, voice, video or file message, or "".
func (c *Context) MediaID() string { return MediaIDOf(c.msg) }

// MediaIDOf returns the media_id of an image, voice, video or file message, or "".
func MediaIDOf(msg syncmsg.Message) string {
	switch m := msg.(type) {
	case *syncmsg.Image:
		return m.MediaID
	case *syncmsg.Voice:
		return m.MediaID
	case *syncmsg.Video:
		return m.MediaID
	case *syncmsg.File:
		return m.MediaID
	}
	return ""
}

// OpenMedia starts downloading the medium of an image, voice, video or file message with
// media/get (valid for 3 days after the message). It is streamed: read it, then Close
// it. maxBytes bounds it as [kf.GetMediaRequest.MaxBytes] does (0: the default, 100 MiB).
// A message without a medium gives [ErrNoMedia].
func (c *Context) OpenMedia(maxBytes int64) (*kf.Media, error) {
	id := c.MediaID()
	if id == "" {
		return nil, fmt.Errorf("%w: msgtype %s", ErrNoMedia, c.head.MsgType)
	}
	return c.bot.client.GetMedia(c.ctx, kf.GetMediaRequest{MediaID: id, MaxBytes: maxBytes})
}

// ReplyMedia replies with an image, voice, video or file message (typ) whose medium is
// src: a local file path or an https URL, uploaded once and reused ([Bot.Media]; see
// [MediaCache] for the limits checked and when it is uploaded again). It goes through
// [Context.Reply], and a reply the conversation does not allow is refused before
// anything is uploaded. For a medium that already has a media_id, use
// [Context.Reply] with a [kf.Image], [kf.Voice], [kf.Video] or [kf.File]. One method
// serves the four types, named as uploads name them, because their messages differ only
// in the type (send_msg's video message, for one, carries no title or description).
//
//	c.ReplyMedia(kf.MediaImage, "https://example.com/map.png")
//	c.ReplyMedia(kf.MediaFile, "/srv/shop/price-list.pdf")
func (c *Context) ReplyMedia(typ kf.MediaType, src string) error {
	return c.bot.media.Reply(c, typ, src)
}
