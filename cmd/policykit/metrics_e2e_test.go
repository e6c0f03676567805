package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
)

// scrape reads the metrics at url into a map from series (name and labels, as exposed) to
// value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	series := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		series[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return series
}

// sum adds the values of the series of name whose labels include every one of labels
// (`key="value"`), and tells whether there was any.
func sum(series map[string]float64, name string, labels ...string) (float64, bool) {
	var total float64
	found := false
	for s, v := range series {
		n, rest, _ := strings.Cut(s, "{")
		if n != name {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(rest, l)
		}
		if ok {
			total += v
			found = true
		}
	}
	return total, found
}

// renameVoted proposes a channel rename under the rename-vote policy, has bob approve it, and
// waits for its execution: a decision by a vote, and effects performed by the log platform
// standing in for Slack.
func renameVoted(t *testing.T, app *App, id string) {
	t.Helper()
	publishCommand(t, app, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: domain.Action{
		ID: id, CommunityID: "garden", Kind: domain.KindPlatform, Type: "slackrenameconversation", Platform: domain.PlatformSlack,
		InitiatorID: "alice", Reversible: true, Fields: map[string]any{"channel": "C0GENERAL", "name": id, "previous_name": "general"},
	}})
	pid := evaluation.DeriveID("proposal", id, "rename-vote")
	waitNotified(t, app, pid)
	publishCommand(t, app, bus.TopicCastVote, bus.CommandCastVote, bus.CastVote{CommunityID: "garden", ProposalID: pid,
		Vote: domain.Vote{UserID: "bob", Kind: domain.VoteBoolean, Boolean: true}})
	waitFor(t, "the rename executed", func() bool {
		for _, e := range logEffects(t, app) {
			if e.ProposalID == pid && e.Method == "execute" {
				return true
			}
		}
		return false
	})
}

