package policytest_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/policytest"
)

// A small scenario: a platform policy that fails posts mentioning "spam" and passes others.
const header = `name: spam-filter
community:
  name: Garden
  platforms: [slack]
  users:
    - {id: alice, username: UALICE, name: Alice}
  roles:
    - {name: Base User, base: true, permissions: ["propose:*", "vote:*"]}
policies:
  - id: no-spam
    inline:
      kind: platform
      name: No spam
      action_types: [slackpostmessage]
      check: |
        if "spam" in action.text:
            logger.info("spam from " + action.initiator.username)
            return FAILED
        return PASSED
      fail: |
        slack.post_message(text="no spam please", channel=action.channel)
`

func mustWrite(tb testing.TB, dir, name, content string) string {
	tb.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

func mustRun(tb testing.TB, paths []string, opts policytest.Options) (bool, string) {
	tb.Helper()
	var out bytes.Buffer
	ok, err := policytest.Run(context.Background(), paths, &out, opts)
	if err != nil {
		tb.Fatalf("Run: %v\n%s", err, out.String())
	}
	return ok, out.String()
}

func TestPassingScenarioReportsOK(t *testing.T) {
	path := mustWrite(t, t.TempDir(), "spam.yaml", header+`cases:
  - name: spam is refused
    steps:
      - action: {type: slackpostmessage, initiator: alice, fields: {channel: C1, text: buy spam}}
      - expect:
          status: FAILED
          action_status: rejected
          logs: ["info: spam from UALICE"]
          effects:
            - {method: slack.revert, purpose: revert}
            - {method: slack.post_message, args: {text: no spam please, channel: C1}}
  - name: ham passes
    steps:
      - action: &ham {type: slackpostmessage, initiator: alice, fields: {channel: C1, text: ham}}
      - expect: {status: PASSED, action_status: executed, no_effects: true}
      # anchors and merge keys: the same action again, under another id, with other fields
      - action: {<<: *ham, id: again, fields: {channel: C2, text: more spam}}
      - expect: {action: again, status: FAILED, effects: [{method: slack.revert}, {method: slack.post_message, args: {channel: C2}}]}
`)
	ok, out := mustRun(t, []string{path}, sandboxed(policytest.Options{}))
	if !ok {
		t.Fatalf("want ok, got:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^ok  \t.*spam\.yaml\t\d+\.\d{3}s$`).MatchString(out) {
		t.Errorf("want a go test style ok line, got:\n%s", out)
	}
	if strings.Contains(out, "=== RUN") {
		t.Errorf("quiet run printed RUN lines:\n%s", out)
	}

	ok, out = mustRun(t, []string{path}, sandboxed(policytest.Options{Verbose: true}))
	for _, want := range []string{
		"=== RUN   spam-filter/spam_is_refused\n",
		"--- PASS: spam-filter/spam_is_refused (",
		"--- PASS: spam-filter/ham_passes (",
		"proposal.effect_requested slack.post_message(channel=\"C1\", text=\"no spam please\")",
		"action.rejected",
		"\nPASS\nok  \t",
	} {
		if !ok || !strings.Contains(out, want) {
			t.Errorf("verbose output lacks %q:\n%s", want, out)
		}
	}

	ok, out = mustRun(t, []string{path}, sandboxed(policytest.Options{Verbose: true, Run: "ham"}))
	if !ok || strings.Contains(out, "spam_is_refused") || !strings.Contains(out, "--- PASS: spam-filter/ham_passes") {
		t.Errorf("-run ham: ok=%v\n%s", ok, out)
	}
}

func TestFailingExpectationIsReportedWithItsLine(t *testing.T) {
	content := header + `steps:
  - action: {id: p1, type: slackpostmessage, initiator: alice, fields: {channel: C1, text: buy spam}}
  - expect:
      status: PASSED
      effects:
        - {method: slack.post_message, args: {text: welcome}}
  - action: {id: p2, type: slackpostmessage, initiator: alice, fields: {channel: C1, text: ham}}
`
	path := mustWrite(t, t.TempDir(), "broken.yaml", content)
	line := 1 + strings.Count(content[:strings.Index(content, "  - expect:")], "\n") + 1 // the expect's mapping

	ok, out := mustRun(t, []string{path}, sandboxed(policytest.Options{}))
	if ok {
		t.Fatalf("want a failure, got ok:\n%s", out)
	}
	for _, want := range []string{
		"--- FAIL: spam-filter (",
		"broken.yaml:" + strconv.Itoa(line) + ": at +0s: expectation failed:",
		"status: want PASSED, got FAILED",
		`effects (since the previous expect): want 1, got 2`,
		`want[0] slack.post_message(text="welcome")`,
		`got[1] slack.post_message(channel="C1", text="no spam please")`,
		"events of the case",
		"proposal.evaluated check → FAILED [info: spam from UALICE]",
		"\nFAIL\nFAIL\t" + path + "\t",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The case stops at the failed expectation.
	if strings.Contains(out, "action p2") {
		t.Errorf("steps after the failed expectation ran:\n%s", out)
	}
}

func TestStepErrors(t *testing.T) {
	path := mustWrite(t, t.TempDir(), "votes.yaml", header+`cases:
  - name: unexpected error
    steps:
      - action: {type: slackpostmessage, initiator: alice, fields: {channel: C1, text: ham}}
      - vote: {user: alice, value: yes}
  - name: expected error
    steps:
      - action: {type: slackpostmessage, initiator: alice, fields: {channel: C1, text: ham}}
      - vote: {user: alice, value: yes}
        want_error: "cannot vote"
  - name: expected error that does not happen
    steps:
      - action: {type: slackpostmessage, initiator: alice, fields: {channel: C1, text: ham}}
      - expect: {status: PASSED}
      - advance: 1m
      - action: {id: a2, type: slackpostmessage, initiator: alice, fields: {channel: C1, text: more ham}}
        want_error: forbidden
`)
	ok, out := mustRun(t, []string{path}, sandboxed(policytest.Options{}))
	if ok {
		t.Fatalf("want a failure:\n%s", out)
	}
	for _, want := range []string{
		"--- FAIL: spam-filter/unexpected_error",
		"votes.yaml:26: at +0s: vote step failed: conflict: proposal ",
		"is PASSED: cannot vote",
		"--- FAIL: spam-filter/expected_error_that_does_not_happen",
		`action step: want an error containing "forbidden", got none`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FAIL: spam-filter/expected_error ") {
		t.Errorf("the case whose step failed as expected failed:\n%s", out)
	}
}

func TestMalformedScenarios(t *testing.T) {
	steps := "steps:\n  - action: {id: a1, type: slackpostmessage, initiator: alice, fields: {text: hi}}\n"
	for _, tc := range []struct {
		name    string
		content string
		want    []string // fragments of the messages, each with its line
	}{
		{"not YAML", "name: [unclosed\n", []string{"bad.yaml:1: not valid YAML: did not find expected"}},
		{"unknown top-level key", header + steps + "stepz: []\n", []string{`bad.yaml:24: scenario: unknown key "stepz"`}},
		{"unknown key in a step", header + steps + "  - vote: {user: alice, valeu: yes}\n",
			[]string{`bad.yaml:24: steps[1].vote: unknown key "valeu" (known keys: action, policy, user, value, kind)`, "bad.yaml:24: steps[1].vote: `value` is required"}},
		{"two kinds in one step", header + "steps:\n  - {advance: 1h, close_vote: {}}\n",
			[]string{"bad.yaml:23: steps[0]: a step is exactly one of action, vote, answer, effect_result, close_vote, advance, expect (got close_vote and advance)"}},
		{"duplicate key", header + "steps:\n  - expect:\n      status: PASSED\n      status: FAILED\n",
			[]string{`bad.yaml:25: steps[0].expect: key "status" given twice`}},
		{"bad values", header + "recheck_interval: soon\n" + steps +
			"  - advance: -3h\n  - expect: {status: DONE, action_status: gone, proposals: two}\n",
			[]string{"bad.yaml:22: recheck_interval: want a positive duration", "bad.yaml:25: steps[1].advance: want a positive duration",
				`bad.yaml:26: steps[2].expect.status: want PROPOSED, PASSED or FAILED, got "DONE"`,
				`bad.yaml:26: steps[2].expect.action_status: want one of proposed, rejected, executed, execution_failed, reverted, got "gone"`,
				`bad.yaml:26: steps[2].expect.proposals: want an integer, got "two"`}},
		{"unknown references", header + "steps:\n  - vote: {user: alice, value: yes}\n" +
			"  - action: {id: a1, type: slackpostmessage, initiator: mallory, fields: {text: hi}}\n" +
			"  - vote: {action: a9, policy: nope, user: bob, value: yes}\n",
			[]string{"bad.yaml:23: vote: no action has been proposed before this step",
				`bad.yaml:24: action: unknown initiator "mallory" (users: alice)`,
				`bad.yaml:25: vote: action "a9" is not proposed by an earlier step of this case`,
				`bad.yaml:25: vote: unknown policy "nope" (policies: no-spam)`,
				`bad.yaml:25: vote: unknown user "bob"`}},
		{"unknown action type", header + "steps:\n  - action: {type: slackdance, initiator: alice}\n",
			[]string{`bad.yaml:23: steps[0].action.type: unknown action type "slackdance"`}},
		{"bad constitution payload", header + "steps:\n  - action: {type: policykitaddrole, initiator: alice, fields: {name: R, colour: red}}\n",
			[]string{`bad.yaml:23: action: fields of a policykitaddrole action: invalid: action action-1 (policykitaddrole): json: unknown field "colour"`}},
		{"bad community", strings.Replace(header, `permissions: ["propose:*", "vote:*"]`, `permissions: ["propose:*", "dance:*"]`, 1) + steps,
			[]string{`bad.yaml:8: community.roles[0].permissions[1]: invalid: permission "dance:*": unknown verb "dance"`}},
		{"bad policy", strings.Replace(header, "action_types: [slackpostmessage]", "action_types: [expensecreated]", 1) + steps,
			[]string{`bad.yaml:12: policies[0].inline: invalid: policy "No spam": a platform policy cannot list trigger action type "expensecreated"`}},
		{"set-up the domain refuses", strings.Replace(header, "{id: alice, username: UALICE, name: Alice}",
			"{id: alice, username: UALICE, name: Alice, roles: [Wizard]}", 1) + steps,
			[]string{`bad.yaml:6: user alice: role "Wizard": not_found: role "Wizard" not found`}},
		{"no steps", header, []string{"bad.yaml:1: scenario: `steps` or `cases` is required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := mustWrite(t, t.TempDir(), "bad.yaml", tc.content)
			_, err := policytest.Load(path)
			if !errors.Is(err, policytest.ErrMalformed) {
				t.Fatalf("Load: want a malformed-scenario error, got %v", err)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q; got:\n%v", want, err)
				}
			}
			var out bytes.Buffer
			ok, err := policytest.Run(context.Background(), []string{path}, &out, sandboxed(policytest.Options{}))
			if ok || !errors.Is(err, policytest.ErrMalformed) {
				t.Fatalf("Run: ok=%v err=%v, want a malformed-scenario error", ok, err)
			}
			if !strings.Contains(out.String(), "FAIL\t"+path+" [malformed scenario]") || !strings.Contains(out.String(), tc.want[0]) {
				t.Errorf("Run printed:\n%s", out.String())
			}
		})
	}
}

func TestMalformedFileStopsTheWholeRun(t *testing.T) {
	dir := t.TempDir()
	good := mustWrite(t, dir, "a_good.yaml", header+"steps:\n  - action: {type: slackpostmessage, initiator: alice, fields: {text: hi}}\n")
	mustWrite(t, dir, "b_bad.yaml", header+"steps: 3\n")
	var out bytes.Buffer
	ok, err := policytest.Run(context.Background(), []string{dir}, &out, sandboxed(policytest.Options{}))
	if ok || !errors.Is(err, policytest.ErrMalformed) {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	if strings.Contains(out.String(), "ok  \t"+good) {
		t.Errorf("a scenario ran although another one is malformed:\n%s", out.String())
	}
	if _, err := policytest.Run(context.Background(), []string{filepath.Join(dir, "missing")}, &out, sandboxed(policytest.Options{})); err == nil {
		t.Error("a missing path is not an error")
	}
}

// Advancing the clock re-checks every open proposal each recheck interval, in order, at the
// due times; a 5-day wait with 30s re-checks is 14,400 checks.
func TestAdvanceRechecksAtEveryInterval(t *testing.T) {
	path := mustWrite(t, t.TempDir(), "timer.yaml", `name: timer
community:
  name: Garden
  platforms: [slack]
  users: [{id: alice}]
  roles: [{name: Base User, base: true, permissions: ["propose:*"]}]
policies:
  - id: timer
    inline:
      kind: platform
      name: Timer
      check: |
        if proposal.get_time_elapsed() > datetime.timedelta(days=5):
            return PASSED
        return PROPOSED
steps:
  - action: {type: slackrenameconversation, initiator: alice, fields: {channel: C1, name: x}}
  - advance: 5d
  - expect: {status: PROPOSED}
  - advance: 30s
  - expect: {status: PASSED, action_status: executed}
`)
	f, err := policytest.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := f.Run(context.Background(), sandboxed(policytest.Options{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || !res[0].Passed {
		t.Fatalf("%+v", res)
	}
	if res[0].Checks != 14401 {
		t.Errorf("re-checks = %d, want 14401 (every 30s for 5 days, then the deciding one)", res[0].Checks)
	}
	t.Logf("5 days at 30s: %d checks in %s", res[0].Checks, time.Since(start))
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30s": 30 * time.Second, "3h": 3 * time.Hour, "5d": 120 * time.Hour, "2d12h": 60 * time.Hour, "1d30m": 24*time.Hour + 30*time.Minute,
	} {
		if got, err := policytest.ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "5 days", "3x"} {
		if _, err := policytest.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q): want an error", in)
		}
	}
}
