package kf

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// MediaType is the `type` of an upload.
type MediaType string

// Media types of [Client.UploadMedia].
const (
	MediaImage MediaType = "image" // JPG/PNG, ≤ 10 MB (older docs: 2 MB)
	MediaVoice MediaType = "voice" // AMR, ≤ 2 MB, ≤ 60 s
	MediaVideo MediaType = "video" // MP4, ≤ 10 MB
	MediaFile  MediaType = "file"  // ≤ 20 MB
)

// minMediaBytes: WeCom requires every file to be larger than 5 bytes.
const minMediaBytes = 5

// MaxBytes is the largest upload WeCom takes of type t, or 0 for an unknown type.
func (t MediaType) MaxBytes() int64 {
	switch t {
	case MediaImage, MediaVideo:
		return 10 << 20
	case MediaVoice:
		return 2 << 20
	case MediaFile:
		return 20 << 20
	}
	return 0
}

// Check reports, before an upload, whether WeCom would refuse a file named filename of
// size bytes as type t: its size (more than 5 bytes, at most [MediaType.MaxBytes]) and,
// for images, voice and video, its format by extension (JPG/PNG, AMR, MP4). A size < 0
// (unknown) is not checked.
func (t MediaType) Check(filename string, size int64) error {
	max := t.MaxBytes()
	if max == 0 {
		return fmt.Errorf("media type %q is not one of image, voice, video, file", t)
	}
	if size >= 0 && size <= minMediaBytes {
		return fmt.Errorf("%s has %d bytes; WeCom requires more than %d", filename, size, minMediaBytes)
	}
	if size > max {
		return fmt.Errorf("%s has %d bytes; WeCom takes %s media of at most %d MB", filename, size, t, max>>20)
	}
	ext := strings.ToLower(filepath.Ext(filename))
	ok := true
	switch t {
	case MediaImage:
		ok = ext == ".jpg" || ext == ".jpeg" || ext == ".png"
	case MediaVoice:
		ok = ext == ".amr"
	case MediaVideo:
		ok = ext == ".mp4"
	}
	if !ok {
		return fmt.Errorf("%s: WeCom takes %s media as %s files", filename, t, map[MediaType]string{MediaImage: "JPG or PNG", MediaVoice: "AMR", MediaVideo: "MP4"}[t])
	}
	return nil
}

// UploadMediaRequest describes a temporary media upload (`media/upload`,
// https://developer.work.weixin.qq.com/document/path/90253). The media id
// it returns is valid for 3 days.
type UploadMediaRequest struct {
	// Type is the media type (`type`). Required.
	Type MediaType
	// Filename is the file name sent with the form field `media`. Required;
	// it is the name customers see for file messages.
	Filename string
	// ContentType is the part's Content-Type. Default: derived from the
	// Filename extension, else application/octet-stream.
	ContentType string
	// Body is the content, streamed (not buffered) into the request. Required.
	// If Body implements [io.Seeker] (e.g. *os.File, *bytes.Reader) a failed
	// upload can be retried from the position Body had when the call started;
	// otherwise the upload is attempted once. The caller keeps ownership:
	// UploadMedia does not close Body.
	Body io.Reader
	// Size is the number of bytes to send from Body. 0 means: measure it,
	// when Body has a Len() method or is an io.Seeker, else send the body
	// chunked without a length.
	Size int64
}

// UploadMediaResponse is the answer of `media/upload`.
type UploadMediaResponse struct {
	// Type is the media type (`type`).
	Type MediaType
	// MediaID is the temporary media id (`media_id`), valid 3 days and
	// shareable across the corp's apps.
	MediaID string
	// CreatedAt is the upload time (`created_at`, a string of Unix seconds on
	// the wire).
	CreatedAt time.Time
}

// UploadMedia uploads temporary media as a multipart/form-data POST with the
// form field `media`, for use in [Image], [Voice], [Video], [File] messages
// and as thumbnails. The body is streamed from req.Body.
func (cl *Client) UploadMedia(ctx context.Context, req UploadMediaRequest) (*UploadMediaResponse, error) {
	const op = "media_upload"
	switch req.Type {
	case MediaImage, MediaVoice, MediaVideo, MediaFile:
	default:
		return nil, invalid(op, fmt.Sprintf("media type %q is not one of image, voice, video, file", req.Type))
	}
	if req.Filename == "" {
		return nil, invalid(op, "Filename is required (it names the file in file messages)")
	}
	if isNil(req.Body) {
		return nil, invalid(op, "Body is required")
	}
	if req.Size < 0 {
		return nil, invalid(op, fmt.Sprintf("Size %d is negative; use 0 to measure Body", req.Size))
	}
	up, err := newUpload(req)
	if err != nil {
		return nil, fmt.Errorf("kf: %s: %w", op, err)
	}
	if err := req.Type.Check(req.Filename, up.size); err != nil {
		return nil, invalid(op, err.Error())
	}
	c := &call{
		op: op, method: http.MethodPost, path: "media/upload",
		query:      "type=" + url.QueryEscape(string(req.Type)),
		body:       up.open,
		replayable: up.seeker != nil,
		idempotent: true, // a duplicate upload only creates another temporary media id
	}
	var out struct {
		apiStatus
		Type      MediaType       `json:"type"`
		MediaID   string          `json:"media_id"`
		CreatedAt json.RawMessage `json:"created_at"`
	}
	err = cl.do(ctx, c, &out)
	_ = up.wait(ctx) // hand Body back to the caller only when net/http is done with it
	if err != nil {
		return nil, err
	}
	ts, err := parseUnix(out.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("kf: %s: %w: created_at: %v", op, ErrInvalidResponse, err)
	}
	return &UploadMediaResponse{Type: out.Type, MediaID: out.MediaID, CreatedAt: ts}, nil
}

