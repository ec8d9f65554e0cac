package kftest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzAppendCustomerText checks the reflection-free text item encoder
// against encoding/json.
func FuzzAppendCustomerText(f *testing.F) {
	for _, s := range []string{"hello", "中文", `a "q" \ <b>&`, "\x00\x1f", "\u2028\u2029", "\xff\xfe", "é\xc3"} {
		f.Add("from_msgid_1", "wk1", "wm1", int64(1700000000), "", s, "")
		f.Add("from_msgid_2", "wk"+s, "wm1", int64(1), "alice", s, s)
	}
	f.Fuzz(func(t *testing.T, msgID, openKFID, user string, sendTime int64, servicer, content, menuID string) {
		origin := originCustomer
		if servicer != "" {
			origin = originServicer
		}
		want := marshal(wireItem{
			MsgID: msgID, OpenKFID: openKFID, ExternalUserID: user, SendTime: sendTime,
			Origin: origin, ServicerUserID: servicer, MsgType: "text",
			Text: &wireText{Content: content, MenuID: menuID},
		})
		if openKFID == "" || user == "" {
			t.Skip("omitempty fields differ by design")
		}
		got := appendCustomerText(nil, msgID, openKFID, user, sendTime, origin, servicer, content, menuID)
		require.Equal(t, string(want), string(got))
	})
}

func TestCursorRoundTrip(t *testing.T) {
	s := NewUnstartedServer(WithSeed(5))
	for _, idx := range []int{0, 1, 999, 1 << 30} {
		c := string(s.appendCursor(nil, 3, idx))
		assert.LessOrEqual(t, len(c), 64)
		got, ok := s.decodeCursor(c, 3)
		require.True(t, ok)
		assert.Equal(t, idx, got)
		_, ok = s.decodeCursor(c, 4)
		assert.False(t, ok, "bound to the account")
		tampered := []byte(c)
		tampered[len(tampered)-1] ^= 1
		_, ok = s.decodeCursor(string(tampered), 3)
		assert.False(t, ok)
	}
}
