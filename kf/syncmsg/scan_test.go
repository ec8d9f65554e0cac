package syncmsg

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzScan holds the hand-written readers of scan.go to encoding/json's
// answers on every valid JSON object: decodeHeader and decodeEventHead to
// json.Unmarshal into headerWire and eventHeadWire (the same fields, and an
// error exactly when json has one), and member to a json.RawMessage field.
func FuzzScan(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "syncmsg", "*.json"))
	require.NoError(f, err)
	for _, p := range files {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(b)
	}
	for _, s := range []string{
		`{"MSGID":"a","msgid":null,"MsgType":"text","text":1,"TEXT":{"content":"x"}}`,
		`{"msgid":"a","msgid":7,"send_time":1.5,"origin":4294967296,"msgtype":"\u0074ext"}`,
		`{"open_\u212afid":"k","ſervicer_userid":"s","external_userid":"\ud800é\n","event_type":[]}`,
		`{"send_time":-9223372036854775808,"origin":-0,"msgtype":{"a":"}"},"text":"\"}"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, obj []byte) {
		if !json.Valid(obj) || !isObject(obj) {
			return
		}
		h, err := decodeHeader(obj)
		var hw headerWire
		jsonErr := json.Unmarshal(obj, &hw)
		require.Equal(t, jsonErr == nil, err == nil, "header error %v, json's %v", err, jsonErr)
		require.Equal(t, headerWire{
			MsgID: h.MsgID, OpenKFID: h.OpenKFID, ExternalUserID: h.ExternalUserID, SendTime: h.SendTime,
			Origin: h.Origin, ServicerUserID: h.ServicerUserID, MsgType: h.MsgType,
		}, hw)

		ew, err := decodeEventHead(obj)
		var jw eventHeadWire
		jsonErr = json.Unmarshal(obj, &jw)
		require.Equal(t, jsonErr == nil, err == nil, "event head error %v, json's %v", err, jsonErr)
		require.Equal(t, jw, ew)

		var raw struct {
			Text json.RawMessage `json:"text"`
		}
		require.NoError(t, json.Unmarshal(obj, &raw))
		require.Equal(t, string(raw.Text), string(member(obj, "text")))
	})
}
