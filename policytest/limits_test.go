package policytest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore/memory"
	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/policytest"
)

// hoardCheck stores 20 MB in proposal.data: more than the sandbox lets a block return (or,
// depending on the state of the worker's heap, more than its memory ceiling lets it encode).
const hoardCheck = `proposal.data.set("blob", "x" * 20000000)
return PASSED`

// A case needs an evaluator: there is no in-process default, whose blocks would meet no
// memory ceiling and could not be stopped inside one interpreter step.
func TestRunWithoutAnEvaluatorIsRefused(t *testing.T) {
	path := mustWrite(t, t.TempDir(), "spam.yaml", header+`cases:
  - name: ham passes
    steps:
      - action: {type: slackpostmessage, initiator: alice, fields: {channel: C1, text: ham}}
      - expect: {status: PASSED}
`)
	var out strings.Builder
	if _, err := policytest.Run(context.Background(), []string{path}, &out, policytest.Options{}); !errors.Is(err, policytest.ErrNoEvaluator) {
		t.Fatalf("err = %v, want ErrNoEvaluator\n%s", err, out.String())
	}
}

// A block whose output is larger than the sandbox allows decides the same way in a scenario
// as in the engine behind the server's sandbox: its proposal fails with a sandbox limit.
func TestOversizedProposalDataDecidesAsInTheEngine(t *testing.T) {
	// Which of the sandbox's limits the 20 MB block meets first depends on the worker's heap
	// and, on a loaded machine, on the clock: any of them fails it, in serve as here.
	limit := func(msg string) bool {
		return strings.Contains(msg, "SandboxError in check: sandbox: response too large") || strings.Contains(msg, "MemoryError in check") ||
			strings.Contains(msg, "TimeoutError in check")
	}
	// The engine, with the sandbox settings of policykit serve.
	ctx := context.Background()
	store := memory.New()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	e := engine.New(store, evaluation.New(evaluator, 0), nil, func() time.Time { return t0 })
	if _, err := engine.UpdateCommunity(ctx, store, "garden", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		var all []domain.Event
		for _, decide := range []func() ([]domain.Event, error){
			func() ([]domain.Event, error) {
				return c.DecideCreateCommunity(domain.CreateCommunity{CommunityID: "garden", Name: "Garden", Platform: domain.PlatformSlack}, t0)
			},
			func() ([]domain.Event, error) {
				return c.DecideRegisterUser(domain.RegisterUser{UserID: "alice", Platform: domain.PlatformSlack, Username: "UALICE"}, t0)
			},
			func() ([]domain.Event, error) {
				return c.DecideAddRole(domain.AddRole{Name: "Base User", IsBase: true, Permissions: []domain.Permission{{Verb: "propose", ActionType: "*"}, {Verb: "vote", ActionType: "*"}}}, t0)
			},
			func() ([]domain.Event, error) {
				return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "hoard", Kind: domain.KindPlatform, Name: "Hoard",
					ActionTypes: []string{"slackpostmessage"}, PolicyCode: domain.PolicyCode{Check: hoardCheck}}, t0)
			},
		} {
			evs, err := decide()
			if err != nil {
				return nil, err
			}
			for _, ev := range evs {
				c.Apply(ev)
			}
			all = append(all, evs...)
		}
		return all, nil
	}); err != nil {
		t.Fatal(err)
	}
	a := domain.Action{ID: "a1", CommunityID: "garden", Kind: domain.KindPlatform, Type: "slackpostmessage", Platform: domain.PlatformSlack,
		InitiatorID: "alice", Reversible: true, Fields: map[string]any{"channel": "C1", "text": "hello"}, ProposedAt: t0}
	if err := e.ProposeAction(ctx, bus.ProposeAction{Action: a}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	out, err := e.HandleActionProposed(ctx, "garden", "a1", engine.NewMeta())
	if err != nil {
		t.Fatal(err)
	}
	var status, logged string
	for _, ev := range out.Events() {
		switch ev := ev.(type) {
		case domain.ProposalEvaluated:
			if ev.Error != "" {
				logged = ev.Error
			}
		case domain.ProposalFailed:
			status = "FAILED"
		case domain.ProposalPassed:
			status = "PASSED"
		}
	}
	if status != "FAILED" || !limit(logged) {
		t.Fatalf("engine: proposal %q with error %q, want FAILED at a sandbox limit", status, logged)
	}
	rec, err := engine.LoadAction(ctx, store, "a1")
	if err != nil {
		t.Fatal(err)
	}

	// The scenario harness, as policykit policy test runs it.
	path := mustWrite(t, t.TempDir(), "hoard.yaml", `name: hoard
community:
  name: Garden
  platforms: [slack]
  users:
    - {id: alice, username: UALICE, name: Alice}
  roles:
    - {name: Base User, base: true, permissions: ["propose:*", "vote:*"]}
policies:
  - id: hoard
    inline:
      kind: platform
      name: Hoard
      action_types: [slackpostmessage]
      check: |
`+indentLines(hoardCheck, "        ")+`
cases:
  - name: twenty megabytes of data
    steps:
      - action: {type: slackpostmessage, initiator: alice, fields: {channel: C1, text: hello}}
      - expect: {status: FAILED, action_status: `+string(rec.Status)+`, errors: ["check: "]}
`)
	ok, report := mustRun(t, []string{path}, sandboxed(policytest.Options{Verbose: true}))
	if !ok || !limit(report) {
		t.Fatalf("the scenario decided otherwise than the engine (action %s, error %q):\n%s", rec.Status, logged, report)
	}
}

func indentLines(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// cancelling is an evaluator that ends the run's context while its first block is running in
// the sandbox, as an interrupt would.
type cancelling struct {
	evaluation.Evaluator
	cancel context.CancelFunc
	once   sync.Once
}

func (c *cancelling) Evaluate(ctx context.Context, in policy.Input) policy.Output {
	if in.Block == policy.BlockCheck {
		c.once.Do(func() { go c.cancel() })
	}
	return c.Evaluator.Evaluate(ctx, in)
}

// An interrupt stops a run at once, even inside a block that would run for minutes: the
// sandbox gives up the call when the context ends, and no later step or case runs.
func TestInterruptStopsTheRun(t *testing.T) {
	var b strings.Builder
	b.WriteString(header[:strings.Index(header, "policies:")])
	b.WriteString(`policies:
  - id: long-sum
    inline:
      kind: platform
      name: Long sum
      action_types: [slackpostmessage]
      check: return PASSED if sum(range(100000000000)) > 0 else FAILED
cases:
`)
	const cases = 20
	for i := range cases {
		fmt.Fprintf(&b, "  - name: sum %d\n    steps:\n      - action: {type: slackpostmessage, initiator: alice, fields: {channel: C1, text: sum}}\n      - expect: {status: PASSED}\n", i)
	}
	path := mustWrite(t, t.TempDir(), "sum.yaml", b.String())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out strings.Builder
	ok, err := policytest.Run(ctx, []string{path}, &out, policytest.Options{Evaluator: &cancelling{Evaluator: evaluator, cancel: cancel}})
	if ok || !errors.Is(err, context.Canceled) {
		t.Fatalf("ok %v, err %v; want the run interrupted\n%s", ok, err, out.String())
	}
	if n := strings.Count(out.String(), "--- FAIL"); n != 1 || !strings.Contains(out.String(), "context canceled") {
		t.Fatalf("%d cases reported, want only the interrupted one:\n%s", n, out.String())
	}
	t.Logf("\n%s", out.String())
}
