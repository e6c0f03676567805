package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
)

// Each of PolicyKit's ten example policies runs unchanged from its JSON
// text; every block is exercised against a realistic input.

const (
	fileRename       = "Vote_on_renaming_Slack_channels.json"
	fileSlackOC      = "Vote_in_Slack_on_OpenCollective_expenses_with_restricted_voting_.json"
	fileLoomioOC     = "Vote_in_Loomio_on_OpenCollective_expenses.json"
	fileDiscordVote  = "Trigger_a_vote_in_Discord.json"
	fileSourceCred   = "Minimum_SourceCred_value_required_for_creating_Discourse_Topic.json"
	fileNoPosts      = "Don_t_allow_posts_in_Slack_channel.json"
	fileDiscordPing  = "Discord_ping.json"
	fileConsensus    = "Consensus_vote_in_Slack_with_restricted_voting___reminder.json"
	fileConstApprove = "All_Constitution_Actions_need_1_approval_in_Slack.json"
	fileConstPass    = "All_Constitution_Actions_Pass_and_get_posted_in_Slack.json"
)

var voteAnswer = map[string]any{"post_id": "1714564800.000100", "url": "https://slack.example/archives/C1/p1714564800000100"}

func TestSeedExamplesAllCompile(t *testing.T) {
	requireSeed(t)
	files, err := filepath.Glob(filepath.Join(seedDir, "policy_examples", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 10 {
		t.Fatalf("found %d seed examples, want 10", len(files))
	}
	r := mustRuntime(t, Options{})
	for _, f := range files {
		p := mustSeed(t, filepath.Base(f))
		if errs := r.Validate(p.code()); len(errs) != 0 {
			t.Errorf("%s: %v", p.Name, errs)
		}
		if err := Compile(p.code()); err != nil {
			t.Errorf("%s: Compile: %v", p.Name, err)
		}
	}
}

func TestSeedVoteOnRenamingSlackChannels(t *testing.T) {
	r := mustRuntime(t, Options{})
	p := mustSeed(t, fileRename)
	in := baseInput(p, ActionInfo{ID: "act-1", Type: "slackrenameconversation", Kind: "platform", Platform: "slack",
		Fields:    map[string]any{"name": "general-chat", "channel": "C123", "previous_name": "general"},
		Initiator: &alice, Description: "alice renamed #general to #general-chat"})

	if out := mustEval(t, r, in, BlockFilter); !out.Filter {
		t.Fatal("filter: want True")
	}
	if out := mustEval(t, r, in, BlockInitialize); len(out.Effects)+len(out.Logs)+len(out.DataOps) != 0 {
		t.Fatalf("initialize: want nothing, got %+v", out)
	}

	t.Run("check", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			votes  []VoteInfo
			status string
			logs   []domain.LogLine
		}{
			{"no votes", nil, domain.StatusProposed, []domain.LogLine{dbg("0 for, 0 against"), dbg("No votes yet....")}},
			{"one yes", []VoteInfo{yes(bob)}, domain.StatusPassed, []domain.LogLine{dbg("1 for, 0 against")}},
			{"one no", []VoteInfo{no(bob)}, domain.StatusFailed, []domain.LogLine{dbg("0 for, 1 against")}},
			{"yes wins ties", []VoteInfo{no(bob), yes(carol)}, domain.StatusPassed, []domain.LogLine{dbg("1 for, 1 against")}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := in
				in.Proposal.Votes = tc.votes
				out := mustEval(t, r, in, BlockCheck)
				assertStatus(t, out, tc.status)
				assertLogs(t, out.Logs, tc.logs...)
			})
		}
	})

	t.Run("notify asks, then records nothing more", func(t *testing.T) {
		answered := mustAsk(t, r, in, BlockNotify, "slack", "initiate_vote", map[string]any{
			"text":    "Should this channel be renamed to #general-chat? Vote with :thumbsup: or :thumbsdown: on this post.",
			"channel": "C123", // inferred from the action, as PolicyKit does
		}, voteAnswer)
		out := mustEval(t, r, answered, BlockNotify)
		assertEffects(t, out.Effects)
		if out.VotePostID != "1714564800.000100" || out.VoteURL != voteAnswer["url"] {
			t.Fatalf("vote post: got %q %q", out.VotePostID, out.VoteURL)
		}
	})

	in.Proposal.VotePostID = "1714564800.000100"
	t.Run("success", func(t *testing.T) {
		out := mustEval(t, r, in, BlockSuccess)
		assertEffects(t, out.Effects, fx{"slack", "post_message", map[string]any{
			"text": "Proposal to rename this channel to #general-chat passed.", "channel": "C123", "thread_ts": "1714564800.000100"}})
	})
	t.Run("fail", func(t *testing.T) {
		out := mustEval(t, r, in, BlockFail)
		assertEffects(t, out.Effects, fx{"slack", "post_message", map[string]any{
			"text": "Proposal to rename this channel to #general-chat failed.", "channel": "C123", "thread_ts": "1714564800.000100"}})
	})
}

