// Package telemetry is what an operator watches PolicyKit by: Prometheus metrics on a
// registry of their own (never the default one) and OpenTelemetry traces (off unless
// configured). The App builds one *Metrics and hands its pieces to the parts that report:
// the bus (bus.Observer), the effect skeleton (effects.Observer), the engine's forwarder
// (ObserveEvents), the evaluator (Evaluator), the HTTP server (HTTP) and the GraphQL API
// (GraphQLExtension). A nil *Metrics is valid and records nothing, so tests and tools that
// do not care pass nil.
package telemetry

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/policykit-go/policykit/sandbox"
)

const namespace = "policykit"

// Metrics holds PolicyKit's collectors on its own registry.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	decisions      *prometheus.CounterVec
	voteToDecision prometheus.Histogram
	evaluation     *prometheus.HistogramVec
	effects        *prometheus.CounterVec
	effectFailures *prometheus.CounterVec
	effectDuration *prometheus.HistogramVec
	busHandled     *prometheus.CounterVec
	busRedelivered *prometheus.CounterVec
	busPoisoned    *prometheus.CounterVec
	httpRequests   *prometheus.CounterVec
	httpDuration   *prometheus.HistogramVec
	graphqlOps     *prometheus.CounterVec
	graphqlSeconds *prometheus.HistogramVec

	votes     votesSeen
	operation boundedNames
}

// latencyBuckets span a fast in-process decision (a millisecond) to a slow one (a minute).
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// New returns Metrics on a new registry, with the Go runtime's and the process's collectors.
// A nil logger discards logs.
func New(logger *slog.Logger) *Metrics {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{reg: prometheus.NewRegistry(), log: logger, operation: boundedNames{max: maxOperationNames}}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
		m.reg.MustRegister(c)
		return c
	}
	histogram := func(name, help string, labels ...string) *prometheus.HistogramVec {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: latencyBuckets}, labels)
		m.reg.MustRegister(h)
		return h
	}
	m.decisions = counter("decisions_total", "Decisions appended to the log, by outcome (passed, failed, executed, rejected, reverted, governed, execution_failed, filter_errored).", "outcome")
	for _, o := range outcomes {
		m.decisions.WithLabelValues(o) // every outcome is shown, at 0 until it happens
	}
	m.voteToDecision = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "vote_to_decision_seconds",
		Help: "Time from a vote's recording to the decision (passed or failed) it caused.", Buckets: latencyBuckets})
	m.reg.MustRegister(m.voteToDecision)
	m.evaluation = histogram("policy_evaluation_seconds", "Time to evaluate one policy block, by block and outcome (ok, error).", "block", "outcome")
	m.effects = counter("effect_attempts_total", "Effects an adapter tried to perform, by platform.", "platform")
	m.effectFailures = counter("effect_failures_total", "Effects that failed on their platform, by platform.", "platform")
	m.effectDuration = histogram("effect_duration_seconds", "Time to perform one effect on its platform, by platform.", "platform")
	m.busHandled = counter("bus_messages_handled_total", "Runs of a bus handler on a message, by handler and outcome (ok, error).", "handler", "outcome")
	m.busRedelivered = counter("bus_redeliveries_total", "Messages handled again, by handler and reason: retry (the router ran the handler again) or nack (handed back to the transport).", "handler", "reason")
	m.busPoisoned = counter("bus_poisoned_total", "Messages that failed for good and went to the poison topic, by handler.", "handler")
	m.httpRequests = counter("http_requests_total", "HTTP requests, by route pattern, method and status code.", "route", "method", "code")
	m.httpDuration = histogram("http_request_duration_seconds", "HTTP request durations, by route pattern and method.", "route", "method")
	m.graphqlOps = counter("graphql_operations_total", "GraphQL operations, by operation name, type (query, mutation, subscription) and outcome (ok, error).", "operation", "type", "outcome")
	m.graphqlSeconds = histogram("graphql_operation_duration_seconds", "GraphQL operation durations, by operation name and type.", "operation", "type")
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry the metrics are on (for tests and for more collectors).
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the metrics in the Prometheus exposition format. A collector that fails
// leaves its figures out of the scrape rather than failing it.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, ErrorLog: slogPrinter{m.log}})
}

type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("metrics", "err", v) }

// WatchSandbox reports the policy sandbox's counters (sandbox.Pool Stats) at each scrape.
func (m *Metrics) WatchSandbox(stats func() sandbox.Stats) {
	if m == nil || stats == nil {
		return
	}
	m.reg.MustRegister(sandboxCollector{stats: stats})
}

// LagFunc tells how far a reader of the log is behind its head: the events not yet read and
// when the oldest of them was recorded (zero when none).
type LagFunc func(ctx context.Context) (events int64, oldest time.Time, err error)

// WatchProjectionLag reports the read models' lag behind the log at each scrape, as
// policykit_projection_lag_events and policykit_projection_lag_seconds.
func (m *Metrics) WatchProjectionLag(lag LagFunc) {
	m.watchLag("projection_lag", "the read models (projections)", lag)
}

// WatchBusBacklog reports the engine's forwarder's distance from the log's head at each
// scrape: events appended but not yet published on the bus, as policykit_bus_backlog_events
// and policykit_bus_backlog_seconds.
func (m *Metrics) WatchBusBacklog(lag LagFunc) {
	m.watchLag("bus_backlog", "the engine's forwarder (events appended, not yet published on the bus)", lag)
}

