package engine_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/internal/pgtest"
	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/starterkits"
)

// deadlineCheck is a consensus-with-deadline check: it reads the clock on every run, so
// every open proposal under it is re-checked every interval.
const deadlineCheck = `if proposal.get_time_elapsed() > datetime.timedelta(days=7):
  return FAILED
if proposal.get_yes_votes().count() >= 3:
  return PASSED
return PROPOSED`

// BenchmarkRecheckSweep opens 100,000 proposals under a deadline check (the log in
// Postgres), in one community and spread over 100, and starts a leader over them, as after
// a restart: every open proposal is scheduled, and the benchmark waits until each has been
// checked once. It reports how long that sweep took (sweep-s; the default interval is 30 s),
// re-checks per second, and the peak of the heap and stacks in use above what the set-up
// left (peak-MB; sampled every 20 ms), and in all (peak-total-MB), and the process's
// maximum resident set (maxrss-MB, the set-up included). POLICYKIT_BENCH_PROPOSALS sets the number of
// proposals; POLICYKIT_BENCH_INTERVAL the re-check interval (a short one, 1s, has every
// proposal due at once and measures how fast the engine sweeps).
func BenchmarkRecheckSweep(b *testing.B) {
	n := 100_000
	if s := os.Getenv("POLICYKIT_BENCH_PROPOSALS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for _, communities := range []int{1, 100} {
		b.Run(fmt.Sprintf("proposals=%d/communities=%d", n, communities), func(b *testing.B) {
			for range b.N {
				benchSweep(b, n, communities)
			}
		})
	}
}

func benchSweep(b *testing.B, n, communities int) {
	b.StopTimer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool, _ := pgtest.NewPool(b)
	if err := postgres.Migrate(ctx, pool); err != nil {
		b.Fatal(err)
	}
	store := postgres.New(pool)
	rt, err := policy.New(policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	interval := evaluation.DefaultRecheckInterval
	if d, err := time.ParseDuration(os.Getenv("POLICYKIT_BENCH_INTERVAL")); err == nil {
		interval = d // a short one measures how fast a sweep can go
	}
	loop := evaluation.New(rt, interval)
	open := mustOpenProposals(b, store, loop, n, communities)

	// The forwarder starts at the end of the set-up: it forwards what the sweep appends.
	var head eventstore.Position
	var commit string
	if err := pool.QueryRow(ctx, `SELECT transaction_id::text, global_position FROM events
		ORDER BY transaction_id DESC, global_position DESC LIMIT 1`).Scan(&commit, &head.Seq); err != nil {
		b.Fatal(err)
	}
	head.Commit, _ = strconv.ParseUint(commit, 10, 64)
	cps := &memCheckpoints{}
	_ = cps.Save(ctx, engine.ForwarderCheckpoint, head)

	bs, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	checks := &sweepCounter{ev: rt}
	eng := engine.New(store, evaluation.New(checks, interval), nil, nil)
	svc := &engine.Service{Engine: eng, Store: store, Bus: bs, Checkpoints: cps, Log: benchLog(),
		OpenProposals: func(context.Context) ([]engine.ProposalRef, error) { return open, nil }}

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampled sync.WaitGroup
	sampled.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if v := m.HeapInuse + m.StackInuse; v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})

	b.StartTimer()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	patience := 5 * time.Minute
	for checks.n.Load() < int64(n) && time.Since(start) < patience {
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	close(stop)
	sampled.Wait()
	if got := checks.n.Load(); got < int64(n) {
		b.Logf("gave up after %s: %d of %d proposals checked", elapsed.Round(time.Second), got, n)
	}
	b.ReportMetric(elapsed.Seconds(), "sweep-s")
	b.ReportMetric(float64(checks.n.Load())/elapsed.Seconds(), "rechecks/s")
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse+base.StackInuse))/(1<<20), "peak-MB")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-total-MB")
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss-MB") // the process's, set-up included (Linux: KB)
	}
	cancel()
	<-done
}