func expenseAction() ActionInfo {
	return ActionInfo{ID: "act-2", Type: "expensecreated", Kind: "trigger", Platform: "opencollective",
		Fields: map[string]any{"expense_id": "exp-77", "url": "https://opencollective.com/acme/expenses/77",
			"description": "Pizza for the sprint", "amount": 4250.0, "data": map[string]any{"id": "exp-77"}},
		Initiator: &bob, Description: "ExpenseCreated: Pizza for the sprint"}
}

func TestSeedVoteInSlackOnOpenCollectiveExpenses(t *testing.T) {
	r := mustRuntime(t, Options{})
	p := mustSeed(t, fileSlackOC)
	in := baseInput(p, expenseAction())
	mustEval(t, r, in, BlockInitialize)
	if out := mustEval(t, r, in, BlockFilter); !out.Filter {
		t.Fatal("filter: want True")
	}

	t.Run("check", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			postID  string
			elapsed time.Duration
			votes   []VoteInfo
			status  string
			logs    []domain.LogLine
		}{
			{"vote not started", "", 10 * time.Hour, []VoteInfo{yes(alice), yes(bob)}, domain.StatusProposed, nil},
			{"under three hours", "ts1", 2 * time.Hour, []VoteInfo{yes(alice), yes(bob)}, domain.StatusProposed, nil},
			{"two yes after three hours", "ts1", 4 * time.Hour, []VoteInfo{yes(alice), yes(bob)}, domain.StatusPassed, nil},
			{"a no after three hours", "ts1", 4 * time.Hour, []VoteInfo{yes(alice), no(bob)}, domain.StatusFailed, nil},
			{"one yes, still open", "ts1", 4 * time.Hour, []VoteInfo{yes(alice)}, domain.StatusProposed, nil},
			{"one yes after three days", "ts1", 73 * time.Hour, []VoteInfo{yes(alice)}, domain.StatusPassed, []domain.LogLine{{Level: "info", Message: "Ending based on time"}}},
			{"no votes after three days", "ts1", 73 * time.Hour, nil, domain.StatusFailed, []domain.LogLine{{Level: "info", Message: "Ending based on time"}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := in
				in.Proposal.VotePostID = tc.postID
				in.Proposal.ProposalTime = testNow.Add(-tc.elapsed)
				in.Proposal.Votes = tc.votes
				out := mustEval(t, r, in, BlockCheck)
				assertStatus(t, out, tc.status)
				assertLogs(t, out.Logs, tc.logs...)
			})
		}
	})

	t.Run("notify", func(t *testing.T) {
		answered := mustAsk(t, r, in, BlockNotify, "slack", "initiate_vote", map[string]any{
			"text":    "Vote on whether to approve <https://opencollective.com/acme/expenses/77|this request> for funds: Pizza for the sprint",
			"channel": "C0177HZTXXX",
			"users":   []any{"UABC123", "UABC999"},
		}, voteAnswer)
		out := mustEval(t, r, answered, BlockNotify)
		assertEffects(t, out.Effects,
			fx{"slack", "post_message", map[string]any{"text": "Discuss here! :meow-wave:", "channel": "C0177HZTXXX", "thread_ts": "1714564800.000100"}},
			fx{"opencollective", "post_message", map[string]any{"expense_id": "exp-77",
				"text": "Thank you for submitting a request! A vote has been started <a href='https://slack.example/archives/C1/p1714564800000100'>on Slack</a>."}},
		)
		if out.VotePostID != "1714564800.000100" {
			t.Fatalf("VotePostID %q", out.VotePostID)
		}
	})

	in.Proposal.VotePostID = "ts1"
	in.Proposal.Votes = []VoteInfo{yes(alice), yes(bob)}
	t.Run("success", func(t *testing.T) {
		out := mustEval(t, r, in, BlockSuccess)
		msg := "Expense approved. The vote passed with 2 for and 0 against."
		assertEffects(t, out.Effects,
			fx{"opencollective", "process_expense", map[string]any{"action": "APPROVE", "expense_id": "exp-77"}},
			fx{"opencollective", "post_message", map[string]any{"text": msg, "expense_id": "exp-77"}},
			fx{"slack", "post_message", map[string]any{"text": msg, "channel": "C0177HZTXXX", "thread_ts": "ts1"}},
		)
	})
	t.Run("fail", func(t *testing.T) {
		in := in
		in.Proposal.Votes = []VoteInfo{yes(alice), no(bob), no(carol)}
		out := mustEval(t, r, in, BlockFail)
		msg := "Expense rejected. The vote failed with 1 for and 2 against."
		assertEffects(t, out.Effects,
			fx{"opencollective", "process_expense", map[string]any{"action": "REJECT", "expense_id": "exp-77"}},
			fx{"opencollective", "post_message", map[string]any{"text": msg, "expense_id": "exp-77"}},
			fx{"slack", "post_message", map[string]any{"text": msg, "channel": "C0177HZTXXX", "thread_ts": "ts1"}},
		)
	})
}

