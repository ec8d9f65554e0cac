package rules

import (
	"fmt"

	"github.com/kfbot/kfbot/kf"
)

// mediaRef names a medium either by media_id or by a source — a local file or an https
// URL — uploaded on first use through the set's bot.MediaCache.
type mediaRef struct {
	id   string       // a media_id given in the file
	path string       // a file path (absolute or base-relative) or an https URL, uploaded on demand
	typ  kf.MediaType // what it is uploaded as
}

// resolve returns the media_id of r.
func (r mediaRef) resolve(x *run) (string, error) {
	if r.path == "" {
		return r.id, nil
	}
	up := x.set.opts.uploader
	if up == nil {
		up, _ = x.c.Client().(Uploader)
	}
	id, err := x.set.opts.media.MediaID(x.c.Context(), up, r.typ, r.path)
	if err != nil {
		return "", fmt.Errorf("rules: %w", err)
	}
	return id, nil
}
