package kftest_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/kftest"
)

// flip changes one character of a token in the middle.
func flip(tok string) string {
	b := []byte(tok)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestTokensAreBoundToTheServer checks that the self-checking tokens are
// accepted only by the server that issued them, and not when altered.
func TestTokensAreBoundToTheServer(t *testing.T) {
	srv := kftest.NewUnstartedServer(kftest.WithSeed(1))
	other := kftest.NewUnstartedServer(kftest.WithSeed(2))
	a, b := newAPI(t, srv), newAPI(t, other)
	srv.AddText(acct, user, "hi")
	other.AddText(acct, user, "hi")
	cbTok, otherCB := srv.CallbackToken(acct), other.CallbackToken(acct)
	atTok, otherAT := a.getToken(), b.getToken()
	require.NotEqual(t, cbTok, otherCB)

	body := []byte(`{"open_kfid":"` + acct + `"}`)
	withAccess := func(tok string) int {
		return a.do(http.MethodPost, "kf/sync_msg", url.Values{"access_token": {tok}}, body, "application/json").ErrCode
	}
	withCallback := func(tok string) int {
		return a.sync(acct, map[string]any{"token": tok}).ErrCode
	}
	tests := []struct {
		name string
		call func(string) int
		tok  string
		code int
	}{
		{"access token", withAccess, atTok, 0},
		{"another server's access token", withAccess, otherAT, kftest.ErrCodeInvalidAccessToken},
		{"altered access token", withAccess, flip(atTok), kftest.ErrCodeInvalidAccessToken},
		{"access token with a leading zero", withAccess, "kftest_at_0" + atTok[len("kftest_at_"):], kftest.ErrCodeInvalidAccessToken},
		{"callback token", withCallback, cbTok, 0},
		{"another server's callback token", withCallback, otherCB, kftest.ErrCodeInvalidMsgToken},
		{"altered callback token", withCallback, flip(cbTok), kftest.ErrCodeInvalidMsgToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.code, tt.call(tt.tok))
		})
	}
}

// TestCallbackTokensAreDistinct checks that appends at one instant still
// issue different tokens, each valid.
func TestCallbackTokensAreDistinct(t *testing.T) {
	clk := newClock() // never advances
	srv := kftest.NewUnstartedServer(kftest.WithClock(clk.Now))
	a := newAPI(t, srv)
	seen := map[string]bool{}
	for range 100 {
		srv.AddText(acct, user, "hi")
		tok := srv.CallbackToken(acct)
		require.False(t, seen[tok], "token %s issued twice", tok)
		seen[tok] = true
	}
	for tok := range seen {
		assert.Equal(t, 0, a.sync(acct, map[string]any{"token": tok}).ErrCode)
	}
}