func TestSeedVoteInLoomioOnOpenCollectiveExpenses(t *testing.T) {
	r := mustRuntime(t, Options{})
	p := mustSeed(t, fileLoomioOC)
	in := baseInput(p, expenseAction())
	if out := mustEval(t, r, in, BlockFilter); !out.Filter {
		t.Fatal("filter: want True")
	}
	mustEval(t, r, in, BlockInitialize)

	consent := func(n int) []VoteInfo {
		var vs []VoteInfo
		for i := range n {
			vs = append(vs, choice(user("c"+string(rune('a'+i))), "consent"))
		}
		return vs
	}
	t.Run("check", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			closed  bool
			votes   []VoteInfo
			status  string
			effects []fx
		}{
			{"vote open", false, consent(5), domain.StatusProposed, nil},
			{"one objection", true, append(consent(3), choice(bob, "objection")), domain.StatusPassed, []fx{
				{"opencollective", "process_expense", map[string]any{"action": "REJECT", "expense_id": "exp-77"}},
				{"opencollective", "post_message", map[string]any{"text": "Expense rejected. Loomio proposal had 1 objection.", "expense_id": "exp-77"}},
			}},
			{"two objections", true, []VoteInfo{choice(bob, "objection"), choice(carol, "objection")}, domain.StatusPassed, []fx{
				{"opencollective", "process_expense", map[string]any{"action": "REJECT", "expense_id": "exp-77"}},
				{"opencollective", "post_message", map[string]any{"text": "Expense rejected. Loomio proposal had 2 objections.", "expense_id": "exp-77"}},
			}},
			{"three consents", true, consent(3), domain.StatusPassed, []fx{
				{"opencollective", "process_expense", map[string]any{"action": "APPROVE", "expense_id": "exp-77"}},
				{"opencollective", "post_message", map[string]any{"text": "Expense approved. 3 members consented on Loomio.", "expense_id": "exp-77"}},
			}},
			{"not enough", true, consent(1), domain.StatusPassed, []fx{
				{"opencollective", "post_message", map[string]any{"text": "Consensus was not reached on Loomio. 1 members consented and 0 members objected.", "expense_id": "exp-77"}},
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := in
				in.Proposal.IsVoteClosed = tc.closed
				in.Proposal.Votes = tc.votes
				out := mustEval(t, r, in, BlockCheck)
				assertStatus(t, out, tc.status)
				assertEffects(t, out.Effects, tc.effects...)
			})
		}
	})

	t.Run("notify", func(t *testing.T) {
		answered := mustAsk(t, r, in, BlockNotify, "loomio", "initiate_vote", map[string]any{
			"title":      "Expense 'Pizza for the sprint'",
			"poll_type":  "proposal",
			"details":    "Submitted on Open Collective: https://opencollective.com/acme/expenses/77",
			"options":    []any{"consent", "objection"},
			"closing_at": "2024-05-04T11:00:00Z", // proposal_time + 3 days
		}, map[string]any{"post_id": "poll-9", "url": "https://loomio.example/p/9"})
		out := mustEval(t, r, answered, BlockNotify)
		assertLogs(t, out.Logs, dbg("Vote started at https://loomio.example/p/9"))
		assertEffects(t, out.Effects, fx{"opencollective", "post_message", map[string]any{"expense_id": "exp-77",
			"text": "Thank you for submitting a request! A vote has been started <a href='https://loomio.example/p/9'>on Loomio</a>."}})
		if out.VoteURL != "https://loomio.example/p/9" || out.VotePostID != "poll-9" {
			t.Fatalf("vote: %q %q", out.VotePostID, out.VoteURL)
		}
	})
	for _, b := range []Block{BlockSuccess, BlockFail} {
		if out := mustEval(t, r, in, b); len(out.Effects) != 0 {
			t.Fatalf("%s: want no effects, got %+v", b, out.Effects)
		}
	}
}

