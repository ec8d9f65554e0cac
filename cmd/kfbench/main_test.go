package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kfbot/kfbot/kf/kftest"
	"github.com/kfbot/kfbot/rules"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDone func()
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDone != nil {
		binDone()
	}
	os.Exit(code)
}

// kfbotBinary builds the kfbot binary once per test run, the way kfbench does.
func kfbotBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the kfbot binary")
	}
	binOnce.Do(func() { binPath, binDone, binErr = resolveBin(t.Context(), "build", true) })
	require.NoError(t, binErr)
	return binPath
}

func TestHistogram(t *testing.T) {
	tests := []struct {
		name   string
		values []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, .5, 0},
		{"one value", []time.Duration{3 * time.Millisecond}, .99, 3 * time.Millisecond},
		{"exact below 128µs", []time.Duration{10 * time.Microsecond, 20 * time.Microsecond, 30 * time.Microsecond}, .5, 20 * time.Microsecond},
		{"median of 1..100 ms", msRange(1, 100), .5, 50 * time.Millisecond},
		{"p99 of 1..100 ms", msRange(1, 100), .99, 99 * time.Millisecond},
		{"p100 is the largest", msRange(1, 100), 1, 100 * time.Millisecond},
		{"negative counts as 0", []time.Duration{-time.Second}, .5, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h histogram
			for _, v := range tt.values {
				h.record(v)
			}
			got := h.quantile(tt.q)
			// Buckets hold 1/128 of their power of two: under 0.8% below the value.
			assert.InDelta(t, float64(tt.want), float64(got), float64(tt.want)/128+1, "got %s", got)
			assert.LessOrEqual(t, got, tt.want)
		})
	}
}

func msRange(from, to int) []time.Duration {
	var out []time.Duration
	for i := from; i <= to; i++ {
		out = append(out, time.Duration(i)*time.Millisecond)
	}
	return out
}

func TestHistIndexRoundTrip(t *testing.T) {
	for _, us := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 12345, 1 << 30, 1<<40 - 1} {
		i := histIndex(us)
		lo := histValue(i)
		assert.LessOrEqual(t, lo, us, "bucket %d of %d", i, us)
		assert.Greater(t, lo+lo/128+1, us, "bucket %d of %d too coarse", i, us)
	}
}

func TestParseReply(t *testing.T) {
	tests := []struct {
		text, msgID string
		ok          bool
	}{
		{"re:from_msgid_12", "from_msgid_12", true},
		{"re:from_msgid_7 kw00042", "from_msgid_7", true},
		{"re:", "", false},
		{"hello", "", false},
		{"Re:from_msgid_1", "", false},
	}
	for _, tt := range tests {
		id, ok := parseReply(tt.text)
		assert.Equal(t, tt.ok, ok, tt.text)
		assert.Equal(t, tt.msgID, id, tt.text)
	}
	n, ok := msgNumber("from_msgid_123")
	assert.True(t, ok)
	assert.Equal(t, 123, n)
	_, ok = msgNumber("msg_1")
	assert.False(t, ok)
}

// TestTally counts first replies, duplicates and replies nobody asked for.
func TestTally(t *testing.T) {
	srv := kftest.NewUnstartedServer(kftest.WithSeed(1))
	tl := newTally(2, 1, 1)
	c := tl.customers[0]
	tl.appendBurst(srv, c, 2, func(*rand.Rand) string { return "hi" })
	require.Equal(t, 2, c.outstanding())
	ids := srv.Items(c.kf)
	require.Len(t, ids, 2)

	tl.onSend(kftest.Sent{ToUser: c.id, Text: "re:from_msgid_1"})
	tl.onSend(kftest.Sent{ToUser: c.id, Text: "re:from_msgid_1 again"})
	tl.onSend(kftest.Sent{ToUser: tl.customers[1].id, Text: "re:from_msgid_99"})
	tl.onSend(kftest.Sent{ToUser: c.id, Text: "something else"})
	assert.Equal(t, int64(1), tl.answered.Load())
	assert.Equal(t, int64(1), tl.duplicates.Load())
	assert.Equal(t, int64(2), tl.unexpected.Load())
	assert.Equal(t, int64(1), tl.lost())
	assert.Equal(t, []string{"from_msgid_2"}, tl.lostIDs(10))

	select {
	case <-c.done:
		t.Fatal("done before the burst was answered")
	default:
	}
	reached := tl.reached(2)
	tl.onSend(kftest.Sent{ToUser: c.id, Text: "re:from_msgid_2"})
	<-c.done
	<-reached
	assert.Zero(t, tl.lost())

	// A customer who gives up is replaced; a late reply to its message still counts.
	tl.appendBurst(srv, c, 1, func(*rand.Rand) string { return "anyone?" })
	old := c.id
	tl.replace(c)
	assert.NotEqual(t, old, c.id)
	assert.Equal(t, c, tl.customer(c.id))
	assert.Zero(t, c.outstanding())
	assert.Equal(t, int64(1), tl.lost())
	tl.onSend(kftest.Sent{ToUser: old, Text: "re:from_msgid_3"})
	assert.Zero(t, tl.lost())
	assert.Equal(t, int64(1), tl.late.Load())
	assert.Equal(t, int64(3), tl.answered.Load())
}

