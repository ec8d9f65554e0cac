package callback

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// Fuzz modes of FuzzDecryptMessage.
const (
	fuzzRaw        = iota // body and signature as given
	fuzzSignedBody        // body as given, signed correctly over its Encrypt element
	fuzzPlainText         // data is AES plaintext (whole blocks, unpadded): exercises unpadding and layout checks
	fuzzMessage           // data is a message: encrypt, build the POST body, decrypt, parse
	fuzzModes
)

// FuzzDecryptMessage checks that verification and decryption never panic, that every error
// wraps one sentinel, and, when the input is signed or encrypted correctly, that decryption
// agrees with a reference implementation written independently below.
func FuzzDecryptMessage(f *testing.F) {
	f.Add(uint8(fuzzRaw), cSignature, cTimestamp, cNonce, []byte(cBody))
	f.Add(uint8(fuzzSignedBody), "", "1", "2", []byte(a2Body))
	f.Add(uint8(fuzzPlainText), "", "1", "2", pkcs7(layout("hello", receiveIDA)))
	f.Add(uint8(fuzzMessage), "", "1", "2", []byte(cPlain))
	c, err := New(tokenA, aesKeyA, receiveIDA)
	require.NoError(f, err)
	key := mustDecode(f, aesKeyA+"=")
	block, err := aes.NewCipher(key)
	require.NoError(f, err)

	f.Fuzz(func(t *testing.T, mode uint8, sig, ts, nonce string, data []byte) {
		switch mode % fuzzModes {
		case fuzzRaw:
			plain, err := c.DecryptMessage(sig, ts, nonce, data)
			checkResult(t, plain, err)
			plain, err = c.VerifyURL(sig, ts, nonce, string(data))
			checkResult(t, plain, err)

		case fuzzSignedBody:
			checkFastMatchesSlow(t, data)
			enc, err := encryptElement(data)
			if err != nil {
				require.ErrorIs(t, err, ErrBadXML)
				return
			}
			plain, err := c.DecryptMessage(c.Signature(ts, nonce, string(enc)), ts, nonce, data)
			checkResult(t, plain, err)
			require.NotErrorIs(t, err, ErrBadSignature)

		case fuzzPlainText:
			data = data[:len(data)/aes.BlockSize*aes.BlockSize]
			ct := make([]byte, len(data))
			cipher.NewCBCEncrypter(block, key[:aes.BlockSize]).CryptBlocks(ct, data)
			enc := base64.StdEncoding.EncodeToString(ct)
			got, err := c.DecryptMessage(c.Signature(ts, nonce, enc), ts, nonce, postBody(receiveIDA, enc))
			checkResult(t, got, err)
			want, wantErr := referenceUnwrap(data, receiveIDA)
			if wantErr != nil {
				require.ErrorIs(t, err, wantErr)
			} else {
				require.NoError(t, err)
				require.Equal(t, want, got)
			}

		case fuzzMessage:
			enc, err := c.EncryptWithRandom([]byte("0123456789abcdef"), data)
			require.NoError(t, err)
			plain, err := c.DecryptMessage(c.Signature(ts, nonce, enc), ts, nonce, postBody(receiveIDA, enc))
			require.NoError(t, err)
			require.Equal(t, data, plain, "round trip")
			ev, err := ParseEvent(plain)
			if err != nil {
				require.ErrorIs(t, err, ErrBadXML)
				require.Nil(t, ev)
			}
		}
	})
}

// referenceUnwrap is an independent, straightforward implementation of the checks after CBC
// decryption (https://developer.work.weixin.qq.com/document/path/90968).
func referenceUnwrap(p []byte, rid string) ([]byte, error) {
	if len(p) == 0 {
		return nil, ErrBadLength
	}
	pad := int(p[len(p)-1])
	if pad == 0 || pad > 32 || pad > len(p) || !bytes.Equal(p[len(p)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, ErrBadPadding
	}
	p = p[:len(p)-pad]
	if len(p) < 20 {
		return nil, ErrBadLength
	}
	n := int64(binary.BigEndian.Uint32(p[16:20]))
	if n > int64(len(p)-20) {
		return nil, ErrBadLength
	}
	if string(p[20+n:]) != rid {
		return nil, ErrReceiveIDMismatch
	}
	return p[20 : 20+n], nil
}

// checkResult: exactly one of plain and err, and err wraps a sentinel.
func checkResult(t *testing.T, plain []byte, err error) {
	t.Helper()
	if err == nil {
		require.NotNil(t, plain)
		return
	}
	require.Nil(t, plain)
	n := 0
	for _, s := range allSentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	require.Equal(t, 1, n, "error wraps %d sentinels: %v", n, err)
}

// FuzzParseEvent checks that ParseEvent never panics, fails only with ErrBadXML, and that the
// fast scanner agrees with encoding/xml whenever it accepts a document.
func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(cPlain))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastMatchesSlow(t, data)
		ev, err := ParseEvent(data)
		if err != nil {
			require.ErrorIs(t, err, ErrBadXML)
			require.Nil(t, ev)
			return
		}
		require.Equal(t, data, ev.Raw)
	})
}