func discordAction(value string) ActionInfo {
	return ActionInfo{ID: "act-3", Type: "discordslashcommand", Kind: "trigger", Platform: "discord",
		Fields: map[string]any{"value": value, "channel": "D42"}, Initiator: &bob, Description: "/policykit " + value}
}

func TestSeedTriggerAVoteInDiscord(t *testing.T) {
	r := mustRuntime(t, Options{})
	p := mustSeed(t, fileDiscordVote)
	in := baseInput(p, discordAction("vote should we cancel today's meeting?"))

	for value, want := range map[string]bool{"vote should we cancel today's meeting?": true, "ping": false, "votes": true, "": false} {
		in := in
		in.Action = discordAction(value)
		if out := mustEval(t, r, in, BlockFilter); out.Filter != want {
			t.Errorf("filter(%q) = %v, want %v", value, out.Filter, want)
		}
	}
	mustEval(t, r, in, BlockInitialize)

	t.Run("check", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			elapsed time.Duration
			votes   []VoteInfo
			status  string
			msg     string
			logs    []domain.LogLine
		}{
			{"too early", 2 * time.Minute, []VoteInfo{yes(alice)}, domain.StatusProposed, "", []domain.LogLine{dbg("waiting for 5 minutes to elapse...")}},
			{"passed", 6 * time.Minute, []VoteInfo{yes(alice)}, domain.StatusPassed, "vote passed!", nil},
			{"failed", 6 * time.Minute, []VoteInfo{no(alice)}, domain.StatusPassed, "vote failed!", nil},
			{"no votes", 6 * time.Minute, nil, domain.StatusPassed, "not enough votes to make a decision", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := in
				in.Proposal.ProposalTime = testNow.Add(-tc.elapsed)
				in.Proposal.Votes = tc.votes
				in.Proposal.VotePostID = "msg-1"
				out := mustEval(t, r, in, BlockCheck)
				assertStatus(t, out, tc.status)
				assertLogs(t, out.Logs, tc.logs...)
				if tc.msg == "" {
					assertEffects(t, out.Effects)
					return
				}
				assertEffects(t, out.Effects, fx{"discord", "post_message", map[string]any{"text": tc.msg, "channel": "D42", "message_id": "msg-1"}})
			})
		}
	})

	t.Run("notify", func(t *testing.T) {
		answered := mustAsk(t, r, in, BlockNotify, "discord", "initiate_vote", map[string]any{
			"text": "should we cancel today's meeting? Vote closes in 5 minutes.", "channel": "D42",
		}, map[string]any{"post_id": "msg-1", "url": "https://discord.example/msg-1"})
		out := mustEval(t, r, answered, BlockNotify)
		assertEffects(t, out.Effects)
		if out.VotePostID != "msg-1" {
			t.Fatalf("VotePostID %q", out.VotePostID)
		}
	})
	mustEval(t, r, in, BlockSuccess)
	mustEval(t, r, in, BlockFail)
}

func TestSeedMinimumSourceCred(t *testing.T) {
	r := mustRuntime(t, Options{})
	p := mustSeed(t, fileSourceCred)
	action := func(category any) ActionInfo {
		return ActionInfo{ID: "act-4", Type: "discoursecreatetopic", Kind: "platform", Platform: "discourse",
			Fields: map[string]any{"category": category, "title": "Hello"}, Initiator: &alice}
	}
	in := baseInput(p, action(8.0)) // JSON numbers arrive as float64

	for _, tc := range []struct {
		category any
		want     bool
	}{{8.0, true}, {8, true}, {int64(8), true}, {9.0, false}, {"8", false}} {
		in := in
		in.Action = action(tc.category)
		if out := mustEval(t, r, in, BlockFilter); out.Filter != tc.want {
			t.Errorf("filter(category=%#v) = %v, want %v", tc.category, out.Filter, tc.want)
		}
	}

	for _, tc := range []struct {
		name   string
		cred   any
		status string
	}{
		{"above threshold", 350.0, domain.StatusPassed},
		{"fractional above", 300.5, domain.StatusPassed},
		{"at threshold", 300.0, domain.StatusFailed},
		{"below", 12, domain.StatusFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answered := mustAsk(t, r, in, BlockCheck, "sourcecred", "get_cred", map[string]any{"username": "alice"}, tc.cred)
			out := mustEval(t, r, answered, BlockCheck)
			assertStatus(t, out, tc.status)
		})
	}
	for _, b := range []Block{BlockInitialize, BlockNotify, BlockSuccess, BlockFail} {
		mustEval(t, r, in, b)
	}
}

