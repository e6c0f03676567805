package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
)

// One vote, cast on the bus, through GraphQL and with the CLI on three identical proposals,
// is recorded and decided by the same engine code: the three proposals and their actions get
// the same events.
func TestTheSameVoteFromEveryEntryPointGivesTheSameEvents(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.LogPlatforms = []string{domain.PlatformLog, domain.PlatformSlack}
	app, stop := startApp(t, cfg)
	defer stop()
	seedCommunity(t, app)
	token := mustAPIToken(t, app, "bob", "garden", "bob")

	entries := []string{"bus", "graphql", "cli"}
	pids := map[string]string{}
	for _, via := range entries {
		id := "rename-" + via
		publishCommand(t, app, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: domain.Action{
			ID: id, CommunityID: "garden", Kind: domain.KindPlatform, Type: "slackrenameconversation", Platform: domain.PlatformSlack,
			InitiatorID: "alice", Reversible: true, Fields: map[string]any{"channel": "C0GENERAL", "name": "garden-chat"},
		}})
		pids[via] = evaluation.DeriveID("proposal", id, "rename-vote")
		waitNotified(t, app, pids[via])
	}

	publishCommand(t, app, bus.TopicCastVote, bus.CommandCastVote, bus.CastVote{CommunityID: "garden", ProposalID: pids["bus"],
		Vote: domain.Vote{UserID: "bob", Kind: domain.VoteBoolean, Boolean: true}})
	raw := postGraphQL(t, app, "Bearer "+token, map[string]any{
		"query":     `mutation($in: CastVoteInput!) { castVote(input: $in) { proposal { status } } }`,
		"variables": map[string]any{"in": map[string]any{"communityId": "garden", "proposalId": pids["graphql"], "value": "yes"}},
	})
	if !strings.Contains(string(raw), `"status":"PASSED"`) {
		t.Fatalf("castVote answered %s, want the proposal PASSED", raw)
	}
	stdout, _, err := runCLI(t, "vote", "--community", "garden", "--by", "bob", "--proposal", pids["cli"], "--value", "yes", "--database-url", cfg.DatabaseURL)
	if err != nil || !strings.Contains(stdout, "is PASSED") {
		t.Fatalf("vote: %v\n%s", err, stdout)
	}

	var got map[string][]string
	settled := func() bool {
		got = map[string][]string{}
		for _, via := range entries {
			got[via] = decisionEvents(t, app.Store(), "rename-"+via, pids[via])
		}
		return settledEvents(got["bus"]) && slices.Equal(got["bus"], got["graphql"]) && slices.Equal(got["bus"], got["cli"])
	}
	for deadline := time.Now().Add(20 * time.Second); !settled(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			for _, via := range entries {
				t.Errorf("after the vote through %s:\n  %s", via, strings.Join(got[via], "\n  "))
			}
			t.Fatal("the three votes did not give the same events")
		}
	}
	if p, err := engine.LoadProposal(ctx, app.Store(), pids["cli"]); err != nil || p.Status != domain.StatusPassed {
		t.Fatalf("proposal voted with the CLI: %v %v", p, err)
	}
}

// settledEvents: the action was executed and every effect requested has its result.
func settledEvents(evs []string) bool {
	count := func(typ string) (n int) {
		for _, e := range evs {
			if strings.HasPrefix(e, typ+" ") {
				n++
			}
		}
		return n
	}
	return count(domain.EventActionExecuted) == 1 &&
		count(domain.EventEffectRequested) == count(domain.EventEffectCompleted)+count(domain.EventEffectFailed)
}

// decisionEvents are the events of a proposal from the vote on, and of its action, each as
// its type and its payload without what names the action, the proposal, an effect, a post or
// a time, in sorted order.
func decisionEvents(t *testing.T, store eventstore.Store, actionID, proposalID string) []string {
	t.Helper()
	var out []string
	voted := false
	for _, stream := range []string{domain.ProposalStream(proposalID), domain.ActionStream(actionID)} {
		evs, err := store.ReadStream(context.Background(), stream, eventstore.Forward, 1, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Type == domain.EventVoteCast {
				voted = true
			}
			if !voted {
				continue
			}
			var data map[string]any
			if err := json.Unmarshal(ev.Data, &data); err != nil {
				t.Fatal(err)
			}
			out = append(out, ev.Type+" "+normalized(data, actionID, proposalID))
		}
	}
	slices.Sort(out) // effects complete in the order the platform answers
	return out
}

// normalized is data as JSON without ids and times, and with the action's and proposal's
// ids replaced.
func normalized(data map[string]any, actionID, proposalID string) string {
	var strip func(v any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "at" || strings.HasSuffix(k, "_at") || k == "effect_id" || k == "idempotency_key" {
					delete(v, k)
					continue
				}
				if s, ok := x.(string); ok && strings.HasPrefix(s, "log-") { // a post the log platform made
					v[k] = "POST"
				}
				strip(x)
			}
		case []any:
			for _, x := range v {
				strip(x)
			}
		}
	}
	strip(data)
	b, _ := json.Marshal(data)
	s := strings.ReplaceAll(string(b), proposalID, "PROPOSAL")
	return strings.ReplaceAll(s, actionID, "ACTION")
}

