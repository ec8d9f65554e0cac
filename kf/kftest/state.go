package kftest

import (
	"encoding/json"
	"strconv"
	"time"
)

// Session states (service_state), as in https://developer.work.weixin.qq.com/document/path/94669.
const (
	StateUntreated = 0 // 未处理: the customer wrote; nobody owns it yet
	StateBot       = 1 // 由智能助手接待: the API (the bot) owns it
	StatePool      = 2 // 待接入池排队中: queued for a human
	StateHuman     = 3 // 由人工接待: a servicer owns it
	StateEnded     = 4 // 已结束/未开始: ended or not started (the initial state)
)

// entry is one msg_list item, stored as its final JSON.
type entry struct {
	data     []byte
	sendTime int64
}

type account struct {
	id      string
	name    string
	ordinal uint32

	log    []entry
	base   int        // absolute log position of log[0]; the items before it are forgotten
	handed int        // the highest position handed out as next_cursor
	live   []liveMark // positions a usable cursor may still name, ascending in pos and exp

	latestToken string // the newest callback token; tokens are self-checking (tokens.go)

	sessions  map[string]*session
	msgIDs    map[string]struct{} // outbound msgids accepted within the retention
	msgIDExp  []msgIDRec          // msgIDs in acceptance order, for forgetting
	servicers map[string]*servicer
	srvOrder  []string
}

type msgIDRec struct {
	id  string
	exp time.Time
}

// forgetMsgIDsLocked forgets the outbound msgids accepted a retention ago
// or longer.
func (a *account) forgetMsgIDsLocked(now time.Time) {
	i := 0
	for i < len(a.msgIDExp) && !now.Before(a.msgIDExp[i].exp) {
		delete(a.msgIDs, a.msgIDExp[i].id)
		a.msgIDExp[i] = msgIDRec{}
		i++
	}
	a.msgIDExp = a.msgIDExp[i:]
}

// rememberMsgIDLocked records an accepted outbound msgid for the retention.
func (s *Server) rememberMsgIDLocked(a *account, id string, now time.Time) {
	a.msgIDs[id] = struct{}{}
	a.msgIDExp = append(a.msgIDExp, msgIDRec{id: id, exp: now.Add(s.cfg.retention)})
}

type session struct {
	state    int
	servicer string
	gen      uint64 // bumped whenever a new session starts (4 → another state)
	// replyCode is set once a msg_code was issued for the first change to 2
	// or 3 within this generation.
	replyCode bool

	hasCustomer  bool
	lastCustomer time.Time
	quota        int

	welcomed    bool
	lastWelcome time.Time

	sent []int // indexes into Server.sent
}

type servicer struct {
	status   int // wire servicer_status_change.status: 1 receiving, 2 stopped
	stopType int // 0 stopped, 1 suspended
}

type customer struct {
	nickname   string
	entered    bool
	enterTime  time.Time
	scene      string
	sceneParam string
}

type codeKind int

const (
	codeWelcome codeKind = iota
	codePool
	codePickUp
	codeClosing
)

type eventCode struct {
	kind     codeKind
	openKFID string
	user     string
	expires  time.Time
	used     bool
	state    int
	gen      uint64
}

func (s *Server) now() time.Time { return s.cfg.clock() }

// accountLocked returns the account, creating it.
func (s *Server) accountLocked(openKFID string) *account {
	if a, ok := s.accounts[openKFID]; ok {
		return a
	}
	a := &account{
		id:        openKFID,
		name:      openKFID,
		ordinal:   uint32(len(s.accountOrder)),
		sessions:  make(map[string]*session),
		msgIDs:    make(map[string]struct{}),
		servicers: make(map[string]*servicer),
	}
	s.accounts[openKFID] = a
	s.accountOrder = append(s.accountOrder, a)
	return a
}

// apiAccountLocked returns the account for an API call: created on first use
// unless strict accounts are configured.
func (s *Server) apiAccountLocked(openKFID string) (*account, *apiError) {
	if a, ok := s.accounts[openKFID]; ok {
		return a, nil
	}
	if s.cfg.strictAccts {
		return nil, errf(ErrCodeAccountNotFound, "open_kfid not exist")
	}
	return s.accountLocked(openKFID), nil
}

// sessionLocked returns the session of user on a, creating it in state 4.
func (a *account) sessionLocked(user string) *session {
	if ss, ok := a.sessions[user]; ok {
		return ss
	}
	ss := &session{state: StateEnded}
	a.sessions[user] = ss
	return ss
}

func (s *Server) customerLocked(user string) *customer {
	if c, ok := s.customers[user]; ok {
		return c
	}
	c := &customer{nickname: "kftest-" + user}
	s.customers[user] = c
	return c
}