func TestMetricsExposeTheFiguresAnOperatorWatches(t *testing.T) {
	cfg := engineConfig(t, bus.TransportGoChannel)
	app, stop := startApp(t, cfg)
	defer stop()
	seedCommunity(t, app)
	renameVoted(t, app, "rename-metrics")

	// A GraphQL operation, named; refused without a caller, which counts as an error.
	body := strings.NewReader(`{"operationName":"MetricsProbe","query":"query MetricsProbe { me { id } }"}`)
	resp, err := http.Post(app.LocalURL()+"/graphql", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	var m map[string]float64
	waitFor(t, "the decisions counted (the forwarder publishes them after the append)", func() bool {
		m = scrape(t, app.MetricsURL())
		passed, _ := sum(m, "policykit_decisions_total", `outcome="passed"`)
		executed, _ := sum(m, "policykit_decisions_total", `outcome="executed"`)
		voted, _ := sum(m, "policykit_vote_to_decision_seconds_count")
		return passed >= 1 && executed >= 1 && voted >= 1
	})
	atLeast := func(min float64, name string, labels ...string) {
		t.Helper()
		v, ok := sum(m, name, labels...)
		if !ok {
			t.Errorf("%s%v: not exposed", name, labels)
		} else if v < min {
			t.Errorf("%s%v = %v, want at least %v", name, labels, v, min)
		}
	}
	atLeast(1, "policykit_decisions_total", `outcome="governed"`)
	atLeast(0, "policykit_decisions_total", `outcome="rejected"`)
	atLeast(0, "policykit_decisions_total", `outcome="reverted"`)
	atLeast(1, "policykit_vote_to_decision_seconds_bucket", `le="+Inf"`)
	// A lone vote is checked in the commit that records it: from its recording, its decision
	// takes no time.
	if s, ok := sum(m, "policykit_vote_to_decision_seconds_sum"); !ok || s < 0 {
		t.Errorf("vote to decision took %vs in all (exposed: %v)", s, ok)
	}
	atLeast(1, "policykit_policy_evaluation_seconds_count", `block="check"`, `outcome="ok"`)
	atLeast(1, "policykit_policy_evaluation_seconds_count", `block="filter"`)
	atLeast(1, "policykit_sandbox_workers")
	atLeast(1, "policykit_sandbox_calls_total")
	atLeast(0, "policykit_sandbox_restarts_total")
	for _, reason := range []string{"deadline", "memory", "crash"} {
		atLeast(0, "policykit_sandbox_kills_total", `reason="`+reason+`"`)
	}
	atLeast(2, "policykit_effect_attempts_total", `platform="slack"`) // the revert, the vote post, the execute...
	atLeast(0, "policykit_effect_failures_total", `platform="slack"`)
	atLeast(1, "policykit_effect_duration_seconds_count", `platform="slack"`)
	atLeast(1, "policykit_bus_messages_handled_total", `handler="engine-policykit-commands-propose_action"`, `outcome="ok"`)
	atLeast(1, "policykit_bus_messages_handled_total", `handler="adapter-log-slack"`)
	atLeast(0, "policykit_bus_redeliveries_total", `reason="retry"`)
	atLeast(0, "policykit_bus_redeliveries_total", `reason="nack"`)
	atLeast(0, "policykit_bus_poisoned_total")
	atLeast(0, "policykit_bus_backlog_events")
	atLeast(0, "policykit_bus_backlog_seconds")
	atLeast(0, "policykit_projection_lag_events")
	atLeast(0, "policykit_projection_lag_seconds")
	atLeast(1, "policykit_http_requests_total", `route="GET /readyz"`, `code="200"`)
	atLeast(1, "policykit_http_requests_total", `route="/graphql"`, `method="POST"`)
	atLeast(1, "policykit_http_request_duration_seconds_count", `route="GET /readyz"`)
	atLeast(1, "policykit_graphql_operations_total", `operation="MetricsProbe"`, `type="query"`)
	atLeast(1, "policykit_graphql_operation_duration_seconds_count", `operation="MetricsProbe"`)
	atLeast(1, "go_goroutines")

	// The dashboard and the docs name only metrics that are exposed.
	for _, doc := range []string{"../../docs/grafana-dashboard.json", "../../docs/observability.md"} {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range metricName.FindAllString(string(text), -1) {
			if _, ok := sum(m, name); !ok {
				if _, ok := sum(m, name+"_count"); !ok {
					t.Errorf("%s names %s, which /metrics does not expose", doc, name)
				}
			}
		}
	}
}

// metricName finds PolicyKit's metric names in a text.
var metricName = regexp.MustCompile(`policykit_[a-z_]+[a-z]`)

func TestMetricsOnTheirOwnListener(t *testing.T) {
	cfg := testConfig(t)
	cfg.Engine = false
	cfg.MetricsAddr = "127.0.0.1:0"
	app, stop := startApp(t, cfg)
	defer stop()
	if code := get(t, app.LocalURL()+"/metrics"); code != http.StatusNotFound {
		t.Fatalf("/metrics on the main listener: %d, want 404 when POLICYKIT_METRICS_ADDR is set", code)
	}
	if !strings.HasSuffix(app.MetricsURL(), "/metrics") || strings.HasPrefix(app.MetricsURL(), app.LocalURL()) {
		t.Fatalf("metrics URL %s: want another listener than %s", app.MetricsURL(), app.LocalURL())
	}
	m := scrape(t, app.MetricsURL())
	if _, ok := sum(m, "policykit_projection_lag_events"); !ok {
		t.Fatal("projection lag not exposed on the metrics listener")
	}
	if _, ok := sum(m, "policykit_bus_backlog_events"); ok {
		t.Fatal("bus backlog exposed by an App that runs no engine")
	}
}

func TestMetricsOffServeNothing(t *testing.T) {
	cfg := testConfig(t)
	cfg.Engine = false
	cfg = cfg.FromEnv(func(k string) string {
		if k == "POLICYKIT_METRICS" {
			return "false"
		}
		return ""
	})
	app, stop := startApp(t, cfg)
	defer stop()
	if code := get(t, app.LocalURL()+"/metrics"); code != http.StatusNotFound {
		t.Fatalf("/metrics with POLICYKIT_METRICS=false: %d, want 404", code)
	}
}

// TestMetricsTraceOneDecisionFromIngressToItsEffects: a ProposeAction published in a span
// is recorded and evaluated, its effects performed, and every span on the way, the effects'
// included, is in the ingress's trace.
func TestMetricsTraceOneDecisionFromIngressToItsEffects(t *testing.T) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())
	cfg := engineConfig(t, bus.TransportGoChannel)
	cfg.tracerProvider = tp
	app, stop := startApp(t, cfg)
	defer stop()
	seedCommunity(t, app)

	ctx, ingress := tp.Tracer("test").Start(context.Background(), "ingress")
	payload, err := json.Marshal(bus.ProposeAction{Action: domain.Action{
		ID: "rename-traced", CommunityID: "garden", Kind: domain.KindPlatform, Type: "slackrenameconversation", Platform: domain.PlatformSlack,
		InitiatorID: "alice", Reversible: true, Fields: map[string]any{"channel": "C0GENERAL", "name": "traced", "previous_name": "general"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	msg := bus.NewMessage(uuid.NewString(), bus.CommandProposeAction, payload)
	msg.SetContext(ctx)
	if err := app.Bus().Publisher().Publish(bus.TopicProposeAction, msg); err != nil {
		t.Fatal(err)
	}
	ingress.End()
	traceID := ingress.SpanContext().TraceID()
	// The rename-vote policy reverts the rename and posts a vote: two effects.
	waitNotified(t, app, evaluation.DeriveID("proposal", "rename-traced", "rename-vote"))
	inTrace := func(name string) bool {
		for _, s := range spans.GetSpans() {
			if s.Name == name && s.SpanContext.TraceID() == traceID {
				return true
			}
		}
		return false
	}
	waitFor(t, "the effect's span in the ingress's trace", func() bool { return inTrace("adapter-log-slack") })
	for _, name := range []string{"engine-policykit-commands-propose_action", "engine evaluate action", "policy filter"} {
		if !inTrace(name) {
			var got []string
			for _, s := range spans.GetSpans() {
				got = append(got, s.Name+"@"+s.SpanContext.TraceID().String())
			}
			t.Errorf("no span %q in trace %s; spans: %v", name, traceID, got)
		}
	}
	// The effect's span descends from the evaluation's, not just shares its trace id.
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range spans.GetSpans() {
		byID[s.SpanContext.SpanID()] = s
	}
	for _, s := range spans.GetSpans() {
		if s.Name != "adapter-log-slack" || s.SpanContext.TraceID() != traceID {
			continue
		}
		var chain []string
		for p, ok := s, true; ok; p, ok = byID[p.Parent.SpanID()] {
			chain = append(chain, p.Name)
		}
		if chain[len(chain)-1] != "ingress" {
			t.Errorf("effect span's ancestry %v does not reach the ingress", chain)
		}
	}
}

func TestMetricsAndTracingConfig(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	base := DefaultConfig()
	if !base.Metrics || base.tracingEndpoint() != "" {
		t.Fatalf("defaults: metrics %v, tracing to %q; want metrics on, tracing off", base.Metrics, base.tracingEndpoint())
	}
	if got := base.FromEnv(env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")).tracingEndpoint(); got != "http://collector:4318/v1/traces" {
		t.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: traces to %q", got)
	}
	if got := base.FromEnv(env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://b:4318/traces")).tracingEndpoint(); got != "http://b:4318/traces" {
		t.Errorf("the traces endpoint does not win: %q", got)
	}
	if got := base.FromEnv(env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318", "POLICYKIT_TRACING", "false")).tracingEndpoint(); got != "" {
		t.Errorf("POLICYKIT_TRACING=false still traces to %q", got)
	}
	if got := base.FromEnv(env("POLICYKIT_TRACING", "true")).tracingEndpoint(); got != defaultTracingEndpoint {
		t.Errorf("POLICYKIT_TRACING=true without an endpoint: %q", got)
	}
	c := base.FromEnv(env("POLICYKIT_METRICS", "maybe", "POLICYKIT_METRICS_ADDR", "9100", "POLICYKIT_TRACING", "sometimes",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318"))
	err := c.Validate()
	if err == nil {
		t.Fatal("bad metrics and tracing settings accepted")
	}
	for _, want := range []string{"POLICYKIT_METRICS \"maybe\"", "POLICYKIT_METRICS_ADDR \"9100\"", "POLICYKIT_TRACING \"sometimes\"", "OTLP traces endpoint"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v\nwant it to name %s", err, want)
		}
	}
}