func TestSeedDontAllowPostsInSlackChannel(t *testing.T) {
	r := mustRuntime(t, Options{})
	p := mustSeed(t, fileNoPosts)
	in := baseInput(p, ActionInfo{ID: "act-5", Type: "slackpostmessage", Kind: "platform", Platform: "slack",
		Fields: map[string]any{"channel": "C025LDZ76R3", "text": "hi all", "timestamp": "1.2"}, Initiator: &bob})
	if out := mustEval(t, r, in, BlockFilter); !out.Filter {
		t.Fatal("filter: want True in the governed channel")
	}
	other := in
	other.Action.Fields = map[string]any{"channel": "C999", "text": "hi"}
	if out := mustEval(t, r, other, BlockFilter); out.Filter {
		t.Fatal("filter: want False in another channel")
	}
	assertStatus(t, mustEval(t, r, in, BlockCheck), domain.StatusFailed)
	out := mustEval(t, r, in, BlockFail)
	assertEffects(t, out.Effects, fx{"slack", "post_message", map[string]any{
		"channel": "C025LDZ76R3", "users": []any{"bob"}, "post_type": "ephemeral",
		"text": "Post was deleted because of policy 'Don't allow posts in Slack channel'"}})
	for _, b := range []Block{BlockInitialize, BlockNotify, BlockSuccess} {
		if out := mustEval(t, r, in, b); len(out.Effects) != 0 {
			t.Fatalf("%s: want no effects", b)
		}
	}
}

func TestSeedDiscordPing(t *testing.T) {
	r := mustRuntime(t, Options{})
	p := mustSeed(t, fileDiscordPing)
	in := baseInput(p, discordAction("ping"))
	if out := mustEval(t, r, in, BlockFilter); !out.Filter {
		t.Fatal("filter: want True for ping")
	}
	pong := in
	pong.Action = discordAction("pong")
	if out := mustEval(t, r, pong, BlockFilter); out.Filter {
		t.Fatal("filter: want False for pong")
	}
	out := mustEval(t, r, in, BlockInitialize)
	assertEffects(t, out.Effects, fx{"discord", "post_message", map[string]any{"text": "pong", "channel": "D42"}})
	assertStatus(t, mustEval(t, r, in, BlockCheck), domain.StatusPassed)
	for _, b := range []Block{BlockNotify, BlockSuccess, BlockFail} {
		mustEval(t, r, in, b)
	}
}