// upload builds the multipart body around a streamed file part.
type upload struct {
	head, tail  []byte
	body        io.Reader
	seeker      io.Seeker // body as a Seeker, or nil
	start, size int64     // start offset for rewinding; size -1 = unknown
	contentType string
	last        *closeNotifier // the body of the latest attempt
}

func newUpload(req UploadMediaRequest) (*upload, error) {
	up := &upload{body: req.Body, size: req.Size}
	if s, ok := req.Body.(io.Seeker); ok {
		start, err := s.Seek(0, io.SeekCurrent)
		if err == nil {
			up.seeker, up.start = s, start
		}
	}
	if up.size == 0 {
		up.size = -1
		switch {
		case hasLen(req.Body):
			up.size = int64(req.Body.(interface{ Len() int }).Len())
		case up.seeker != nil:
			end, err := up.seeker.Seek(0, io.SeekEnd)
			if err != nil {
				return nil, fmt.Errorf("measure body: %w", err)
			}
			if _, err := up.seeker.Seek(up.start, io.SeekStart); err != nil {
				return nil, fmt.Errorf("rewind body: %w", err)
			}
			up.size = end - up.start
		}
	}

	ct := req.ContentType
	if ct == "" {
		ct = mime.TypeByExtension(filepath.Ext(req.Filename))
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := make(textproto.MIMEHeader)
	disp := fmt.Sprintf(`form-data; name="media"; filename="%s"`, quoteEscaper.Replace(req.Filename))
	if up.size >= 0 {
		disp += "; filelength=" + strconv.FormatInt(up.size, 10)
	}
	h.Set("Content-Disposition", disp)
	h.Set("Content-Type", ct)
	if _, err := mw.CreatePart(h); err != nil {
		return nil, err
	}
	headLen := buf.Len()
	if err := mw.Close(); err != nil {
		return nil, err
	}
	all := buf.Bytes()
	up.head, up.tail = all[:headLen], all[headLen:]
	up.contentType = mw.FormDataContentType()
	return up, nil
}

func hasLen(r io.Reader) bool {
	_, ok := r.(interface{ Len() int })
	return ok
}

var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"", "\r", "", "\n", "")

// open returns the request body for one attempt, rewinding the file body for
// retries. net/http may read a request body after Do returns and closes it
// when done, so open waits for the previous attempt's body to be closed
// before seeking.
func (up *upload) open(ctx context.Context) (io.Reader, int64, string, error) {
	if up.last != nil {
		if up.seeker == nil {
			return nil, 0, "", fmt.Errorf("body cannot be rewound for a retry")
		}
		if err := up.wait(ctx); err != nil {
			return nil, 0, "", err
		}
		if _, err := up.seeker.Seek(up.start, io.SeekStart); err != nil {
			return nil, 0, "", fmt.Errorf("rewind body: %w", err)
		}
	}
	body := up.body
	total := int64(-1)
	if up.size >= 0 {
		body = io.LimitReader(body, up.size)
		total = int64(len(up.head)) + up.size + int64(len(up.tail))
	}
	up.last = &closeNotifier{
		Reader: io.MultiReader(bytes.NewReader(up.head), body, bytes.NewReader(up.tail)),
		done:   make(chan struct{}),
	}
	return up.last, total, up.contentType, nil
}

// bodyCloseGrace bounds how long UploadMedia waits for the transport to close
// a request body. net/http closes it as soon as it stops writing; the bound
// only matters for a RoundTripper that breaks that contract.
const bodyCloseGrace = time.Second

// wait blocks until net/http has closed the last body handed out (so it no
// longer reads the caller's reader), ctx ends, or bodyCloseGrace passes.
func (up *upload) wait(ctx context.Context) error {
	if up.last == nil {
		return nil
	}
	select {
	case <-up.last.done:
		return nil
	default:
	}
	t := time.NewTimer(bodyCloseGrace)
	defer t.Stop()
	select {
	case <-up.last.done:
		return nil
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// closeNotifier is a request body that reports when the transport closed it.
type closeNotifier struct {
	io.Reader
	once sync.Once
	done chan struct{}
}

func (c *closeNotifier) Close() error {
	c.once.Do(func() { close(c.done) })
	return nil
}

// parseUnix parses Unix seconds sent as a JSON string (as media/upload does)
// or a number.
func parseUnix(raw json.RawMessage) (time.Time, error) {
	s := string(raw)
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq
	}
	if s == "" || s == "null" {
		return time.Time{}, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is not Unix seconds", raw)
	}
	return time.Unix(n, 0), nil
}
