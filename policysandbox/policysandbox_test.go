package policysandbox_test

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/policysandbox"
	"github.com/policykit-go/policykit/sandbox"
)

func TestMain(m *testing.M) {
	if sandbox.IsWorker() {
		policysandbox.ServeWorker()
	}
	os.Exit(m.Run())
}

func mustEvaluator(tb testing.TB, workers int) *policysandbox.Evaluator {
	tb.Helper()
	ev, err := policysandbox.New(context.Background(), policysandbox.Options{
		Workers: workers, MemoryLimit: 256 << 20, Deadline: time.Second,
		Command: os.Args[0], Args: []string{"-test.run=^$"},
	}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ev.Close() })
	return ev
}

func checkInput(code string) policy.Input {
	return policy.Input{
		Block: policy.BlockCheck,
		Code:  domain.PolicyCode{Check: code},
		Now:   time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC),
		Proposal: policy.ProposalInfo{ID: "p1", Status: "PROPOSED",
			ProposalTime: time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC),
			Votes:        []policy.VoteInfo{{User: policy.UserInfo{Username: "U1"}, Kind: domain.VoteBoolean, Boolean: true}}},
		Action: policy.ActionInfo{ID: "a1", Type: "slackpostmessage", Kind: "platform", Platform: "slack"},
	}
}

