package kftest

import (
	"encoding/json"
	"net/http"
	"time"
)

// Servicer statuses, as in the servicer_status_change event.
const (
	ServicerReceiving = 1 // 接待中
	ServicerStopped   = 2 // 停止接待 (stop_type 0) or suspended (stop_type 1)
)

// servicerLocked returns the servicer, adding it as receiving.
func (s *Server) servicerLocked(a *account, userID string) *servicer {
	if sv, ok := a.servicers[userID]; ok {
		return sv
	}
	sv := &servicer{status: ServicerReceiving}
	a.servicers[userID] = sv
	a.srvOrder = append(a.srvOrder, userID)
	return sv
}

// AddServicer adds a servicer (接待人员) to the account, receiving, so that
// service_state/trans to state 3 accepts them. Adding an existing servicer
// changes nothing.
func (s *Server) AddServicer(openKFID, servicerUserID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.servicerLocked(s.accountLocked(openKFID), servicerUserID)
}

// SetServicerStatus changes a servicer's reception status with wire values —
// status [ServicerReceiving] (1) or [ServicerStopped] (2); stopType 0
// stopped or 1 suspended — and appends the servicer_status_change event
// WeCom emits, returning its msgid. trans to 3 then fails with 95019 for a
// stopped or suspended servicer. An unknown servicer is added first.
func (s *Server) SetServicerStatus(openKFID, servicerUserID string, status, stopType int) string {
	return s.appendOne(openKFID, func(a *account, now time.Time, id string) []byte {
		sv := s.servicerLocked(a, servicerUserID)
		sv.status, sv.stopType = status, stopType
		return eventItem(id, now, evServicerStatusChange{
			EventType: "servicer_status_change", ServicerUserID: servicerUserID,
			Status: status, StopType: stopType, OpenKFID: openKFID,
		})
	})
}

// SessionState returns the service_state of the customer's session on the
// account: 4 for a customer never seen.
func (s *Server) SessionState(openKFID, externalUserID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[openKFID]; ok {
		if ss, ok := a.sessions[externalUserID]; ok {
			return ss.state
		}
	}
	return StateEnded
}

// SessionServicer returns the servicer_userid of a session in state 3 (the
// last servicer otherwise, or "").
func (s *Server) SessionServicer(openKFID, externalUserID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[openKFID]; ok {
		if ss, ok := a.sessions[externalUserID]; ok {
			return ss.servicer
		}
	}
	return ""
}