// TestRulesYAML: the generated rule files compile, and each text gets the reply its rule
// promises.
func TestRulesYAML(t *testing.T) {
	for _, n := range []int{1, 10, 1000} {
		set, err := rules.Load(bytes.NewReader(rulesYAML(n)), "gen.yaml")
		require.NoError(t, err, "%d rules", n)
		assert.Equal(t, n, set.Len())
	}
	text := textFor(10)
	r := rand.New(rand.NewPCG(1, 2))
	kw := 0
	for range 100 {
		if strings.Contains(text(r), "kw0000") {
			kw++
		}
	}
	assert.Greater(t, kw, 70, "most texts name a keyword")
	assert.Equal(t, "hello, is anyone there?", textFor(1)(r))
}

func TestParseMetrics(t *testing.T) {
	body := []byte(`# HELP go_memstats_mallocs_total Total number of heap objects allocated.
# TYPE go_memstats_mallocs_total counter
go_memstats_mallocs_total 1.2345e+06
go_memstats_heap_inuse_bytes 4.194304e+06
kfbot_pulls_total{result="error"} 2
kfbot_pulls_total{result="ok"} 40
kfbot_pulls_totally 9
`)
	m := parseMetrics(body, "go_memstats_mallocs_total", "go_memstats_heap_inuse_bytes", "kfbot_pulls_total")
	assert.Equal(t, 1234500.0, m["go_memstats_mallocs_total"])
	assert.Equal(t, 4194304.0, m["go_memstats_heap_inuse_bytes"])
	assert.Equal(t, 42.0, m["kfbot_pulls_total"])
}

func TestProcStats(t *testing.T) {
	st := selfStats()
	assert.Positive(t, st.RSS)
	assert.GreaterOrEqual(t, st.PeakRSS, st.RSS)
	assert.Positive(t, st.Mallocs)
	o := pidStats(t.Context(), os.Getpid(), "")
	assert.Positive(t, o.RSS)
	assert.Positive(t, o.CPU+1) // may be 0 ticks this early; must not be negative
	m := thisMachine()
	assert.Positive(t, m.CPUs)
	assert.NotEmpty(t, m.GoVersion)
}

func TestFaults(t *testing.T) {
	f, err := startFake(3)
	require.NoError(t, err)
	defer f.close()
	f.setFaults(0.5)
	hc := callbackClient()
	for range 200 {
		resp, err := hc.Get(f.url + "/cgi-bin/gettoken?corpid=" + f.srv.CorpID() + "&corpsecret=" + f.srv.Secret())
		require.NoError(t, err)
		resp.Body.Close()
	}
	counts := f.errorCounts()
	var errs int64
	for _, n := range counts {
		errs += n
	}
	total := errs + f.delayed.Load()
	assert.InDelta(t, 100, total, 35, "about half of 200 requests faulted (errors %v, delayed %d)", counts, f.delayed.Load())
	assert.Positive(t, counts["HTTP 502"])
	assert.Positive(t, counts["errcode -1"])
}

func tinyLoad(rules int) loadConfig {
	return loadConfig{
		traffic:     traffic{customers: 20, burst: 2, accounts: 2, seed: 5},
		rules:       rules,
		store:       "memory",
		concurrency: 4,
		senders:     4,
		poke:        "callback",
		warmup:      50 * time.Millisecond,
		duration:    300 * time.Millisecond,
		drain:       20 * time.Second,
	}
}

// TestLoad runs tiny loads against the ceiling and kfbot in process: every message is
// answered exactly once and the numbers are sane.
func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		cfg  func() loadConfig
	}{
		{"ceiling", func() loadConfig { c := tinyLoad(0); c.ceiling = true; return c }},
		{"handler, direct pokes", func() loadConfig { c := tinyLoad(0); c.poke = "direct"; return c }},
		{"rules, callbacks, badger", func() loadConfig { c := tinyLoad(10); c.store = "badger"; return c }},
		{"paced", func() loadConfig { c := tinyLoad(10); c.rate = 200; return c }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := runLoad(t.Context(), tt.cfg())
			require.NoError(t, err)
			assert.True(t, res.OK(), "%+v", res)
			assert.Zero(t, res.Lost)
			assert.Zero(t, res.Duplicated)
			assert.Equal(t, res.Sent, res.Answered)
			assert.Positive(t, res.Replies)
			assert.Positive(t, res.MsgsPerSec)
			assert.LessOrEqual(t, res.P50Ms, res.P99Ms)
			assert.LessOrEqual(t, res.P99Ms, res.MaxMs)
			assert.Positive(t, res.AllocsPerMsg)
			assert.Positive(t, res.RSSMiB)
		})
	}
}

