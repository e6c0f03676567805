package telemetry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/sandbox"
)

func TestNilMetricsRecordNothingAndDoNotPanic(t *testing.T) {
	var m *Metrics
	m.ObserveEvents([]eventstore.RecordedEvent{{Type: domain.EventProposalPassed}})
	m.MessageHandled("h", 2, errors.New("x"), time.Second)
	m.MessagePoisoned("h")
	m.MessageNacked("h")
	m.EffectPerformed("slack", "execute", nil, time.Second)
	m.WatchSandbox(func() sandbox.Stats { return sandbox.Stats{} })
	m.WatchProjectionLag(func(context.Context) (int64, time.Time, error) { return 0, time.Time{}, nil })
	m.WatchBusBacklog(nil)
	if m.GraphQLExtension() != nil || m.Registry() != nil {
		t.Fatal("a nil Metrics handed out a collector")
	}
	if ev := (fakeEvaluator{}); Evaluator(ev, nil, nil) != ev {
		t.Fatal("without metrics or tracing the evaluator is not wrapped")
	}
	mux := http.NewServeMux()
	if HTTP(mux, nil, nil) != http.Handler(mux) {
		t.Fatal("without metrics or tracing the mux is not wrapped")
	}
}

func recorded(typ, stream string, id, cause uuid.UUID, at time.Time) eventstore.RecordedEvent {
	return eventstore.RecordedEvent{ID: id, Type: typ, Stream: stream, CausationID: cause, RecordedAt: at}
}

func TestDecisionsByOutcomeAndVoteToDecision(t *testing.T) {
	m := New(nil)
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	voteMsg, voteEv := uuid.New(), uuid.New()
	otherMsg := uuid.New()
	m.ObserveEvents([]eventstore.RecordedEvent{
		recorded(domain.EventActionGoverned, "action-a", uuid.New(), uuid.New(), t0),
		recorded(domain.EventVoteCast, "proposal-p", voteEv, voteMsg, t0),
		// Decided by the check the vote's message woke, 3s later.
		recorded(domain.EventProposalPassed, "proposal-p", uuid.New(), engine.RecheckCausation(voteMsg), t0.Add(3*time.Second)),
		recorded(domain.EventActionExecuted, "action-a", uuid.New(), engine.RecheckCausation(voteMsg), t0.Add(3*time.Second)),
		// A vote, then a decision it did not cause (the schedule's re-check at the deadline).
		recorded(domain.EventVoteCast, "proposal-q", uuid.New(), otherMsg, t0),
		recorded(domain.EventProposalFailed, "proposal-q", uuid.New(), uuid.New(), t0.Add(time.Hour)),
		recorded(domain.EventActionRejected, "action-b", uuid.New(), uuid.New(), t0),
		recorded(domain.EventProposalOpened, "proposal-r", uuid.New(), uuid.New(), t0),
	})
	for outcome, want := range map[string]float64{"governed": 1, "passed": 1, "executed": 1, "failed": 1, "rejected": 1, "reverted": 0} {
		if got := testutil.ToFloat64(m.decisions.WithLabelValues(outcome)); got != want {
			t.Errorf("decisions %s = %v, want %v", outcome, got, want)
		}
	}
	if n := testutil.CollectAndCount(m.voteToDecision); n != 1 {
		t.Fatalf("vote to decision: %d series", n)
	}
	out := scrapeText(t, m)
	if !strings.Contains(out, "policykit_vote_to_decision_seconds_count 1\n") || !strings.Contains(out, "policykit_vote_to_decision_seconds_sum 3\n") {
		t.Fatalf("want one vote-to-decision of 3s:\n%s", grep(out, "vote_to_decision"))
	}

	// A vote recorded through the log (GraphQL) wakes its proposal by the event's own id.
	m.ObserveEvents([]eventstore.RecordedEvent{
		recorded(domain.EventVoteCast, "proposal-s", voteEv, uuid.Nil, t0),
		recorded(domain.EventProposalPassed, "proposal-s", uuid.New(), engine.RecheckCausation(voteEv), t0.Add(time.Second)),
	})
	if out := scrapeText(t, m); !strings.Contains(out, "policykit_vote_to_decision_seconds_count 2\n") {
		t.Fatalf("want a second vote-to-decision:\n%s", grep(out, "vote_to_decision"))
	}
}

