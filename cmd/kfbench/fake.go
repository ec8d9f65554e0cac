package main

import (
	"fmt"
	"io"
	"log"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kfbot/kfbot/kf/kftest"
)

// Fault kinds injected by the soak: kftest answers errors, the fake's wrapper delays.
var faultCodes = []int{kftest.ErrCodeSystemBusy, 45033, kftest.ErrCodeAccessTokenExpired, http.StatusBadGateway}

const (
	minFaultDelay = 10 * time.Millisecond
	maxFaultDelay = 200 * time.Millisecond
)

// fake is the fake WeCom: a kftest.Server served on a loopback listener through a
// wrapper that can delay a share of the requests.
type fake struct {
	srv *kftest.Server
	url string
	hs  *http.Server
	ln  net.Listener

	delayP  atomic.Uint64 // float64 bits: share of requests delayed
	delayed atomic.Int64  // requests delayed so far

	mu     sync.Mutex
	rng    *rand.Rand
	errors map[string]int64 // non-ok answers by "errcode N" or "HTTP N"
}

// startFake starts the fake WeCom on 127.0.0.1 with a seeded random source and the
// given options.
func startFake(seed int64, opts ...kftest.Option) (*fake, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fake wecom: listen: %w", err)
	}
	f := &fake{
		srv:    kftest.NewUnstartedServer(append([]kftest.Option{kftest.WithSeed(seed)}, opts...)...),
		url:    "http://" + ln.Addr().String(),
		ln:     ln,
		rng:    rand.New(rand.NewPCG(uint64(seed), 0x6b666265)),
		errors: make(map[string]int64),
	}
	f.hs = &http.Server{
		Handler:           http.HandlerFunc(f.serve),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go func() { _ = f.hs.Serve(ln) }()
	return f, nil
}

// setFaults makes a share p of the requests see a fault: p/5 are delayed by 10–200 ms
// and kftest answers errors (-1, 45033, 42001, HTTP 502) to the rest of the share,
// independently of the delay: 1 − (1 − p/5)(1 − e) = p.
func (f *fake) setFaults(p float64) {
	p = min(max(p, 0), 0.99)
	d := p / 5
	f.delayP.Store(math.Float64bits(d))
	if p == 0 {
		f.srv.SetFaultRate(0)
		return
	}
	f.srv.SetFaultRate(1-(1-p)/(1-d), faultCodes...)
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	if p := math.Float64frombits(f.delayP.Load()); p > 0 {
		f.mu.Lock()
		hit := f.rng.Float64() < p
		d := minFaultDelay + time.Duration(f.rng.Int64N(int64(maxFaultDelay-minFaultDelay)))
		f.mu.Unlock()
		if hit {
			f.delayed.Add(1)
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
	}
	rec := &recorder{ResponseWriter: w}
	f.srv.Handler().ServeHTTP(rec, r)
	if key := rec.failure(); key != "" {
		f.mu.Lock()
		f.errors[key]++
		f.mu.Unlock()
	}
}

// errorCounts returns a copy of the non-ok answers counted so far.
func (f *fake) errorCounts() map[string]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.errors)
}

// recorder remembers the status and the start of the body of an answer.
type recorder struct {
	http.ResponseWriter
	status int
	head   []byte
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if len(r.head) < 24 {
		r.head = append(r.head, b[:min(len(b), 24-len(r.head))]...)
	}
	return r.ResponseWriter.Write(b)
}

// failure names a non-ok answer ("HTTP 502", "errcode -1"), or returns "".
func (r *recorder) failure() string {
	if r.status != 0 && r.status != http.StatusOK {
		return "HTTP " + strconv.Itoa(r.status)
	}
	s, ok := strings.CutPrefix(string(r.head), `{"errcode":`)
	if !ok {
		return ""
	}
	if i := strings.IndexByte(s, ','); i >= 0 {
		s = s[:i]
	}
	if s == "0" {
		return ""
	}
	return "errcode " + s
}

// requests returns how many requests reached the fake's main endpoints.
func (f *fake) requests() int64 {
	n := 0
	for _, p := range []string{"gettoken", "sync_msg", "send_msg"} {
		n += f.srv.Calls(p)
	}
	return int64(n)
}

// close stops the listener and closes every connection; the bot under test is stopped
// by then.
func (f *fake) close() {
	_ = f.hs.Close()
	f.srv.Close()
}
