package callback

import "errors"

// Sentinel errors. Every error returned by this package that concerns its input wraps exactly
// one of them with %w, followed by a short explanation of what was wrong and what to check; match
// them with [errors.Is]. No error text contains the Token, the EncodingAESKey or the decrypted
// message.
var (
	// ErrBadSignature means msg_signature does not match SHA-1 over Token, timestamp, nonce and
	// the Encrypt/echostr text (official code -40001).
	ErrBadSignature = errors.New("callback: bad signature")
	// ErrBadBase64 means Encrypt/echostr is not standard padded base64 (official code -40010).
	ErrBadBase64 = errors.New("callback: bad base64")
	// ErrBadPadding means the PKCS#7 padding (32-byte blocks) of the decrypted text is invalid,
	// which almost always means a wrong EncodingAESKey (official code -40008).
	ErrBadPadding = errors.New("callback: bad padding")
	// ErrBadLength means the ciphertext is empty or not a multiple of 16 bytes, or the decrypted
	// layout (random16, 4-byte length, message, receiveid) is inconsistent (official -40008).
	ErrBadLength = errors.New("callback: bad length")
	// ErrReceiveIDMismatch means the receiveid inside the ciphertext differs from the configured
	// one (official code -40005).
	ErrReceiveIDMismatch = errors.New("callback: receiveid mismatch")
	// ErrBadXML means the outer POST body or the decrypted inner XML cannot be parsed, or the
	// outer body has no Encrypt element (official code -40002).
	ErrBadXML = errors.New("callback: bad xml")
	// ErrStaleTimestamp means the timestamp is outside the window set with [WithTimestampWindow].
	ErrStaleTimestamp = errors.New("callback: stale timestamp")
	// ErrBadTimestamp means a timestamp window is set and the timestamp is not a decimal Unix time.
	ErrBadTimestamp = errors.New("callback: bad timestamp")
	// ErrBadAESKey means the EncodingAESKey given to [New] is not 43 base64 characters encoding a
	// 32-byte key (official code -40004).
	ErrBadAESKey = errors.New("callback: bad AES key")
)
