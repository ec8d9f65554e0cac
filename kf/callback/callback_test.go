package callback

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		token   string
		key     string
		opts    []Option
		wantIs  error
		wantErr string
	}{
		{name: "ok", token: tokenA, key: aesKeyA},
		{name: "ok with options", token: tokenA, key: aesKeyA, opts: []Option{WithTimestampWindow(time.Minute), WithClock(nil), nil}},
		{name: "short key", token: tokenA, key: aesKeyA[:42], wantIs: ErrBadAESKey, wantErr: "43 characters, got 42"},
		{name: "long key", token: tokenA, key: aesKeyA + "A", wantIs: ErrBadAESKey},
		{name: "non-base64 key", token: tokenA, key: strings.Repeat("*", 43), wantIs: ErrBadAESKey, wantErr: "not base64"},
		{name: "key with padding inside", token: tokenA, key: "=" + aesKeyA[1:], wantIs: ErrBadAESKey},
		{name: "empty token", token: "", key: aesKeyA, wantErr: "empty token"},
		{name: "negative window", token: tokenA, key: aesKeyA, opts: []Option{WithTimestampWindow(-time.Second)}, wantErr: "negative timestamp window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.token, tt.key, receiveIDA, tt.opts...)
			if tt.wantIs == nil && tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, c)
				return
			}
			require.Error(t, err)
			assert.Nil(t, c)
			if tt.wantIs != nil {
				assert.ErrorIs(t, err, tt.wantIs)
			}
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.True(t, strings.HasPrefix(err.Error(), "callback: "), err.Error())
			assert.NotContains(t, err.Error(), tt.key[:20], "error must not echo the key")
		})
	}
}

func TestNewJoinsErrors(t *testing.T) {
	_, err := New("", "short", "", WithTimestampWindow(-1))
	require.ErrorIs(t, err, ErrBadAESKey)
	assert.Contains(t, err.Error(), "empty token")
	assert.Contains(t, err.Error(), "negative timestamp window")
}

// encryptRaw CBC-encrypts plaintext blocks with the Cipher's key and IV without adding any
// padding, so tests can craft invalid layouts.
func encryptRaw(t testing.TB, key string, plain []byte) string {
	t.Helper()
	k, err := base64.StdEncoding.DecodeString(key + "=")
	require.NoError(t, err)
	require.Zero(t, len(plain)%aes.BlockSize, "crafted plaintext must be whole blocks")
	block, err := aes.NewCipher(k)
	require.NoError(t, err)
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, k[:aes.BlockSize]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}

// layout returns random16 ‖ BE32(len(msg)) ‖ msg ‖ rid, unpadded.
func layout(msg, rid string) []byte {
	b := []byte("0123456789abcdef")
	b = binary.BigEndian.AppendUint32(b, uint32(len(msg)))
	b = append(b, msg...)
	return append(b, rid...)
}

// pkcs7 pads b to a multiple of 32 with the correct pad bytes.
func pkcs7(b []byte) []byte {
	pad := 32 - len(b)%32
	return append(b, bytes.Repeat([]byte{byte(pad)}, pad)...)
}

