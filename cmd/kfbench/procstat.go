package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procStats is a snapshot of one process's resources.
type procStats struct {
	RSS     uint64        // VmRSS, bytes
	AnonRSS uint64        // RssAnon: RSS without file-backed pages (mmapped files), bytes
	PeakRSS uint64        // VmHWM, bytes
	CPU     time.Duration // user + system
	Mallocs uint64        // cumulative heap allocations (0: unknown)
	Heap    uint64        // bytes in in-use heap spans (0: unknown)
	Live    uint64        // the heap live after the last GC: its goal ÷ (1 + GOGC/100) (0: unknown)
}

const mib = 1 << 20

// selfStats reads this process's resources. It stops the world briefly (ReadMemStats).
func selfStats() procStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := procStats{Mallocs: ms.Mallocs, Heap: ms.HeapInuse, Live: ms.NextGC / 2}
	st.RSS, st.AnonRSS, st.PeakRSS = readStatus("/proc/self/status")
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		st.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return st
}

// pidStats reads another process's resources from /proc and, when metricsURL is set,
// its Go heap statistics from a Prometheus /metrics endpoint.
func pidStats(ctx context.Context, pid int, metricsURL string) procStats {
	var st procStats
	st.RSS, st.AnonRSS, st.PeakRSS = readStatus(fmt.Sprintf("/proc/%d/status", pid))
	st.CPU = readCPU(fmt.Sprintf("/proc/%d/stat", pid))
	if metricsURL != "" {
		m := scrape(ctx, metricsURL, "go_memstats_mallocs_total", "go_memstats_heap_inuse_bytes",
			"go_memstats_next_gc_bytes", "go_gc_gogc_percent")
		st.Mallocs = uint64(m["go_memstats_mallocs_total"])
		st.Heap = uint64(m["go_memstats_heap_inuse_bytes"])
		if gogc, ok := m["go_gc_gogc_percent"]; ok && gogc > 0 {
			st.Live = uint64(m["go_memstats_next_gc_bytes"] / (1 + gogc/100))
		}
	}
	return st
}

// readStatus returns VmRSS, RssAnon and VmHWM, in bytes, from a /proc/<pid>/status file.
func readStatus(path string) (rss, anon, hwm uint64) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "VmRSS":
			rss = n << 10
		case "RssAnon":
			anon = n << 10
		case "VmHWM":
			hwm = n << 10
		}
	}
	return rss, anon, hwm
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux
// architecture Go supports.
const clockTicks = 100

// readCPU returns utime + stime from a /proc/<pid>/stat file.
func readCPU(path string) time.Duration {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces; fields after its ')' are plain.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 { // f[0] is field 3 (state); utime is field 14, stime 15
		return 0
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(u+s) * time.Second / clockTicks
}

// scrape reads the named unlabelled series from a Prometheus text endpoint.
func scrape(ctx context.Context, url string, names ...string) map[string]float64 {
	out := make(map[string]float64, len(names))
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return out
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return out
	}
	return parseMetrics(body, names...)
}

// parseMetrics reads the named unlabelled series (or the sum of a labelled one) from
// the Prometheus text format.
func parseMetrics(body []byte, names ...string) map[string]float64 {
	out := make(map[string]float64, len(names))
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		for _, n := range names {
			rest, ok := strings.CutPrefix(line, n)
			if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
				continue
			}
			if i := strings.LastIndexByte(rest, ' '); i >= 0 {
				if v, err := strconv.ParseFloat(strings.TrimSpace(rest[i+1:]), 64); err == nil {
					out[n] += v
				}
			}
		}
	}
	return out
}

// machine describes the computer the numbers were measured on.
type machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPUModel   string `json:"cpu_model"`
	MemoryMiB  uint64 `json:"memory_mib"`
	GoVersion  string `json:"go_version"`
	OS         string `json:"os"`
}

func thisMachine() machine {
	m := machine{
		CPUs:       runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GoVersion:  runtime.Version(),
		OS:         runtime.GOOS + "/" + runtime.GOARCH,
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if f := strings.Fields(v); len(f) > 0 {
					if n, err := strconv.ParseUint(f[0], 10, 64); err == nil {
						m.MemoryMiB = n >> 10
					}
				}
			}
		}
	}
	return m
}
