package kftest

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"
)

type mediaObject struct {
	typ      string
	data     []byte
	created  time.Time
	filename string
}

// Upload limits per type (current values of https://developer.work.weixin.qq.com/document/path/90253).
var mediaLimits = map[string]int64{
	"image": 10 << 20,
	"voice": 2 << 20,
	"video": 10 << 20,
	"file":  20 << 20,
}

// mediaTypeOK checks the content against the type: image JPG/PNG, voice
// AMR, video MP4, file anything.
func mediaTypeOK(typ string, data []byte) bool {
	switch typ {
	case "image":
		return bytes.HasPrefix(data, []byte("\xff\xd8\xff")) || bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n"))
	case "voice":
		return bytes.HasPrefix(data, []byte("#!AMR"))
	case "video":
		return len(data) >= 8 && string(data[4:8]) == "ftyp"
	}
	return true
}

// PutMedia stores data as a media of type "image", "voice", "video" or
// "file" (unchecked) and returns its media_id, valid for 3 days, as
// media/upload would. Use it to prepare media a test sends.
func (s *Server) PutMedia(mediaType, filename string, data []byte) string {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.putMediaLocked(mediaType, filename, bytes.Clone(data), now)
}

func (s *Server) putMediaLocked(typ, filename string, data []byte, now time.Time) string {
	s.mediaSeq++
	id := s.randStringLocked("kftest_media_"+strconv.FormatUint(s.mediaSeq, 10)+"_", 24)
	s.media[id] = &mediaObject{typ: typ, data: data, created: now, filename: filename}
	return id
}

// Media returns a copy of the content of a media_id (uploaded, put or
// introduced by [Server.AddImage]), or nil if unknown.
func (s *Server) Media(mediaID string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.media[mediaID]; ok {
		return bytes.Clone(m.data)
	}
	return nil
}

// handleMediaUpload serves POST /cgi-bin/media/upload?type=… with the file
// in the multipart field "media".
func (s *Server) handleMediaUpload(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, true) {
		return
	}
	typ := r.URL.Query().Get("type")
	limit, ok := mediaLimits[typ]
	if !ok {
		s.writeErr(w, errf(ErrCodeInvalidMediaTypeArg, "invalid type"))
		return
	}
	data, filename, e := readMediaPart(r, limit)
	if e != nil {
		s.writeErr(w, e)
		return
	}
	switch {
	case len(data) <= 5:
		e = errf(ErrCodeInvalidFileSize, "invalid file size")
	case int64(len(data)) > limit && typ == "image":
		e = errf(ErrCodeInvalidImageSize, "invalid image size")
	case int64(len(data)) > limit && typ == "video":
		e = errf(ErrCodeInvalidVideoSize, "invalid video size")
	case int64(len(data)) > limit:
		e = errf(ErrCodeInvalidFileSize, "invalid file size")
	case !mediaTypeOK(typ, data):
		e = errf(ErrCodeInvalidMediaType, "invalid media type")
	}
	if e != nil {
		s.writeErr(w, e)
		return
	}
	now := s.now()
	s.mu.Lock()
	id := s.putMediaLocked(typ, filename, data, now)
	s.mu.Unlock()
	writeOKValue(w, struct {
		Type      string `json:"type"`
		MediaID   string `json:"media_id"`
		CreatedAt string `json:"created_at"`
	}{typ, id, strconv.FormatInt(now.Unix(), 10)})
}

// readMediaPart reads the "media" part, at most limit+1 bytes.
func readMediaPart(r *http.Request, limit int64) ([]byte, string, *apiError) {
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "multipart/form-data" || params["boundary"] == "" {
		return nil, "", errf(ErrCodeMediaMissing, "media data missing")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, "", errf(ErrCodeMediaMissing, "media data missing")
	}
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, "", errf(ErrCodeMediaMissing, "media data missing")
		}
		if err != nil {
			return nil, "", errf(ErrCodeInvalidParameter, "bad multipart body. invalid Request Parameter")
		}
		if p.FormName() != "media" {
			_ = p.Close()
			continue
		}
		data, err := io.ReadAll(io.LimitReader(p, limit+1))
		if err != nil {
			return nil, "", errf(ErrCodeInvalidParameter, "bad multipart body. invalid Request Parameter")
		}
		return data, p.FileName(), nil
	}
}

// handleMediaGet serves GET /cgi-bin/media/get?media_id=…: the content
// (with Range support), or a JSON error for an unknown or expired media_id.
func (s *Server) handleMediaGet(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, false) {
		return
	}
	id := r.URL.Query().Get("media_id")
	if id == "" {
		s.writeErr(w, missingField("media_id"))
		return
	}
	now := s.now()
	s.mu.Lock()
	m, ok := s.media[id]
	var data []byte
	var name string
	var created time.Time
	if ok {
		data, name, created = m.data, m.filename, m.created
	}
	s.mu.Unlock()
	if !ok || now.Sub(created) > MediaTTL {
		s.writeErr(w, errf(ErrCodeInvalidMediaID, "invalid media_id"))
		return
	}
	h := w.Header()
	h.Set("Content-Type", http.DetectContentType(data))
	if name != "" {
		h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	}
	http.ServeContent(w, r, "", created, bytes.NewReader(data))
}
