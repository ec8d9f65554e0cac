package router

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/kfbot/kfbot/kf/callback"
)

// callbackHandler serves GET (URL verification) and POST (event delivery) on Config.Path.
type callbackHandler struct {
	cfg      Config
	cipher   *callback.Cipher
	notifier Notifier
	nonces   *nonceSet // nil when the timestamp window is disabled
}

// verifyURL answers the URL check with the decrypted echostr alone.
func (h *callbackHandler) verifyURL(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sig, ts, nonce, echo := q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), q.Get("echostr")
	if sig == "" || ts == "" || nonce == "" || echo == "" {
		h.refuse(w, r, http.StatusBadRequest, ResultBadRequest,
			"missing query parameter: msg_signature, timestamp, nonce and echostr are all required")
		return
	}
	plain, err := h.cipher.VerifyURL(sig, ts, nonce, echo)
	if err != nil {
		h.refuseCrypto(w, r, err)
		return
	}
	setResult(w, ResultVerified)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(plain)
}

// receive checks, decrypts and parses one POST callback, then notifies and answers 200.
func (h *callbackHandler) receive(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sig, ts, nonce := q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce")
	if sig == "" || ts == "" || nonce == "" {
		h.refuse(w, r, http.StatusBadRequest, ResultBadRequest,
			"missing query parameter: msg_signature, timestamp and nonce are all required")
		return
	}
	var sent time.Time
	if h.cfg.TimestampWindow > 0 {
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			h.refuse(w, r, http.StatusBadRequest, ResultBadRequest, "timestamp is not a number of seconds")
			return
		}
		sent = time.Unix(sec, 0)
		if d := h.cfg.Now().Sub(sent); d > h.cfg.TimestampWindow || d < -h.cfg.TimestampWindow {
			h.refuse(w, r, http.StatusForbidden, ResultStaleTimestamp,
				"timestamp is outside the accepted window; check the server clock (NTP)")
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.refuse(w, r, http.StatusRequestEntityTooLarge, ResultTooLarge, "body too large")
			return
		}
		h.refuse(w, r, http.StatusBadRequest, ResultBadRequest, "reading body: "+err.Error())
		return
	}
	plain, receiveID, err := h.cipher.Open(sig, ts, nonce, body)
	if err != nil {
		h.refuseCrypto(w, r, err)
		return
	}
	ev, err := callback.ParseEvent(plain)
	if err != nil {
		h.refuse(w, r, http.StatusBadRequest, ResultBadPayload, err.Error())
		return
	}
	// The nonce is remembered only once the callback is proven genuine, so forged requests
	// cannot fill the set or block a real callback.
	nonceKey := nonce + "\x00" + ts
	if h.nonces != nil && !h.nonces.add(nonceKey, sent.Add(h.cfg.TimestampWindow), h.cfg.Now()) {
		h.refuse(w, r, http.StatusForbidden, ResultReplayedNonce, "nonce already used inside the timestamp window")
		return
	}

	switch ev.Event {
	case callback.EventKFMsgOrEvent:
		h.notifier.Notify(ev.OpenKFID, ev.Token)
		setResult(w, ResultNotified)
	case callback.EventKFAccountAuthChange:
		if an, ok := h.notifier.(AccountsNotifier); ok {
			an.AccountsChanged(ev.AuthAddOpenKFID, ev.AuthDelOpenKFID)
		}
		setResult(w, ResultAccountsChanged)
	default:
		if !h.takeNotification(w, r, plain, receiveID, ev) {
			if h.nonces != nil {
				h.nonces.forget(nonceKey) // WeCom's retry must get through
			}
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("success"))
}

// takeNotification hands a notification that is not a KF poke to the NotificationReceiver, and
// reports false when it answered with an error (the record failed: WeCom retries).
func (h *callbackHandler) takeNotification(w http.ResponseWriter, r *http.Request, plain []byte, receiveID string, ev *callback.Event) bool {
	nr, ok := h.notifier.(NotificationReceiver)
	if !ok {
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelDebug, "callback: ignoring unrelated event",
			slog.String("event", string(ev.Event)), slog.String("msgtype", ev.MsgType))
		setResult(w, ResultIgnored)
		return true
	}
	n, err := callback.DecodeNotification(plain)
	if err != nil {
		// Signed and decrypted, so WeCom sent it: not XML we know is no reason to make it
		// retry. Say so and answer success.
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelWarn, "callback: a signed callback is not a notification; ignoring it",
			slog.String("reason", err.Error()))
		setResult(w, ResultIgnored)
		return true
	}
	n.Head().ReceiveID = receiveID
	if err := nr.Receive(r.Context(), n, h.cfg.Now()); err != nil {
		setResult(w, ResultNotRecorded)
		h.cfg.Logger.LogAttrs(r.Context(), slog.LevelError, "callback: could not record a notification; answering 500 so WeCom retries",
			slog.String("callback", n.Head().InfoType+n.Head().Event), slog.String("corp", n.Head().Corp()), slog.Any("err", err))
		http.Error(w, "could not record the notification; retry", http.StatusInternalServerError)
		return false
	}
	setResult(w, ResultReceived)
	return true
}

// refuseCrypto maps a kf/callback error to an answer.
func (h *callbackHandler) refuseCrypto(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, callback.ErrBadSignature):
		h.refuse(w, r, http.StatusForbidden, ResultBadSignature, err.Error())
	case errors.Is(err, callback.ErrReceiveIDMismatch):
		h.refuse(w, r, http.StatusForbidden, ResultWrongReceiver, err.Error())
	default:
		h.refuse(w, r, http.StatusBadRequest, ResultBadPayload, err.Error())
	}
}

// refuse answers a bad callback with a 4xx and logs why at Warn: at 3 a.m. this line is
// what tells a forged request from a misconfigured Token or a skewed clock.
func (h *callbackHandler) refuse(w http.ResponseWriter, r *http.Request, status int, res Result, why string) {
	setResult(w, res)
	h.cfg.Logger.LogAttrs(r.Context(), slog.LevelWarn, "callback refused",
		slog.String("method", r.Method), slog.String("result", string(res)),
		slog.Int("status", status), slog.String("reason", why), slog.String("remote", r.RemoteAddr))
	http.Error(w, string(res), status)
}
