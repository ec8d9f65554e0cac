package bot_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf"
)

// fakeContacts is a bot.ContactClient that records welcomes and answers with err.
type fakeContacts struct {
	mu       sync.Mutex
	welcomes []kf.SendWelcomeMsgRequest
	err      error
}

func (f *fakeContacts) SendWelcomeMsg(_ context.Context, req kf.SendWelcomeMsgRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.welcomes = append(f.welcomes, req)
	return f.err
}

func (f *fakeContacts) GetExternalContactAll(_ context.Context, id string) (*kf.ExternalContact, error) {
	return &kf.ExternalContact{Contact: kf.ExternalContactInfo{ExternalUserID: id, Name: "李四"}}, nil
}

func (f *fakeContacts) sent() []kf.SendWelcomeMsgRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]kf.SendWelcomeMsgRequest(nil), f.welcomes...)
}

// TestWelcomeContact: a fresh code is used once; an old one, or none, is refused without
// a call; an answer saying the welcome can never be sent is not an error.
func TestWelcomeContact(t *testing.T) {
	img := kf.WelcomeAttachment{Image: &kf.WelcomeImage{MediaID: "M"}}
	for _, tt := range []struct {
		name     string
		code     string
		age      time.Duration
		answer   error
		want     error
		wantCall bool
	}{
		{"fresh code", "W1", time.Second, nil, nil, true},
		{"older than the welcome age", "W1", 19 * time.Second, nil, bot.ErrCodeExpired, false},
		{"no code", "", time.Second, nil, bot.ErrNoEventCode, false},
		{"already used by another app (41051)", "W1", time.Second, kf.ErrWelcomeAlreadyChatting, nil, true},
		{"expired at WeCom (41050)", "W1", time.Second, kf.ErrWelcomeCodeInvalid, nil, true},
		{"another error", "W1", time.Second, kf.ErrInvalidParameter, kf.ErrInvalidParameter, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			fc := &fakeContacts{err: tt.answer}
			obs := newCallbackObserver()
			var got error
			b := e.newBot(bot.WithObserver(obs), bot.WithContactClient(fc))
			b.HandleCallback(bot.Any(), func(c *bot.Context) error {
				got = c.WelcomeContact("欢迎", img)
				ec, err := c.ExternalContact("")
				require.NoError(t, err)
				assert.Equal(t, "wmW", ec.Contact.ExternalUserID)
				return nil
			})
			run(t, b)
			require.NoError(t, b.Receive(t.Context(), decode(t, addContactXML("wmW", "qr-a", tt.code, 1)), time.Now().Add(-tt.age)))
			obs.done.waitAtLeast(t, 1)
			if tt.want == nil {
				assert.NoError(t, got)
			} else {
				assert.ErrorIs(t, got, tt.want)
			}
			if tt.wantCall {
				assert.Equal(t, []kf.SendWelcomeMsgRequest{{WelcomeCode: "W1", Text: "欢迎", Attachments: []kf.WelcomeAttachment{img}}}, fc.sent())
			} else {
				assert.Empty(t, fc.sent())
			}
		})
	}
}