func TestDecryptRejects(t *testing.T) {
	c := newA(t)
	const ts, nonce = "1700000000", "42"
	valid := pkcs7(layout("hello", receiveIDA))
	padded := func(body []byte, last ...byte) []byte {
		out := append([]byte(nil), body...)
		copy(out[len(out)-len(last):], last)
		return out
	}

	tests := []struct {
		name    string
		encrypt string // Encrypt text, correctly signed unless sig is set
		sig     string
		want    error
	}{
		{name: "tampered signature", encrypt: cEncrypt, sig: "52668329fdbfe7231f633f5fcd0c0f4c0b29780f", want: ErrBadSignature},
		{name: "upper-case signature", encrypt: cEncrypt, sig: strings.ToUpper(c.Signature(ts, nonce, cEncrypt)), want: ErrBadSignature},
		{name: "short signature", encrypt: cEncrypt, sig: "5266", want: ErrBadSignature},
		{name: "empty signature", encrypt: cEncrypt, sig: "-", want: ErrBadSignature},
		{name: "bad base64", encrypt: "not*base64!", want: ErrBadBase64},
		{name: "unpadded base64", encrypt: strings.TrimRight(cEncrypt, "="), want: ErrBadBase64},
		{name: "empty ciphertext", encrypt: "", want: ErrBadLength},
		{name: "ciphertext not a multiple of 16", encrypt: base64.StdEncoding.EncodeToString(make([]byte, 17)), want: ErrBadLength},
		{name: "truncated ciphertext", encrypt: base64.StdEncoding.EncodeToString(mustDecode(t, cEncrypt)[:100]), want: ErrBadLength},
		{name: "pad 0", encrypt: encryptRaw(t, aesKeyA, padded(valid, 0)), want: ErrBadPadding},
		{name: "pad 33, all pad bytes 33", encrypt: encryptRaw(t, aesKeyA, padded(append(valid, make([]byte, 32)...), bytes.Repeat([]byte{33}, 33)...)), want: ErrBadPadding},
		{name: "pad 48, all pad bytes 48", encrypt: encryptRaw(t, aesKeyA, padded(append(valid, make([]byte, 48)...), bytes.Repeat([]byte{48}, 48)...)), want: ErrBadPadding},
		{name: "pad 255", encrypt: encryptRaw(t, aesKeyA, padded(valid, 255)), want: ErrBadPadding},
		{name: "pad larger than text", encrypt: encryptRaw(t, aesKeyA, bytes.Repeat([]byte{32}, 16)), want: ErrBadPadding},
		{name: "inconsistent pad bytes", encrypt: encryptRaw(t, aesKeyA, padded(pkcs7(layout("hello!", receiveIDA)), 7, 5)), want: ErrBadPadding},
		{name: "wrong key", encrypt: mustEncrypt(t, aesKeyB, receiveIDA, "hello"), want: ErrBadPadding},
		{name: "shorter than header", encrypt: encryptRaw(t, aesKeyA, pkcs7([]byte("0123456789abcdef"))), want: ErrBadLength},
		{name: "length field too large", encrypt: encryptRaw(t, aesKeyA, pkcs7(binary.BigEndian.AppendUint32([]byte("0123456789abcdef"), 1000))), want: ErrBadLength},
		{name: "length field 0xffffffff", encrypt: encryptRaw(t, aesKeyA, pkcs7(binary.BigEndian.AppendUint32([]byte("0123456789abcdef"), 0xffffffff))), want: ErrBadLength},
		{name: "wrong receiveid", encrypt: mustEncrypt(t, aesKeyA, "ww0000000000000000", "hello"), want: ErrReceiveIDMismatch},
		{name: "empty receiveid", encrypt: mustEncrypt(t, aesKeyA, "", "hello"), want: ErrReceiveIDMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := tt.sig
			switch sig {
			case "":
				sig = c.Signature(ts, nonce, tt.encrypt)
			case "-":
				sig = ""
			}
			_, err := c.DecryptMessage(sig, ts, nonce, postBody(receiveIDA, tt.encrypt))
			requireOnly(t, err, tt.want)

			_, err = c.VerifyURL(sig, ts, nonce, tt.encrypt)
			requireOnly(t, err, tt.want)
		})
	}
	t.Run("control: the crafted layout is valid", func(t *testing.T) {
		enc := encryptRaw(t, aesKeyA, valid)
		got, err := c.VerifyURL(c.Signature(ts, nonce, enc), ts, nonce, enc)
		require.NoError(t, err)
		assert.Equal(t, "hello", string(got))
	})
}

var allSentinels = []error{ErrBadSignature, ErrBadBase64, ErrBadPadding, ErrBadLength,
	ErrReceiveIDMismatch, ErrBadXML, ErrStaleTimestamp, ErrBadTimestamp, ErrBadAESKey}

// requireOnly checks that err wraps want and no other sentinel, and reads like
// "callback: <sentinel>: <explanation>".
func requireOnly(t *testing.T, err, want error) {
	t.Helper()
	require.ErrorIs(t, err, want)
	for _, s := range allSentinels {
		if s != want {
			assert.NotErrorIs(t, err, s)
		}
	}
	assert.True(t, strings.HasPrefix(err.Error(), want.Error()+": "), err.Error())
	assert.NotContains(t, err.Error(), tokenA)
	assert.NotContains(t, err.Error(), aesKeyA)
}

func mustDecode(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}

func mustEncrypt(t testing.TB, key, rid, msg string) string {
	t.Helper()
	c, err := New(tokenA, key, rid)
	require.NoError(t, err)
	enc, err := c.EncryptWithRandom([]byte("0123456789abcdef"), []byte(msg)) // deterministic
	require.NoError(t, err)
	return enc
}

