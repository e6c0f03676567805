package policysandbox_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/policysandbox"
)

func mustEvaluatorWith(tb testing.TB, opts policysandbox.Options) *policysandbox.Evaluator {
	tb.Helper()
	opts.Command, opts.Args = os.Args[0], []string{"-test.run=^$"}
	ev, err := policysandbox.New(context.Background(), opts, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ev.Close() })
	return ev
}

func waitUntil(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// evaluateQueued starts an Evaluate of each input while ev holds its dispatching, so that
// all are queued together, then lets them go; it returns the outputs in input order.
func evaluateQueued(t *testing.T, ev *policysandbox.Evaluator, ins []policy.Input) []policy.Output {
	t.Helper()
	release := policysandbox.Hold(ev)
	outs := make([]policy.Output, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = ev.Evaluate(context.Background(), in)
		}()
		waitUntil(t, "a block to queue", func() bool { return policysandbox.Queued(ev) == i+1 })
	}
	release()
	wg.Wait()
	return outs
}

// Blocks coalesced into batches come back to their own callers: distinct inputs and codes,
// each output equal to the in-process runtime's.
func TestBatchedResultsReachTheirCallers(t *testing.T) {
	ev := mustEvaluatorWith(t, policysandbox.Options{Workers: 2, MaxBatch: 16})
	rt, err := policy.New(policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ins []policy.Input
	for i := range 300 {
		in := checkInput(fmt.Sprintf("print(proposal.id + ' by code %d in ' + policy.name + ' of ' + str(len(slack.get_users())))\nif len(proposal.id) %% 2 == 0:\n  return PASSED\nreturn FAILED", i%7))
		in.Proposal.ID = fmt.Sprintf("p%d", i*7)
		// Policies and communities, sent to a worker once each, come back to their blocks.
		in.Policy.Name = fmt.Sprintf("policy %d", i%5)
		in.Community.Platforms = []string{"slack"}
		for u := range i % 3 {
			in.Community.Users = append(in.Community.Users, policy.UserInfo{Username: fmt.Sprintf("u%d", u), Platform: "slack"})
		}
		ins = append(ins, in)
	}
	outs := make([]policy.Output, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = ev.Evaluate(context.Background(), in)
		}()
	}
	wg.Wait()
	for i, in := range ins {
		want := rt.Evaluate(context.Background(), in)
		if !sameOutput(outs[i], want) || len(outs[i].Logs) != 1 || !strings.HasPrefix(outs[i].Logs[0].Message, in.Proposal.ID+" ") {
			t.Fatalf("caller %d got %+v, want %+v", i, outs[i], want)
		}
	}

	// Blocks that wait for a worker go to it together, up to MaxBatch at a time.
	one := mustEvaluatorWith(t, policysandbox.Options{Workers: 1, MaxBatch: 32})
	outs = evaluateQueued(t, one, ins[:40])
	for i, in := range ins[:40] {
		if want := rt.Evaluate(context.Background(), in); !sameOutput(outs[i], want) {
			t.Fatalf("caller %d got %+v, want %+v", i, outs[i], want)
		}
	}
	if st := one.Stats(); st.Calls != 40 || st.Batches != 2 {
		t.Errorf("40 blocks in %d round trips (stats %+v), want 2", st.Batches, st)
	}
	if n := policysandbox.StaticsSent(one); n != 15 {
		t.Errorf("policies and communities sent %d times, want 15 (5 policies × 3 communities)", n)
	}
}

// A hostile block in a batch fails only itself, with its own error; its neighbours, which
// were in the same round trip to the same worker, are evaluated normally and are never
// reported as TimeoutError or MemoryError.
func TestHostileBlockInBatchFailsOnlyItself(t *testing.T) {
	cases := []struct {
		name, code string
		types      []string
		kills      bool
	}{
		{"endless loop", "while True:\n  pass", []string{"StepLimitError"}, false},
		{"time in few steps", "x = \"ab\" * (1 << 22)\nfor i in range(10000):\n  y = x.replace(\"a\", \"b\")\nreturn PASSED", []string{"TimeoutError"}, true},
		{"memory", "l = [0]\nfor i in range(64):\n  l = l + l\nreturn PASSED", []string{"MemoryError", "TimeoutError"}, true},
		{"panic-free crash of nothing", "return proposal.nonexistent", []string{"AttributeError", "Error"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := mustEvaluatorWith(t, policysandbox.Options{Workers: 1, Deadline: 2 * time.Second, MemoryLimit: 256 << 20})
			var ins []policy.Input
			for i := range 11 {
				code := "return PASSED"
				if i%2 == 1 {
					code = "return FAILED"
				}
				if i == 5 {
					code = c.code
				}
				ins = append(ins, checkInput(code))
			}
			start := time.Now()
			outs := evaluateQueued(t, ev, ins)
			t.Logf("batch settled in %v", time.Since(start))
			for i, out := range outs {
				if i == 5 {
					if out.Err == nil || !slices.Contains(c.types, out.Err.Type) {
						t.Errorf("hostile block: %+v, want an error of type %v", out, c.types)
					}
					continue
				}
				want := domain.StatusPassed
				if i%2 == 1 {
					want = domain.StatusFailed
				}
				if out.Err != nil || out.Status != want {
					t.Errorf("innocent block %d: %+v (err %v), want %s", i, out, out.Err, want)
				}
			}
			_, _, alone := policysandbox.Counters(ev)
			st := ev.Stats()
			t.Logf("hostile: %v; stats %+v; sent again alone: %d", outs[5].Err, st, alone)
			if c.kills && st.Kills() == 0 {
				t.Errorf("stats %+v: want the worker lost", st)
			}
			if !c.kills && (st.Kills() != 0 || alone != 0) {
				t.Errorf("stats %+v, %d sent again alone: want no worker lost", st, alone)
			}
		})
	}
}

