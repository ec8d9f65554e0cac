package kf_test

import (
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf"
)

func TestAPIErrorText(t *testing.T) {
	tests := []struct {
		err  *kf.APIError
		want string
	}{
		{&kf.APIError{Op: "send_msg", Code: 95018, Message: "invalid state, hint: [123]"},
			"kf: send_msg: errcode 95018: invalid state, hint: [123]; what to do: " + kf.CodeHint(95018)},
		{&kf.APIError{Op: "sync_msg", Code: 45009}, "kf: sync_msg: errcode 45009: api frequency limit exceeded; what to do: " + kf.CodeHint(45009)},
		{&kf.APIError{Op: "x", Code: 12345}, "kf: x: errcode 12345"},
		{&kf.APIError{Op: "x", Code: 12345, Message: "new code"}, "kf: x: errcode 12345: new code"},
		{kf.ErrSessionStateForbidsSend, "kf: errcode 95018: session state forbids sending; what to do: " + kf.CodeHint(95018)},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Error())
	}
}

// The hints a new user meets first say which setting or console page to fix,
// and the refused-send codes say that the bot waits for the customer.
func TestAPIErrorHintSaysWhatToDo(t *testing.T) {
	tests := []struct {
		code int
		want []string
	}{
		{40001, []string{"Secret", "可调用接口的应用", "企业ID"}},
		{40013, []string{"企业ID"}},
		{60020, []string{"企业可信IP", "egress IP"}},
		{48002, []string{"可调用接口的应用", "通过API管理微信客服账号"}},
		{95017, []string{"可调用接口的应用"}},
		{45009, []string{"slow down"}},
		{95018, []string{"human servicer", "until the customer writes again"}},
		{95001, []string{"5 replies", "until the customer writes again"}},
		{95002, []string{"48 hours", "until the customer writes again"}},
		{95031, []string{"48 hours", "until the customer writes again"}},
		{40014, []string{"retries once"}},
		{41001, []string{"retries once", "可调用接口的应用"}},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.code), func(t *testing.T) {
			err := fmt.Errorf("bot: reply to m1: %w", &kf.APIError{Op: "send_msg", Code: tt.code, Message: "errmsg, hint: [1]"})
			var apiErr *kf.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, kf.CodeHint(tt.code), apiErr.Hint())
			for _, w := range tt.want {
				assert.Contains(t, apiErr.Hint(), w)
			}
			assert.Contains(t, err.Error(), "errmsg, hint: [1]; what to do: "+apiErr.Hint(), "wrapped errors and loggers show the hint")
		})
	}
	assert.Empty(t, kf.CodeHint(12345))
	assert.Empty(t, (&kf.APIError{Code: 12345}).Hint())
}

func TestAPIErrorIsComparesCodesThroughWrapping(t *testing.T) {
	err := fmt.Errorf("bot: reply to wm1: %w", &kf.APIError{Op: "send_msg", Code: 95018, Message: "x"})
	assert.ErrorIs(t, err, kf.ErrSessionStateForbidsSend)
	assert.ErrorIs(t, errors.Join(errors.New("other"), err), kf.ErrSessionStateForbidsSend)
	assert.NotErrorIs(t, err, kf.ErrSendCountLimit)
	assert.NotErrorIs(t, err, kf.ErrInvalidRequest)
	assert.NotErrorIs(t, errors.New("errcode 95018"), kf.ErrSessionStateForbidsSend)

	var apiErr *kf.APIError
	assert.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 95018, apiErr.Code)
}

func TestRetryable(t *testing.T) {
	for code, want := range map[int]bool{-1: true, 45033: true, 45009: true, 40014: false, 42001: false, 95018: false, 40058: false, 95007: false} {
		assert.Equal(t, want, (&kf.APIError{Code: code}).Retryable(), "code %d", code)
	}
	for status, want := range map[int]bool{500: true, 502: true, 503: true, 429: true, 404: false, 400: false} {
		assert.Equal(t, want, (&kf.HTTPError{StatusCode: status}).Retryable(), "status %d", status)
	}
}

func TestSentinelCodes(t *testing.T) {
	// The contract's codes; a typo here would silently break errors.Is.
	want := map[*kf.APIError]int{
		kf.ErrSystemBusy: -1, kf.ErrInvalidAccessToken: 40014, kf.ErrAccessTokenMissing: 41001,
		kf.ErrAccessTokenExpired: 42001, kf.ErrRateLimited: 45009, kf.ErrConcurrencyLimit: 45033,
		kf.ErrSendCountLimit: 95001, kf.ErrSendTimeLimit: 95002, kf.ErrInvalidMsgToken: 95007,
		kf.ErrSessionEnded: 95013, kf.ErrInvalidTransition: 95016, kf.ErrSessionStateForbidsSend: 95018,
		kf.ErrNoConsultation48h: 95031, kf.ErrInvalidSecret: 40001, kf.ErrInvalidParameter: 40058,
		kf.ErrEmptyContent: 44004, kf.ErrContentTooLong: 45002, kf.ErrMenuTooManyItems: 95008,
		kf.ErrInvalidMenuItemType: 95009, kf.ErrNotServicer: 95014, kf.ErrServicerUnavailable: 95019,
	}
	for sentinel, code := range want {
		assert.Equal(t, code, sentinel.Code)
		assert.NotEmpty(t, kf.CodeText(code), "code %d has a meaning", code)
	}
	assert.Empty(t, kf.CodeText(1))
}

func TestRetryableAndTokenCodes(t *testing.T) {
	tests := []struct {
		code             int
		retryable, token bool
	}{
		{-1, true, false}, {45033, true, false}, {45009, true, false},
		{40014, false, true}, {42001, false, true}, {41001, false, true},
		{0, false, false}, {95018, false, false}, {40001, false, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.retryable, kf.RetryableCode(tt.code), "RetryableCode(%d)", tt.code)
		assert.Equal(t, tt.retryable, (&kf.APIError{Code: tt.code}).Retryable(), "Retryable %d", tt.code)
		assert.Equal(t, tt.token, kf.TokenCode(tt.code), "TokenCode(%d)", tt.code)
	}
}