func TestSeedConsensusVoteWithReminder(t *testing.T) {
	r := mustRuntime(t, Options{})
	p := mustSeed(t, fileConsensus)
	in := baseInput(p, ActionInfo{ID: "act-6", Type: "slackpostmessage", Kind: "trigger", Platform: "slack",
		Fields:    map[string]any{"channel": "C0ABC123", "text": "core-group-vote Adopt the new code of conduct."},
		Initiator: &alice})
	voters := []any{"U01", "U02", "U03", "U04", "U05", "U06"}
	savedData := map[string]any{"eligible_voters": voters, "discussion_channel": "C0ABC123"}

	if out := mustEval(t, r, in, BlockFilter); !out.Filter {
		t.Fatal("filter: want True")
	}
	mustEval(t, r, in, BlockInitialize)

	t.Run("check before the vote saves data", func(t *testing.T) {
		out := mustEval(t, r, in, BlockCheck)
		assertStatus(t, out, domain.StatusProposed)
		assertJSONEqual(t, "data ops", out.DataOps, []domain.DataOp{
			{Op: domain.DataSet, Key: "eligible_voters", Value: voters},
			{Op: domain.DataSet, Key: "discussion_channel", Value: "C0ABC123"},
		})
		assertJSONEqual(t, "data", out.Data, savedData)
		if len(in.Proposal.Data) != 0 {
			t.Fatal("Evaluate modified its input's data")
		}
	})

	in.Proposal.Data = savedData
	in.Proposal.VotePostID = "ts9"
	uv := func(id, c string) VoteInfo { return choice(UserInfo{Username: id, Platform: "slack"}, c) }

	t.Run("everyone consented or abstained", func(t *testing.T) {
		in := in
		in.Proposal.Votes = []VoteInfo{uv("U01", "consent"), uv("U02", "consent"), uv("U03", "abstain"),
			uv("U04", "consent"), uv("U05", "abstain"), uv("U06", "consent")}
		assertStatus(t, mustEval(t, r, in, BlockCheck), domain.StatusPassed)
	})

	t.Run("reminder one day before the end", func(t *testing.T) {
		in := in
		in.Proposal.ProposalTime = testNow.Add(-(4*24 + 12) * time.Hour)
		in.Proposal.Votes = []VoteInfo{uv("U01", "consent"), uv("U02", "object")}
		out := mustEval(t, r, in, BlockCheck)
		assertStatus(t, out, domain.StatusProposed)
		assertEffects(t, out.Effects, fx{"slack", "post_message", map[string]any{
			"text":    "There is one day left to vote on this proposal. <@U03>, <@U04>, <@U05>, <@U06> have not voted yet.",
			"channel": "C0ABC123", "thread_ts": "ts9"}})
		if n := len(out.DataOps); n != 3 || out.DataOps[2].Key != "reminder_sent" || out.DataOps[2].Value != true {
			t.Fatalf("data ops: %+v", out.DataOps)
		}
		if out.Data["reminder_sent"] != true {
			t.Fatalf("data: %+v", out.Data)
		}
		wantLogs := []domain.LogLine{
			dbg("<QuerySet [<ChoiceVote: U01 voted consent>]> for, <QuerySet [<ChoiceVote: U02 voted object>]> against, <QuerySet []> abstain"),
			dbg(`Eligible voters: ['U01', 'U02', 'U03', 'U04', 'U05', 'U06']; Already voted: [('U01',), ('U02',)]; Nonvoter list: ['<@U03>', '<@U04>', '<@U05>', '<@U06>']`),
		}
		assertLogs(t, out.Logs, wantLogs...)

		// The next check sees reminder_sent and stays quiet.
		in.Proposal.Data = out.Data
		again := mustEval(t, r, in, BlockCheck)
		assertEffects(t, again.Effects)
	})

	t.Run("resolution after five days", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			votes  []VoteInfo
			status string
		}{
			{"two consents", []VoteInfo{uv("U01", "consent"), uv("U02", "consent")}, domain.StatusPassed},
			{"an objection", []VoteInfo{uv("U01", "consent"), uv("U02", "consent"), uv("U03", "object")}, domain.StatusFailed},
			{"one consent", []VoteInfo{uv("U01", "consent")}, domain.StatusFailed},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := in
				in.Proposal.Data = map[string]any{"reminder_sent": true}
				in.Proposal.ProposalTime = testNow.Add(-(5*24 + 1) * time.Hour)
				in.Proposal.Votes = tc.votes
				assertStatus(t, mustEval(t, r, in, BlockCheck), tc.status)
			})
		}
	})

	t.Run("notify", func(t *testing.T) {
		in := in
		in.Proposal.VotePostID = ""
		answered := mustAsk(t, r, in, BlockNotify, "slack", "initiate_vote", map[string]any{
			"text":    "<@channel>, please respond to this proposal: Adopt the new code of conduct. If all core group members respond by consenting or abstaining, or if after five days there are no objections and at least two consents, the proposal passes.",
			"channel": "C0ABC123",
			"users":   voters,
			"options": []any{"consent", "object", "abstain"},
		}, map[string]any{"post_id": "ts9", "url": "https://slack.example/ts9"})
		out := mustEval(t, r, answered, BlockNotify)
		assertEffects(t, out.Effects, fx{"slack", "post_message", map[string]any{"text": "Discuss here! :meow-wave:", "channel": "C0ABC123", "thread_ts": "ts9"}})
	})

	t.Run("success and fail", func(t *testing.T) {
		out := mustEval(t, r, in, BlockSuccess)
		assertEffects(t, out.Effects, fx{"slack", "post_message", map[string]any{"text": "<@alice>'s proposal passed!", "channel": "C0ABC123", "thread_ts": "ts9"}})
		out = mustEval(t, r, in, BlockFail)
		assertEffects(t, out.Effects, fx{"slack", "post_message", map[string]any{"text": "<@alice>'s proposal failed.", "channel": "C0ABC123", "thread_ts": "ts9"}})
	})
}

