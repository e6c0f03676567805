package policysandbox_test

import (
	"context"
	"runtime"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/policy"
)

// nestedFormatSpecs is a check block of about size bytes: one f-string whose format spec
// nests another field, and so on. Translating it costs time and memory quadratic in its size.
func nestedFormatSpecs(size int) string {
	n := (size - 20) / 4
	return "return f\"" + strings.Repeat("{x:", n) + strings.Repeat("}", n) + "\""
}

func TestCompileReportsEachBrokenBlockWithItsLine(t *testing.T) {
	ev := mustEvaluator(t, 1)
	ctx := context.Background()
	problems, err := ev.Compile(ctx, domain.PolicyCode{Check: "if proposal.get_yes_votes().count() >= 1:\n  return PASSED\nreturn PROPOSED", Filter: "action.type == 'x'", FilterLang: domain.LangExpr})
	if err != nil || len(problems) != 0 {
		t.Fatalf("valid code: problems %v, err %v", problems, err)
	}
	problems, err = ev.Compile(ctx, domain.PolicyCode{
		Check:  "x = 1\nif True\n  return PASSED",
		Notify: "slack.post_message(text=f\"{x\")",
		Filter: "yes >= ", FilterLang: domain.LangExpr,
	})
	if err != nil {
		t.Fatal(err)
	}
	byBlock := map[policy.Block]*policy.EvalError{}
	for _, p := range problems {
		byBlock[p.Block] = p
	}
	if len(problems) != 3 || byBlock[policy.BlockCheck] == nil || byBlock[policy.BlockNotify] == nil || byBlock[policy.BlockFilter] == nil {
		t.Fatalf("problems = %v, want one per broken block (check, notify, filter)", problems)
	}
	if p := byBlock[policy.BlockCheck]; p.Type != "SyntaxError" || p.Line != 2 {
		t.Fatalf("check: %v, want a SyntaxError at line 2", p)
	}
}

// Compiling hostile source happens in a worker: it is stopped at the sandbox's limits, the
// caller's memory does not grow, and the pool keeps serving.
func TestCompilingHostileCodeIsBoundedBySandbox(t *testing.T) {
	ev := mustEvaluator(t, 1)
	ctx := context.Background()
	runtime.GC()
	before := rssBytes(t)
	for range 3 {
		problems, err := ev.Compile(ctx, domain.PolicyCode{Check: nestedFormatSpecs(64 << 10)})
		if err != nil {
			t.Fatal(err)
		}
		if len(problems) != 1 || (problems[0].Type != "TimeoutError" && problems[0].Type != "MemoryError") {
			t.Fatalf("problems = %v, want one TimeoutError or MemoryError", problems)
		}
		t.Logf("refused: %v", problems[0])
	}
	runtime.GC()
	if grown := rssBytes(t) - before; grown > 32<<20 {
		t.Fatalf("the caller's memory grew by %d MiB", grown>>20)
	}
	if st := ev.Stats(); st.Kills() < 3 {
		t.Fatalf("stats %+v: want each hostile compile to have cost its worker", st)
	}
	if problems, err := ev.Compile(ctx, domain.PolicyCode{Check: "return PASSED"}); err != nil || len(problems) != 0 {
		t.Fatalf("after the hostile code: problems %v, err %v", problems, err)
	}
}