func TestDecryptMessageBadXML(t *testing.T) {
	c := newA(t)
	tests := []struct {
		name string
		body string
	}{
		{name: "empty", body: ""},
		{name: "not xml", body: "hello"},
		{name: "json", body: `{"Encrypt":"` + cEncrypt + `"}`},
		{name: "unclosed", body: "<xml><Encrypt>" + cEncrypt},
		{name: "mismatched tags", body: "<xml><Encrypt>" + cEncrypt + "</Encrypted></xml>"},
		{name: "no Encrypt", body: "<xml><ToUserName>ww1</ToUserName></xml>"},
		{name: "Encrypt not a child of the root", body: "<xml><A><Encrypt>" + cEncrypt + "</Encrypt></A></xml>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.DecryptMessage(cSignature, cTimestamp, cNonce, []byte(tt.body))
			requireOnly(t, err, ErrBadXML)
		})
	}
}

func TestDecryptMessageOuterXMLLenient(t *testing.T) {
	c := newA(t)
	enc := "<![CDATA[" + cEncrypt + "]]>"
	tests := []struct {
		name string
		body string
	}{
		{name: "vector body", body: cBody},
		{name: "Encrypt first", body: "<xml><Encrypt>" + enc + "</Encrypt><ToUserName>ww</ToUserName><AgentID>218</AgentID></xml>"},
		{name: "no AgentID", body: "<xml><ToUserName>ww</ToUserName><Encrypt>" + enc + "</Encrypt></xml>"},
		{name: "only Encrypt, plain text", body: "<xml><Encrypt>" + cEncrypt + "</Encrypt></xml>"},
		{name: "pretty printed", body: "\n<xml>\n  <ToUserName><![CDATA[ww]]></ToUserName>\n  <Encrypt>" + enc + "</Encrypt>\n  <AgentID/>\n</xml>\n"},
		{name: "unknown and nested elements", body: "<xml><X a='1'><Y>z</Y></X><Encrypt>" + enc + "</Encrypt><!-- c --></xml>"},
		{name: "declaration", body: `<?xml version="1.0" encoding="UTF-8"?><xml><Encrypt>` + enc + "</Encrypt></xml>"},
		{name: "non-ASCII elsewhere", body: "<xml><ToUserName>企业</ToUserName><Encrypt>" + enc + "</Encrypt></xml>"},
		{name: "CRLF", body: "<xml>\r\n<Encrypt>" + enc + "</Encrypt>\r\n</xml>"},
		{name: "other root name", body: "<root><Encrypt>" + enc + "</Encrypt></root>"},
		{name: "escaped text", body: "<xml><Encrypt>" + strings.ReplaceAll(cEncrypt, "+", "&#43;") + "</Encrypt></xml>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.DecryptMessage(cSignature, cTimestamp, cNonce, []byte(tt.body))
			require.NoError(t, err)
			assert.Equal(t, cPlain, string(got))
		})
	}
}

