// Package callback verifies, decrypts and parses the callbacks WeCom sends to a WeChat Customer
// Service (KF) bot, and encrypts callbacks for tests and fake servers. It uses only the
// standard library.
//
// # What arrives
//
// When an administrator saves the callback URL, WeCom sends a GET with msg_signature,
// timestamp, nonce and echostr; answer it with [Cipher.VerifyURL] and write the returned
// plaintext as the whole response body (within 1 s). Afterwards every event is a POST with
// msg_signature, timestamp and nonce in the query and an outer XML body holding the ciphertext
// in its Encrypt element; [Cipher.DecryptMessage] returns the inner XML and [ParseEvent] reads
// it. For KF the inner XML is the `kf_msg_or_event` poke (carrying the Token for kf/sync_msg
// and the OpenKfId of the account with new data) or `kf_account_auth_change`; other events
// parse fine and should be acknowledged and ignored.
//
// # Other notifications
//
// [DecodeNotification] decodes every other callback of the WeCom world around a KF bot into
// its own type: provider command callbacks (suite_ticket, create/change/cancel_auth,
// reset_permanent_code, change_contact, share_agent_change), external-contact changes
// (change_external_contact, change_external_chat, change_external_tag), 获客助手 and
// license events, in the InfoType form and the MsgType=event form alike, and an [*Unknown]
// for the rest. Comma-separated lists become slices, times time.Time.
//
// # Scheme
//
// Configuration: the Token (signature only), the 43-character EncodingAESKey and the
// receiveid. For a self-built app, which is how a KF bot is normally built, the receiveid is
// the CorpID (ww…, also the ToUserName); for a third-party suite it is the SuiteID.
//
//   - Signature: msg_signature = lower-case hex SHA-1 of the concatenation of Token,
//     timestamp, nonce and data sorted byte-wise, where data is the echostr (GET) or the
//     Encrypt text (POST). It is compared in constant time and checked before anything is
//     decrypted, so unsigned input never reaches the AES code (no padding oracle).
//   - Key: AESKey = base64(EncodingAESKey + "=") (32 bytes, non-strict decoding; real keys
//     have non-zero trailing bits), AES-256-CBC with IV = AESKey[:16].
//   - Plaintext: random(16) ‖ big-endian uint32 length ‖ message ‖ receiveid, padded with
//     PKCS#7 to a multiple of 32 bytes (pad values 1..32; all pad bytes are checked).
//
// An optional freshness check ([WithTimestampWindow], off by default) rejects POSTs whose
// timestamp is too far from the clock. Decryption (signature, AES, layout and XML) of a KF
// callback takes about 2 µs; flat XML is read by a small scanner, anything unusual by
// encoding/xml.
//
// # Errors
//
// Every input error wraps one sentinel, matched with [errors.Is], and explains what to check:
// [ErrBadSignature] (wrong Token, or altered request), [ErrBadBase64], [ErrBadLength]
// (truncated ciphertext or inconsistent layout), [ErrBadPadding] (usually a wrong
// EncodingAESKey), [ErrReceiveIDMismatch] (CorpID/SuiteID configured wrongly),
// [ErrBadXML], [ErrStaleTimestamp], [ErrBadTimestamp] (non-numeric timestamp with a window) and,
// from [New], [ErrBadAESKey]. Error texts never contain the Token, the key or decrypted data.
// Nothing in this package panics on input; fuzz tests check it.
//
// A [Cipher] is immutable and safe for concurrent use.
package callback
