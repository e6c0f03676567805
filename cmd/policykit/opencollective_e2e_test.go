package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/opencollective"
	"github.com/policykit-go/policykit/adapters/opencollective/octest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/policytest"
	"github.com/policykit-go/policykit/sealed"
)

// seedOpenCollectiveVote is the seed's "Vote in Slack on OpenCollective expenses" (with
// restricted voting), as the scenario of policy example 5.2 has it; the test shortens only
// its three hours before a vote may close.
func seedOpenCollectiveVote(t *testing.T) domain.AddPolicy {
	t.Helper()
	scenario, err := policytest.Load("../../testdata/scenarios/5.02_vote_in_slack_on_opencollective_expenses.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := domain.AddPolicyOf("oc-expense-vote", scenario.Policies[0].Spec)
	check := strings.Replace(p.Check, "datetime.timedelta(hours=3)", "datetime.timedelta(seconds=0)", 1)
	if check == p.Check {
		t.Fatal("the seed policy's three hours were not found")
	}
	p.Check = check
	return p
}

// An expense created on Open Collective is voted on in Slack and approved on Open
// Collective, with the comments the seed policy posts, across processes that meet only on a
// durable bus: the server, the Slack adapter and the Open Collective adapter. Connecting the
// collective registers the adapter's webhooks; Open Collective's outage while the expense is
// approved is waited out and the expense approved once; a forged delivery approves nothing.
func TestOpenCollectiveExpenseVotedInSlackAcrossProcesses(t *testing.T) {
	for _, transport := range []string{bus.TransportNATS, bus.TransportPostgres} {
		t.Run(transport, func(t *testing.T) {
			requireTransport(t, transport)
			testOpenCollectiveVote(t, transport)
		})
	}
}

func testOpenCollectiveVote(t *testing.T, transport string) {
	ctx := context.Background()
	cfg := engineConfig(t, transport)
	cfg.Engine = false // this process only seeds and watches
	app, err := NewApp(ctx, cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	newSlackGarden(t, app, seedOpenCollectiveVote(t))
	slack, slackAPI := newRecordingSlack(t)
	oc := octest.New(t, "oc-token-garden", "garden-collective")

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	box, err := sealed.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"POLICYKIT_BUS=" + transport, "POLICYKIT_BUS_NAMESPACE=" + cfg.Bus.Namespace,
		"POLICYKIT_SECRET_KEY=" + base64.StdEncoding.EncodeToString(key)}

	serverAddr := freeAddr(t)
	srv := startProcess(t, []string{"serve", "--database-url", cfg.DatabaseURL, "--http-addr", serverAddr}, append(env, "POLICYKIT_LOG_PLATFORMS=log"))
	waitFor(t, "the server ready", func() bool { srv.mustRun(t); return get(t, "http://"+serverAddr+"/readyz") == 200 })
	slackAddr := freeAddr(t)
	slackProc := startProcess(t, []string{"adapter", "slack", "--database-url", cfg.DatabaseURL, "--http-addr", slackAddr},
		append(env, "SLACK_SIGNING_SECRET=shh", "SLACK_API_URL="+slackAPI, "SLACK_TEAM_ID=T1", "SLACK_BOT_TOKEN=xoxb-garden"))
	ocAddr := freeAddr(t)
	ocProc := startProcess(t, []string{"adapter", "opencollective", "--database-url", cfg.DatabaseURL, "--http-addr", ocAddr},
		append(env, "OPENCOLLECTIVE_WEBHOOK_KEY=garden-test-webhook-key-of-32-characters-or-more",
			"OPENCOLLECTIVE_API_URL="+oc.URL(), "POLICYKIT_BASE_URL=http://"+ocAddr))
	awaitWorkspace(t, app, "T1")
	waitFor(t, "the Open Collective adapter listening", func() bool {
		ocProc.mustRun(t)
		return get(t, "http://"+ocAddr+"/readyz") > 0
	})

	// alice, the garden's Integration Admin, connects its collective with a personal token.
	connect, err := domain.NewConstitutionAction("connect-oc", "garden", "alice", domain.AddIntegration{
		Platform: domain.PlatformOpenCollective, ExternalID: "garden-collective", Name: "Garden collective",
		Secrets: map[string]string{opencollective.SecretAPIToken: "oc-token-garden"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if connect, err = box.SealConnection(connect); err != nil {
		t.Fatal(err)
	}
	if _, err := (&engine.Recorder{Store: app.Store()}).ProposeAction(ctx, bus.ProposeAction{Action: connect}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the adapter's webhooks registered on Open Collective", func() bool {
		ocProc.mustRun(t)
		return len(oc.Webhooks()) == len(opencollective.ActivityTypes())
	})
	hooks := oc.Webhooks()
	for _, h := range hooks {
		if h.Account != "garden-collective" || !strings.HasPrefix(h.URL, "http://"+ocAddr+"/api/hooks/opencollective/garden/") || h.URL != hooks[0].URL {
			t.Fatalf("webhook %+v", h)
		}
	}

	// A forged delivery: to a guessed URL it is refused; to the right URL, claiming an approval
	// of a pending expense, Open Collective contradicts it.
	oc.AddExpense(octest.Expense{LegacyID: 7, Collective: "garden-collective", Description: "Seeds for the spring beds",
		Amount: 4200, Currency: "USD", Payee: "bob", CreatedBy: "bob", Tags: []string{"garden"}})
	guessed := "http://" + ocAddr + "/api/hooks/opencollective/garden/guessed"
	if code := postJSON(t, guessed, oc.Activity(900, "collective.expense.approved", 7, time.Now())); code != http.StatusUnauthorized {
		t.Fatalf("a delivery to a guessed URL answered %d", code)
	}
	if code := postJSON(t, hooks[0].URL, oc.Activity(901, "collective.expense.approved", 7, time.Now())); code != http.StatusUnprocessableEntity {
		t.Fatalf("a forged approval answered %d", code)
	}

	// Bob submits the expense: Open Collective delivers the activity.
	waitFor(t, "the expense's creation delivered", func() bool {
		st := oc.Deliver(1001, "collective.expense.created", 7)
		return len(st) == 1 && st[0] == http.StatusOK
	})
	var votePost int
	waitFor(t, "the vote in Slack and the comment on the expense", func() bool {
		posts := slack.seen("chat.postMessage")
		votePost = slices.IndexFunc(posts, func(p url.Values) bool { return strings.Contains(p.Get("blocks"), "policykit_vote_yes") })
		return votePost >= 0 && len(oc.Comments(7)) == 1
	})
	vote := slack.seen("chat.postMessage")[votePost]
	if vote.Get("channel") != "C0177HZTXXX" || !strings.Contains(vote.Get("text"), "Seeds for the spring beds") ||
		!strings.Contains(vote.Get("text"), "garden-collective/expenses/7") {
		t.Fatalf("the vote post %v", vote)
	}
	if c := oc.Comments(7)[0].HTML; !strings.HasPrefix(c, "Thank you for submitting a request! A vote has been started <a href=") {
		t.Fatalf("the first comment %q", c)
	}
	waitFor(t, "the engine to record the vote post", func() bool { return countEvents(t, app, domain.EventVotePostRecorded) == 1 })

	// Open Collective is out while the expense is approved: one refusal, then an answer lost
	// after the approval was made.
	oc.FailNext("processExpense", octest.Failure{Status: http.StatusServiceUnavailable, RetryAfter: "1"},
		octest.Failure{Status: http.StatusBadGateway, After: true})

	ts := fmt.Sprintf("1700000001.%06d", votePost+1)
	for i, voter := range []string{"UABC123", "UABC999"} {
		payload, _ := json.Marshal(map[string]any{"type": "block_actions", "team": map[string]any{"id": "T1"}, "user": map[string]any{"id": voter},
			"container": map[string]any{"type": "message", "message_ts": ts, "channel_id": "C0177HZTXXX"},
			"actions": []any{map[string]any{"type": "button", "block_id": "policykit_vote", "action_id": "policykit_vote_yes", "value": "yes",
				"action_ts": fmt.Sprintf("1700000100.%06d", i)}}})
		if code := signedPost(t, "http://"+slackAddr+"/api/hooks/slack", "shh", "application/x-www-form-urlencoded",
			[]byte(url.Values{"payload": {string(payload)}}.Encode())); code != http.StatusOK {
			t.Fatalf("%s's click answered %d", voter, code)
		}
	}
	waitFor(t, "the expense approved on Open Collective and the result commented and posted in Slack", func() bool {
		slackProc.mustRun(t)
		ocProc.mustRun(t)
		c := oc.Comments(7)
		return oc.Expense(7).Status == "APPROVED" && len(c) == 2 &&
			c[1].HTML == "Expense approved. The vote passed with 2 for and 0 against." &&
			slices.ContainsFunc(slack.seen("chat.postMessage"), func(p url.Values) bool {
				return p.Get("thread_ts") == ts && p.Get("text") == c[1].HTML
			})
	})
	// Two proposals passed: the connection's (the Testing kit's constitution policy) and the
	// expense's.
	waitFor(t, "the proposal passed in the log", func() bool { return countEvents(t, app, domain.EventProposalPassed) == 2 })

	// Open Collective delivers the creation again: nothing new happens.
	if st := oc.Deliver(1001, "collective.expense.created", 7); len(st) != 1 || st[0] != http.StatusOK {
		t.Fatalf("a repeated delivery answered %v", st)
	}
	time.Sleep(300 * time.Millisecond) // anything a duplicate would do, it does by now
	if n := oc.Count("processExpense"); n != 2 {
		t.Fatalf("%d processExpense requests, want 2: the refused one and the one whose answer was lost", n)
	}
	if n := len(oc.Comments(7)); n != 2 {
		t.Fatalf("%d comments, want 2", n)
	}
	var proposed int
	if err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1 AND data->'action'->>'action_type' LIKE 'expense%'`,
		domain.EventActionProposed).Scan(&proposed); err != nil {
		t.Fatal(err)
	}
	if proposed != 1 {
		t.Fatalf("%d expense actions proposed, want 1 (the forged approval proposed one?)", proposed)
	}
	var plain int
	if err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE data::text LIKE '%oc-token-garden%'`).Scan(&plain); err != nil {
		t.Fatal(err)
	}
	if plain != 0 {
		t.Fatalf("%d events hold the token in the clear", plain)
	}
}

// postJSON posts body and returns the status (0 when nothing listens).
func postJSON(t *testing.T, url string, body []byte) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(string(body)))
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