// setStateLocked moves a session to state, starting a new generation when it
// leaves state 4.
func (ss *session) setState(state int) {
	if ss.state == StateEnded && state != StateEnded {
		ss.gen++
		ss.replyCode = false
	}
	ss.state = state
}

// customerMessageLocked applies a customer (origin 3) message to the session:
// 4 → 0, the 48-hour window restarts and the send allowance resets.
func (s *Server) customerMessageLocked(a *account, user string, now time.Time) {
	ss := a.sessionLocked(user)
	if ss.state == StateEnded {
		ss.setState(StateUntreated)
		ss.servicer = ""
	}
	ss.hasCustomer = true
	ss.lastCustomer = now
	ss.quota = SendsPerCustomerMessage
	s.customerLocked(user)
}

func (s *Server) nextMsgIDLocked() string {
	s.msgSeq++
	return "from_msgid_" + strconv.FormatUint(s.msgSeq, 10)
}

// appendLocked appends an item to the account's log and issues a fresh
// callback token, which it returns.
func (s *Server) appendLocked(a *account, data []byte, now time.Time) string {
	a.log = append(a.log, entry{data: data, sendTime: now.Unix()})
	return s.issueCallbackTokenLocked(a, now)
}

const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// randStringLocked returns n random alphanumeric characters.
func (s *Server) randStringLocked(prefix string, n int) string {
	b := make([]byte, len(prefix), len(prefix)+n)
	copy(b, prefix)
	var x uint64
	for i := range n {
		if i%10 == 0 {
			x = s.rng.Uint64()
		}
		b = append(b, alnum[x%62])
		x /= 62
	}
	return string(b)
}

func (s *Server) issueCallbackTokenLocked(a *account, now time.Time) string {
	a.latestToken = s.newCallbackTokenLocked(a, now)
	return a.latestToken
}

// issueCodeLocked creates an event code bound to the session's current state
// and generation.
func (s *Server) issueCodeLocked(kind codeKind, openKFID, user string, ss *session, now time.Time) string {
	ttl := ReplyCodeTTL
	prefix := "MSGCODE"
	switch kind {
	case codeWelcome:
		ttl, prefix = WelcomeCodeTTL, "WELCOME"
	case codeClosing:
		ttl = ClosingCodeTTL
	}
	s.codeSeq++
	if s.codeSeq%4096 == 0 {
		for c, ec := range s.codes {
			if now.After(ec.expires) {
				delete(s.codes, c)
			}
		}
	}
	code := s.randStringLocked(prefix+strconv.FormatUint(s.codeSeq, 10)+"_", 24)
	s.codes[code] = &eventCode{
		kind:     kind,
		openKFID: openKFID,
		user:     user,
		expires:  now.Add(ttl),
		state:    ss.state,
		gen:      ss.gen,
	}
	return code
}

// fire calls the OnAppend hook, outside the lock.
func (s *Server) fire(openKFID, token string) {
	if fn := s.hook.Load(); fn != nil {
		(*fn)(openKFID, token)
	}
}

// OnAppend sets a hook called after every append to a KF account's message
// log (every Add*, EnterSession, Servicer*, UserRecall, SendFail and
// SetServicerStatus call) with the account and the fresh callback token, as
// WeCom would send a kf_msg_or_event callback. The hook runs on the
// appending goroutine after the server's lock is released, so it may call
// back into the server; concurrent appends call it concurrently. nil removes
// it. Safe for concurrent use.
func (s *Server) OnAppend(fn func(openKFID, callbackToken string)) {
	if fn == nil {
		s.hook.Store(nil)
		return
	}
	s.hook.Store(&fn)
}

// AddAccount creates a KF account (or renames an existing one) so that it
// is listed by kf/account/list. Accounts are otherwise created on first use.
// Safe for concurrent use.
func (s *Server) AddAccount(openKFID, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accountLocked(openKFID).name = name
}

// AddCustomer registers a customer's nickname for kf/customer/batchget.
// Customers are otherwise registered, with nickname "kftest-"+externalUserID,
// when they first appear in an append helper. Safe for concurrent use.
func (s *Server) AddCustomer(externalUserID, nickname string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.customerLocked(externalUserID).nickname = nickname
}

// CallbackToken returns the latest callback token issued for the account (by
// an append or a callback builder), or "" if none. It may have expired.
// Safe for concurrent use.
func (s *Server) CallbackToken(openKFID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[openKFID]; ok {
		return a.latestToken
	}
	return ""
}

// Items returns a copy of every msg_list item of the account the server
// still keeps, in log order: all of them, unless a short [WithRetention]
// let it forget the items every usable cursor has passed. Safe for
// concurrent use.
func (s *Server) Items(openKFID string) []json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[openKFID]
	if !ok {
		return nil
	}
	out := make([]json.RawMessage, len(a.log))
	for i, e := range a.log {
		out[i] = append(json.RawMessage(nil), e.data...)
	}
	return out
}
