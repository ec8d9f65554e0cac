package kf_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf"
)

func TestInvalidRequestsAreRejectedLocally(t *testing.T) {
	send := func(msgID string, m kf.OutMessage) func(*kf.Client) error {
		return func(cl *kf.Client) error {
			_, err := cl.SendMsg(t.Context(), kf.SendMsgRequest{ToUser: "wm1", OpenKFID: "wk1", MsgID: msgID, Message: m})
			return err
		}
	}
	items := func(n int) []kf.MenuItem {
		var it []kf.MenuItem
		for range n {
			it = append(it, kf.MenuClick{Content: "x"})
		}
		return it
	}
	var nilText *kf.Text
	tests := []struct {
		name string
		call func(*kf.Client) error
		want string // part of the error text that says what to do
	}{
		{"msgid too long", send(strings.Repeat("a", 33), kf.Text{Content: "hi"}), "33 bytes, more than the 32 allowed"},
		{"msgid bad char", send("prefix:abc", kf.Text{Content: "hi"}), `contains ':'; only [0-9a-zA-Z_-] is allowed`},
		{"empty text", send("", kf.Text{}), "text content is empty"},
		{"text too long", send("", kf.Text{Content: strings.Repeat("字", 683)}), "2049 bytes, more than the 2048 allowed; split it"},
		{"nil message", send("", nil), "Message is required"},
		{"nil *Text", send("", nilText), "Message is required"},
		{"menu too many items", send("", kf.Menu{Items: items(11)}), "11 items, more than the 10 allowed"},
		{"menu no items", send("", kf.Menu{Head: "h"}), "no items; send a Text instead"},
		{"menu nil item", send("", kf.Menu{Items: []kf.MenuItem{kf.MenuClick{Content: "a"}, (*kf.MenuView)(nil)}}), "menu item 1 is nil"},
		{"menu item without content", send("", kf.Menu{Items: []kf.MenuItem{kf.MenuClick{ID: "1"}}}), "click item needs a Content"},
		{"image without media", send("", kf.Image{}), "upload the media first"},
		{"link without http", send("", kf.Link{Title: "t", URL: "example.com", ThumbMediaID: "x"}), "must start with http:// or https://"},
		{"location out of range", send("", kf.Location{Latitude: 91}), "out of range"},
		{"send without touser", func(cl *kf.Client) error {
			_, err := cl.SendMsg(t.Context(), kf.SendMsgRequest{OpenKFID: "wk1", Message: kf.Text{Content: "hi"}})
			return err
		}, "ToUser is required"},
		{"on_event with image", func(cl *kf.Client) error {
			_, err := cl.SendMsgOnEvent(t.Context(), kf.SendMsgOnEventRequest{Code: "c", Message: kf.Image{MediaID: "m"}})
			return err
		}, "image messages cannot be sent on an event; only Text and Menu are allowed"},
		{"on_event without code", func(cl *kf.Client) error {
			_, err := cl.SendMsgOnEvent(t.Context(), kf.SendMsgOnEventRequest{Message: kf.Text{Content: "hi"}})
			return err
		}, "Code is required"},
		{"sync without open_kfid", func(cl *kf.Client) error {
			_, err := cl.SyncMsg(t.Context(), kf.SyncMsgRequest{Cursor: "c"})
			return err
		}, "OpenKFID is required"},
		{"sync limit too big", func(cl *kf.Client) error {
			_, err := cl.SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: "wk1", Limit: 5000})
			return err
		}, "Limit 5000 is out of range"},
		{"trans to human without servicer", func(cl *kf.Client) error {
			_, err := cl.TransServiceState(t.Context(), kf.TransServiceStateRequest{OpenKFID: "wk1", ExternalUserID: "wm1", ServiceState: kf.StateHuman})
			return err
		}, "ServicerUserID is required"},
		{"state get without ids", func(cl *kf.Client) error {
			_, err := cl.ServiceState(t.Context(), kf.ServiceStateRequest{OpenKFID: "wk1"})
			return err
		}, "OpenKFID and ExternalUserID are required"},
		{"account list limit", func(cl *kf.Client) error {
			_, err := cl.AccountList(t.Context(), kf.AccountListRequest{Limit: 101})
			return err
		}, "Limit 101 is out of range"},
		{"batchget too many", func(cl *kf.Client) error {
			_, err := cl.BatchGetCustomer(t.Context(), kf.BatchGetCustomerRequest{ExternalUserIDs: make([]string, 101)})
			return err
		}, "101 ExternalUserIDs given; give 1..100"},
		{"upload bad type", func(cl *kf.Client) error {
			_, err := cl.UploadMedia(t.Context(), kf.UploadMediaRequest{Type: "gif", Filename: "a", Body: bytes.NewReader(make([]byte, 10))})
			return err
		}, `media type "gif" is not one of`},
		{"upload too small", func(cl *kf.Client) error {
			_, err := cl.UploadMedia(t.Context(), kf.UploadMediaRequest{Type: kf.MediaFile, Filename: "a.txt", Body: strings.NewReader("12345")})
			return err
		}, "5 bytes; WeCom requires more than 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			err := tt.call(newClient(f))
			require.ErrorIs(t, err, kf.ErrInvalidRequest)
			assert.Contains(t, err.Error(), tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "kf: "), err.Error())
			assert.Zero(t, f.tokensIssued(), "no I/O before validation")
		})
	}
}

func TestValidBoundaryValues(t *testing.T) {
	f := newFake().on("kf/send_msg", seq(okJSON("")))
	cl := newClient(f)
	items := make([]kf.MenuItem, kf.MaxMenuItems)
	for i := range items {
		items[i] = kf.MenuText{Content: "x"}
	}
	for _, req := range []kf.SendMsgRequest{
		{MsgID: strings.Repeat("Az09_-", 5) + "ab", Message: kf.Text{Content: strings.Repeat("a", kf.MaxTextBytes)}},
		{Message: kf.Menu{Items: items}},
		{Message: kf.Location{Latitude: -90, Longitude: 180}},
	} {
		req.ToUser, req.OpenKFID = "wm1", "wk1"
		_, err := cl.SendMsg(t.Context(), req)
		require.NoError(t, err)
	}
	assert.Equal(t, 3, f.count("kf/send_msg"))
}

func TestConfigurationErrorsAreReportedByCalls(t *testing.T) {
	tests := []struct {
		name string
		cl   *kf.Client
		want string
	}{
		{"relative base URL", kf.NewClient("ww", "s", kf.WithBaseURL("qyapi.weixin.qq.com")), "invalid base URL"},
		{"base URL with query", kf.NewClient("ww", "s", kf.WithBaseURL("https://x.test/?a=1")), "invalid base URL"},
		{"missing secret", kf.NewClient("ww", ""), "corpID and secret are required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.cl.SyncMsg(t.Context(), kf.SyncMsgRequest{OpenKFID: "wk1"})
			require.ErrorContains(t, err, tt.want)
			require.ErrorContains(t, tt.cl.Ping(t.Context()), tt.want)
		})
	}
}