// sweepCounter counts check evaluations.
type sweepCounter struct {
	ev evaluation.Evaluator
	n  atomic.Int64
}

func (c *sweepCounter) Evaluate(ctx context.Context, in policy.Input) policy.Output {
	if in.Block == policy.BlockCheck {
		c.n.Add(1)
	}
	return c.ev.Evaluate(ctx, in)
}

// mustOpenProposals creates communities c0... (three members, a vote policy with
// deadlineCheck) and opens n proposals among them through the loop itself, appending the
// outcomes a thousand streams at a time (recording each through the engine would take
// minutes).
func mustOpenProposals(tb testing.TB, store eventstore.Store, loop *evaluation.Loop, n, communities int) []engine.ProposalRef {
	tb.Helper()
	ctx := context.Background()
	kit, err := starterkits.Load("testing")
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now().UTC()
	cs := make([]*domain.Community, communities)
	for k := range cs {
		id := fmt.Sprintf("c%d", k)
		if _, err := engine.NewCommunity(ctx, store, domain.CreateCommunity{CommunityID: id, Name: id, Platform: domain.PlatformSlack}, kit, domain.RegisterUser{}, now); err != nil {
			tb.Fatal(err)
		}
		c, err := engine.UpdateCommunity(ctx, store, id, engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
			var all []domain.Event
			decide := func(evs []domain.Event, err error) error {
				if err != nil {
					return err
				}
				for _, e := range evs {
					c.Apply(e)
				}
				all = append(all, evs...)
				return nil
			}
			for i := 1; i <= 3; i++ {
				if err := decide(c.DecideRegisterUser(domain.RegisterUser{UserID: fmt.Sprintf("u%d", i), Platform: domain.PlatformSlack, Username: fmt.Sprintf("U%d", i)}, now)); err != nil {
					return nil, err
				}
			}
			err := decide(c.DecideAddPolicy(domain.AddPolicy{PolicyID: "p-vote", Kind: domain.KindPlatform, Name: "vote", ActionTypes: []string{"slackrenameconversation"},
				PolicyCode: domain.PolicyCode{Check: deadlineCheck, Notify: "slack.post_message(text='vote please', channel=action.channel)"}}, now))
			return all, err
		})
		if err != nil {
			tb.Fatal(err)
		}
		cs[k] = c
	}
	refs := make([]engine.ProposalRef, 0, n)
	var batch evaluation.Outcome
	flush := func() {
		if err := engine.AppendOutcome(ctx, store, batch, engine.NewMeta()); err != nil {
			tb.Fatal(err)
		}
		batch = evaluation.Outcome{}
	}
	for i := range n {
		c := cs[i%communities]
		a := domain.Action{ID: fmt.Sprintf("a%07d", i), CommunityID: c.ID, Kind: domain.KindPlatform, Type: "slackrenameconversation",
			Platform: domain.PlatformSlack, InitiatorID: "u1", Reversible: true,
			Fields: map[string]any{"name": "new", "channel": "C1"}, ProposedAt: now}
		rec := &domain.ActionRecord{}
		proposed, err := rec.DecideProposeAction(domain.ProposeAction{Action: a}, now)
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range proposed {
			rec.Apply(e)
		}
		out, err := loop.ActionProposed(ctx, c, rec, now)
		if err != nil {
			tb.Fatal(err)
		}
		for _, ch := range out.Changes {
			if ch.Stream == domain.ActionStream(a.ID) {
				ch.Events = append(append([]domain.Event(nil), proposed...), ch.Events...)
				ch.Expected = 0
			}
			batch.Changes = append(batch.Changes, ch)
		}
		refs = append(refs, engine.ProposalRef{CommunityID: c.ID, ProposalID: evaluation.DeriveID("proposal", a.ID, "p-vote")})
		if len(batch.Changes) >= 1000 {
			flush()
		}
	}
	if len(batch.Changes) > 0 {
		flush()
	}
	return refs
}

func benchLog() *slog.Logger {
	if os.Getenv("POLICYKIT_BENCH_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
