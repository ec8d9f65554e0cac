package kf

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fastSeeds are answers of the plain shape (taken by the fast path) and near
// misses that must go to encoding/json.
var fastSeeds = []string{
	`{"errcode":0,"errmsg":"ok","msgid":"reply-0001"}`,
	` {"errcode" : 95018 , "errmsg" : "invalid state, hint: [1]"} `,
	`{"errcode":0,"errmsg":"ok","next_cursor":"4gw7MepFLfgF2VC5npN","has_more":1,"msg_list":[{"msgid":"a","text":{"content":"你好"}},{"msgid":"b","n":[1,-2.5e3,true,null]}]}`,
	`{"errcode":0,"msg_list":[],"has_more":false,"extra":{"a":[{},[]]}}`,
	`{"ErrCode":40014,"ERRMSG":"x","MsgID":"m"}`,
	`{"errcode":1,"errcode":2}`,
	`{"errcode":null,"errmsg":null,"msgid":null,"has_more":null,"msg_list":null}`,
	`{"errcode":1e3}`, `{"errcode":1.0}`, `{"errcode":-0}`, `{"errcode":01}`, `{"errcode":"0"}`,
	`{"errcode":99999999999999999999}`, `{"errcode":-9223372036854775808}`,
	`{"errmsg":"a\"b\u00e9"}`, `{"errmsg":"\xff"}`, `{"errmsg":"é"}`,
	`{"msg_list":[1,"x",null]}`, `{"msg_list":[{"a":1},]}`, `{"msg_list":{}}`,
	`{"has_more":2}`, `{"has_more":"1"}`, `{"has_more":0.0}`,
	`{"\u0065rrcode":1}`, `{"errcod\u212a":1}`, `{"ſ":1}`,
	`{"errcode":0} x`, `{"errcode":0}}`, `{"errcode":0,}`, `{}`, `[]`, `null`, ``, `{"a":tru}`,
	`{"a":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`,
}

// FuzzFastDecode holds every fast decoder to encoding/json: when the fast
// path takes an answer, json.Unmarshal accepts it and gives the same value;
// when it does not, its destination is unchanged. decodeBody gives the same
// error and value with and without the fast path.
func FuzzFastDecode(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		data := []byte(body)
		checkFast(t, data, new(sendMsgAnswer), new(sendMsgAnswer))
		checkFast(t, data, &sendMsgAnswer{hint: "reply-0001"}, &sendMsgAnswer{hint: "reply-0001"})
		checkFast(t, data, new(sendMsgOnEventAnswer), new(sendMsgOnEventAnswer))
		checkFast(t, data, new(syncMsgAnswer), new(syncMsgAnswer))

		const secret = "tok-secret"
		{
			var fast sendMsgAnswer
			var slow struct {
				apiStatus
				SendMsgResponse
			}
			ef := decodeBody("op", 200, "", "application/json", data, &fast, secret)
			es := decodeBody("op", 200, "", "application/json", data, &slow, secret)
			sameErr(t, es, ef)
			if es == nil {
				require.Equal(t, slow, fast.w)
			}
		}
		{
			var fast syncMsgAnswer
			var slow struct {
				apiStatus
				NextCursor string            `json:"next_cursor"`
				HasMore    flexBool          `json:"has_more"`
				MsgList    []json.RawMessage `json:"msg_list"`
			}
			ef := decodeBody("op", 200, "", "application/json", data, &fast, secret)
			es := decodeBody("op", 200, "", "application/json", data, &slow, secret)
			sameErr(t, es, ef)
			if es == nil {
				require.Equal(t, syncMsgAnswer(slow), fast)
			}
		}
	})
}

func checkFast[T any, P interface {
	*T
	fastDecoder
}](t *testing.T, data []byte, fast, ref P) {
	t.Helper()
	before := *fast
	if !fast.decodeFast(data) {
		require.Equal(t, before, *(*T)(fast), "a refused answer leaves the destination alone")
		return
	}
	require.NoError(t, json.Unmarshal(data, ref.jsonTarget()), "the fast path took an answer encoding/json refuses")
	require.Equal(t, ref, fast)
}

func sameErr(t *testing.T, want, got error) {
	t.Helper()
	if want == nil {
		require.NoError(t, got)
		return
	}
	require.Error(t, got)
	require.Equal(t, want.Error(), got.Error())
	require.IsType(t, want, got)
}

func TestFastDecodeTakesThePlainShapes(t *testing.T) {
	tests := []struct {
		name string
		out  fastDecoder
		body string
		want bool
	}{
		{"send_msg", new(sendMsgAnswer), fastSeeds[0], true},
		{"an error", new(sendMsgAnswer), fastSeeds[1], true},
		{"send_msg_on_event", new(sendMsgOnEventAnswer), fastSeeds[0], true},
		{"a sync_msg page", new(syncMsgAnswer), fastSeeds[2], true},
		{"an empty page with unknown members", new(syncMsgAnswer), fastSeeds[3], true},
		{"other letter case", new(sendMsgAnswer), fastSeeds[4], true},
		{"a repeated name", new(sendMsgAnswer), fastSeeds[5], false},
		{"null", new(syncMsgAnswer), fastSeeds[6], false},
		{"an exponent", new(sendMsgAnswer), `{"errcode":1e3}`, false},
		{"an escape", new(sendMsgAnswer), `{"errmsg":"a\"b\u00e9"}`, false},
		{"an escaped name", new(sendMsgAnswer), `{"\u0065rrcode":1}`, false},
		{"invalid UTF-8", new(sendMsgAnswer), "{\"errmsg\":\"\xff\"}", false},
		{"trailing data", new(sendMsgAnswer), `{"errcode":0} x`, false},
		{"not an object", new(sendMsgAnswer), `null`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.out.decodeFast([]byte(tt.body)))
		})
	}
}

func TestFastSyncItemsDoNotOverlap(t *testing.T) {
	var a syncMsgAnswer
	data := []byte(`{"msg_list":[{"a":1},{"b":2}]}`)
	require.True(t, a.decodeFast(data))
	require.Len(t, a.MsgList, 2)
	data[14] = 'X' // the items are a copy, not the read buffer
	_ = append(a.MsgList[0], "garbage"...)
	assert.Equal(t, `{"a":1}`, string(a.MsgList[0]))
	assert.Equal(t, `{"b":2}`, string(a.MsgList[1]), "appending to one item leaves the next alone")
}

// The msgid a send gave, echoed in the answer, costs no allocation; another
// msgid costs one.
func TestFastMsgIDReusesTheHint(t *testing.T) {
	data := []byte(`{"errcode":0,"errmsg":"ok","msgid":"reply-0001"}`)
	tests := []struct {
		hint   string
		allocs float64
	}{{"reply-0001", 0}, {"other", 1}, {"", 1}}
	for _, tt := range tests {
		a := &sendMsgAnswer{hint: tt.hint}
		got := testing.AllocsPerRun(100, func() {
			a.w = sendMsgAnswer{}.w
			if !a.decodeFast(data) {
				t.Fatal("the plain answer was refused")
			}
		})
		assert.Equal(t, tt.allocs, got, "hint %q", tt.hint)
		assert.Equal(t, "reply-0001", a.w.MsgID)
	}
}