// SetSessionState forces a session's state (and, for state 3, its
// servicer) without events or codes, for test setup. It does not count as
// a customer message: send_msg still needs one (see [Server.AddText]).
// Leaving state 4 starts a new session, invalidating its msg_codes. A state
// outside 0–4 is ignored.
func (s *Server) SetSessionState(openKFID, externalUserID string, state int, servicerUserID string) {
	if state < StateUntreated || state > StateEnded {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountLocked(openKFID)
	ss := a.sessionLocked(externalUserID)
	ss.setState(state)
	if servicerUserID != "" {
		s.servicerLocked(a, servicerUserID)
		ss.servicer = servicerUserID
	}
}

type stateRequest struct {
	OpenKFID       *string `json:"open_kfid"`
	ExternalUserID *string `json:"external_userid"`
	ServiceState   *int    `json:"service_state"`
	ServicerUserID *string `json:"servicer_userid"`
}

func (s *Server) decodeState(w http.ResponseWriter, r *http.Request) (*stateRequest, bool) {
	if !s.admit(w, r, true) {
		return nil, false
	}
	body, ok := readBody(r)
	req := new(stateRequest)
	if ok {
		ok = json.Unmarshal(body.Bytes(), req) == nil
	}
	putBuf(body)
	if !ok {
		s.writeErr(w, badJSON())
		return nil, false
	}
	e := requiredString("open_kfid", req.OpenKFID, 0)
	if e == nil {
		e = requiredString("external_userid", req.ExternalUserID, 0)
	}
	if e != nil {
		s.writeErr(w, e)
		return nil, false
	}
	return req, true
}

// handleStateGet serves POST /cgi-bin/kf/service_state/get.
func (s *Server) handleStateGet(w http.ResponseWriter, r *http.Request) {
	req, ok := s.decodeState(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	a, e := s.apiAccountLocked(*req.OpenKFID)
	state, srv := StateEnded, ""
	if e == nil {
		if ss, ok := a.sessions[*req.ExternalUserID]; ok {
			state = ss.state
			if state == StateHuman {
				srv = ss.servicer
			}
		}
	}
	s.mu.Unlock()
	if e != nil {
		s.writeErr(w, e)
		return
	}
	writeOKValue(w, struct {
		ServiceState   int    `json:"service_state"`
		ServicerUserID string `json:"servicer_userid,omitempty"`
	}{state, srv})
}

// allowedTransition reports whether trans may move a session from → to
// (the transitions documented at https://developer.work.weixin.qq.com/document/path/94669,
// and 2 → 4).
func allowedTransition(from, to int) bool {
	switch from {
	case StateUntreated:
		return to == StateBot || to == StatePool || to == StateHuman
	case StateBot:
		return to == StatePool || to == StateHuman
	case StatePool:
		// 2 → 4 is not in the documented table, but SDK users end pooled sessions
		// that way in practice.
		return to == StateHuman || to == StateEnded
	case StateHuman:
		return to == StateHuman || to == StateEnded
	}
	return false
}

// handleStateTrans serves POST /cgi-bin/kf/service_state/trans.
func (s *Server) handleStateTrans(w http.ResponseWriter, r *http.Request) {
	req, ok := s.decodeState(w, r)
	if !ok {
		return
	}
	var e *apiError
	switch {
	case req.ServiceState == nil:
		e = missingField("service_state")
	case *req.ServiceState < StateUntreated || *req.ServiceState > StateEnded:
		e = errf(ErrCodeInvalidParameter, "invalid service_state. invalid Request Parameter")
	case *req.ServiceState == StateHuman:
		e = requiredString("servicer_userid", req.ServicerUserID, 0)
	case req.ServicerUserID != nil && *req.ServicerUserID == "":
		e = emptyField("servicer_userid")
	}
	if e != nil {
		s.writeErr(w, e)
		return
	}
	now := s.now()
	s.mu.Lock()
	code, e := s.transLocked(req, now)
	s.mu.Unlock()
	if e != nil {
		s.writeErr(w, e)
		return
	}
	writeOKValue(w, struct {
		MsgCode string `json:"msg_code,omitempty"`
	}{code})
}

func (s *Server) transLocked(req *stateRequest, now time.Time) (string, *apiError) {
	a, e := s.apiAccountLocked(*req.OpenKFID)
	if e != nil {
		return "", e
	}
	user, to := *req.ExternalUserID, *req.ServiceState
	ss := a.sessionLocked(user)
	if ss.state == StateEnded {
		return "", errf(ErrCodeSessionEnded, "session already ended")
	}
	if !allowedTransition(ss.state, to) {
		return "", errf(ErrCodeInvalidTransition, "invalid service state transition")
	}
	if to == StateHuman {
		sv, ok := a.servicers[*req.ServicerUserID]
		switch {
		case !ok:
			return "", errf(ErrCodeNotServicer, "user is not a servicer of this account")
		case sv.status != ServicerReceiving:
			return "", errf(ErrCodeServicerStopped, "servicer stopped or suspended reception")
		case ss.state == StateHuman && ss.servicer == *req.ServicerUserID:
			return "", errf(ErrCodeInvalidTransition, "invalid service state transition")
		}
	}
	ss.setState(to)
	switch to {
	case StateHuman:
		ss.servicer = *req.ServicerUserID
		if !ss.replyCode {
			ss.replyCode = true
			return s.issueCodeLocked(codePickUp, a.id, user, ss, now), nil
		}
	case StatePool:
		if !ss.replyCode {
			ss.replyCode = true
			return s.issueCodeLocked(codePool, a.id, user, ss, now), nil
		}
	case StateEnded:
		return s.issueCodeLocked(codeClosing, a.id, user, ss, now), nil
	}
	return "", nil
}

// handleServicerList serves GET /cgi-bin/kf/servicer/list?open_kfid=…, with
// the list's own status encoding (0 receiving, 1 stopped).
func (s *Server) handleServicerList(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, false) {
		return
	}
	id := r.URL.Query().Get("open_kfid")
	if id == "" {
		s.writeErr(w, missingField("open_kfid"))
		return
	}
	type entry struct {
		UserID   string `json:"userid"`
		Status   int    `json:"status"`
		StopType int    `json:"stop_type"`
	}
	list := []entry{}
	s.mu.Lock()
	a, e := s.apiAccountLocked(id)
	if e == nil {
		for _, uid := range a.srvOrder {
			sv := a.servicers[uid]
			st := 0
			if sv.status != ServicerReceiving {
				st = 1
			}
			list = append(list, entry{UserID: uid, Status: st, StopType: sv.stopType})
		}
	}
	s.mu.Unlock()
	if e != nil {
		s.writeErr(w, e)
		return
	}
	writeOKValue(w, struct {
		ServicerList []entry `json:"servicer_list"`
	}{list})
}