func TestTimestampWindow(t *testing.T) {
	at := func(sec int64) Option { return WithClock(func() time.Time { return time.Unix(sec, 0) }) }
	const sent = 1700000000
	tests := []struct {
		name string
		opts []Option
		ts   string
		want error
	}{
		{name: "no window, ancient", opts: []Option{at(sent + 10*365*86400)}, ts: cTimestamp},
		{name: "no window, non-numeric", opts: []Option{at(sent)}, ts: "abc"},
		{name: "inside", opts: []Option{WithTimestampWindow(5 * time.Minute), at(sent + 300)}, ts: cTimestamp},
		{name: "inside, clock behind", opts: []Option{WithTimestampWindow(5 * time.Minute), at(sent - 300)}, ts: cTimestamp},
		{name: "sub-second window rounds up", opts: []Option{WithTimestampWindow(time.Millisecond), at(sent + 1)}, ts: cTimestamp},
		{name: "too old", opts: []Option{WithTimestampWindow(5 * time.Minute), at(sent + 301)}, ts: cTimestamp, want: ErrStaleTimestamp},
		{name: "from the future", opts: []Option{WithTimestampWindow(5 * time.Minute), at(sent - 301)}, ts: cTimestamp, want: ErrStaleTimestamp},
		{name: "extreme", opts: []Option{WithTimestampWindow(time.Minute), at(sent)}, ts: "-9223372036854775808", want: ErrStaleTimestamp},
		{name: "non-numeric", opts: []Option{WithTimestampWindow(time.Minute), at(sent)}, ts: "abc", want: ErrBadTimestamp},
		{name: "empty", opts: []Option{WithTimestampWindow(time.Minute), at(sent)}, ts: "", want: ErrBadTimestamp},
		{name: "overflow", opts: []Option{WithTimestampWindow(time.Minute), at(sent)}, ts: "99999999999999999999", want: ErrBadTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newA(t, tt.opts...)
			sig := c.Signature(tt.ts, cNonce, cEncrypt)
			got, err := c.DecryptMessage(sig, tt.ts, cNonce, []byte(cBody))
			if tt.want == nil {
				require.NoError(t, err)
				assert.Equal(t, cPlain, string(got))
			} else {
				requireOnly(t, err, tt.want)
			}
			// VerifyURL ignores the window.
			echo, err := c.VerifyURL(sig, tt.ts, cNonce, cEncrypt)
			require.NoError(t, err)
			assert.Equal(t, cPlain, string(echo))
		})
	}
	t.Run("message says which way", func(t *testing.T) {
		for _, tc := range []struct {
			now  int64
			want string
		}{{sent + 3600, "1h0m0s behind"}, {sent - 90, "1m30s ahead of"}} {
			c := newA(t, WithTimestampWindow(time.Minute), at(tc.now))
			_, err := c.DecryptMessage(cSignature, cTimestamp, cNonce, []byte(cBody))
			require.ErrorIs(t, err, ErrStaleTimestamp)
			assert.Contains(t, err.Error(), tc.want)
		}
	})
	t.Run("signature is checked before the timestamp", func(t *testing.T) {
		c := newA(t, WithTimestampWindow(time.Minute), at(0))
		_, err := c.DecryptMessage(cSignature[1:]+"0", cTimestamp, cNonce, []byte(cBody))
		requireOnly(t, err, ErrBadSignature)
	})
}

func TestVerifyURLPlusHint(t *testing.T) {
	c := newA(t)
	_, err := c.VerifyURL(a1Signature, a1Timestamp, a1Nonce, strings.ReplaceAll(a1Echostr, "+", " "))
	requireOnly(t, err, ErrBadSignature)
	assert.Contains(t, err.Error(), "'+'")
}

func TestEncryptWithRandomErrors(t *testing.T) {
	c := newA(t)
	_, err := c.EncryptWithRandom([]byte("short"), []byte("x"))
	require.ErrorIs(t, err, ErrBadLength)
	_, err = c.EncryptWithRandom(nil, nil)
	require.ErrorIs(t, err, ErrBadLength)
}

