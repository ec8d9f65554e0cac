package kftest

import (
	"encoding/json"
	"net/http"
)

// handleAccountList serves POST /cgi-bin/kf/account/list with
// {"offset":0,"limit":100} (both optional; limit 1–100, default 100). The
// older body-less GET form is accepted too. Accounts are listed in creation
// order.
func (s *Server) handleAccountList(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, false) {
		return
	}
	var req struct {
		Offset *int `json:"offset"`
		Limit  *int `json:"limit"`
	}
	body, ok := readBody(r)
	if ok && len(body.Bytes()) > 0 {
		ok = json.Unmarshal(body.Bytes(), &req) == nil
	}
	putBuf(body)
	if !ok {
		s.writeErr(w, badJSON())
		return
	}
	offset, limit := 0, 100
	if req.Offset != nil {
		offset = *req.Offset
	}
	if req.Limit != nil && *req.Limit != 0 {
		limit = *req.Limit
	}
	if offset < 0 || limit < 1 || limit > 100 {
		s.writeErr(w, errf(ErrCodeInvalidParameter, "invalid offset or limit. invalid Request Parameter"))
		return
	}
	type acct struct {
		OpenKFID        string `json:"open_kfid"`
		Name            string `json:"name"`
		Avatar          string `json:"avatar"`
		ManagePrivilege bool   `json:"manage_privilege"`
	}
	list := []acct{}
	s.mu.Lock()
	for i := offset; i < len(s.accountOrder) && len(list) < limit; i++ {
		a := s.accountOrder[i]
		list = append(list, acct{
			OpenKFID: a.id, Name: a.name,
			Avatar:          "https://wework.qpic.cn/kftest/" + a.id + "/0",
			ManagePrivilege: true,
		})
	}
	s.mu.Unlock()
	writeOKValue(w, struct {
		AccountList []acct `json:"account_list"`
	}{list})
}

// handleCustomerBatchGet serves POST /cgi-bin/kf/customer/batchget with
// {"external_userid_list":[1..100 ids],"need_enter_session_context":0|1}.
// Customers are known once they appeared in an append helper or
// [Server.AddCustomer]; other ids are listed in invalid_external_userid.
func (s *Server) handleCustomerBatchGet(w http.ResponseWriter, r *http.Request) {
	if !s.admit(w, r, true) {
		return
	}
	var req struct {
		IDs         []string `json:"external_userid_list"`
		NeedContext *int     `json:"need_enter_session_context"`
	}
	body, ok := readBody(r)
	if ok {
		ok = json.Unmarshal(body.Bytes(), &req) == nil
	}
	putBuf(body)
	switch {
	case !ok:
		s.writeErr(w, badJSON())
		return
	case req.IDs == nil:
		s.writeErr(w, missingField("external_userid_list"))
		return
	case len(req.IDs) == 0 || len(req.IDs) > 100:
		s.writeErr(w, errf(ErrCodeInvalidParameter, "external_userid_list size must be 1-100. invalid Request Parameter"))
		return
	}
	type ctx struct {
		Scene      string `json:"scene"`
		SceneParam string `json:"scene_param"`
	}
	type cust struct {
		ExternalUserID      string `json:"external_userid"`
		Nickname            string `json:"nickname"`
		Avatar              string `json:"avatar"`
		Gender              int    `json:"gender"`
		UnionID             string `json:"unionid"`
		EnterSessionContext *ctx   `json:"enter_session_context,omitempty"`
	}
	needCtx := req.NeedContext != nil && *req.NeedContext == 1
	list, invalid := []cust{}, []string{}
	now := s.now()
	s.mu.Lock()
	for _, id := range req.IDs {
		c, ok := s.customers[id]
		if !ok {
			invalid = append(invalid, id)
			continue
		}
		out := cust{
			ExternalUserID: id, Nickname: c.nickname,
			Avatar: "https://wx.qlogo.cn/kftest/" + id + "/0",
		}
		if needCtx && c.entered && now.Sub(c.enterTime) < SendWindow {
			out.EnterSessionContext = &ctx{Scene: c.scene, SceneParam: c.sceneParam}
		}
		list = append(list, out)
	}
	s.mu.Unlock()
	writeOKValue(w, struct {
		CustomerList          []cust   `json:"customer_list"`
		InvalidExternalUserID []string `json:"invalid_external_userid"`
	}{list, invalid})
}
