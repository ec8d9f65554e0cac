package callback

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Test vectors: A is WeCom's own (https://developer.work.weixin.qq.com/document/path/90968), B and C are described below.
const (
	// A: official WeCom vector (doc 90968).
	tokenA     = "QDG6eK"
	aesKeyA    = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	receiveIDA = "wx5823bf96d3bd56c7"

	a1Signature = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
	a1Timestamp = "1409659589"
	a1Nonce     = "263014780"
	a1EchostrQ  = "P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D"
	a1Echostr   = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
	a1Plain     = "1616140317555161061"
	// aNegEchostr is quoted by some repositories with a1Signature; it must be rejected.
	aNegEchostr   = "P9nAzCzyDtyTJa4hJG9C/ZFRVngowJJcQw1CADrzHn4c5sCiRwBOlg8/Mbm7ygRiaxxy+mKR5Mzr54b66AiB5g=="
	aNegSignature = "a3567deea162f83e2f283a6c4b3f2e03f6fc3292"

	a2Signature = "477715d11cdb4164915debcba66cb864d751f3e6"
	a2Timestamp = "1409659813"
	a2Nonce     = "1372623149"
	a2Body      = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
	a2Plain     = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>"

	// B: wechatpy test-suite vector.
	tokenB     = "123456"
	aesKeyB    = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
	receiveIDB = "wx49f0ab532d5d035a"

	b1Signature = "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96"
	b1Timestamp = "1411443780"
	b1Nonce     = "437374425"
	b1Echostr   = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
	b1Plain     = "5927782489442352469"

	b2Signature = "74d92dfeb87ba7c714f89d98870ae5eb62dff26d"
	b2Timestamp = "1411525903"
	b2Nonce     = "461056294"
	b2Encrypt   = "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="

	b3Random    = "1234567890123456"
	b3Timestamp = "1411525903"
	b3Nonce     = "461056294"
	b3Plain     = "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>"
	b3Encrypt   = "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
	b3Signature = "407518b7649e86ef23978113f92d27afa9296533"

	// C: self-generated KF-shaped vector (official Token/Key).
	cRandom    = "0123456789abcdef"
	cTimestamp = "1700000000"
	cNonce     = "123456789"
	cPlain     = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event><Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token><OpenKfId><![CDATA[wkxxxxxxx]]></OpenKfId></xml>"
	cEncrypt   = "sKqRbbiSUnDhFHOvPjtUMUx6o8/E2uRRniEu+jjdYMX7PCvfKzXTKLkR6gm8E3S2SZ+vpjj383+VncwV0OUtWxk/bZxsNBIDx+jnuqweqLuDM2k0sQYBlDPvHfkOy9T9cNS9I/8tfr2HBKrOrMEOejlzAtQjUWk0hl0s3jFtQFpeYIp5fBgtvou5BEXFjdlCTZt9FDyzdF+lohOZsdIP8T/2uZ6GhxsMEY4Eri5R+egWpXIHYd5nm6lHMAQRplgqb2HVh23AP1qtJvcifW3iKvq4gaK8QBav8cmmCxUTKcU1nC+7O1Z+J795nfJaZhLbKHp/874+qtphCcZZftVWRo6frEGwLm3gBSLiuKtWd7xv22RPmA3VwANHyikh2iYWtJiKAh445F9lLuM87kkmWotsNN3z/pE/M7ahSl5+5L4qRuIsCwGuUFg5Uwm31sCHKw4naUvzMSmBhmcGXpww8A=="
	cSignature = "52668329fdbfe7231f633f5fcd0c0f4c0b29780e"
	cBody      = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[" + cEncrypt + "]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>"
	cToken     = "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR"
)

func newA(t testing.TB, opts ...Option) *Cipher {
	t.Helper()
	c, err := New(tokenA, aesKeyA, receiveIDA, opts...)
	require.NoError(t, err)
	return c
}

func newB(t testing.TB) *Cipher {
	t.Helper()
	c, err := New(tokenB, aesKeyB, receiveIDB)
	require.NoError(t, err)
	return c
}

func TestVectorA1VerifyURL(t *testing.T) {
	c := newA(t)
	q, err := url.ParseQuery("echostr=" + a1EchostrQ)
	require.NoError(t, err)
	require.Equal(t, a1Echostr, q.Get("echostr"))

	assert.Equal(t, a1Signature, c.Signature(a1Timestamp, a1Nonce, a1Echostr))
	got, err := c.VerifyURL(a1Signature, a1Timestamp, a1Nonce, q.Get("echostr"))
	require.NoError(t, err)
	assert.Equal(t, a1Plain, string(got))
}

