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
func (c *Context) MediaID() string {
	switch m := c.msg.(type) {
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