func rssBytes(tb testing.TB) int64 {
	tb.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		tb.Fatal(err)
	}
	fields := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(fields[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func TestEvaluatesLikeTheInProcessRuntime(t *testing.T) {
	ev := mustEvaluator(t, 1)
	out := ev.Evaluate(context.Background(), checkInput("if proposal.get_yes_votes().count() >= 1:\n  return PASSED\nreturn PROPOSED"))
	if out.Err != nil || out.Status != domain.StatusPassed || !out.Untimed {
		t.Fatalf("out = %+v", out)
	}
	out = ev.Evaluate(context.Background(), checkInput("if proposal.get_time_elapsed() > datetime.timedelta(days=1):\n  return FAILED"))
	if out.Err != nil || out.Untimed {
		t.Fatalf("a check reading the clock: out = %+v", out)
	}
	out = ev.Evaluate(context.Background(), checkInput("x = 1\nreturn undefined_name"))
	if out.Err == nil || out.Err.Line != 2 || !strings.HasPrefix(out.Err.Error(), "NameError at line 2 of check") {
		t.Fatalf("err = %v", out.Err)
	}
}

// A block sees its caller's community as it is when Evaluate is called, even when the caller
// changed it in place since the last block (the parent keeps recent communities to spare
// encoding them again), and blocks of different communities each see their own.
func TestCommunityChangedInPlaceIsSeen(t *testing.T) {
	ev := mustEvaluator(t, 1)
	in := checkInput("if 'zed' in slack.get_users().usernames():\n  return PASSED\nreturn FAILED")
	in.Community = policy.CommunityInfo{Platforms: []string{"slack"}, Users: []policy.UserInfo{{Username: "alice", Platform: "slack"}}}
	if out := ev.Evaluate(context.Background(), in); out.Err != nil || out.Status != domain.StatusFailed {
		t.Fatalf("without zed: %+v", out)
	}
	in.Community.Users[0].Username = "zed"
	if out := ev.Evaluate(context.Background(), in); out.Err != nil || out.Status != domain.StatusPassed {
		t.Fatalf("alice renamed zed in place: %+v", out)
	}
	in.Community.Users[0].Username = "alice"
	if out := ev.Evaluate(context.Background(), in); out.Err != nil || out.Status != domain.StatusFailed {
		t.Fatalf("renamed back: %+v", out)
	}
	other := in
	other.Community = policy.CommunityInfo{Platforms: []string{"slack"}, Users: []policy.UserInfo{{Username: "zed", Platform: "slack"}}}
	for range 3 {
		if out := ev.Evaluate(context.Background(), other); out.Err != nil || out.Status != domain.StatusPassed {
			t.Fatalf("the other community: %+v", out)
		}
		if out := ev.Evaluate(context.Background(), in); out.Err != nil || out.Status != domain.StatusFailed {
			t.Fatalf("the first community again: %+v", out)
		}
	}
}

// Hostile policies are each stopped with a logged error, the engine's memory stays bounded,
// and other evaluations keep completing meanwhile.
func TestHostilePolicies(t *testing.T) {
	ev := mustEvaluator(t, 2)
	huge := "s = \"" + strings.Repeat("a", 10<<20) + "\"\nreturn PASSED"
	cases := []struct {
		name, code string
		types      []string // acceptable error types
	}{
		{"endless loop", "while True:\n  pass", []string{"StepLimitError", "TimeoutError"}},
		{"list of 2^32 zeros", "x = [0] * (1 << 32)\nreturn PASSED", []string{"MemoryError", "TimeoutError", "Error", "ValueError"}},
		{"list doubled 64 times", "l = [0]\nfor i in range(64):\n  l = l + l\nreturn PASSED", []string{"MemoryError", "TimeoutError", "StepLimitError"}},
		{"sorted range 2^30", "return len(sorted(range(1 << 30)))", []string{"MemoryError", "TimeoutError"}},
		{"deep recursion", "def f(n):\n  return f(n + 1)\nreturn f(0)", []string{"Error", "RecursionError"}},
		{"load of anything", "load(\"os.star\", \"system\")\nreturn PASSED", []string{"ImportError"}},
		{"10 MB string literal", huge, []string{"CodeTooLarge", "SyntaxError"}},
	}
	before := rssBytes(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A well-behaved evaluation runs beside the hostile one the whole time.
			stop := make(chan struct{})
			first := make(chan struct{})
			var wg sync.WaitGroup
			var normal atomic.Int64
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					out := ev.Evaluate(context.Background(), checkInput("return PASSED"))
					if out.Status == domain.StatusPassed && normal.Add(1) == 1 {
						close(first)
					}
				}
			}()
			<-first
			start := time.Now()
			atStart := normal.Load()
			out := ev.Evaluate(context.Background(), checkInput(tc.code))
			elapsed := time.Since(start)
			during := normal.Load() - atStart
			close(stop)
			wg.Wait()
			if out.Err == nil {
				t.Fatalf("hostile policy was not stopped: %+v", out)
			}
			ok := false
			for _, typ := range tc.types {
				ok = ok || out.Err.Type == typ
			}
			if !ok {
				t.Fatalf("error %q (type %s), want one of %v", out.Err, out.Err.Type, tc.types)
			}
			// A block stopped at once leaves no time for others to show; one that ran a while
			// must not have held up the other worker.
			if elapsed > 100*time.Millisecond && during == 0 {
				t.Fatalf("no other evaluation completed during the %s the hostile one ran", elapsed)
			}
			t.Logf("stopped after %s with %q; %d other evaluations completed meanwhile", elapsed.Round(time.Millisecond), out.Err, during)
		})
	}
	runtime.GC()
	if grown := rssBytes(t) - before; grown > 150<<20 {
		t.Fatalf("engine memory grew by %d MiB", grown>>20)
	}
	// The pool is still healthy.
	if out := ev.Evaluate(context.Background(), checkInput("return PASSED")); out.Status != domain.StatusPassed {
		t.Fatalf("after the hostile policies: %+v", out)
	}
}

func BenchmarkSandboxEvaluate(b *testing.B) {
	ev := mustEvaluator(b, 1)
	in := checkInput("if proposal.get_yes_votes().count() >= 1:\n  return PASSED\nreturn PROPOSED")
	ctx := context.Background()
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if out := ev.Evaluate(ctx, in); out.Status != domain.StatusPassed {
			b.Fatalf("out = %+v", out)
		}
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, durations)
}

func reportPercentiles(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(ds[len(ds)*99/100].Nanoseconds())/1e3, "p99-µs")
}