func TestEncryptIsRandomAndAlphanumeric(t *testing.T) {
	c := newA(t)
	e1, err := c.Encrypt([]byte("same"))
	require.NoError(t, err)
	e2, err := c.Encrypt([]byte("same"))
	require.NoError(t, err)
	assert.NotEqual(t, e1, e2)

	// Decrypt by hand to look at the random prefix.
	k := mustDecode(t, aesKeyA+"=")
	block, err := aes.NewCipher(k)
	require.NoError(t, err)
	ct := mustDecode(t, e1)
	cipher.NewCBCDecrypter(block, k[:16]).CryptBlocks(ct, ct)
	for _, b := range ct[:16] {
		assert.True(t, ('0' <= b && b <= '9') || ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z'), "prefix byte %q", b)
	}
	assert.Zero(t, len(ct)%32, "padded to 32-byte blocks")
}

func TestPostBodyEscapesCDATA(t *testing.T) {
	c, err := New(tokenA, aesKeyA, "a]]>b")
	require.NoError(t, err)
	body, sig, err := c.EncryptMessage([]byte("<xml/>"), "1", "2")
	require.NoError(t, err)
	var env struct{ ToUserName string }
	require.NoError(t, xml.Unmarshal(body, &env))
	assert.Equal(t, "a]]>b", env.ToUserName)
	got, err := c.DecryptMessage(sig, "1", "2", body)
	require.NoError(t, err)
	assert.Equal(t, "<xml/>", string(got))
}

// TestRoundTripProperty: for random configurations and events, EncryptMessage → DecryptMessage
// → ParseEvent gives back the event, and VerifyURL decrypts any random bytes.
func TestRoundTripProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "abcXYZ0189_-+/= <>&'\"]]>\t\n\r中文😀\u00a0"
	randStr := func(max int) string {
		r := []rune(alphabet)
		var b strings.Builder
		for range rng.IntN(max + 1) {
			b.WriteRune(r[rng.IntN(len(r))])
		}
		return b.String()
	}
	randKey := func() string {
		k := make([]byte, 32)
		for i := range k {
			k[i] = byte(rng.Uint32())
		}
		return base64.StdEncoding.EncodeToString(k)[:43]
	}
	for i := range 500 {
		token := "T" + fmt.Sprint(rng.Uint64())
		rid := strings.TrimSpace(randStr(20))
		c, err := New(token, randKey(), rid)
		require.NoError(t, err)

		want := &Event{
			ToUserName: strings.TrimSpace(randStr(20)),
			CreateTime: rng.Int64(),
			MsgType:    "event",
			Event:      EventName(strings.TrimSpace(randStr(30))),
			Token:      strings.TrimSpace(randStr(128)),
			OpenKFID:   strings.TrimSpace(randStr(20)),
		}
		if rng.IntN(2) == 0 {
			want.Event = EventKFAccountAuthChange
			for range rng.IntN(4) {
				want.AuthAddOpenKFID = append(want.AuthAddOpenKFID, strings.TrimSpace(randStr(10)))
			}
			for range rng.IntN(4) {
				want.AuthDelOpenKFID = append(want.AuthDelOpenKFID, strings.TrimSpace(randStr(10)))
			}
		}
		msg := marshalEvent(want, rng.IntN(2) == 0)
		want.Raw = msg
		ts, nonce := fmt.Sprint(rng.Int64()), fmt.Sprint(rng.Uint32())

		body, sig, err := c.EncryptMessage(msg, ts, nonce)
		require.NoError(t, err)
		plain, err := c.DecryptMessage(sig, ts, nonce, body)
		require.NoError(t, err, "iteration %d", i)
		require.Equal(t, msg, plain)
		got, err := ParseEvent(plain)
		require.NoError(t, err)
		require.Equal(t, want, got, "iteration %d: %s", i, msg)

		raw := make([]byte, rng.IntN(200))
		for j := range raw {
			raw[j] = byte(rng.Uint32())
		}
		enc, err := c.Encrypt(raw)
		require.NoError(t, err)
		echo, err := c.VerifyURL(c.Signature(ts, nonce, enc), ts, nonce, enc)
		require.NoError(t, err)
		require.Equal(t, raw, echo)
	}
}

// marshalEvent writes e as WeCom would, in CDATA (split around "]]>") or escaped text.
func marshalEvent(e *Event, cdata bool) []byte {
	var b bytes.Buffer
	el := func(name, v string) {
		b.WriteString("<" + name + ">")
		if cdata && !strings.Contains(v, "\r") {
			writeCDATA(&b, v)
		} else {
			_ = xml.EscapeText(&b, []byte(v))
		}
		b.WriteString("</" + name + ">")
	}
	b.WriteString("<xml>")
	el("ToUserName", e.ToUserName)
	el("CreateTime", fmt.Sprint(e.CreateTime))
	el("MsgType", e.MsgType)
	el("Event", string(e.Event))
	el("Token", e.Token)
	el("OpenKfId", e.OpenKFID)
	for _, id := range e.AuthAddOpenKFID {
		el("AuthAddOpenKfId", id)
	}
	for _, id := range e.AuthDelOpenKFID {
		el("AuthDelOpenKfId", id)
	}
	b.WriteString("</xml>")
	return b.Bytes()
}

func TestErrorsAreDistinct(t *testing.T) {
	for i, a := range allSentinels {
		for j, b := range allSentinels {
			if i != j {
				assert.False(t, errors.Is(a, b), "%v is %v", a, b)
			}
		}
		assert.True(t, strings.HasPrefix(a.Error(), "callback: "))
	}
}

func TestConcurrentUse(t *testing.T) {
	c := newA(t, WithTimestampWindow(time.Hour), WithClock(func() time.Time { return time.Unix(1700000000, 0) }))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				plain, err := c.DecryptMessage(cSignature, cTimestamp, cNonce, []byte(cBody))
				assert.NoError(t, err)
				assert.Equal(t, cPlain, string(plain))
				body, sig, err := c.EncryptMessage(plain, "1", "2")
				assert.NoError(t, err)
				_, err = c.DecryptMessage(sig, "1", "2", body)
				assert.ErrorIs(t, err, ErrStaleTimestamp)
			}
		})
	}
	wg.Wait()
}
