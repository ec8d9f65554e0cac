package callback

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

const (
	// encodingAESKeyLen is the length of an EncodingAESKey: 32 bytes in base64 without the
	// final "=".
	encodingAESKeyLen = 43
	// blockPad is the PKCS#7 block size WeCom pads to (not the AES block size).
	blockPad = 32
	// randomLen is the length of the random prefix of the plaintext.
	randomLen = 16
	// headerLen is random16 plus the big-endian 32-bit message length.
	headerLen = randomLen + 4
)

// Cipher verifies, decrypts and encrypts WeCom callback messages for one callback URL
// configuration (Token, EncodingAESKey, receiveid). Create it with [New]; the AES key schedule
// is computed once there. A Cipher is immutable and safe for concurrent use.
type Cipher struct {
	token     string
	receiveID string
	block     cipher.Block
	iv        [aes.BlockSize]byte
	window    time.Duration
	now       func() time.Time
}

type options struct {
	window time.Duration
	now    func() time.Time
}

// Option configures a [Cipher] in [New].
type Option func(*options)

// WithTimestampWindow makes [Cipher.DecryptMessage] reject a request whose timestamp differs
// from the clock by more than d (in either direction) with [ErrStaleTimestamp], and a
// non-numeric timestamp with [ErrBadTimestamp]. The check runs after the signature check and
// does not apply to [Cipher.VerifyURL]. WeCom makes at most 3 attempts 5 s apart, so a
// window of a few minutes tolerates clock skew. Default: 0 (no check). Negative values make
// [New] fail.
func WithTimestampWindow(d time.Duration) Option {
	return func(o *options) { o.window = d }
}

// WithClock sets the clock used by the timestamp window. Default: [time.Now]; nil means the
// default.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// New returns a Cipher for the callback configuration of one URL. token is the callback
// Token, encodingAESKey the 43-character EncodingAESKey, and receiveID the value WeCom appends
// inside every ciphertext: the CorpID (ww…) for a self-built app, which is how a KF bot is
// normally built; the SuiteID for a third-party suite; "" in some scenarios.
//
// New does no I/O. It returns the [errors.Join] of every problem: an empty token, a negative
// timestamp window, or a malformed EncodingAESKey (wrapping [ErrBadAESKey]).
func New(token, encodingAESKey, receiveID string, opts ...Option) (*Cipher, error) {
	o := options{}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.now == nil {
		o.now = time.Now
	}
	var errs []error
	if token == "" {
		errs = append(errs, errors.New("callback: empty token: set the Token configured for the callback URL"))
	}
	if o.window < 0 {
		errs = append(errs, fmt.Errorf("callback: negative timestamp window %s: use 0 to disable the check", o.window))
	}
	key, err := decodeAESKey(encodingAESKey)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	block, err := aes.NewCipher(key)
	if err != nil { // unreachable: the key is 32 bytes
		return nil, fmt.Errorf("%w: %v", ErrBadAESKey, err)
	}
	c := &Cipher{token: token, receiveID: receiveID, block: block, window: o.window, now: o.now}
	copy(c.iv[:], key[:aes.BlockSize])
	return c, nil
}

// decodeAESKey turns an EncodingAESKey into the 32-byte AES key. The decoder must be the
// non-strict one: real keys (such as the official sample key) have non-zero trailing bits.
func decodeAESKey(s string) ([]byte, error) {
	const check = "check the EncodingAESKey copied from the callback settings"
	if len(s) != encodingAESKeyLen {
		return nil, fmt.Errorf("%w: EncodingAESKey must be %d characters, got %d; %s", ErrBadAESKey, encodingAESKeyLen, len(s), check)
	}
	key, err := base64.StdEncoding.DecodeString(s + "=")
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%w: EncodingAESKey is not base64 of a 32-byte key; %s", ErrBadAESKey, check)
	}
	return key, nil
}

// Signature returns the WeCom msg_signature of data (the Encrypt or echostr text): the lower-case
// hex SHA-1 of Token, timestamp, nonce and data sorted byte-wise and concatenated.
func (c *Cipher) Signature(timestamp, nonce, data string) string {
	sig := c.sign(timestamp, nonce, []byte(data))
	return string(sig[:])
}

// sign computes the signature into a fixed array so that verification does not allocate for
// typical sizes.
func (c *Cipher) sign(timestamp, nonce string, data []byte) [2 * sha1.Size]byte {
	var scratch [128]byte
	s := append(scratch[:0], c.token...)
	s = append(s, timestamp...)
	s = append(s, nonce...)
	nt, nts := len(c.token), len(c.token)+len(timestamp)
	parts := [4][]byte{s[:nt], s[nt:nts], s[nts:], data}
	for i := 1; i < len(parts); i++ { // insertion sort of four values
		for j := i; j > 0 && bytes.Compare(parts[j-1], parts[j]) > 0; j-- {
			parts[j-1], parts[j] = parts[j], parts[j-1]
		}
	}
	var joined [1024]byte
	buf := joined[:0]
	for _, p := range parts {
		buf = append(buf, p...)
	}
	sum := sha1.Sum(buf)
	var out [2 * sha1.Size]byte
	hex.Encode(out[:], sum[:])
	return out
}

