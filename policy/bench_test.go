package policy

import (
	"context"
	"slices"
	"testing"
	"time"
)

// benchCheckInputs returns, per seed example, a realistic check-block input
// (compiled programs come from the cache after the first run).
func benchCheckInputs(b *testing.B, r *Runtime) map[string]Input {
	b.Helper()
	uv := func(id, c string) VoteInfo { return choice(UserInfo{Username: id, Platform: "slack"}, c) }
	cases := map[string]Input{}

	p := mustSeed(b, fileRename)
	in := baseInput(p, ActionInfo{Type: "slackrenameconversation", Platform: "slack", Fields: map[string]any{"name": "x", "channel": "C1"}, Initiator: &alice})
	in.Proposal.Votes = []VoteInfo{yes(bob)}
	cases["rename_slack_channel"] = in

	p = mustSeed(b, fileSlackOC)
	in = baseInput(p, expenseAction())
	in.Proposal.VotePostID, in.Proposal.ProposalTime = "ts", testNow.Add(-4*time.Hour)
	in.Proposal.Votes = []VoteInfo{yes(alice), yes(bob)}
	cases["slack_vote_on_oc_expense"] = in

	p = mustSeed(b, fileLoomioOC)
	in = baseInput(p, expenseAction())
	in.Proposal.IsVoteClosed = true
	in.Proposal.Votes = []VoteInfo{choice(alice, "consent"), choice(bob, "consent"), choice(carol, "consent")}
	cases["loomio_vote_on_oc_expense"] = in

	p = mustSeed(b, fileDiscordVote)
	in = baseInput(p, discordAction("vote lunch?"))
	in.Proposal.VotePostID, in.Proposal.ProposalTime = "m1", testNow.Add(-6*time.Minute)
	in.Proposal.Votes = []VoteInfo{yes(alice)}
	cases["discord_vote"] = in

	p = mustSeed(b, fileSourceCred)
	in = baseInput(p, ActionInfo{Type: "discoursecreatetopic", Platform: "discourse", Fields: map[string]any{"category": 8.0}, Initiator: &alice})
	in.Answers = map[string]any{AnswerKey("sourcecred", "get_cred", map[string]any{"username": "alice"}): 350.0}
	cases["sourcecred_minimum"] = in

	p = mustSeed(b, fileNoPosts)
	cases["no_posts_in_channel"] = baseInput(p, ActionInfo{Type: "slackpostmessage", Platform: "slack", Fields: map[string]any{"channel": "C025LDZ76R3"}})

	p = mustSeed(b, fileDiscordPing)
	cases["discord_ping"] = baseInput(p, discordAction("ping"))

	p = mustSeed(b, fileConsensus)
	in = baseInput(p, ActionInfo{Type: "slackpostmessage", Platform: "slack", Fields: map[string]any{"channel": "C0ABC123", "text": "core-group-vote x"}, Initiator: &alice})
	in.Proposal.VotePostID, in.Proposal.ProposalTime = "ts9", testNow.Add(-(4*24+12)*time.Hour)
	in.Proposal.Votes = []VoteInfo{uv("U01", "consent"), uv("U02", "object")}
	cases["consensus_vote_reminder"] = in // the once-per-proposal reminder branch

	in.Proposal.ProposalTime = testNow.Add(-48 * time.Hour) // the usual periodic check
	in.Proposal.Data = map[string]any{"eligible_voters": []any{"U01", "U02", "U03", "U04", "U05", "U06"}, "discussion_channel": "C0ABC123"}
	cases["consensus_vote_pending"] = in

	p = mustSeed(b, fileConstApprove)
	cases["constitution_one_approval"] = baseInput(p, constitutionAction())

	p = mustSeed(b, fileConstPass)
	cases["constitution_all_pass"] = baseInput(p, constitutionAction())

	for name, in := range cases {
		in.Block = BlockCheck
		in.CodeHash = Hash(in.Code)
		if out := r.Evaluate(context.Background(), in); out.Err != nil || out.Question != nil || out.Status == "" {
			b.Fatalf("%s: %+v", name, out)
		}
		cases[name] = in
	}
	return cases
}

// BenchmarkEvalCheck evaluates each seed example's check block and reports
// the median latency per evaluation as p50-µs.
//
//	go test -run='^$' -bench=BenchmarkEvalCheck ./policy/
func BenchmarkEvalCheck(b *testing.B) {
	r := mustRuntime(b, Options{})
	cases := benchCheckInputs(b, r)
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	slices.Sort(names)
	ctx := context.Background()
	for _, name := range names {
		in := cases[name]
		b.Run(name, func(b *testing.B) {
			durations := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				out := r.Evaluate(ctx, in)
				durations = append(durations, time.Since(start))
				if out.Err != nil {
					b.Fatal(out.Err)
				}
			}
			b.StopTimer()
			slices.Sort(durations)
			b.ReportMetric(float64(durations[len(durations)/2])/float64(time.Microsecond), "p50-µs")
			b.ReportMetric(float64(durations[len(durations)*99/100])/float64(time.Microsecond), "p99-µs")
		})
	}
}
