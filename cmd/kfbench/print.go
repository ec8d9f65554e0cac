package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// num formats n with thousands separators.
func num[T int | int64 | float64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func printMachine(w io.Writer, m machine) {
	fmt.Fprintf(w, "machine: %d CPUs (GOMAXPROCS %d), %s, %s MiB, %s, %s\n\n",
		m.CPUs, m.GOMAXPROCS, m.CPUModel, num(int64(m.MemoryMiB)), m.GoVersion, m.OS)
}

func loadShape(r *LoadResult) string {
	shape := fmt.Sprintf("%s customers × bursts of %d, %d account(s)", num(r.Customers), r.Burst, r.Accounts)
	if r.RTTMs > 0 {
		shape += fmt.Sprintf(", %g ms per API call", r.RTTMs)
	}
	if r.OfferedRate > 0 {
		return shape + ", paced at " + num(r.OfferedRate) + " msgs/s"
	}
	return shape + ", closed loop"
}

func printLoad(w io.Writer, r *LoadResult) {
	switch r.Name {
	case "ceiling":
		fmt.Fprintf(w, "== ceiling: direct client with %d senders (sync_msg + send_msg only); %s\n", r.Concurrency, loadShape(r))
	case "baseline":
		fmt.Fprintf(w, "== baseline: sequential SDK-style bot (one pull loop, sends one by one, no store); %s\n", loadShape(r))
	default:
		who := "handler"
		if r.Rules > 0 {
			who = num(r.Rules) + " rules"
		}
		store := r.Store + " store"
		pages := ""
		if r.PagesInFlight > 0 {
			pages = fmt.Sprintf(", %d pages in flight", r.PagesInFlight)
		}
		fmt.Fprintf(w, "== kfbot %s: %s, %s, %s pokes, concurrency %d%s; %s\n", r.Target, who, store, r.Poke, r.Concurrency, pages, loadShape(r))
	}
	of := ""
	if r.OfCeiling > 0 {
		of = fmt.Sprintf("  (%.0f%% of the ceiling)", 100*r.OfCeiling)
	}
	if r.TimesBaseline > 0 {
		of += fmt.Sprintf("  (%.1f× the baseline)", r.TimesBaseline)
	}
	fmt.Fprintf(w, "   messages/s   %s%s   over %.1f s\n", num(r.MsgsPerSec), of, r.Seconds)
	fmt.Fprintf(w, "   latency      p50 %.1f ms   p95 %.1f ms   p99 %.1f ms   max %.1f ms\n", r.P50Ms, r.P95Ms, r.P99Ms, r.MaxMs)
	res := fmt.Sprintf("   per message  %.0f µs CPU", r.CPUPerMsgUs)
	if r.Target == "binary" {
		res += fmt.Sprintf(" (kfbot process; kfbench %.0f µs)", r.HarnessCPUPerMsgUs)
	}
	if r.AllocsPerMsg > 0 {
		res += fmt.Sprintf(", %.0f allocs", r.AllocsPerMsg)
		if r.Target != "binary" {
			res += " (whole process, fake included)"
		}
	}
	fmt.Fprintln(w, res)
	mem := fmt.Sprintf("   memory       RSS %.0f MiB (peak %.0f MiB), heap %.0f MiB", r.RSSMiB, r.PeakRSSMiB, r.HeapMiB)
	if r.RulesLoadMs > 0 {
		mem += fmt.Sprintf("; rules loaded in %.0f ms", r.RulesLoadMs)
	}
	fmt.Fprintln(w, mem)
	if r.StoreReadsPerMsg+r.StoreWritesPerMsg > 0 {
		fmt.Fprintf(w, "   store        %.2f operations per message (%.2f reads, %.2f writes)\n",
			r.StoreReadsPerMsg+r.StoreWritesPerMsg, r.StoreReadsPerMsg, r.StoreWritesPerMsg)
	}
	fmt.Fprintf(w, "   exactly once sent %s, answered %s, lost %d, duplicated %d, unexpected %d",
		num(r.Sent), num(r.Answered), r.Lost, r.Duplicated, r.Unexpected)
	if r.PokeErrors > 0 || r.Repokes > 0 {
		fmt.Fprintf(w, " (callback errors %d, repeated %d)", r.PokeErrors, r.Repokes)
	}
	fmt.Fprintln(w)
	printLosses(w, r.GaveUp, r.Late, r.LostIDs)
	if r.CloseError != "" {
		fmt.Fprintf(w, "   stop error   %s\n", r.CloseError)
	}
	fmt.Fprintln(w)
}

// printLosses lists lost messages, if any, and the customers who gave up.
func printLosses(w io.Writer, gaveUp, late int64, lost []string) {
	if gaveUp > 0 {
		fmt.Fprintf(w, "   gave up      %d customers waited too long and were replaced; %d of their replies came later\n", gaveUp, late)
	}
	if len(lost) > 0 {
		fmt.Fprintf(w, "   lost msgids  %s\n", strings.Join(lost, " "))
	}
}

func printRulesTable(w io.Writer, rs []*LoadResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintln(w, "== rule scaling")
	fmt.Fprintf(w, "   %8s %10s %9s %8s %8s %8s %10s %10s %8s %10s\n",
		"rules", "msgs/s", "ceiling", "p50 ms", "p99 ms", "cpu µs", "allocs", "load ms", "RSS MiB", "lost/dup")
	for _, r := range rs {
		of := "-"
		if r.OfCeiling > 0 {
			of = fmt.Sprintf("%.0f%%", 100*r.OfCeiling)
		}
		fmt.Fprintf(w, "   %8s %10s %9s %8.1f %8.1f %8.0f %10.0f %10.0f %8.0f %6d/%d\n",
			num(r.Rules), num(r.MsgsPerSec), of, r.P50Ms, r.P99Ms, r.CPUPerMsgUs, r.AllocsPerMsg, r.RulesLoadMs,
			r.RSSMiB, r.Lost, r.Duplicated)
	}
	fmt.Fprintln(w)
}

func printCrash(w io.Writer, r *CrashResult) {
	fmt.Fprintf(w, "== crash: %s messages (%s customers × bursts of %d, %d rules), kfbot binary on Badger, SIGKILL %d times\n",
		num(r.Messages), num(r.Customers), r.Burst, r.Rules, r.Kills)
	pts := make([]string, len(r.KillPoints))
	for i, p := range r.KillPoints {
		pts[i] = num(p)
	}
	fmt.Fprintf(w, "   killed at    %s replies\n", strings.Join(pts, ", "))
	fmt.Fprintf(w, "   restarts     %d, exec to ready mean %.0f ms, max %.0f ms; whole run %.1f s\n",
		r.Restarts, r.MeanRestartMs, r.MaxRestartMs, r.Seconds)
	fmt.Fprintf(w, "   exactly once sent %s, answered %s, lost %d, duplicated %d, unexpected %d\n",
		num(r.Sent), num(r.Answered), r.Lost, r.Duplicated, r.Unexpected)
	printLosses(w, r.GaveUp, r.Late, r.LostIDs)
	if r.Stalls > 0 {
		fmt.Fprintf(w, "   stalls       %d times replies stopped coming; kfbot's last log lines then:\n", r.Stalls)
		for line := range strings.SplitSeq(r.LogTail, "\n") {
			fmt.Fprintf(w, "      %s\n", line)
		}
	}
	fmt.Fprintf(w, "   clean restart afterwards: %d replies, %d send_msg calls\n", r.CleanRunSends, r.CleanRunCalls)
	fmt.Fprintf(w, "   along the way: %d callbacks refused while kfbot was down, %d repeated, %d sends refused as a used msgid, %d replies refused by kfbot itself (logged)\n\n",
		r.PokeErrors, r.Repokes, r.DuplicateMsgID, r.Refused)
}

func printSoak(w io.Writer, r *SoakResult) {
	fmt.Fprintf(w, "== soak: %.0f s at %s msgs/s offered (%s customers × bursts of %d, %d rules), %.0f%% of the fake's requests faulted, kfbot binary\n",
		r.Seconds, num(r.OfferedRate), num(r.Customers), r.Burst, r.Rules, 100*r.Faults)
	fmt.Fprintf(w, "   messages/s   %s answered\n", num(r.MsgsPerSec))
	fmt.Fprintf(w, "   latency      p50 %.1f ms   p95 %.1f ms   p99 %.1f ms   max %.1f ms\n", r.P50Ms, r.P95Ms, r.P99Ms, r.MaxMs)
	keys := slices.Sorted(maps.Keys(r.Failures))
	parts := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %s", k, num(r.Failures[k])))
	}
	parts = append(parts, "delayed: "+num(r.Delayed))
	fmt.Fprintf(w, "   fake         %s requests; %s\n", num(r.Requests), strings.Join(parts, ", "))
	fmt.Fprintf(w, "   kfbot logs   %s warnings, %s errors, %s replies refused by kfbot itself\n", num(r.BotWarnings), num(r.BotErrors), num(r.BotRefused))
	flat := "flat"
	switch {
	case !r.Judged:
		flat = "not judged: too few samples after the settling time"
	case !r.Flat:
		flat = "NOT flat"
	}
	fmt.Fprintf(w, "   memory       live heap %.1f → %.1f MiB, anonymous RSS %.1f → %.1f MiB (medians of the first → last third of the samples after %.0f s): %s (bound %.2f×)\n",
		r.FirstThirdHeap, r.LastThirdHeap, r.FirstThirdAnon, r.LastThirdAnon, r.SettleSeconds, flat, r.FlatBound)
	fmt.Fprintf(w, "                slope after %.0f s: live heap %+.2f MiB/min, anonymous RSS %+.2f MiB/min\n", r.SettleSeconds, r.HeapSlope, r.AnonSlope)
	fmt.Fprintf(w, "                RSS with mmapped files %.1f → %.1f MiB\n", r.FirstThirdRSS, r.LastThirdRSS)
	var rss, anon, heap []string
	for _, s := range r.Samples {
		rss = append(rss, fmt.Sprintf("%.0f", s.RSSMiB))
		anon = append(anon, fmt.Sprintf("%.0f", s.AnonMiB))
		heap = append(heap, fmt.Sprintf("%.0f", s.HeapMiB))
	}
	fmt.Fprintf(w, "   samples MiB  heap %s\n", strings.Join(heap, " "))
	fmt.Fprintf(w, "                anon %s\n", strings.Join(anon, " "))
	fmt.Fprintf(w, "                RSS  %s\n", strings.Join(rss, " "))
	fmt.Fprintf(w, "   exactly once sent %s, answered %s, lost %d, duplicated %d, unexpected %d\n",
		num(r.Sent), num(r.Answered), r.Lost, r.Duplicated, r.Unexpected)
	printLosses(w, r.GaveUp, r.Late, r.LostIDs)
	if r.CloseError != "" {
		fmt.Fprintf(w, "   stop error   %s\n", r.CloseError)
	}
	fmt.Fprintln(w)
}
