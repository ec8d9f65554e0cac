package kftest

import (
	"net/http"
	"strconv"
	"time"
)

// fault is one injected failure: an errcode (HTTP 200 with a JSON error) or
// an HTTP status.
type fault struct {
	code int
	http bool
}

// isHTTPStatus reports whether a fault code given to SetFaultRate is an HTTP
// status rather than an errcode.
func isHTTPStatus(code int) bool { return code >= 500 && code <= 599 }

// FailNext makes the next request to path fail with errcode (HTTP 200 and a
// JSON error body) before the server looks at it, so it changes no state.
// Calls queue: each consumes one request, in order, shared with
// [Server.FailNextHTTP]. path is an endpoint name such as "send_msg",
// "kf/sync_msg", "gettoken" or "/cgi-bin/media/upload".
func (s *Server) FailNext(path string, errcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := normalizePath(path)
	s.faults[name] = append(s.faults[name], fault{code: errcode})
	s.updateSlowLocked()
}

// FailNextHTTP makes the next request to path fail with the HTTP status (and
// a plain-text body) without changing state. It shares its queue with
// [Server.FailNext]. A status outside 200–599 is replaced by 500.
func (s *Server) FailNextHTTP(path string, status int) {
	if status < 200 || status > 599 {
		status = 500
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := normalizePath(path)
	s.faults[name] = append(s.faults[name], fault{code: status, http: true})
	s.updateSlowLocked()
}

// SetFaultRate makes every request, to any endpoint, fail with probability p
// (0 disables; values are clamped to [0, 1]) before the server looks at it,
// so it changes no state. The failure is drawn uniformly from codes: a code
// in 500–599 is answered as that HTTP status, anything else as that errcode.
// Without codes it is -1 (system busy). Draws come from the seeded random
// source ([WithSeed]): a single-goroutine run is reproducible. Queued faults
// ([Server.FailNext]) take precedence.
func (s *Server) SetFaultRate(p float64, codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultRate = min(max(p, 0), 1)
	if len(codes) == 0 {
		codes = []int{ErrCodeSystemBusy}
	}
	s.faultCodes = append([]int(nil), codes...)
	s.updateSlowLocked()
}

// SetLatency delays every request by d before it is served (0 disables). The
// delay ends early, failing the request, if its context is cancelled. It uses
// the time package's timers, which a testing/synctest bubble fakes.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = max(d, 0)
	s.updateSlowLocked()
}

// Handle overrides the endpoint path with h (nil restores the built-in one).
// Calls are still counted and injected faults still apply first. Any path
// under /cgi-bin/ may be handled, including ones the server does not know.
func (s *Server) Handle(path string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := normalizePath(path)
	if h == nil {
		delete(s.overrides, name)
	} else {
		s.overrides[name] = h
	}
	s.updateSlowLocked()
}

func (s *Server) updateSlowLocked() {
	slow := s.faultRate > 0 || s.latency > 0 || len(s.overrides) > 0
	for _, q := range s.faults {
		if len(q) > 0 {
			slow = true
			break
		}
	}
	s.slow.Store(slow)
}

// intercept applies latency, injected faults and overrides. It reports
// whether it answered the request.
func (s *Server) intercept(w http.ResponseWriter, r *http.Request, name string) bool {
	s.mu.Lock()
	latency := s.latency
	var f fault
	var hasFault bool
	if q := s.faults[name]; len(q) > 0 {
		f, hasFault = q[0], true
		if len(q) == 1 {
			delete(s.faults, name)
		} else {
			s.faults[name] = q[1:]
		}
		s.updateSlowLocked()
	} else if s.faultRate > 0 && s.rng.Float64() < s.faultRate {
		c := s.faultCodes[s.rng.IntN(len(s.faultCodes))]
		f, hasFault = fault{code: c, http: isHTTPStatus(c)}, true
	}
	h := s.overrides[name]
	s.mu.Unlock()

	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			http.Error(w, "kftest: request cancelled", http.StatusServiceUnavailable)
			return true
		}
	}
	if hasFault {
		if f.http {
			http.Error(w, "kftest: injected HTTP "+strconv.Itoa(f.code), f.code)
		} else {
			s.writeErr(w, errf(f.code, "kftest: injected fault"))
		}
		return true
	}
	if h != nil {
		h.ServeHTTP(w, r)
		return true
	}
	return false
}
