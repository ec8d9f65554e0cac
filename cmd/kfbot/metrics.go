package main

import (
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kfbot/kfbot/ai"
	"github.com/kfbot/kfbot/bot"
	"github.com/kfbot/kfbot/kf/syncmsg"
	"github.com/kfbot/kfbot/router"
	"github.com/kfbot/kfbot/rules"
	"github.com/kfbot/kfbot/storage/badgerstore"
)

// metrics feeds a private Prometheus registry from the engine (as a bot.Observer), the
// router (router.Config.Observe) and the rule reloads. All metric names start with
// kfbot_. It is safe for concurrent use.
type metrics struct {
	reg *prometheus.Registry

	callbacks    *prometheus.CounterVec
	pulls        *prometheus.CounterVec
	pulledItems  prometheus.Counter
	pullLag      prometheus.Histogram
	messages     *prometheus.CounterVec
	duplicates   prometheus.Counter
	skipped      *prometheus.CounterVec
	replies      *prometheus.CounterVec
	refusals     *prometheus.CounterVec
	ownership    *prometheus.CounterVec
	notes        *prometheus.CounterVec
	handled      *prometheus.HistogramVec
	rulesReloads *prometheus.CounterVec
	rulesLoaded  prometheus.Gauge
	ready        prometheus.Gauge

	aiTokens   *prometheus.CounterVec
	aiAnswers  *prometheus.CounterVec
	aiSeconds  *prometheus.HistogramVec
	aiTools    *prometheus.CounterVec
	aiHandoffs *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kfbot_callbacks_total",
			Help: "Requests to the callback URL, by result (notified, verified, bad_signature, stale_timestamp, …).",
		}, []string{"result"}),
		pulls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kfbot_pulls_total",
			Help: "kf/sync_msg pages pulled and dispatched, by result (ok or error).",
		}, []string{"result"}),
		pulledItems: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kfbot_pulled_items_total",
			Help: "Items (messages and events) received from kf/sync_msg.",
		}),
		pullLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "kfbot_pull_lag_seconds",
			Help:    "Age of the newest item of a kf/sync_msg page when the page was dispatched.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kfbot_messages_total",
			Help: "Messages dispatched to handlers, by msgtype and, for events, event type.",
		}, []string{"type", "event"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kfbot_duplicates_total",
			Help: "Messages skipped because they were already processed (dedup hits).",
		}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kfbot_skipped_total",
			Help: "Messages skipped without handling, by reason (cold_start, recalled).",
		}, []string{"reason"}),
		replies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kfbot_replies_total",
			Help: "Outbound sends, by result (ok, replayed, refused, failed) and WeCom errcode (0 if none).",
		}, []string{"result", "errcode"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kfbot_reply_refusals_total",
			Help: "Replies the engine refused without calling WeCom, by reason (quota, window, human, stopped, not_customer, no_conversation, no_event_code, code_expired).",
		}, []string{"reason"}),
		ownership: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kfbot_ownership_changes_total",
			Help: "Conversations changing hands, by new owner (human: a servicer took over; bot: it came back).",
		}, []string{"owner"}),
		notes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kfbot_notifications_total",
			Help: "Callback notifications that are not KF pokes (external-contact, address-book, provider events), by kind (InfoType or Event) and result (handled, recovered, duplicate, unrouted, failed).",
		}, []string{"kind", "result"}),
		handled: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kfbot_handler_duration_seconds",
			Help:    "Time the handler chain took per message, by result (ok or error).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"result"}),
		rulesReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kfbot_rules_reloads_total",
			Help: "Rule file reloads (SIGHUP or file change), by result (ok, or error: the old rules stay).",
		}, []string{"result"}),
		rulesLoaded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kfbot_rules",
			Help: "Number of rules in the current rule set.",
		}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "kfbot_ready",
			Help: "1 while the bot runs and serves callbacks, else 0.",
		}),
		aiTokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kfbot_ai_tokens_total",
			Help: "Tokens the model read (direction in) and wrote (out), by model.",
		}, []string{"model", "direction"}),
		aiAnswers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kfbot_ai_answers_total",
			Help: "Model answers, by model and outcome (ok, timeout, error, replayed, refused).",
		}, []string{"model", "outcome"}),
		aiSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kfbot_ai_answer_seconds",
			Help:    "Time a model took to answer (tool calls included), by model.",
			Buckets: []float64{0.25, 0.5, 1, 2, 4, 8, 15, 30, 60},
		}, []string{"model"}),
		aiTools: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kfbot_ai_tool_calls_total",
			Help: "Tool calls by the model, by tool and outcome (ok, error, refused).",
		}, []string{"tool", "outcome"}),
		aiHandoffs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kfbot_ai_handoffs_total",
			Help: "Conversations the model handed to a person, by reason (tool or failure).",
		}, []string{"reason"}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "kfbot_build_info",
		Help:        "Always 1; the labels name the kfbot version and the Go version it was built with.",
		ConstLabels: prometheus.Labels{"version": Version(), "goversion": runtime.Version()},
	})
	build.Set(1)
	m.reg.MustRegister(m.callbacks, m.pulls, m.pulledItems, m.pullLag, m.messages, m.duplicates,
		m.skipped, m.replies, m.refusals, m.ownership, m.notes, m.handled, m.rulesReloads, m.rulesLoaded, m.ready, build,
		m.aiTokens, m.aiAnswers, m.aiSeconds, m.aiTools, m.aiHandoffs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Series people alert on exist from the start, at 0.
	m.callbacks.WithLabelValues(string(router.ResultNotified))
	m.pulls.WithLabelValues("ok")
	m.pulls.WithLabelValues("error")
	m.replies.WithLabelValues(string(bot.ReplyOK), "0")
	m.refusals.WithLabelValues(bot.RefusalQuota)
	m.ownership.WithLabelValues("human")
	m.ownership.WithLabelValues("bot")
	m.rulesReloads.WithLabelValues("ok")
	m.rulesReloads.WithLabelValues("error")
	return m
}