func (m *Metrics) watchLag(name, who string, lag LagFunc) {
	if m == nil || lag == nil {
		return
	}
	m.reg.MustRegister(&lagCollector{
		events:  prometheus.NewDesc(namespace+"_"+name+"_events", "Events in the log not yet read by "+who+".", nil, nil),
		seconds: prometheus.NewDesc(namespace+"_"+name+"_seconds", "Age of the oldest event in the log not yet read by "+who+" (0 when caught up).", nil, nil),
		lag:     lag, log: m.log,
	})
}

// scrapeTimeout bounds the database queries of one scrape.
const scrapeTimeout = 2 * time.Second

type lagCollector struct {
	events, seconds *prometheus.Desc
	lag             LagFunc
	log             *slog.Logger
}

func (c *lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.events; ch <- c.seconds }

func (c *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	n, oldest, err := c.lag(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.events, err)
		return
	}
	age := 0.0
	if !oldest.IsZero() && n > 0 {
		age = max(time.Since(oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(c.events, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(c.seconds, prometheus.GaugeValue, age)
}

type sandboxCollector struct{ stats func() sandbox.Stats }

var (
	sandboxWorkers  = prometheus.NewDesc(namespace+"_sandbox_workers", "Live policy sandbox worker processes.", nil, nil)
	sandboxIdle     = prometheus.NewDesc(namespace+"_sandbox_idle_workers", "Policy sandbox workers waiting for a call.", nil, nil)
	sandboxCalls    = prometheus.NewDesc(namespace+"_sandbox_calls_total", "Calls that reached a policy sandbox worker.", nil, nil)
	sandboxKills    = prometheus.NewDesc(namespace+"_sandbox_kills_total", "Policy sandbox workers lost, by reason: deadline (killed at a call's deadline), memory (over the memory limit), crash (died otherwise or broke the protocol).", []string{"reason"}, nil)
	sandboxRestarts = prometheus.NewDesc(namespace+"_sandbox_restarts_total", "Replacement policy sandbox workers started.", nil, nil)
	sandboxFailures = prometheus.NewDesc(namespace+"_sandbox_start_failures_total", "Failed attempts to start a replacement policy sandbox worker.", nil, nil)
	sandboxPanics   = prometheus.NewDesc(namespace+"_sandbox_panics_total", "Panics in policy sandbox workers (recovered; the worker kept serving).", nil, nil)
)

func (sandboxCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{sandboxWorkers, sandboxIdle, sandboxCalls, sandboxKills, sandboxRestarts, sandboxFailures, sandboxPanics} {
		ch <- d
	}
}

func (c sandboxCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(sandboxWorkers, prometheus.GaugeValue, float64(s.Workers))
	ch <- prometheus.MustNewConstMetric(sandboxIdle, prometheus.GaugeValue, float64(s.Idle))
	ch <- prometheus.MustNewConstMetric(sandboxCalls, prometheus.CounterValue, float64(s.Calls))
	ch <- prometheus.MustNewConstMetric(sandboxKills, prometheus.CounterValue, float64(s.Deadlines), "deadline")
	ch <- prometheus.MustNewConstMetric(sandboxKills, prometheus.CounterValue, float64(s.MemoryKills), "memory")
	ch <- prometheus.MustNewConstMetric(sandboxKills, prometheus.CounterValue, float64(s.Crashes), "crash")
	ch <- prometheus.MustNewConstMetric(sandboxRestarts, prometheus.CounterValue, float64(s.Restarts))
	ch <- prometheus.MustNewConstMetric(sandboxFailures, prometheus.CounterValue, float64(s.StartFailures))
	ch <- prometheus.MustNewConstMetric(sandboxPanics, prometheus.CounterValue, float64(s.Panics))
}

// MessageHandled implements bus.Observer.
func (m *Metrics) MessageHandled(handler string, attempt int, err error, _ time.Duration) {
	if m == nil {
		return
	}
	m.busHandled.WithLabelValues(handler, outcome(err)).Inc()
	// Every handler's series exist from its first message on, at 0 until something happens.
	m.busPoisoned.WithLabelValues(handler)
	m.busRedelivered.WithLabelValues(handler, "nack")
	retries := m.busRedelivered.WithLabelValues(handler, "retry")
	if attempt > 1 {
		retries.Inc()
	}
}

// MessagePoisoned implements bus.Observer.
func (m *Metrics) MessagePoisoned(handler string) {
	if m == nil {
		return
	}
	m.busPoisoned.WithLabelValues(handler).Inc()
}

// MessageNacked implements bus.Observer.
func (m *Metrics) MessageNacked(handler string) {
	if m == nil {
		return
	}
	m.busRedelivered.WithLabelValues(handler, "nack").Inc()
}

// EffectPerformed implements effects.Observer.
func (m *Metrics) EffectPerformed(platform, _ string, err error, took time.Duration) {
	if m == nil {
		return
	}
	m.effects.WithLabelValues(platform).Inc()
	failures := m.effectFailures.WithLabelValues(platform) // 0 until one fails
	if err != nil {
		failures.Inc()
	}
	m.effectDuration.WithLabelValues(platform).Observe(took.Seconds())
}

func outcome(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

// maxOperationNames bounds the GraphQL operation names kept as label values: clients name
// their operations, and a label must not grow without end.
const maxOperationNames = 200

// boundedNames admits up to max distinct names and answers "other" for any more.
type boundedNames struct {
	mu    sync.Mutex
	max   int
	names map[string]bool
}

func (b *boundedNames) admit(name string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.names[name] {
		return name
	}
	if len(b.names) >= b.max {
		return "other"
	}
	if b.names == nil {
		b.names = map[string]bool{}
	}
	b.names[name] = true
	return name
}
