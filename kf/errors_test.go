package kf_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kfbot/kfbot/kf"
)

func TestAPIErrorText(t *testing.T) {
	tests := []struct {
		err  *kf.APIError
		want string
	}{
		{&kf.APIError{Op: "send_msg", Code: 95018, Message: "invalid state, hint: [123]"}, "kf: send_msg: errcode 95018: invalid state, hint: [123]"},
		{&kf.APIError{Op: "sync_msg", Code: 45009}, "kf: sync_msg: errcode 45009: api frequency limit exceeded"},
		{&kf.APIError{Op: "x", Code: 12345}, "kf: x: errcode 12345"},
		{kf.ErrSessionStateForbidsSend, "kf: errcode 95018: session state forbids sending"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.err.Error())
	}
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