// watchStore adds the store's disk gauges: kfbot_store_free_bytes (free bytes on the data
// directory's filesystem, measured at each scrape) and kfbot_store_writable (0 while the
// store refuses writes because the disk is nearly full, when pulling stops).
func (m *metrics) watchStore(store *badgerstore.Store) {
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "kfbot_store_free_bytes",
			Help: "Free bytes on the filesystem of the data directory (-1 when it cannot be measured).",
		}, func() float64 {
			if free, ok := store.FreeSpace(); ok {
				return float64(free)
			}
			return -1
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "kfbot_store_writable",
			Help: "1 while the store accepts writes; 0 while the disk is below the free-space reserve and pulling stops.",
		}, func() float64 {
			if store.CheckSpace() != nil {
				return 0
			}
			return 1
		}))
}

// Handler serves the registry in the Prometheus text format.
func (m *metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Observe implements router.Config.Observe: callback requests only.
func (m *metrics) Observe(o router.Observation) {
	if o.Path != router.DefaultPath {
		return
	}
	m.callbacks.WithLabelValues(string(o.Result)).Inc()
}

// Pull implements bot.Observer.
func (m *metrics) Pull(_ string, items int, lag time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.pulls.WithLabelValues(result).Inc()
	if items > 0 {
		m.pulledItems.Add(float64(items))
		m.pullLag.Observe(lag.Seconds())
	}
}

// Message implements bot.Observer.
func (m *metrics) Message(t syncmsg.MsgType, e syncmsg.EventType) {
	m.messages.WithLabelValues(string(t), string(e)).Inc()
}

// Duplicate implements bot.Observer.
func (m *metrics) Duplicate(string) { m.duplicates.Inc() }

// Skipped implements bot.Observer.
func (m *metrics) Skipped(_ string, reason string) { m.skipped.WithLabelValues(reason).Inc() }

// Reply implements bot.Observer.
func (m *metrics) Reply(r bot.ReplyResult, errcode int) {
	m.replies.WithLabelValues(string(r), strconv.Itoa(errcode)).Inc()
}

// Refused implements bot.Observer.
func (m *metrics) Refused(_ string, reason string) {
	m.refusals.WithLabelValues(reason).Inc()
}

// Ownership implements bot.Observer.
func (m *metrics) Ownership(_ string, human bool) {
	owner := "bot"
	if human {
		owner = "human"
	}
	m.ownership.WithLabelValues(owner).Inc()
}

// Callback implements bot.Observer.
func (m *metrics) Callback(kind string, r bot.CallbackResult) {
	m.notes.WithLabelValues(kind, string(r)).Inc()
}

// Handled implements bot.Observer.
func (m *metrics) Handled(d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.handled.WithLabelValues(result).Observe(d.Seconds())
}

// rulesReloaded is the rules.WithReloadFunc hook.
func (m *metrics) rulesReloaded(s *rules.Set, err error) {
	if err != nil {
		m.rulesReloads.WithLabelValues("error").Inc()
		return
	}
	m.rulesReloads.WithLabelValues("ok").Inc()
	m.rulesLoaded.Set(float64(s.Len()))
}

var _ bot.Observer = (*metrics)(nil)

// errNotReady answers /readyz while the bot is starting or draining.
var errNotReady = errors.New("kfbot: not ready")

// aiObserver is the ai.Observer of the binary's assistant.
type aiObserver struct{ m *metrics }

// Answered implements ai.Observer.
func (o aiObserver) Answered(model string, u ai.Usage, d time.Duration, outcome string) {
	o.m.aiAnswers.WithLabelValues(model, outcome).Inc()
	if outcome == "replayed" || outcome == "refused" {
		return
	}
	o.m.aiTokens.WithLabelValues(model, "in").Add(float64(u.InputTokens))
	o.m.aiTokens.WithLabelValues(model, "out").Add(float64(u.OutputTokens))
	o.m.aiSeconds.WithLabelValues(model).Observe(d.Seconds())
}

// ToolCalled implements ai.Observer.
func (o aiObserver) ToolCalled(name, outcome string) {
	o.m.aiTools.WithLabelValues(name, outcome).Inc()
}

// HandedOff implements ai.Observer.
func (o aiObserver) HandedOff(reason string) { o.m.aiHandoffs.WithLabelValues(reason).Inc() }