// TestRun drives the command line: usage errors, and a short ceiling as JSON.
func TestRun(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, exitUsage, run(t.Context(), nil, &out, &errOut))
	assert.Equal(t, exitUsage, run(t.Context(), []string{"nonsense"}, &out, &errOut))
	assert.Equal(t, exitUsage, run(t.Context(), []string{"load", "-burst", "x"}, &out, &errOut))
	assert.Equal(t, exitUsage, run(t.Context(), []string{"load", "-burst", "6"}, &out, &errOut))
	assert.Contains(t, errOut.String(), "-burst must be 1–5")

	out.Reset()
	code := run(t.Context(), []string{"ceiling", "-json", "-customers", "10", "-burst", "2", "-warmup", "0s", "-duration", "200ms"}, &out, &errOut)
	require.Equal(t, exitOK, code, errOut.String())
	var rep report
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	require.Len(t, rep.Loads, 1)
	assert.Equal(t, "ceiling", rep.Loads[0].Name)
	assert.Positive(t, rep.Loads[0].Answered)
	assert.Positive(t, rep.Machine.CPUs)

	out.Reset()
	code = run(t.Context(), []string{"load", "-json", "-rtt", "5ms", "-rules", "0", "-ceiling=false", "-customers", "10", "-burst", "2",
		"-warmup", "0s", "-duration", "300ms"}, &out, &errOut)
	require.Equal(t, exitOK, code, errOut.String())
	rep = report{}
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	require.Len(t, rep.Loads, 2, "the baseline, then kfbot")
	assert.Equal(t, "baseline", rep.Loads[0].Name)
	for _, l := range rep.Loads {
		assert.Positive(t, l.Answered, l.Name)
		assert.Zero(t, l.Lost, l.Name)
		assert.Zero(t, l.Duplicated, l.Name)
		assert.InDelta(t, 5.0, l.RTTMs, 0.001, "%s: the RTT is reported", l.Name)
	}
	assert.Positive(t, rep.Loads[1].TimesBaseline, "kfbot is reported as a multiple of the baseline")
	assert.Equal(t, exitUsage, run(t.Context(), []string{"load", "-rtt", "-1s"}, &out, &errOut))

	out.Reset()
	code = run(t.Context(), []string{"rules", "-sizes", "1,20", "-ceiling=false", "-customers", "10", "-warmup", "0s", "-duration", "200ms"}, &out, &errOut)
	require.Equal(t, exitOK, code, errOut.String())
	assert.Contains(t, out.String(), "== rule scaling")
}

// TestCrash SIGKILLs the binary 3 times during 300 messages and checks that every message
// is answered exactly once and that a clean restart sends nothing. The stall (how long
// the run waits for late answers before it counts them lost) is generous: a loaded
// machine slows restarts down, and a healthy run never waits for it.
func TestCrash(t *testing.T) {
	bin := kfbotBinary(t)
	res, err := runCrash(t.Context(), crashConfig{bin: bin, messages: 300, kills: 3, customers: 30, burst: 4, accounts: 1,
		rules: 10, concurrency: 4, seed: 9, repoke: 500 * time.Millisecond, giveUp: 2 * time.Second, stall: 15 * time.Second,
		wait: time.Minute, logLevel: "info"})
	require.NoError(t, err)
	assert.True(t, res.OK(), "%+v", res)
	assert.Equal(t, 3, res.Kills)
	assert.Equal(t, 3, res.Restarts)
	assert.Len(t, res.KillPoints, 3)
	assert.Equal(t, int64(300), res.Sent)
	assert.Equal(t, int64(300), res.Answered)
	assert.Zero(t, res.Lost, "lost: %v (kfbot refused %d replies itself)", res.LostIDs, res.Refused)
	assert.Zero(t, res.Duplicated)
	assert.Zero(t, res.Unexpected)
	assert.Zero(t, res.CleanRunSends)
	assert.Zero(t, res.CleanRunCalls)
}

// TestSoak runs 2 s of traffic through the binary with 20% of the fake's requests
// faulted: nothing lost or duplicated, faults counted, memory sampled.
func TestSoak(t *testing.T) {
	bin := kfbotBinary(t)
	res, err := runSoak(t.Context(), soakConfig{bin: bin, duration: 2 * time.Second, sample: 250 * time.Millisecond,
		drain: 20 * time.Second, rate: 100, faults: 0.2, customers: 40, burst: 2, accounts: 1, rules: 10,
		concurrency: 8, seed: 11, flat: 1.25, settle: 250 * time.Millisecond})
	require.NoError(t, err)
	assert.True(t, res.OK(), "%+v", res)
	assert.Zero(t, res.Lost)
	assert.Zero(t, res.Duplicated)
	assert.Positive(t, res.Answered)
	assert.Positive(t, res.Delayed+res.Failures["errcode -1"]+res.Failures["HTTP 502"])
	assert.GreaterOrEqual(t, len(res.Samples), 4)
	assert.Positive(t, res.Samples[0].RSSMiB)
	assert.Positive(t, res.Samples[0].HeapMiB)
}