// verify reports in constant time whether msgSignature is the signature of data.
func (c *Cipher) verify(msgSignature, timestamp, nonce string, data []byte) bool {
	want := c.sign(timestamp, nonce, data)
	if len(msgSignature) != len(want) {
		return false
	}
	var v byte
	for i := range want {
		v |= msgSignature[i] ^ want[i]
	}
	return subtle.ConstantTimeByteEq(v, 0) == 1
}

// VerifyURL answers WeCom's GET URL verification: it checks msgSignature over echostr (already
// URL-decoded, as [net/url.Values] returns it), decrypts echostr, checks the receiveid and
// returns the plaintext to send back as the whole response body. The timestamp window does not
// apply. The returned slice is freshly allocated and owned by the caller.
func (c *Cipher) VerifyURL(msgSignature, timestamp, nonce, echostr string) ([]byte, error) {
	data := []byte(echostr)
	if !c.verify(msgSignature, timestamp, nonce, data) {
		hint := ""
		if strings.IndexByte(echostr, ' ') >= 0 {
			hint = " (echostr contains a space: was an unescaped '+' decoded as a space?)"
		}
		return nil, fmt.Errorf("%w: msg_signature does not match echostr%s; check the Token configured for the callback URL", ErrBadSignature, hint)
	}
	return c.decrypt("echostr", data)
}

// DecryptMessage handles a POST callback: it extracts the Encrypt element from body (the outer
// XML; element order does not matter, unknown elements and a missing AgentID are fine), checks
// msgSignature over it, checks the timestamp window if one is set, decrypts, checks the
// receiveid and returns the inner plaintext XML, ready for [ParseEvent]. The returned slice is
// freshly allocated and owned by the caller; body is not retained. The caller should bound the
// body size (e.g. with [net/http.MaxBytesReader]).
func (c *Cipher) DecryptMessage(msgSignature, timestamp, nonce string, body []byte) ([]byte, error) {
	plain, _, err := c.Open(msgSignature, timestamp, nonce, body)
	return plain, err
}

// Open is [Cipher.DecryptMessage] that also returns the receive id found inside the
// ciphertext, for a [NotifyHeader.ReceiveID].
func (c *Cipher) Open(msgSignature, timestamp, nonce string, body []byte) (plain []byte, receiveID string, err error) {
	enc, err := encryptElement(body)
	if err != nil {
		return nil, "", err
	}
	if !c.verify(msgSignature, timestamp, nonce, enc) {
		return nil, "", fmt.Errorf("%w: msg_signature does not match the Encrypt element; check the Token configured for the callback URL", ErrBadSignature)
	}
	if err := c.checkTimestamp(timestamp); err != nil {
		return nil, "", err
	}
	plain, err = c.decrypt("Encrypt", enc)
	if err != nil {
		return nil, "", err
	}
	return plain, c.receiveID, nil // decrypt refuses any other
}

func (c *Cipher) checkTimestamp(timestamp string) error {
	if c.window <= 0 {
		return nil
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp is not a decimal Unix time in seconds; check the query parameters of the callback request", ErrBadTimestamp)
	}
	w := int64(c.window / time.Second)
	if c.window%time.Second != 0 {
		w++
	}
	now := c.now().Unix()
	if ts >= now-w && ts <= now+w {
		return nil
	}
	d, dir := now-ts, "behind"
	if d < 0 {
		d, dir = -d, "ahead of"
	}
	skew := "more than 292 years"
	if d >= 0 && d < math.MaxInt64/int64(time.Second) { // d < 0 only for math.MinInt64
		skew = (time.Duration(d) * time.Second).String()
	}
	return fmt.Errorf("%w: timestamp is %s %s the local clock, allowed ±%s; check the server clock or whether the request was replayed", ErrStaleTimestamp, skew, dir, c.window)
}