// A replacement worker has no code: the evaluator sends it again without being told.
func TestRestartedWorkerGetsCodeAgain(t *testing.T) {
	ev := mustEvaluatorWith(t, policysandbox.Options{Workers: 1, Deadline: 300 * time.Millisecond})
	ctx := context.Background()
	in := checkInput("if proposal.get_yes_votes().count() >= 1:\n  return PASSED\nreturn PROPOSED")
	for range 3 {
		if out := ev.Evaluate(ctx, in); out.Status != domain.StatusPassed {
			t.Fatalf("out = %+v", out)
		}
	}
	if sent, unknown, _ := policysandbox.Counters(ev); sent != 1 || unknown != 0 {
		t.Fatalf("code sent %d times (unknown answered %d), want once", sent, unknown)
	}
	hostile := ev.Evaluate(ctx, checkInput("x = \"ab\" * (1 << 22)\nfor i in range(10000):\n  y = x.replace(\"a\", \"b\")\nreturn PASSED"))
	if hostile.Err == nil || hostile.Err.Type != "TimeoutError" || ev.Stats().Deadlines != 1 {
		t.Fatalf("hostile: %+v, stats %+v", hostile.Err, ev.Stats())
	}
	if out := ev.Evaluate(ctx, in); out.Status != domain.StatusPassed {
		t.Fatalf("after the restart: %+v", out)
	}
	if sent, unknown, _ := policysandbox.Counters(ev); sent != 3 || unknown != 0 {
		t.Fatalf("code sent %d times (unknown answered %d), want 3: the first, the hostile block, the first again to the new worker", sent, unknown)
	}
}

// A worker that evicted a code answers so, and the block is sent again with its code.
func TestEvictedCodeIsSentAgain(t *testing.T) {
	ev := mustEvaluatorWith(t, policysandbox.Options{Workers: 1, CodeCacheBytes: 8 << 10}) // codes of up to 1 KiB kept
	ctx := context.Background()
	var ins []policy.Input
	for i := range 24 {
		pad := "# " + strings.Repeat(fmt.Sprint(i), 600/len(fmt.Sprint(i))) + "\n"
		ins = append(ins, checkInput(fmt.Sprintf("%sreturn %s", pad, []string{"PASSED", "FAILED", "PROPOSED"}[i%3])))
	}
	for round := range 3 {
		for i, in := range ins {
			out := ev.Evaluate(ctx, in)
			if want := []string{domain.StatusPassed, domain.StatusFailed, domain.StatusProposed}[i%3]; out.Err != nil || out.Status != want {
				t.Fatalf("round %d, block %d: %+v, want %s", round, i, out, want)
			}
		}
	}
	sent, unknown, _ := policysandbox.Counters(ev)
	t.Logf("code sent %d times, unknown code answered %d times", sent, unknown)
	if unknown == 0 || sent != 24+unknown {
		t.Errorf("code sent %d times, unknown answered %d times: want every eviction answered and resent", sent, unknown)
	}
}

// A caller that gives up while its block waits returns at once; the others are unaffected.
func TestCallerLeavesWhileQueued(t *testing.T) {
	ev := mustEvaluatorWith(t, policysandbox.Options{Workers: 1})
	release := policysandbox.Hold(ev)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan policy.Output, 1)
	go func() { done <- ev.Evaluate(ctx, checkInput("return PASSED")) }()
	waitUntil(t, "the block to queue", func() bool { return policysandbox.Queued(ev) == 1 })
	cancel()
	if out := <-done; out.Err == nil || out.Err.Type != "Canceled" {
		t.Fatalf("cancelled caller: %+v", out)
	}
	release()
	if out := ev.Evaluate(context.Background(), checkInput("return FAILED")); out.Status != domain.StatusFailed {
		t.Fatalf("after a cancelled caller: %+v", out)
	}
	if st := ev.Stats(); st.Calls != 1 {
		t.Errorf("stats %+v: the cancelled block should not have been sent", st)
	}
}