func constitutionAction() ActionInfo {
	return ActionInfo{ID: "act-7", Type: "policykitaddrole", Kind: "constitution", Platform: "constitution",
		Fields: map[string]any{"name": "Moderator"}, Initiator: &alice, Description: "Add role Moderator"}
}

func TestSeedAllConstitutionActionsNeedOneApproval(t *testing.T) {
	r := mustRuntime(t, Options{})
	p := mustSeed(t, fileConstApprove)
	in := baseInput(p, constitutionAction())
	if out := mustEval(t, r, in, BlockFilter); !out.Filter {
		t.Fatal("filter: want True")
	}
	mustEval(t, r, in, BlockInitialize)
	for _, tc := range []struct {
		name    string
		elapsed time.Duration
		votes   []VoteInfo
		status  string
		logs    []domain.LogLine
	}{
		{"approved", time.Hour, []VoteInfo{yes(bob)}, domain.StatusPassed, nil},
		{"downvoted", time.Hour, []VoteInfo{no(bob)}, domain.StatusFailed, nil},
		{"waiting", time.Hour, nil, domain.StatusProposed, nil},
		{"timed out", 3*time.Hour + time.Second, nil, domain.StatusFailed, []domain.LogLine{dbg("Failing proposed constitution change, no approvals in 3 hours")}},
	} {
		t.Run("check "+tc.name, func(t *testing.T) {
			in := in
			in.Proposal.ProposalTime = testNow.Add(-tc.elapsed)
			in.Proposal.Votes = tc.votes
			out := mustEval(t, r, in, BlockCheck)
			assertStatus(t, out, tc.status)
			assertLogs(t, out.Logs, tc.logs...)
		})
	}
	t.Run("notify", func(t *testing.T) {
		answered := mustAsk(t, r, in, BlockNotify, "slack", "initiate_vote",
			map[string]any{"text": "'Add role Moderator' proposed by Alice Smith", "channel": "C0001"}, voteAnswer)
		out := mustEval(t, r, answered, BlockNotify)
		assertEffects(t, out.Effects)
	})
	in.Proposal.VotePostID = "ts5"
	out := mustEval(t, r, in, BlockSuccess)
	assertEffects(t, out.Effects, fx{"slack", "post_message", map[string]any{"text": "Constitutional change accepted!", "channel": "C0001", "thread_ts": "ts5"}})
	out = mustEval(t, r, in, BlockFail)
	assertEffects(t, out.Effects, fx{"slack", "post_message", map[string]any{"text": "Constitutional change rejected.", "channel": "C0001", "thread_ts": "ts5"}})
}

func TestSeedAllConstitutionActionsPass(t *testing.T) {
	r := mustRuntime(t, Options{})
	p := mustSeed(t, fileConstPass)
	in := baseInput(p, constitutionAction())
	if out := mustEval(t, r, in, BlockFilter); !out.Filter {
		t.Fatal("filter: want True")
	}
	assertStatus(t, mustEval(t, r, in, BlockCheck), domain.StatusPassed)
	out := mustEval(t, r, in, BlockSuccess)
	assertEffects(t, out.Effects, fx{"slack", "post_message", map[string]any{
		"text": "Constitution change 'Add role Moderator' proposed by Alice Smith passed.", "channel": "C000111"}})
	for _, b := range []Block{BlockInitialize, BlockNotify, BlockFail} {
		if out := mustEval(t, r, in, b); len(out.Effects) != 0 {
			t.Fatalf("%s: want no effects", b)
		}
	}
}

// Starter kits: Democracy and Jury were disabled in PolicyKit; ours run.

type starterKit struct {
	Constitution []seedPolicy `json:"constitution_policies"`
	Platform     []seedPolicy `json:"platform_policies"`
}

func mustKitPolicy(tb testing.TB, file, platform string) seedPolicy {
	tb.Helper()
	requireSeed(tb)
	b, err := os.ReadFile(filepath.Join(seedDir, "starterkits", file))
	if err != nil {
		tb.Fatal(err)
	}
	b = []byte(strings.ReplaceAll(string(b), "${PLATFORM}", platform))
	var kit starterKit
	if err := json.Unmarshal(b, &kit); err != nil {
		tb.Fatal(err)
	}
	return kit.Constitution[len(kit.Constitution)-1]
}

