package kftest

import (
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"strings"
	"time"
)

// Tokens carry what the server needs to check them, under a MAC, so that
// the server keeps no record per token: a long run that issues a callback
// token per message, or an access token per injected 42001, stays flat in
// memory.

// mix64 is the splitmix64 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// tokenMAC binds the words of a token to the salt.
func tokenMAC(salt uint64, words ...uint64) uint64 {
	x := salt
	for _, w := range words {
		x = mix64(x ^ w)
	}
	return x
}

// callbackSalt keys the callback-token MAC; distinct from the cursor MAC.
func (s *Server) callbackSalt() uint64 { return mix64(s.cursorSalt ^ 0x6b6663616c6c6261) }

// Callback tokens are "ENC" + base64url of ordinal(4) | seq(8) |
// issued unix nanoseconds(8) | mac(8): 41 bytes.
const callbackTokenRawLen = 28

// newCallbackTokenLocked issues a callback token for the account.
func (s *Server) newCallbackTokenLocked(a *account, now time.Time) string {
	s.cbSeq++
	var raw [callbackTokenRawLen]byte
	issued := uint64(now.UnixNano())
	binary.BigEndian.PutUint32(raw[0:4], a.ordinal)
	binary.BigEndian.PutUint64(raw[4:12], s.cbSeq)
	binary.BigEndian.PutUint64(raw[12:20], issued)
	binary.BigEndian.PutUint64(raw[20:28], tokenMAC(s.callbackSalt(), uint64(a.ordinal), s.cbSeq, issued))
	b := make([]byte, 0, 3+base64.RawURLEncoding.EncodedLen(callbackTokenRawLen))
	b = append(b, "ENC"...)
	return string(base64.RawURLEncoding.AppendEncode(b, raw[:]))
}

// validCallbackToken reports whether tok was issued by this server for a
// and is at most 10 minutes old.
func (s *Server) validCallbackToken(a *account, tok string, now time.Time) bool {
	enc, ok := strings.CutPrefix(tok, "ENC")
	if !ok || base64.RawURLEncoding.DecodedLen(len(enc)) != callbackTokenRawLen {
		return false
	}
	var raw [callbackTokenRawLen]byte
	if n, err := cursorEncoding.Decode(raw[:], []byte(enc)); err != nil || n != callbackTokenRawLen {
		return false
	}
	ord := binary.BigEndian.Uint32(raw[0:4])
	seq := binary.BigEndian.Uint64(raw[4:12])
	issued := binary.BigEndian.Uint64(raw[12:20])
	mac := binary.BigEndian.Uint64(raw[20:28])
	if ord != a.ordinal || mac != tokenMAC(s.callbackSalt(), uint64(ord), seq, issued) {
		return false
	}
	age := now.Sub(time.Unix(0, int64(issued)))
	return age <= CallbackTokenTTL && age >= -CallbackTokenTTL
}

// Access tokens are "kftest_at_<seq>_" + base64url of issued unix
// nanoseconds(8) | mac(8).
const (
	accessTokenPrefix = "kftest_at_"
	accessTokenRawLen = 16
)

// newAccessToken issues an access token valid for the configured TTL.
func (s *Server) newAccessToken(now time.Time) string {
	seq := s.tokenSeq.Add(1)
	issued := uint64(now.UnixNano())
	var raw [accessTokenRawLen]byte
	binary.BigEndian.PutUint64(raw[0:8], issued)
	binary.BigEndian.PutUint64(raw[8:16], tokenMAC(s.tokenSalt, seq, issued))
	b := make([]byte, 0, 64)
	b = append(b, accessTokenPrefix...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, '_')
	return string(base64.RawURLEncoding.AppendEncode(b, raw[:]))
}

// checkAccessToken reports whether tok was issued by this server and, if
// so, whether it has expired (by time or [Server.ExpireTokens]).
func (s *Server) checkAccessToken(tok string, now time.Time) (known, expired bool) {
	rest, ok := strings.CutPrefix(tok, accessTokenPrefix)
	if !ok {
		return false, false
	}
	num, enc, ok := strings.Cut(rest, "_")
	if !ok || base64.RawURLEncoding.DecodedLen(len(enc)) != accessTokenRawLen {
		return false, false
	}
	seq, err := strconv.ParseUint(num, 10, 64)
	if err != nil || strconv.FormatUint(seq, 10) != num {
		return false, false
	}
	var raw [accessTokenRawLen]byte
	if n, err := cursorEncoding.Decode(raw[:], []byte(enc)); err != nil || n != accessTokenRawLen {
		return false, false
	}
	issued := binary.BigEndian.Uint64(raw[0:8])
	if binary.BigEndian.Uint64(raw[8:16]) != tokenMAC(s.tokenSalt, seq, issued) || seq > s.tokenSeq.Load() {
		return false, false
	}
	expires := time.Unix(0, int64(issued)).Add(s.cfg.tokenTTL)
	return true, seq <= s.expiredThrough.Load() || !now.Before(expires)
}
