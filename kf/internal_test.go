package kf

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://qyapi.weixin.qq.com/cgi-bin/kf/send_msg?access_token=abc123", "https://qyapi.weixin.qq.com/cgi-bin/kf/send_msg?access_token=REDACTED"},
		{"https://h/cgi-bin/media/upload?access_token=abc&type=image", "https://h/cgi-bin/media/upload?access_token=REDACTED&type=image"},
		{"https://h/cgi-bin/gettoken?corpid=ww1&corpsecret=s%2Fx", "https://h/cgi-bin/gettoken?corpid=ww1&corpsecret=REDACTED"},
		{"https://h/cgi-bin/kf/sync_msg", "https://h/cgi-bin/kf/sync_msg"},
		{"://bad url?access_token=abc", "://bad url?REDACTED"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, redactURL(tt.in), tt.in)
	}
}

func TestScrub(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		secrets []string
		want    string
	}{
		{"whole words", "x tok y a/b+c", []string{"tok", "a/b+c"}, "x REDACTED y REDACTED"},
		{"query-escaped form", "q=a%2Fb%2Bc", []string{"a/b+c"}, "q=REDACTED"},
		{"empty secret", "unchanged", []string{""}, "unchanged"},
		{"short secret inside a corp id", "corpid ww0123abcdef", []string{"abc"}, "corpid ww0123abcdef"},
		{"short secret at the start and end of other values", "abcdef xabc abc_1 a-abc", []string{"abc"}, "abcdef xabc abc_1 a-abc"},
		{"short secret alone", "abc, (abc) \"abc\" abc.", []string{"abc"}, "REDACTED, (REDACTED) \"REDACTED\" REDACTED."},
		{"gettoken query", "/cgi-bin/gettoken?corpid=ww0123abcdef&corpsecret=abc", []string{"abc"}, "/cgi-bin/gettoken?corpid=ww0123abcdef&corpsecret=REDACTED"},
		{"api query", "/cgi-bin/kf/sync_msg?access_token=tok-1&debug=1", []string{"tok-1"}, "/cgi-bin/kf/sync_msg?access_token=REDACTED&debug=1"},
		{"token that is a prefix of another token", "tok-1 tok-12", []string{"tok-1"}, "REDACTED tok-12"},
		{"secret inside REDACTED is not re-redacted", "access_token=tok corpsecret=ACTED", []string{"tok", "ACTED"}, "access_token=REDACTED corpsecret=REDACTED"},
		{"secret that is a substring of the token", "access_token=abc123 corpsecret=abc", []string{"abc123", "abc"}, "access_token=REDACTED corpsecret=REDACTED"},
		{"the same, secrets in the other order", "access_token=abc123 corpsecret=abc", []string{"abc", "abc123"}, "access_token=REDACTED corpsecret=REDACTED"},
		{"overlapping occurrences", "aaa aa", []string{"aa"}, "aaa REDACTED"},
		{"escaped secret inside another escaped value", "q=xa%2Fb", []string{"a/b"}, "q=xa%2Fb"},
		{"secret starting with a separator", "x/tail", []string{"/tail"}, "xREDACTED"},
		{"non-ASCII borders", "密钥abc。", []string{"abc"}, "密钥REDACTED。"},
		{"a long secret glued to other text", "errmsg 0tok-secret1", []string{"tok-secret"}, "errmsg 0REDACTED1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, scrub(tt.in, tt.secrets...))
		})
	}
}

func TestRedactURLKeepsOtherValuesWithAShortSecret(t *testing.T) {
	got := redactURL("https://h/cgi-bin/gettoken?corpid=ww0123abcdef&corpsecret=abc")
	assert.Equal(t, "https://h/cgi-bin/gettoken?corpid=ww0123abcdef&corpsecret=REDACTED", got)
	assert.Equal(t, got, scrub(got, "abc"), "scrubbing the redacted URL again changes nothing")
}

func TestFlexBoolAndParseUnix(t *testing.T) {
	for in, want := range map[string]bool{`0`: false, `1`: true, `2`: true, `true`: true, `false`: false, `"1"`: true, `null`: false, `0.0`: false} {
		var b flexBool
		require.NoError(t, json.Unmarshal([]byte(in), &b), in)
		assert.Equal(t, want, bool(b), in)
	}
	var b flexBool
	assert.Error(t, json.Unmarshal([]byte(`"yes"`), &b))

	for in, want := range map[string]int64{`"1380000000"`: 1380000000, `1380000000`: 1380000000} {
		ts, err := parseUnix(json.RawMessage(in))
		require.NoError(t, err)
		assert.Equal(t, want, ts.Unix())
	}
	ts, err := parseUnix(nil)
	require.NoError(t, err)
	assert.True(t, ts.IsZero())
	_, err = parseUnix(json.RawMessage(`"12:00"`))
	assert.Error(t, err)
}

