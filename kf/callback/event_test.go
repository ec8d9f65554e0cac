package callback

import (
	"encoding/xml"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseEvent(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Event
	}{
		{
			name: "kf_msg_or_event (vector C)",
			in:   cPlain,
			want: Event{ToUserName: receiveIDA, CreateTime: 1348831860, MsgType: "event", Event: EventKFMsgOrEvent, Token: cToken, OpenKFID: "wkxxxxxxx"},
		},
		{
			name: "kf_msg_or_event without OpenKfId (old style)",
			in:   "<xml><ToUserName><![CDATA[ww1]]></ToUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[tok]]></Token></xml>",
			want: Event{ToUserName: "ww1", CreateTime: 1, MsgType: "event", Event: EventKFMsgOrEvent, Token: "tok"},
		},
		{
			name: "tag spelling is exact: OpenKfID and OpenKFID are not OpenKfId",
			in:   "<xml><Event>kf_msg_or_event</Event><OpenKfID>wkA</OpenKfID><OpenKFID>wkB</OpenKFID><openkfid>wkC</openkfid></xml>",
			want: Event{Event: EventKFMsgOrEvent},
		},
		{
			name: "kf_account_auth_change with repeated elements",
			in: "<xml><ToUserName>ww1</ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime>" +
				"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_account_auth_change]]></Event>" +
				"<AuthAddOpenKfId><![CDATA[wkA]]></AuthAddOpenKfId><AuthDelOpenKfId><![CDATA[wkX]]></AuthDelOpenKfId>" +
				"<AuthAddOpenKfId><![CDATA[wkB]]></AuthAddOpenKfId></xml>",
			want: Event{ToUserName: "ww1", CreateTime: 1700000000, MsgType: "event", Event: EventKFAccountAuthChange,
				AuthAddOpenKFID: []string{"wkA", "wkB"}, AuthDelOpenKFID: []string{"wkX"}},
		},
		{
			name: "unknown event passes through",
			in:   "<xml><ToUserName>ww1</ToUserName><MsgType>event</MsgType><Event>change_contact</Event><ChangeType>create_user</ChangeType></xml>",
			want: Event{ToUserName: "ww1", MsgType: "event", Event: "change_contact"},
		},
		{
			name: "plain message (vector A2)",
			in:   a2Plain,
			want: Event{ToUserName: receiveIDA, CreateTime: 1409659813, MsgType: "text"},
		},
		{
			name: "pretty printed, white space trimmed",
			in:   "<xml>\n\t<Token>\n  <![CDATA[tok]]>\n</Token>\n\t<OpenKfId> wk1 </OpenKfId>\n\t<CreateTime> 5 </CreateTime>\n</xml>\n",
			want: Event{Token: "tok", OpenKFID: "wk1", CreateTime: 5},
		},
		{
			name: "declaration, comment, attributes, nested and non-ASCII elements",
			in: `<?xml version="1.0" encoding="UTF-8"?><!-- hi --><xml a="b"><Event lang="x">kf_msg_or_event</Event>` +
				"<Extra><Token>inner</Token></Extra><Name>客服</Name><Token>t&amp;&lt;</Token><OpenKfId/></xml>",
			want: Event{Event: EventKFMsgOrEvent, Token: "t&<"},
		},
		{
			name: "empty root",
			in:   "<xml></xml>",
			want: Event{},
		},
		{
			name: "last value wins for single elements",
			in:   "<xml><Token>a</Token><Token>b</Token></xml>",
			want: Event{Token: "b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain := []byte(tt.in)
			got, err := ParseEvent(plain)
			require.NoError(t, err)
			tt.want.Raw = plain
			assert.Equal(t, &tt.want, got)
			checkFastMatchesSlow(t, plain)
		})
	}
}

func TestParseEventBadXML(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"text", "kf_msg_or_event"},
		{"json", `{"Event":"kf_msg_or_event"}`},
		{"unclosed root", "<xml><Token>t</Token>"},
		{"mismatched tag", "<xml><Token>t</Tokn></xml>"},
		{"unclosed CDATA", "<xml><Token><![CDATA[t</Token></xml>"},
		{"bad entity", "<xml><Token>&bogus;</Token></xml>"},
		{"unescaped ]]> in text (fuzz regression)", "<xml><Token>]]></Token></xml>"},
		{"CreateTime not an integer", "<xml><CreateTime>yesterday</CreateTime></xml>"},
		{"CreateTime overflow", "<xml><CreateTime>99999999999999999999</CreateTime></xml>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := ParseEvent([]byte(tt.in))
			requireOnly(t, err, ErrBadXML)
			assert.Nil(t, ev)
		})
	}
}

// checkFastMatchesSlow fails if scanFlat accepts doc but encoding/xml reads it differently.
func checkFastMatchesSlow(t testing.TB, doc []byte) {
	t.Helper()
	var fast eventXML
	if !scanEvent(doc, &fast) {
		return
	}
	var slow eventXML
	require.NoError(t, xml.Unmarshal(doc, &slow), "scanFlat accepted what encoding/xml rejects: %q", doc)
	require.Equal(t, slow, fast, "scanFlat and encoding/xml disagree on %q", doc)

	enc, err := encryptElement(doc)
	var env struct {
		Encrypt []string `xml:"Encrypt"`
	}
	require.NoError(t, xml.Unmarshal(doc, &env))
	if len(env.Encrypt) == 0 {
		require.ErrorIs(t, err, ErrBadXML)
	} else {
		require.NoError(t, err)
		require.Equal(t, env.Encrypt[len(env.Encrypt)-1], string(enc))
	}
}

func TestScanFlatSubset(t *testing.T) {
	// Shapes the fast path must hand over to encoding/xml.
	for _, doc := range []string{
		"", "<xml>", "<xml/>", "<xml a='1'></xml>", "<xml><A/></xml>", "<xml><A>x<![CDATA[y]]></A></xml>",
		"<xml><A>&amp;</A></xml>", "<xml><A>\r\n</A></xml>", "<xml><A>é</A></xml>", "<xml><!--c--></xml>",
		"<?xml version='1.0'?><xml></xml>", "<xml><a:A>x</a:A></xml>", "<xml>text</xml>", "<xml></xml>junk",
		"<xml><A><B>x</B></A></xml>", "<xml><A>x</A ></xml>", "<xml></xmlx>", "<1x></1x>", "<xml><A>]]></A></xml>",
	} {
		assert.False(t, scanFlat([]byte(doc), func([]byte, int, int) {}), "%q", doc)
	}
	for _, doc := range []string{cPlain, cBody, a2Plain, a2Body, b3Plain, "<xml></xml>", " <x_1.a-b>\t<A></A>\n</x_1.a-b> "} {
		assert.True(t, scanFlat([]byte(doc), func([]byte, int, int) {}), "%q", doc)
	}
}
