// Kfbench is kfbot's load generator: it plays WeCom against a kfbot — the full stack in
// this process, or the real kfbot binary — and reports how much it takes and what
// happens when things break. BENCHMARKS.md at the root of the repository holds the
// measured numbers and the exact commands.
//
//	kfbench load     [flags]   customers × bursts against kfbot: msgs/s, latency, allocs, RSS,
//	                           and the same load against the ceiling (a minimal direct client)
//	kfbench ceiling  [flags]   the ceiling alone: what the fake WeCom and loopback allow
//	kfbench baseline [flags]   the baseline alone: a sequential SDK-style bot
//	kfbench rules    [flags]   the load with 10, 100, 1,000 and 10,000 rules
//	kfbench crash    [flags]   SIGKILL the binary at random moments, restart it on the same
//	                           data directory; count that every message is answered once
//	kfbench soak     [flags]   minutes of traffic with 20% injected faults: 0 lost,
//	                           0 duplicated, memory flat
//	kfbench quick    [flags]   small versions of all of the above, in under a minute (CI)
//
// Every command prints a table, or JSON with -json, and exits 1 when a correctness check
// fails (a message lost, answered twice, or a reply nobody asked for), 2 on a bad command
// line.
//
// # What is measured
//
// The fake WeCom is a [kftest.Server] behind a loopback HTTP listener. Customers (N of
// them, spread over the KF accounts) send bursts of -burst texts (default 4; WeCom allows
// 5 replies after a customer's last message, so a customer never has more than 5
// unanswered messages) and wait for every reply before the next burst. After each burst
// the customer posts one signed, encrypted kf_msg_or_event callback to kfbot's callback
// URL, as WeCom would (-poke direct calls bot.Notify instead, in-process only). With
// -rate the bursts are paced to that many messages per second overall; without it every
// customer sends its next burst as soon as the previous one is answered (closed loop).
//
// kfbot answers every customer text with a reply whose text starts with "re:<msgid>",
// from a generated rule file (-rules N: N−1 keyword rules, each replying with the
// template "re:{{ msg.msgid }} kwNNNNN", and a catch-all last rule) or, with -rules 0,
// from a Go handler. The harness counts the replies as kftest accepts them (its OnSend
// hook): latency is the time from just before the customer's message was appended to the
// accepted reply; a second reply to a msgid is a duplicate; a message without a reply when
// the run has drained is lost. A customer whose replies take longer than -give-up leaves
// (its messages stay counted as lost unless answered later) and a new customer, with a new
// external_userid, takes its place, so that a lost reply does not stop the stream.
//
// messages/s is replies accepted during the measurement window (after -warmup) divided
// by its length. allocs/msg is the process's runtime.MemStats.Mallocs delta over the
// window divided by those replies; in-process it includes the fake server and the
// harness, so compare it with the ceiling's. cpu/msg is the CPU time (user+system) per
// reply: of the whole process in-process, of the kfbot process alone with -bin. RSS is
// VmRSS from /proc/<pid>/status.
//
// The ceiling is the same fake server and the same customers, answered by a minimal
// direct client instead of kfbot: one puller per account doing kf/sync_msg and -senders
// goroutines (default 16, kfbot's default concurrency) doing kf/send_msg, with no
// callbacks (customers poke it through a channel), no store, no rules and no ordering.
// kfbot's result is reported as a fraction of it.
//
// The baseline is what a plain bot written with a popular Go SDK does, on the same fake
// and customers: one pull loop per account that pages through kf/sync_msg with its cursor
// in memory and sends each reply itself, one at a time, before pulling the next page; no
// store, no rules. load runs it too (-baseline=false skips it) and reports kfbot's rate as
// a multiple of it. Its messages left unanswered when its customers give up do not fail
// the run (at -rtt 30ms it answers about 30 a second).
//
// -rtt delays every API call of the fake (kftest's SetLatency) — WeCom's real round trip
// is about 30 ms — for kfbot and the references alike; it is printed with the shape of the
// load. -pages-in-flight sets kfbot's bot.WithPagesInFlight (KFBOT_PAGES_IN_FLIGHT for
// the binary); 1 is the page-barrier engine, each page handled before the next is pulled.
//
// # Driving the binary
//
// -bin PATH runs the kfbot binary: kfbench starts it with KFBOT_API_BASE pointing at the
// fake, KFBOT_LISTEN=127.0.0.1:0 (the bound address is read from its JSON "kfbot: ready"
// log line), KFBOT_ACCOUNTS naming the accounts (so a restart pulls at once), a fresh
// Badger data directory, the generated rule file and KFBOT_COLD_START_AGE=0. -bin build
// builds ./cmd/kfbot into a temporary directory first (with the go command; the
// current directory must be inside the kfbot module). crash and soak always drive the
// binary and build it unless -bin names one. Variables GOMAXPROCS, GOGC, GOMEMLIMIT and
// GODEBUG are passed on to it.
//
// # crash
//
// Streams -messages customer messages (default 10,000) and SIGKILLs the binary -kills
// times (default 20): kill i happens when the i-th of -kills sorted random reply counts
// has been reached, after a further random 0–20 ms, so kills land anywhere in the
// pull–dispatch–send–save cycle. Each time the binary is restarted on the same data
// directory. When every message is answered the binary is stopped with SIGTERM and started
// once more, to show that a clean restart sends nothing again. A customer whose replies do
// not come within -repoke (default 1 s) posts its callback again, as later messages would
// make WeCom do; after -give-up (default 5 s) it is replaced. When no reply comes for
// -stall (default 10 s) the run goes on to the next kill, or to counting, and prints
// kfbot's last log lines.
//
// # soak
//
// Offers -rate messages/s (default 300) for -duration (default 10 minutes) with -faults
// (default 0.2) of the fake's requests faulted: a share faults/5 is delayed by 10–200 ms
// (then served), and kftest's SetFaultRate answers the rest of the share with errcode -1,
// 45033, 42001 or HTTP 502, equally likely, so that the share of requests that see at
// least one fault is exactly -faults. Every -sample (default 10 s) it records the binary's
// live heap (the GC's heap goal from /metrics ÷ (1 + GOGC/100)), its anonymous RSS
// (RssAnon) and its whole RSS. Memory counts as flat when, over the samples taken after
// -settle (default 6 minutes: start-up, and the router's replay-protection window, which
// keeps the nonces of 5 minutes of callbacks, filling up), the median of the last third is
// within -flat (default 1.25×) of the median of the first third, for the live heap and the
// anonymous RSS; their least-squares slopes are printed too. Medians, because a sample
// that falls on a Badger memtable flush is a short spike. The whole RSS also counts
// Badger's memory-mapped files, page cache the kernel can reclaim, and is reported beside.
package main
