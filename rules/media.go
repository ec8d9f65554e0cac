package rules

import (
	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
)

// mediaRef names a medium either by media_id or by a source (a local file or an https
// URL) that the media cache uploads on first use.
type mediaRef struct {
	id  string       // a media_id given in the file
	src string       // an absolute (or base-relative) file path, or a URL
	typ kf.MediaType // what src is uploaded as
}

// mediaCache is the cache that uploads the set's media sources: the set's own, made
// for [WithUploader], else the bot's ([bot.Bot.Media]), which uploads through the bot's
// client and is shared by every set installed on it, so a reload does not upload the
// same sources again.
func (x *run) mediaCache() *bot.MediaCache {
	if m := x.set.opts.media; m != nil {
		return m
	}
	return x.c.Bot().Media()
}

// resolve returns the media_id of r, uploading its source when the cache has no
// current media_id for it.
func (r mediaRef) resolve(x *run) (string, error) {
	if r.src == "" {
		return r.id, nil
	}
	if err := x.c.CanReply(1); err != nil {
		return "", err // a refused reply uploads nothing, thumbnails included
	}
	return x.mediaCache().MediaID(x.c.Context(), r.typ, r.src)
}