func TestVectorANegativeEchostr(t *testing.T) {
	c := newA(t)
	_, err := c.VerifyURL(a1Signature, a1Timestamp, a1Nonce, aNegEchostr)
	require.ErrorIs(t, err, ErrBadSignature)

	// Even correctly signed, it does not decrypt to a valid layout.
	require.Equal(t, aNegSignature, c.Signature(a1Timestamp, a1Nonce, aNegEchostr))
	_, err = c.VerifyURL(aNegSignature, a1Timestamp, a1Nonce, aNegEchostr)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrBadSignature)
}

func TestVectorA2DecryptMessage(t *testing.T) {
	c := newA(t)
	got, err := c.DecryptMessage(a2Signature, a2Timestamp, a2Nonce, []byte(a2Body))
	require.NoError(t, err)
	assert.Len(t, got, 284)
	assert.Equal(t, a2Plain, string(got))

	ev, err := ParseEvent(got)
	require.NoError(t, err)
	assert.Equal(t, receiveIDA, ev.ToUserName)
	assert.Equal(t, int64(1409659813), ev.CreateTime)
	assert.Equal(t, "text", ev.MsgType)
	assert.Empty(t, ev.Event)
}

func TestVectorB1VerifyURL(t *testing.T) {
	got, err := newB(t).VerifyURL(b1Signature, b1Timestamp, b1Nonce, b1Echostr)
	require.NoError(t, err)
	assert.Equal(t, b1Plain, string(got))
}

func TestVectorB2DecryptMessage(t *testing.T) {
	c := newB(t)
	// The wechatpy body has no AgentID in the outer XML and a different element order.
	body := "<xml><Encrypt><![CDATA[" + b2Encrypt + "]]></Encrypt>\n<ToUserName><![CDATA[" + receiveIDB + "]]></ToUserName>\n</xml>"
	got, err := c.DecryptMessage(b2Signature, b2Timestamp, b2Nonce, []byte(body))
	require.NoError(t, err)
	assert.Len(t, got, 281)

	var m struct {
		FromUserName string
		Content      string
		MsgID        string `xml:"MsgId"`
		AgentID      string
	}
	require.NoError(t, unmarshalXML(got, &m))
	assert.Equal(t, "messense", m.FromUserName)
	assert.Equal(t, "test", m.Content)
	assert.Equal(t, "4363689963896700987", m.MsgID)
	assert.Equal(t, "1", m.AgentID)
}

func TestVectorB3Encrypt(t *testing.T) {
	c := newB(t)
	enc, err := c.EncryptWithRandom([]byte(b3Random), []byte(b3Plain))
	require.NoError(t, err)
	assert.Equal(t, b3Encrypt, enc)
	assert.Equal(t, b3Signature, c.Signature(b3Timestamp, b3Nonce, enc))

	got, err := c.DecryptMessage(b3Signature, b3Timestamp, b3Nonce, postBody(receiveIDB, enc))
	require.NoError(t, err)
	assert.Equal(t, b3Plain, string(got))
}

func TestVectorC(t *testing.T) {
	c := newA(t)
	t.Run("decrypt", func(t *testing.T) {
		got, err := c.DecryptMessage(cSignature, cTimestamp, cNonce, []byte(cBody))
		require.NoError(t, err)
		assert.Equal(t, cPlain, string(got))

		ev, err := ParseEvent(got)
		require.NoError(t, err)
		assert.Equal(t, &Event{
			ToUserName: receiveIDA,
			CreateTime: 1348831860,
			MsgType:    "event",
			Event:      EventKFMsgOrEvent,
			Token:      cToken,
			OpenKFID:   "wkxxxxxxx",
			Raw:        got,
		}, ev)
	})
	t.Run("encrypt", func(t *testing.T) {
		enc, err := c.EncryptWithRandom([]byte(cRandom), []byte(cPlain))
		require.NoError(t, err)
		assert.Equal(t, cEncrypt, enc)
		assert.Equal(t, cSignature, c.Signature(cTimestamp, cNonce, enc))
		assert.Equal(t, cBody, string(postBody(receiveIDA, enc)))
	})
}