func TestUploadBodyLengthMatchesContent(t *testing.T) {
	for _, req := range []UploadMediaRequest{
		{Type: MediaImage, Filename: "a.png", Body: strings.NewReader("0123456789")},
		{Type: MediaFile, Filename: `we"ird\name.txt`, Body: bytes.NewReader([]byte("0123456789")), ContentType: "text/plain"},
		{Type: MediaFile, Filename: "big.bin", Body: strings.NewReader(strings.Repeat("x", 100)), Size: 40},
	} {
		up, err := newUpload(req)
		require.NoError(t, err)
		r, n, ct, err := up.open(t.Context())
		require.NoError(t, err)
		data, err := io.ReadAll(r)
		require.NoError(t, err)
		assert.Equal(t, int64(len(data)), n, "Content-Length equals the bytes sent")

		_, params, err := mime.ParseMediaType(ct)
		require.NoError(t, err)
		part, err := multipart.NewReader(bytes.NewReader(data), params["boundary"]).NextPart()
		require.NoError(t, err)
		assert.Equal(t, "media", part.FormName())
		assert.Equal(t, req.Filename, part.FileName())
		_, dparams, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
		require.NoError(t, err)
		content, _ := io.ReadAll(part)
		assert.Equal(t, strconv.Itoa(len(content)), dparams["filelength"])
	}
}

func TestIsNil(t *testing.T) {
	var p *Text
	var m OutMessage = p
	assert.True(t, isNil(nil))
	assert.True(t, isNil(m))
	assert.False(t, isNil(Text{}))
	assert.False(t, isNil(&Text{}))
}

// FuzzDecodeBody feeds arbitrary answers to the response decoder with every
// response shape the client uses: it must never panic, a nil error means a
// zero errcode, and an *APIError never carries code 0 or the secrets.
func FuzzDecodeBody(f *testing.F) {
	seeds := []string{
		`{"errcode":0,"errmsg":"ok","next_cursor":"c","has_more":1,"msg_list":[{"msgid":"a"}]}`,
		`{"errcode":0,"has_more":"1","msg_list":null}`,
		`{"errcode":95018,"errmsg":"invalid state tok-secret"}`,
		`{"errcode":0,"type":"image","media_id":"m","created_at":"1380000000"}`,
		`{"errcode":0,"customer_list":[{"external_userid":"wm","enter_session_context":{"wechat_channels":{"scene":"2"}}}]}`,
		`{"errcode":0,"customer_list":[{"enter_session_context":{"wechat_channels":{"scene":{}}}}]}`,
		`{"errcode":0,"service_state":3,"servicer_userid":"z"}`,
		`<html>502</html>`, ``, `null`, `[]`, `{"errcode":"x"}`, `{"errcode":1e3}`,
	}
	for _, s := range seeds {
		f.Add(200, s)
		f.Add(502, s)
	}
	const secret = "tok-secret"
	f.Fuzz(func(t *testing.T, code int, body string) {
		outs := []result{
			&struct {
				apiStatus
				NextCursor string            `json:"next_cursor"`
				HasMore    flexBool          `json:"has_more"`
				MsgList    []json.RawMessage `json:"msg_list"`
			}{},
			&struct {
				apiStatus
				BatchGetCustomerResponse
			}{},
			&struct {
				apiStatus
				ServiceStateResponse
			}{},
			&struct {
				apiStatus
				SendMsgResponse
			}{},
			new(sendMsgAnswer), // the fast decoders, with encoding/json as fallback
			new(sendMsgOnEventAnswer),
			new(syncMsgAnswer),
			&struct {
				apiStatus
				Type      MediaType       `json:"type"`
				MediaID   string          `json:"media_id"`
				CreatedAt json.RawMessage `json:"created_at"`
			}{},
		}
		for _, out := range outs {
			err := decodeBody("op", code, "", "application/json", []byte(body), out, secret)
			var ae *APIError
			switch {
			case err == nil:
				if out.status().ErrCode != 0 {
					t.Fatalf("nil error with errcode %d", out.status().ErrCode)
				}
			case errors.As(err, &ae):
				if ae.Code == 0 {
					t.Fatal("APIError with code 0")
				}
				if strings.Contains(ae.Message, secret) {
					t.Fatal("secret in errmsg")
				}
			}
		}
	})
}

// Every code with a meaning also has a hint, and a hint never contains "; ",
// so "; what to do: " stays the last separator of APIError.Error.
func TestEveryKnownCodeHasAHint(t *testing.T) {
	for code := range codeText {
		h := CodeHint(code)
		assert.NotEmpty(t, h, "code %d", code)
		assert.NotContains(t, h, "; ", "code %d", code)
		assert.False(t, strings.HasSuffix(h, "."), "code %d ends with a period", code)
	}
	for code := range codeHint {
		assert.NotEmpty(t, CodeText(code), "code %d has a hint but no meaning", code)
	}
}

// FuzzScrub checks scrub against a plain definition for secrets made of ID
// bytes: text without the secret is left as it is, and no whole occurrence of
// the secret is left over.
func FuzzScrub(f *testing.F) {
	f.Add("corpid=ww0123abcdef&corpsecret=abc", "abc")
	f.Add("tok-1 tok-12 xtok-1", "tok-1")
	f.Add("aaa aa a", "aa")
	f.Fuzz(func(t *testing.T, s, sec string) {
		if sec == "" || sec == redacted || strings.IndexFunc(sec, func(r rune) bool { return r >= 0x80 || !isIDByte(byte(r)) }) >= 0 {
			t.Skip("only non-empty secrets of ID bytes")
		}
		got := scrub(s, sec)
		if !strings.Contains(s, sec) {
			require.Equal(t, s, got)
			return
		}
		for i := 0; ; i++ {
			j := strings.Index(got[i:], sec)
			if j < 0 {
				break
			}
			i += j
			end := i + len(sec)
			whole := (i == 0 || !isIDByte(got[i-1])) && (end == len(got) || !isIDByte(got[end]))
			require.False(t, whole, "a whole %q is left at %d in %q", sec, i, got)
		}
	})
}