func TestStarterKitsCompile(t *testing.T) {
	requireSeed(t)
	files, _ := filepath.Glob(filepath.Join(seedDir, "starterkits", "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var kit starterKit
		if err := json.Unmarshal([]byte(strings.ReplaceAll(string(b), "${PLATFORM}", "slack")), &kit); err != nil {
			t.Fatal(err)
		}
		for _, p := range append(kit.Platform, kit.Constitution...) {
			if err := Compile(p.code()); err != nil {
				t.Errorf("%s / %s: %v", filepath.Base(f), p.Name, err)
			}
		}
	}
}

func TestStarterKitDemocracy(t *testing.T) {
	r := mustRuntime(t, Options{})
	p := mustKitPolicy(t, "2_democracy.json", "slack")
	in := baseInput(p, constitutionAction())
	// Voters: alice (Moderator) is not one; carol and dave are.
	dave := UserInfo{Username: "dave", Platform: "slack", Roles: []string{"Voter"}}
	in.Community.Users = append(in.Community.Users, dave)

	in.Proposal.Votes = []VoteInfo{yes(alice), yes(bob)} // non-voters do not count
	assertStatus(t, mustEval(t, r, in, BlockCheck), domain.StatusProposed)
	in.Proposal.Votes = []VoteInfo{yes(carol)} // 1 of 2 voters: ceil(2/2) = 1
	assertStatus(t, mustEval(t, r, in, BlockCheck), domain.StatusPassed)
	in.Proposal.Votes = nil
	in.Proposal.ProposalTime = testNow.Add(-25 * time.Hour)
	assertStatus(t, mustEval(t, r, in, BlockCheck), domain.StatusFailed)

	answered := mustAsk(t, r, in, BlockNotify, "slack", "initiate_vote",
		map[string]any{"users": []any{"carol", "dave"}, "text": "Please vote"}, voteAnswer)
	mustEval(t, r, answered, BlockNotify)
}

func TestStarterKitJury(t *testing.T) {
	r := mustRuntime(t, Options{})
	p := mustKitPolicy(t, "3_jury.json", "slack")
	in := baseInput(p, constitutionAction())
	for _, n := range []string{"dave", "erin", "frank"} {
		in.Community.Users = append(in.Community.Users, user(n))
	}

	out := mustEval(t, r, in, BlockInitialize)
	if len(out.DataOps) != 1 || out.DataOps[0].Key != "jury" {
		t.Fatalf("initialize data ops: %+v", out.DataOps)
	}
	jury, _ := out.DataOps[0].Value.([]any)
	if len(jury) != 3 {
		t.Fatalf("jury: %+v", jury)
	}
	// Deterministic: the same seed draws the same jury; another seed may not.
	again := mustEval(t, r, in, BlockInitialize)
	assertJSONEqual(t, "jury replay", again.DataOps, out.DataOps)

	in.Proposal.Data = out.Data
	juror := func(i int) UserInfo { return user(jury[i].(string)) }
	in.Proposal.Votes = []VoteInfo{yes(juror(0))}
	assertStatus(t, mustEval(t, r, in, BlockCheck), domain.StatusProposed)
	in.Proposal.Votes = []VoteInfo{yes(juror(0)), yes(juror(2))}
	assertStatus(t, mustEval(t, r, in, BlockCheck), domain.StatusPassed)

	answered := mustAsk(t, r, in, BlockNotify, "slack", "initiate_vote",
		map[string]any{"users": jury, "text": "Please deliberate amongst yourselves before voting"}, voteAnswer)
	mustEval(t, r, answered, BlockNotify)
}

func TestStarterKitOnboardingBaseRole(t *testing.T) {
	r := mustRuntime(t, Options{})
	p := mustKitPolicy(t, "onboarding.json", "slack")
	in := baseInput(p, constitutionAction())
	// Every user holds the base role: 3 users, ceil(3/2) = 2 yes votes needed.
	in.Proposal.Votes = []VoteInfo{yes(alice)}
	assertStatus(t, mustEval(t, r, in, BlockCheck), domain.StatusProposed)
	in.Proposal.Votes = []VoteInfo{yes(alice), yes(bob)}
	assertStatus(t, mustEval(t, r, in, BlockCheck), domain.StatusPassed)
}