// The GraphQL API in a process that runs no engine (serve --engine=false) answers a
// mutation with the proposal as the engine, running in a `policykit engine` process on the
// Postgres bus, decided it.
func TestAPIWithoutAnEngineAnswersWithTheEnginesDecision(t *testing.T) {
	cfg := engineConfig(t, bus.TransportPostgres)
	cfg.Engine, cfg.GraphQL = false, true
	cfg.LogPlatforms = []string{domain.PlatformLog, domain.PlatformSlack}
	api, stop := startApp(t, cfg)
	defer stop()
	if api.Engine() != nil || api.Bus() != nil {
		t.Fatal("the API process runs an engine")
	}
	seedCommunity(t, api)
	alice, bob := mustAPIToken(t, api, "alice", "garden", "alice"), mustAPIToken(t, api, "bob", "garden", "bob")

	engineAddr := freeAddr(t)
	eng := startProcess(t, []string{"engine", "--database-url", cfg.DatabaseURL, "--http-addr", engineAddr},
		[]string{"POLICYKIT_BUS=postgres", "POLICYKIT_BUS_NAMESPACE=" + cfg.Bus.Namespace, "POLICYKIT_LOG_PLATFORMS=log,slack"})
	waitFor(t, "the engine process ready", func() bool {
		eng.mustRun(t)
		return get(t, "http://"+engineAddr+"/readyz") == 200
	})

	mutate := func(token, query string, in map[string]any) map[string]any {
		t.Helper()
		raw := postGraphQL(t, api, "Bearer "+token, map[string]any{"query": query, "variables": map[string]any{"in": in}})
		var out struct {
			Data   map[string]any
			Errors []any
		}
		if err := json.Unmarshal(raw, &out); err != nil || len(out.Errors) > 0 {
			t.Fatalf("%s: %s (%v)", query, raw, err)
		}
		return out.Data
	}
	data := mutate(alice, `mutation($in: ProposeActionInput!) { proposeAction(input: $in) { action { id status } proposal { id status policyName } } }`,
		map[string]any{"communityId": "garden", "actionType": "slackrenameconversation", "platform": "slack", "fieldsJSON": `{"channel":"C0GENERAL","name":"beds"}`})
	p, _ := data["proposeAction"].(map[string]any)["proposal"].(map[string]any)
	if p == nil || p["status"] != "PROPOSED" || p["policyName"] != "Vote on renaming Slack channels" {
		t.Fatalf("proposeAction answered %v, want the proposal the engine opened", data)
	}
	pid := p["id"].(string)
	// Until the platform has answered notify's initiate_vote, a vote is counted but the
	// check waits for that answer: vote once the vote is posted, as a member would.
	waitNotified(t, api, pid)
	data = mutate(bob, `mutation($in: CastVoteInput!) { castVote(input: $in) { proposal { status } } }`,
		map[string]any{"communityId": "garden", "proposalId": pid, "value": "yes"})
	if got := fmt.Sprint(data["castVote"]); got != "map[proposal:map[status:PASSED]]" {
		t.Fatalf("castVote answered %s, want the proposal PASSED", got)
	}
	// A vote on a decided proposal is refused with the domain's code, recording nothing.
	raw := postGraphQL(t, api, "Bearer "+bob, map[string]any{"query": `mutation($in: CastVoteInput!) { castVote(input: $in) { proposal { status } } }`,
		"variables": map[string]any{"in": map[string]any{"communityId": "garden", "proposalId": pid, "value": "no"}}})
	if !strings.Contains(string(raw), "CONFLICT") {
		t.Fatalf("a vote on a decided proposal answered %s, want CONFLICT", raw)
	}
}

// The CLI's vote records the vote and decides nothing itself: with no engine running, the
// proposal stays open with the vote counted, until an engine checks it.
func TestCLIVoteRecordsAndLeavesTheDecisionToTheEngine(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.LogPlatforms = []string{domain.PlatformLog, domain.PlatformSlack}
	app, stop := startApp(t, cfg)
	seedCommunity(t, app)
	publishCommand(t, app, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: domain.Action{
		ID: "rename-1", CommunityID: "garden", Kind: domain.KindPlatform, Type: "slackrenameconversation", Platform: domain.PlatformSlack,
		InitiatorID: "alice", Reversible: true, Fields: map[string]any{"channel": "C0GENERAL", "name": "beds"},
	}})
	pid := evaluation.DeriveID("proposal", "rename-1", "rename-vote")
	waitNotified(t, app, pid)
	stop()

	stdout, _, err := runCLI(t, "vote", "--community", "garden", "--by", "bob", "--proposal", pid, "--value", "yes", "--wait", "0", "--database-url", cfg.DatabaseURL)
	if err != nil || !strings.Contains(stdout, "is PROPOSED (1 yes, 0 no)") || !strings.Contains(stdout, "has not checked") {
		t.Fatalf("vote: %v\n%s", err, stdout)
	}
	store, closeStore, err := openStore(ctx, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	evs, err := store.ReadStream(ctx, domain.ProposalStream(pid), eventstore.Backward, 0, 1)
	if err != nil || len(evs) != 1 || evs[0].Type != domain.EventVoteCast {
		t.Fatalf("the proposal's last event: %v %v, want the vote", evs, err)
	}

	app, stop = startApp(t, cfg) // an engine comes: it decides the recorded vote
	defer stop()
	waitFor(t, "the engine to decide the vote", func() bool {
		p, err := engine.LoadProposal(ctx, app.Store(), pid)
		return err == nil && p.Status == domain.StatusPassed
	})
}