func scrapeText(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func grep(out, s string) string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

func TestBusAndEffectCounters(t *testing.T) {
	m := New(nil)
	m.MessageHandled("engine-cast", 1, errors.New("db away"), time.Millisecond)
	m.MessageHandled("engine-cast", 2, nil, time.Millisecond)
	m.MessageNacked("engine-cast")
	m.MessagePoisoned("engine-other")
	m.EffectPerformed("slack", "execute", nil, 10*time.Millisecond)
	m.EffectPerformed("slack", "post_message", errors.New("rate limited"), 10*time.Millisecond)
	m.EffectPerformed("discord", "execute", nil, 10*time.Millisecond)
	for _, c := range []struct {
		got, want float64
		what      string
	}{
		{testutil.ToFloat64(m.busHandled.WithLabelValues("engine-cast", "error")), 1, "handled with error"},
		{testutil.ToFloat64(m.busHandled.WithLabelValues("engine-cast", "ok")), 1, "handled ok"},
		{testutil.ToFloat64(m.busRedelivered.WithLabelValues("engine-cast", "retry")), 1, "retries"},
		{testutil.ToFloat64(m.busRedelivered.WithLabelValues("engine-cast", "nack")), 1, "nacks"},
		{testutil.ToFloat64(m.busPoisoned.WithLabelValues("engine-other")), 1, "poisoned"},
		{testutil.ToFloat64(m.effects.WithLabelValues("slack")), 2, "slack attempts"},
		{testutil.ToFloat64(m.effectFailures.WithLabelValues("slack")), 1, "slack failures"},
		{testutil.ToFloat64(m.effectFailures.WithLabelValues("discord")), 0, "discord failures"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	// A platform's failures are shown at 0 from its first attempt.
	if out := scrapeText(t, m); !strings.Contains(out, `policykit_effect_failures_total{platform="discord"} 0`) {
		t.Fatalf("discord failures not shown:\n%s", grep(out, "effect_failures"))
	}
}

func TestSandboxAndLagAreReadAtScrape(t *testing.T) {
	m := New(nil)
	stats := sandbox.Stats{Workers: 2, Idle: 1, Calls: 7, Deadlines: 1, MemoryKills: 2, Crashes: 3, Restarts: 6}
	m.WatchSandbox(func() sandbox.Stats { return stats })
	oldest := time.Now().Add(-time.Minute)
	m.WatchProjectionLag(func(context.Context) (int64, time.Time, error) { return 12, oldest, nil })
	m.WatchBusBacklog(func(context.Context) (int64, time.Time, error) { return 0, time.Time{}, errors.New("database away") })
	out := scrapeText(t, m)
	for _, want := range []string{
		"policykit_sandbox_workers 2\n", "policykit_sandbox_idle_workers 1\n", "policykit_sandbox_calls_total 7\n",
		`policykit_sandbox_kills_total{reason="deadline"} 1`, `policykit_sandbox_kills_total{reason="memory"} 2`,
		`policykit_sandbox_kills_total{reason="crash"} 3`, "policykit_sandbox_restarts_total 6\n",
		"policykit_projection_lag_events 12\n", "policykit_projection_lag_seconds 6", // about 60s
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q:\n%s", want, grep(out, "policykit_"))
		}
	}
	// The backlog's collector failed: its figures are left out, the rest is served.
	if strings.Contains(out, "policykit_bus_backlog_events ") {
		t.Error("a failing collector's figures were served")
	}
	stats.Restarts = 9
	if out := scrapeText(t, m); !strings.Contains(out, "policykit_sandbox_restarts_total 9\n") {
		t.Error("sandbox stats not read again at the next scrape")
	}
}

type fakeEvaluator struct{ err bool }

func (f fakeEvaluator) Evaluate(context.Context, policy.Input) policy.Output {
	if f.err {
		return policy.Output{Err: &policy.EvalError{Type: "RuntimeError", Detail: "boom"}}
	}
	return policy.Output{Status: domain.StatusPassed}
}

type compilingFake struct{ fakeEvaluator }

func (compilingFake) Compile(context.Context, domain.PolicyCode) ([]*policy.EvalError, error) {
	return []*policy.EvalError{{Detail: "checked"}}, nil
}

func TestEvaluatorTimesBlocksAndKeepsCompile(t *testing.T) {
	m := New(nil)
	ev := Evaluator(fakeEvaluator{}, m, nil)
	if out := ev.Evaluate(context.Background(), policy.Input{Block: policy.BlockCheck}); out.Status != domain.StatusPassed {
		t.Fatalf("output not passed through: %+v", out)
	}
	Evaluator(fakeEvaluator{err: true}, m, nil).Evaluate(context.Background(), policy.Input{Block: policy.BlockFilter})
	out := scrapeText(t, m)
	for _, want := range []string{
		`policykit_policy_evaluation_seconds_count{block="check",outcome="ok"} 1`,
		`policykit_policy_evaluation_seconds_count{block="filter",outcome="error"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q:\n%s", want, grep(out, "evaluation"))
		}
	}
	if engine.CompilerOf(ev) != nil {
		t.Error("a wrapped evaluator that cannot compile claims to")
	}
	c := engine.CompilerOf(Evaluator(compilingFake{}, m, nil))
	if c == nil {
		t.Fatal("the wrapped sandbox can no longer check policy code")
	}
	if problems, _ := c.Compile(context.Background(), domain.PolicyCode{}); len(problems) != 1 || problems[0].Detail != "checked" {
		t.Fatalf("Compile not forwarded: %v", problems)
	}
}

func TestHTTPCountsByRoutePattern(t *testing.T) {
	m := New(nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "fine") })
	srv := httptest.NewServer(HTTP(mux, m, nil))
	defer srv.Close()
	for _, p := range []string{"/things/1", "/things/2", "/ok", "/nowhere"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	out := scrapeText(t, m)
	for _, want := range []string{
		`policykit_http_requests_total{code="418",method="GET",route="GET /things/{id}"} 2`,
		`policykit_http_requests_total{code="200",method="GET",route="GET /ok"} 1`,
		`policykit_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`policykit_http_request_duration_seconds_count{method="GET",route="GET /things/{id}"} 2`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q:\n%s", want, grep(out, "http_"))
		}
	}
}

func TestOperationNamesAreBounded(t *testing.T) {
	b := boundedNames{max: 2}
	for _, n := range []string{"A", "B", "A"} {
		if got := b.admit(n); got != n {
			t.Fatalf("admit(%s) = %s", n, got)
		}
	}
	if got := b.admit("C"); got != "other" {
		t.Fatalf("a third name: %s, want other", got)
	}
}