// decrypt base64-decodes and decrypts data (named field in errors) and returns the message
// inside, as a sub-slice of a fresh buffer.
func (c *Cipher) decrypt(field string, data []byte) ([]byte, error) {
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(data)))
	n, err := base64.StdEncoding.Decode(buf, data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not standard padded base64 (%v); check that it was not altered or URL-decoded twice", ErrBadBase64, field, err)
	}
	ct := buf[:n]
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: %s decodes to %d bytes, want a positive multiple of %d; check that it was not truncated", ErrBadLength, field, len(ct), aes.BlockSize)
	}
	cipher.NewCBCDecrypter(c.block, c.iv[:]).CryptBlocks(ct, ct)

	pad := int(ct[len(ct)-1])
	if pad < 1 || pad > blockPad || pad > len(ct) {
		return nil, fmt.Errorf("%w: PKCS#7 pad length %d, want 1..%d; check the EncodingAESKey configured for the callback URL", ErrBadPadding, pad, blockPad)
	}
	for _, b := range ct[len(ct)-pad:] {
		if int(b) != pad {
			return nil, fmt.Errorf("%w: PKCS#7 pad bytes are not all %d; check the EncodingAESKey configured for the callback URL", ErrBadPadding, pad)
		}
	}
	p := ct[:len(ct)-pad]
	if len(p) < headerLen {
		return nil, fmt.Errorf("%w: plaintext is %d bytes, shorter than its %d-byte header; check the EncodingAESKey", ErrBadLength, len(p), headerLen)
	}
	msgLen := binary.BigEndian.Uint32(p[randomLen:headerLen])
	if uint64(msgLen) > uint64(len(p)-headerLen) {
		return nil, fmt.Errorf("%w: message length field is %d but only %d bytes follow; check the EncodingAESKey", ErrBadLength, msgLen, len(p)-headerLen)
	}
	end := headerLen + int(msgLen)
	if rid := p[end:]; string(rid) != c.receiveID {
		const maxShown = 64
		if len(rid) > maxShown {
			rid = rid[:maxShown]
		}
		return nil, fmt.Errorf("%w: ciphertext is for receiveid %q but %q is configured; use the CorpID for a self-built app, the SuiteID for a third-party suite", ErrReceiveIDMismatch, rid, c.receiveID)
	}
	return p[headerLen:end:end], nil
}

// Encrypt encrypts msg with a fresh random 16-character alphanumeric prefix (as the official
// libraries do) and returns the base64 text for an Encrypt element or echostr.
func (c *Cipher) Encrypt(msg []byte) (string, error) {
	const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	var random [randomLen]byte
	if _, err := rand.Read(random[:]); err != nil {
		return "", fmt.Errorf("callback: encrypt: read random: %w", err)
	}
	for i, b := range random {
		random[i] = alnum[int(b)%len(alnum)]
	}
	return c.EncryptWithRandom(random[:], msg)
}

// EncryptWithRandom encrypts msg deterministically with the given 16-byte random prefix and
// returns base64(AES-256-CBC(random ‖ BE32(len(msg)) ‖ msg ‖ receiveid ‖ PKCS#7-to-32)). It
// exists for test vectors and fakes; use [Cipher.Encrypt] otherwise. A prefix that is not 16
// bytes, or a message of 4 GiB or more, fails with [ErrBadLength].
func (c *Cipher) EncryptWithRandom(random, msg []byte) (string, error) {
	if len(random) != randomLen {
		return "", fmt.Errorf("%w: random prefix is %d bytes, want %d", ErrBadLength, len(random), randomLen)
	}
	if uint64(len(msg)) > math.MaxUint32 {
		return "", fmt.Errorf("%w: message is %d bytes, more than a 32-bit length allows", ErrBadLength, len(msg))
	}
	n := headerLen + len(msg) + len(c.receiveID)
	pad := blockPad - n%blockPad
	buf := make([]byte, n+pad)
	copy(buf, random)
	binary.BigEndian.PutUint32(buf[randomLen:headerLen], uint32(len(msg)))
	copy(buf[headerLen:], msg)
	copy(buf[headerLen+len(msg):], c.receiveID)
	for i := n; i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(c.block, c.iv[:]).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// EncryptMessage builds a complete POST callback for msg (the inner XML), as WeCom would send
// it: it encrypts msg with a random prefix and returns the outer XML body
// (ToUserName = receiveid, Encrypt, empty AgentID) and the msg_signature for the given
// timestamp and nonce. It exists for tests and fake servers.
func (c *Cipher) EncryptMessage(msg []byte, timestamp, nonce string) (body []byte, msgSignature string, err error) {
	enc, err := c.Encrypt(msg)
	if err != nil {
		return nil, "", err
	}
	return postBody(c.receiveID, enc), c.Signature(timestamp, nonce, enc), nil
}

// postBody returns the outer XML of a POST callback.
func postBody(toUserName, encrypt string) []byte {
	var b bytes.Buffer
	b.Grow(len(toUserName) + len(encrypt) + 128)
	b.WriteString("<xml><ToUserName>")
	writeCDATA(&b, toUserName)
	b.WriteString("</ToUserName><Encrypt>")
	writeCDATA(&b, encrypt)
	b.WriteString("</Encrypt><AgentID><![CDATA[]]></AgentID></xml>")
	return b.Bytes()
}

// writeCDATA writes s as CDATA, splitting sections around any "]]>" inside s.
func writeCDATA(b *bytes.Buffer, s string) {
	b.WriteString("<![CDATA[")
	b.WriteString(strings.ReplaceAll(s, "]]>", "]]]]><![CDATA[>"))
	b.WriteString("]]>")
}
