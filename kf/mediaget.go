package kf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// DefaultMaxMediaBytes is the most [Client.GetMedia] reads of one medium unless
// [GetMediaRequest.MaxBytes] says otherwise: 100 MiB.
const DefaultMaxMediaBytes = 100 << 20

// ErrMediaTooLarge matches the error of [Client.GetMedia] (or of reading its [Media]) when
// the medium is larger than [GetMediaRequest.MaxBytes]: raise the limit, or read it in
// parts with Offset and Length.
var ErrMediaTooLarge = errors.New("kf: media larger than the limit")

// GetMediaRequest asks [Client.GetMedia] for a medium customers sent (the media_id of an
// image, voice, video or file message; valid for 3 days), or a part of it.
type GetMediaRequest struct {
	MediaID string
	// Offset and Length ask for Length bytes from Offset (a Range request); Length 0 asks
	// for everything from Offset. WeCom wants files over 20 MB read in parts of at most
	// 20 MB (errcode 830002 otherwise).
	Offset, Length int64
	// MaxBytes bounds what is read: a larger medium (or part) fails with
	// [ErrMediaTooLarge]. 0 means [DefaultMaxMediaBytes]; negative, no limit.
	MaxBytes int64
}

// Media is a medium being downloaded by [Client.GetMedia]: its body is streamed from
// WeCom, never held whole. Read it, then Close it.
type Media struct {
	// ContentType is WeCom's Content-Type for it.
	ContentType string
	// FileName is the file name from Content-Disposition; "" when WeCom sent none.
	FileName string
	// Size is the number of bytes of this answer (of the part, for a Range request);
	// -1 when WeCom did not say.
	Size int64
	// Total is the size of the whole medium: from Content-Range for a part, else Size.
	Total int64

	body io.ReadCloser
	left int64 // bytes still allowed; < 0: no limit
	op   string
}

// Read reads the medium. Past the limit it fails with [ErrMediaTooLarge].
func (m *Media) Read(p []byte) (int, error) {
	if m.left == 0 {
		var one [1]byte
		if n, _ := m.body.Read(one[:]); n > 0 {
			return 0, fmt.Errorf("kf: %s: %w (MaxBytes)", m.op, ErrMediaTooLarge)
		}
		return 0, io.EOF
	}
	if m.left > 0 && int64(len(p)) > m.left {
		p = p[:m.left]
	}
	n, err := m.body.Read(p)
	if m.left > 0 {
		m.left -= int64(n)
	}
	return n, err
}

// Close ends the download.
func (m *Media) Close() error { return m.body.Close() }

// GetMedia downloads a medium with media/get. The token is refreshed and transient
// failures retried as for every call, until WeCom starts sending the medium; from then on
// the body is the caller's. An answer that is a JSON error becomes an [*APIError]
// (40007 for an unknown or expired media_id).
func (cl *Client) GetMedia(ctx context.Context, req GetMediaRequest) (*Media, error) {
	const op = "media_get"
	switch {
	case req.MediaID == "":
		return nil, invalid(op, "MediaID is required")
	case req.Offset < 0 || req.Length < 0:
		return nil, invalid(op, fmt.Sprintf("Offset %d and Length %d must not be negative", req.Offset, req.Length))
	}
	limit := req.MaxBytes
	if limit == 0 {
		limit = DefaultMaxMediaBytes
	}
	c := &call{op: op, method: http.MethodGet, path: "media/get", query: "media_id=" + url.QueryEscape(req.MediaID),
		replayable: true, idempotent: true}
	if req.Offset > 0 || req.Length > 0 {
		c.header = "bytes=" + strconv.FormatInt(req.Offset, 10) + "-"
		if req.Length > 0 {
			c.header += strconv.FormatInt(req.Offset+req.Length-1, 10)
		}
	}
	out := &mediaAnswer{op: op}
	if err := cl.do(ctx, c, out); err != nil {
		return nil, err
	}
	m := out.media
	if m == nil {
		return nil, fmt.Errorf("kf: %s: %w: a JSON answer without an error and without the medium", op, ErrInvalidResponse)
	}
	if limit > 0 && m.Size > limit {
		_ = m.Close()
		return nil, fmt.Errorf("kf: %s: %w: %d bytes, MaxBytes %d", op, ErrMediaTooLarge, m.Size, limit)
	}
	m.left = limit
	if limit < 0 {
		m.left = -1
	}
	return m, nil
}

// mediaAnswer is media/get's result: a JSON error decodes into apiStatus as for every
// call; a medium is taken over by take.
type mediaAnswer struct {
	apiStatus
	op    string
	media *Media
}

// take claims resp when it carries a medium rather than a JSON answer: a 200 or 206 that
// names a file or is not JSON. The caller then must not read or close resp.Body.
func (a *mediaAnswer) take(resp *http.Response) bool {
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		return false
	}
	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	disp := resp.Header.Get("Content-Disposition")
	if disp == "" && (mt == "application/json" || mt == "text/json") {
		return false
	}
	m := &Media{ContentType: ct, Size: resp.ContentLength, Total: resp.ContentLength, body: resp.Body, op: a.op}
	if _, params, err := mime.ParseMediaType(disp); err == nil {
		m.FileName = params["filename"]
	}
	if cr := resp.Header.Get("Content-Range"); resp.StatusCode == http.StatusPartialContent && cr != "" {
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			if n, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
				m.Total = n
			}
		}
	}
	a.media = m
	return true
}
