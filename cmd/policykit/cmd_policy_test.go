package main

import (
	"github.com/policykit-go/policykit/internal/memtest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostileScenario has one case per hostile block: each expects its proposal to pass, so the
// report must say how the block was stopped. The 20 MB case expects what policykit serve
// decides: the block's output is over the sandbox's limits, and its proposal fails.
const hostileScenario = `name: hostile
community:
  name: Garden
  platforms: [slack]
  users:
    - {id: alice, username: UALICE, name: Alice}
  roles:
    - {name: Base User, base: true, permissions: ["propose:*", "vote:*"]}
policies:
  - id: big-list
    inline:
      kind: platform
      name: Big list
      action_types: [slackpostmessage]
      filter: return action.text == "list"
      check: return PASSED if len(list(range(200000000))) > 0 else FAILED
  - id: long-sum
    inline:
      kind: platform
      name: Long sum
      action_types: [slackpostmessage]
      filter: return action.text == "sum"
      check: return PASSED if sum(range(100000000000)) > 0 else FAILED
  - id: hoard
    inline:
      kind: platform
      name: Hoard
      action_types: [slackpostmessage]
      filter: return action.text == "hoard"
      check: |
        proposal.data.set("blob", "x" * 20000000)
        return PASSED
cases:
  - name: list
    steps:
      - action: {type: slackpostmessage, initiator: alice, fields: {channel: C1, text: list}}
      - expect: {status: PASSED}
  - name: sum
    steps:
      - action: {type: slackpostmessage, initiator: alice, fields: {channel: C1, text: sum}}
      - expect: {status: PASSED}
  - name: hoard
    steps:
      - action: {type: slackpostmessage, initiator: alice, fields: {channel: C1, text: hoard}}
      - expect: {status: FAILED, errors: ["check: "]}
`

// policy test evaluates in the server's sandbox: a block that allocates gigabytes or runs for
// minutes inside one interpreter step is stopped at the sandbox's memory ceiling or deadline
// and reported as its step's failure, while this process's memory stays flat; a block whose
// output is over the sandbox's size limits fails as it does under serve.
func TestPolicyTestRunsBlocksInTheSandbox(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hostile.yaml")
	if err := os.WriteFile(path, []byte(hostileScenario), 0o600); err != nil {
		t.Fatal(err)
	}
	before := memtest.ResetPeak(t)
	out, _, err := runCLI(t, "policy", "test", path)
	grown := memtest.Peak(t) - before
	t.Logf("peak memory grew by %d KiB\n%s", grown>>10, out)
	var exit exitError
	if !asExit(err, &exit) || exit != 1 {
		t.Fatalf("err = %v, want exit status 1", err)
	}
	if grown > 64<<20 {
		t.Fatalf("policy test's own memory grew by %d MiB", grown>>20)
	}
	failures := map[string]string{}
	for _, block := range strings.Split(out, "--- FAIL: ")[1:] {
		name, report, _ := strings.Cut(block, " ")
		failures[name] = report
	}
	for name, reason := range map[string]string{
		"hostile/list": "MemoryError in check",
		"hostile/sum":  "TimeoutError in check",
	} {
		if !strings.Contains(failures[name], reason) {
			t.Errorf("case %s: want a failure naming %q, got %q", name, reason, failures[name])
		}
	}
	if report, failed := failures["hostile/hoard"]; failed {
		t.Errorf("the 20 MB case did not decide as under serve:\n%s", report)
	}
}
