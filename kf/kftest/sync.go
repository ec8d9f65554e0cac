package kftest

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"sort"
)

// SetMaxPageSize caps the number of items a sync_msg page returns, whatever
// the request's limit (which is also honoured). n ≤ 0 or n > 1000 restores
// the default, 1000.
func (s *Server) SetMaxPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 || n > DefaultPageSize {
		n = DefaultPageSize
	}
	s.maxPage = n
}

// SetEmptyPageRate makes a sync_msg call that has items to return answer,
// with probability p, an empty msg_list with has_more 1 and a cursor at the
// same position instead — as WeCom sometimes does. p is clamped to
// [0, 0.99] so that paging always ends. Draws come from the seeded random
// source ([WithSeed]).
func (s *Server) SetEmptyPageRate(p float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emptyRate = min(max(p, 0), 0.99)
}

// Cursors are base64url of ordinal(4) | index(8) | mac(8), where mac binds
// them to this server and account.
const cursorRawLen = 20

// cursorEncoding decodes strictly, so that each position has one cursor.
var cursorEncoding = base64.RawURLEncoding.Strict()

func (s *Server) cursorMAC(ordinal uint32, index uint64) uint64 {
	x := s.cursorSalt ^ uint64(ordinal)<<32 ^ index*0x9e3779b97f4a7c15
	// splitmix64 finaliser
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func (s *Server) appendCursor(b []byte, ordinal uint32, index int) []byte {
	var raw [cursorRawLen]byte
	binary.BigEndian.PutUint32(raw[0:4], ordinal)
	binary.BigEndian.PutUint64(raw[4:12], uint64(index))
	binary.BigEndian.PutUint64(raw[12:20], s.cursorMAC(ordinal, uint64(index)))
	return base64.RawURLEncoding.AppendEncode(b, raw[:])
}

// decodeCursor returns the log index a cursor names, or ok false if it was
// not issued by this server for the account with that ordinal.
func (s *Server) decodeCursor(c string, ordinal uint32) (int, bool) {
	if base64.RawURLEncoding.DecodedLen(len(c)) != cursorRawLen {
		return 0, false
	}
	var raw [cursorRawLen]byte
	if n, err := cursorEncoding.Decode(raw[:], []byte(c)); err != nil || n != cursorRawLen {
		return 0, false
	}
	ord := binary.BigEndian.Uint32(raw[0:4])
	idx := binary.BigEndian.Uint64(raw[4:12])
	mac := binary.BigEndian.Uint64(raw[12:20])
	if ord != ordinal || mac != s.cursorMAC(ord, idx) || idx > 1<<40 {
		return 0, false
	}
	return int(idx), true
}

type syncRequest struct {
	Cursor      *string `json:"cursor"`
	Token       *string `json:"token"`
	Limit       *uint32 `json:"limit"`
	VoiceFormat *uint32 `json:"voice_format"`
	OpenKFID    *string `json:"open_kfid"`
}

func (req *syncRequest) validate() *apiError {
	switch {
	case req.OpenKFID == nil:
		return missingField("open_kfid")
	case *req.OpenKFID == "":
		return emptyField("open_kfid")
	case req.Cursor != nil && *req.Cursor == "":
		return emptyField("cursor")
	case req.Cursor != nil && len(*req.Cursor) > 64:
		return errf(ErrCodeInvalidCursor, "invalid cursor")
	case req.Token != nil && *req.Token == "":
		return emptyField("token")
	case req.Token != nil && len(*req.Token) > 128:
		return errf(ErrCodeInvalidMsgToken, "invalid msg token")
	case req.VoiceFormat != nil && *req.VoiceFormat > 1:
		return errf(ErrCodeInvalidParameter, "invalid voice_format. invalid Request Parameter")
	}
	return nil
}

// handleSyncMsg serves POST /cgi-bin/kf/sync_msg.
func (s *Server) handleSyncMsg(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, true) {
		return
	}
	body, ok := readBody(r)
	var req syncRequest
	if ok {
		ok = json.Unmarshal(body.Bytes(), &req) == nil
	}
	putBuf(body)
	if !ok {
		s.writeErr(w, badJSON())
		return
	}
	if e := req.validate(); e != nil {
		s.writeErr(w, e)
		return
	}
	limit := DefaultPageSize
	if req.Limit != nil && *req.Limit > 0 && *req.Limit < DefaultPageSize {
		limit = int(*req.Limit)
	}

	now := s.now()
	s.mu.Lock()
	a, e := s.apiAccountLocked(*req.OpenKFID)
	if e != nil {
		s.mu.Unlock()
		s.writeErr(w, e)
		return
	}
	if req.Token != nil && !s.validCallbackToken(a, *req.Token, now) {
		s.mu.Unlock()
		s.writeErr(w, errf(ErrCodeInvalidMsgToken, "invalid msg token"))
		return
	}
	n := len(a.log)
	var start int
	if req.Cursor != nil {
		idx, ok := s.decodeCursor(*req.Cursor, a.ordinal)
		switch {
		case !ok || idx > a.base+n:
			s.mu.Unlock()
			s.writeErr(w, errf(ErrCodeInvalidCursor, "invalid cursor"))
			return
		case idx < a.base:
			s.mu.Unlock()
			s.writeErr(w, errf(ErrCodeCursorExpired, "cursor expired: the messages it points to are no longer kept, sync without a cursor"))
			return
		}
		start = idx - a.base
	} else {
		// Without a cursor: from the earliest item of the last 3 days.
		cutoff := now.Add(-Retention).Unix()
		start = sort.Search(n, func(i int) bool { return a.log[i].sendTime >= cutoff })
	}
	end := min(start+min(limit, s.maxPage), n)
	if start < n && s.emptyRate > 0 && s.rng.Float64() < s.emptyRate {
		end = start
	}
	items := a.log[start:end:end]
	ordinal := a.ordinal
	next := a.base + end
	s.markLocked(a, now, a.base+start, next)
	s.mu.Unlock()

	hasMore := end < n
	size := len(okPrefix) + 80
	for _, it := range items {
		size += len(it.data) + 1
	}
	b := make([]byte, 0, size)
	b = append(b, okPrefix...)
	b = append(b, `,"next_cursor":"`...)
	b = s.appendCursor(b, ordinal, next)
	b = append(b, `","has_more":`...)
	if hasMore {
		b = append(b, '1')
	} else {
		b = append(b, '0')
	}
	b = append(b, `,"msg_list":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it.data...)
	}
	b = append(b, "]}"...)
	writeJSON(w, b)
}
