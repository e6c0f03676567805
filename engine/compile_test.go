package engine_test

import (
	"context"
	"errors"
	"github.com/policykit-go/policykit/internal/memtest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/memory"
	"github.com/policykit-go/policykit/policysandbox"
	"github.com/policykit-go/policykit/sandbox"
)

func TestMain(m *testing.M) {
	if sandbox.IsWorker() {
		policysandbox.ServeWorker()
	}
	os.Exit(m.Run())
}

// mustSandboxEngine is an engine that evaluates, and checks proposed policy code, in a
// policy sandbox as `policykit serve` does.
func mustSandboxEngine(tb testing.TB, store eventstore.Store, workers int) (*engine.Engine, *policysandbox.Evaluator) {
	tb.Helper()
	ev, err := policysandbox.New(context.Background(), policysandbox.Options{
		Workers: workers, MemoryLimit: 256 << 20, Deadline: time.Second,
		Command: os.Args[0], Args: []string{"-test.run=^$"},
	}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ev.Close() })
	return engine.New(store, evaluation.New(ev, 0), nil, func() time.Time { return t0 }), ev
}

// nestedFormatSpecs is a check block of nearly size bytes: one f-string whose format spec
// nests another field, and so on. Translating it costs time and memory quadratic in its size.
func nestedFormatSpecs(size int) string {
	n := (size - 20) / 4
	return "return f\"" + strings.Repeat("{x:", n) + strings.Repeat("}", n) + "\""
}

// Proposals to add a policy whose code is hostile to compile are refused as invalid (today
// by the sandbox's deadline; a translator that rejected such nesting early would do too),
// and the engine's own memory stays flat while they are: the code is compiled in a worker.
func TestProposingCodeHostileToCompileIsRefusedInTheSandbox(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	e, ev := mustSandboxEngine(t, store, 2)
	mustSlackCommunity(t, store, 2, "return PASSED")
	check := nestedFormatSpecs(domain.MaxPolicyCodeBytes)
	runtime.GC()
	before := memtest.ResetPeak(t)
	const requests = 4
	errs := make([]error, requests)
	var wg sync.WaitGroup
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := domain.NewConstitutionAction("hostile-"+strconv.Itoa(i), "c1", "u1",
				domain.AddPolicy{Kind: domain.KindPlatform, Name: "hostile " + strconv.Itoa(i), PolicyCode: domain.PolicyCode{Check: check}}, t0)
			if err != nil {
				errs[i] = err
				return
			}
			errs[i] = e.ProposeAction(ctx, bus.ProposeAction{Action: a}, engine.NewMeta())
		}()
	}
	wg.Wait()
	grown := memtest.Peak(t) - before
	t.Logf("refused with %q; engine peak memory grew by %d KiB; sandbox %+v", errs[0], grown>>10, ev.Stats())
	if grown > 32<<20 {
		t.Fatalf("engine memory grew by %d MiB while refusing %d hostile proposals", grown>>20, requests)
	}
	for i, err := range errs {
		if domain.ErrorCode(err) != domain.CodeInvalid || !strings.Contains(err.Error(), "policy code") {
			t.Fatalf("request %d: err = %v, want an invalid-code error", i, err)
		}
		if rec, _ := engine.LoadAction(ctx, store, "hostile-"+strconv.Itoa(i)); rec.Proposed() {
			t.Fatalf("request %d: the hostile proposal was recorded", i)
		}
	}
	// The sandbox still serves a well-formed proposal.
	a, err := domain.NewConstitutionAction("calm", "c1", "u1", domain.AddPolicy{Kind: domain.KindPlatform, Name: "calm", PolicyCode: domain.PolicyCode{Check: "return PASSED"}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ProposeAction(ctx, bus.ProposeAction{Action: a}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
}

// An engine without an evaluator refuses proposals to add a policy rather than compile
// their code in its own process; other proposals are recorded as before.
func TestProposingAPolicyWithoutAnEvaluatorIsRefused(t *testing.T) {
	ctx := context.Background()
	store := memory.New()
	e := engine.New(store, nil, nil, func() time.Time { return t0 })
	mustSlackCommunity(t, store, 2, "return PASSED")
	a, err := domain.NewConstitutionAction("add", "c1", "u1", domain.AddPolicy{Kind: domain.KindPlatform, Name: "fine", PolicyCode: domain.PolicyCode{Check: "return PASSED"}}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ProposeAction(ctx, bus.ProposeAction{Action: a}, engine.NewMeta()); !errors.Is(err, engine.ErrNoPolicyCompiler) {
		t.Fatalf("err = %v, want ErrNoPolicyCompiler", err)
	}
	if err := e.ProposeAction(ctx, bus.ProposeAction{Action: rename("a1")}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
}
