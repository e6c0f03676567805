package policysandbox_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
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
)

// seedDir holds PolicyKit's ten example policies, exactly as authored.
const seedDir = "../../shared/seed/policy_examples"

var (
	benchNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	alice    = policy.UserInfo{ID: "u1", Username: "alice", ReadableName: "Alice Smith", Platform: "slack", IsAdmin: true, Roles: []string{"Moderator"}}
	bob      = policy.UserInfo{ID: "u2", Username: "bob", ReadableName: "Bob Jones", Platform: "slack"}
	carol    = policy.UserInfo{ID: "u3", Username: "carol", ReadableName: "Carol", Platform: "slack", Roles: []string{"Voter"}}
)

func vote(u policy.UserInfo, choice string) policy.VoteInfo {
	if choice == "yes" {
		return policy.VoteInfo{User: u, Kind: domain.VoteBoolean, Boolean: true, At: benchNow.Add(-time.Minute)}
	}
	return policy.VoteInfo{User: u, Kind: domain.VoteChoice, Choice: choice, At: benchNow.Add(-time.Minute)}
}

// seedInput is a realistic check-block input for one seed policy, as policy's
// BenchmarkEvalCheck builds them: a proposal an hour old, every platform connected, a small
// community.
func seedInput(tb testing.TB, file string, action policy.ActionInfo) policy.Input {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(seedDir, file))
	if err != nil {
		tb.Skipf("seed policy missing: %v", err)
	}
	var p struct {
		Kind        string   `json:"policy_kind"`
		ActionTypes []string `json:"action_types"`
		Name        string   `json:"name"`
		Description string   `json:"description"`
		Filter      string   `json:"filter"`
		Initialize  string   `json:"initialize"`
		Check       string   `json:"check"`
		Notify      string   `json:"notify"`
		Success     string   `json:"success"`
		Fail        string   `json:"fail"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		tb.Fatalf("decode seed %s: %v", file, err)
	}
	return policy.Input{
		Block:  policy.BlockCheck,
		Code:   domain.PolicyCode{Filter: p.Filter, Initialize: p.Initialize, Check: p.Check, Notify: p.Notify, Success: p.Success, Fail: p.Fail},
		Now:    benchNow,
		Seed:   42,
		Policy: policy.PolicyInfo{ID: "pol-1", Name: p.Name, Description: p.Description, Kind: strings.ToLower(p.Kind), ActionTypes: p.ActionTypes},
		Action: action,
		Proposal: policy.ProposalInfo{
			ID:           "prop-1",
			Status:       "proposed",
			ProposalTime: benchNow.Add(-time.Hour),
		},
		Community: policy.CommunityInfo{
			Platforms: policy.Platforms,
			Users:     []policy.UserInfo{alice, bob, carol},
			Roles: []policy.RoleInfo{
				{Name: "Base User", IsBase: true, Permissions: []string{"Can add boolean vote"}},
				{Name: "Moderator", Permissions: []string{"Can execute slack rename conversation"}},
				{Name: "Voter", Permissions: []string{"Can add boolean vote"}},
			},
		},
	}
}

// seedCheckInputs returns the check-block inputs of the seed examples that policy's
// BenchmarkEvalCheck uses, each with its expected output from the in-process runtime.
func seedCheckInputs(tb testing.TB) (ins []policy.Input, want []policy.Output) {
	tb.Helper()
	expense := policy.ActionInfo{ID: "act-2", Type: "expensecreated", Kind: "trigger", Platform: "opencollective",
		Fields: map[string]any{"expense_id": "exp-77", "url": "https://opencollective.com/acme/expenses/77",
			"description": "Pizza for the sprint", "amount": 4250.0, "data": map[string]any{"id": "exp-77"}},
		Initiator: &bob, Description: "ExpenseCreated: Pizza for the sprint"}
	discord := func(v string) policy.ActionInfo {
		return policy.ActionInfo{ID: "act-3", Type: "discordslashcommand", Kind: "trigger", Platform: "discord",
			Fields: map[string]any{"value": v, "channel": "D42"}, Initiator: &bob, Description: "/policykit " + v}
	}
	constitution := policy.ActionInfo{ID: "act-7", Type: "policykitaddrole", Kind: "constitution", Platform: "constitution",
		Fields: map[string]any{"name": "Moderator"}, Initiator: &alice, Description: "Add role Moderator"}

	in := seedInput(tb, "Vote_on_renaming_Slack_channels.json", policy.ActionInfo{Type: "slackrenameconversation", Platform: "slack", Fields: map[string]any{"name": "x", "channel": "C1"}, Initiator: &alice})
	in.Proposal.Votes = []policy.VoteInfo{vote(bob, "yes")}
	ins = append(ins, in)

	in = seedInput(tb, "Vote_in_Slack_on_OpenCollective_expenses_with_restricted_voting_.json", expense)
	in.Proposal.VotePostID, in.Proposal.ProposalTime = "ts", benchNow.Add(-4*time.Hour)
	in.Proposal.Votes = []policy.VoteInfo{vote(alice, "yes"), vote(bob, "yes")}
	ins = append(ins, in)

	in = seedInput(tb, "Vote_in_Loomio_on_OpenCollective_expenses.json", expense)
	in.Proposal.IsVoteClosed = true
	in.Proposal.Votes = []policy.VoteInfo{vote(alice, "consent"), vote(bob, "consent"), vote(carol, "consent")}
	ins = append(ins, in)

	in = seedInput(tb, "Trigger_a_vote_in_Discord.json", discord("vote lunch?"))
	in.Proposal.VotePostID, in.Proposal.ProposalTime = "m1", benchNow.Add(-6*time.Minute)
	in.Proposal.Votes = []policy.VoteInfo{vote(alice, "yes")}
	ins = append(ins, in)

	in = seedInput(tb, "Minimum_SourceCred_value_required_for_creating_Discourse_Topic.json", policy.ActionInfo{Type: "discoursecreatetopic", Platform: "discourse", Fields: map[string]any{"category": 8.0}, Initiator: &alice})
	in.Answers = map[string]any{policy.AnswerKey("sourcecred", "get_cred", map[string]any{"username": "alice"}): 350.0}
	ins = append(ins, in)

	ins = append(ins, seedInput(tb, "Don_t_allow_posts_in_Slack_channel.json", policy.ActionInfo{Type: "slackpostmessage", Platform: "slack", Fields: map[string]any{"channel": "C025LDZ76R3"}}))
	ins = append(ins, seedInput(tb, "Discord_ping.json", discord("ping")))

	in = seedInput(tb, "Consensus_vote_in_Slack_with_restricted_voting___reminder.json", policy.ActionInfo{Type: "slackpostmessage", Platform: "slack", Fields: map[string]any{"channel": "C0ABC123", "text": "core-group-vote x"}, Initiator: &alice})
	in.Proposal.VotePostID, in.Proposal.ProposalTime = "ts9", benchNow.Add(-48*time.Hour)
	in.Proposal.Votes = []policy.VoteInfo{vote(policy.UserInfo{Username: "U01", Platform: "slack"}, "consent"), vote(policy.UserInfo{Username: "U02", Platform: "slack"}, "object")}
	in.Proposal.Data = map[string]any{"eligible_voters": []any{"U01", "U02", "U03", "U04", "U05", "U06"}, "discussion_channel": "C0ABC123"}
	ins = append(ins, in)

	ins = append(ins, seedInput(tb, "All_Constitution_Actions_need_1_approval_in_Slack.json", constitution))
	ins = append(ins, seedInput(tb, "All_Constitution_Actions_Pass_and_get_posted_in_Slack.json", constitution))

	rt, err := policy.New(policy.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range ins {
		ins[i].CodeHash = policy.Hash(ins[i].Code)
		out := rt.Evaluate(context.Background(), ins[i])
		if out.Err != nil || out.Question != nil || out.Status == "" {
			tb.Fatalf("seed input %d (%s): %+v", i, ins[i].Policy.Name, out)
		}
		want = append(want, out)
	}
	return ins, want
}

func sameOutput(a, b policy.Output) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func benchEvaluator(b *testing.B, workers int) *policysandbox.Evaluator {
	b.Helper()
	ev := mustEvaluator(b, workers)
	return ev
}

// BenchmarkSandboxEvaluateSeeds: one caller evaluating the seed examples' check blocks in
// turn through one worker.
//
//	go test -run='^$' -bench=BenchmarkSandboxEvaluateSeeds ./policysandbox/
func BenchmarkSandboxEvaluateSeeds(b *testing.B) {
	ins, want := seedCheckInputs(b)
	ev := benchEvaluator(b, 1)
	ctx := context.Background()
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(ins)
		start := time.Now()
		out := ev.Evaluate(ctx, ins[k])
		durations = append(durations, time.Since(start))
		if out.Err != nil || out.Status != want[k].Status {
			b.Fatalf("%s: %+v", ins[k].Policy.Name, out)
		}
	}
	b.StopTimer()
	reportPercentiles(b, durations)
	reportSandbox(b, ev)
}

// reportSandbox reports how many blocks went to a worker per round trip, and what share of
// them carried their code.
func reportSandbox(b *testing.B, ev *policysandbox.Evaluator) {
	st := ev.Stats()
	codeSent, _, _ := policysandbox.Counters(ev)
	if st.Batches > 0 {
		b.ReportMetric(float64(st.Calls)/float64(st.Batches), "blocks/batch")
	}
	if st.Calls > 0 {
		b.ReportMetric(float64(codeSent)/float64(st.Calls), "with-code/block")
	}
}

// BenchmarkSandboxEvaluateConcurrent: 64 callers per GOMAXPROCS evaluate the seed examples'
// check blocks through 2 workers, as the engine's parallel decisions and re-check sweeps do.
// µs/block is the wall time divided by the blocks evaluated (the amortised cost); p50-µs
// and p99-µs are the latency of one Evaluate call.
//
//	go test -run='^$' -bench=BenchmarkSandboxEvaluateConcurrent -cpu=2 ./policysandbox/
func BenchmarkSandboxEvaluateConcurrent(b *testing.B) {
	ins, want := seedCheckInputs(b)
	ev := benchEvaluator(b, 2)
	ctx := context.Background()
	var mu sync.Mutex
	var durations []time.Duration
	var next atomic.Int64
	b.SetParallelism(64)
	parentCPU, workerCPU := cpuTimes(b)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		mine := make([]time.Duration, 0, 1024)
		for pb.Next() {
			k := int(next.Add(1)) % len(ins)
			t := time.Now()
			out := ev.Evaluate(ctx, ins[k])
			mine = append(mine, time.Since(t))
			if out.Err != nil || out.Status != want[k].Status {
				b.Errorf("%s: %+v", ins[k].Policy.Name, out)
				return
			}
		}
		mu.Lock()
		durations = append(durations, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	parentEnd, workerEnd := cpuTimes(b)
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N)/1e3, "µs/block")
	b.ReportMetric(float64((parentEnd-parentCPU).Nanoseconds())/float64(b.N)/1e3, "parent-cpu-µs/block")
	b.ReportMetric(float64((workerEnd-workerCPU).Nanoseconds())/float64(b.N)/1e3, "worker-cpu-µs/block")
	slices.Sort(durations)
	reportPercentiles(b, durations)
	reportSandbox(b, ev)
}

// cpuTimes returns the CPU time (user and system) used so far by this process and by its
// live child processes (the workers), from /proc, in clock ticks of 10ms.
func cpuTimes(tb testing.TB) (self, children time.Duration) {
	tb.Helper()
	self = procCPU(tb, "self")
	tasks, _ := filepath.Glob("/proc/self/task/*/children")
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, pid := range strings.Fields(string(b)) {
			children += procCPU(tb, pid)
		}
	}
	return self, children
}

func procCPU(tb testing.TB, pid string) time.Duration {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the command (which may hold spaces): state is field 3, utime 14, stime 15.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(f) < 13 {
		tb.Fatalf("/proc/%s/stat: %q", pid, b)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, _ := strconv.ParseInt(s, 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}
