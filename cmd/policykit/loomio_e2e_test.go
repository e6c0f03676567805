package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/loomio"
	"github.com/policykit-go/policykit/adapters/loomio/loomiotest"
	"github.com/policykit-go/policykit/adapters/opencollective"
	"github.com/policykit-go/policykit/adapters/opencollective/octest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/sealed"
)

// The seed example "Vote in Loomio on OpenCollective expenses", its blocks as PolicyKit's
// library has them.
var expenseVoteInLoomio = domain.AddPolicy{PolicyID: "expense-vote-in-loomio", Kind: domain.KindTrigger,
	Name: "Vote on OpenCollective expenses in Loomio", ActionTypes: []string{domain.ActionExpenseCreated},
	PolicyCode: domain.PolicyCode{
		Filter:     "return True",
		Initialize: "pass\n\n",
		Notify: "closing_at = proposal.proposal_time + datetime.timedelta(days=3)\n\n" +
			"# Start vote on Loomio\nloomio.initiate_vote(\n  proposal,\n  title=f\"Expense '{action.description}'\",\n" +
			"  poll_type=\"proposal\",\n  details=f\"Submitted on Open Collective: {action.url}\",\n" +
			"  options=[\"consent\", \"objection\"],\n  closing_at=closing_at,\n)\n\n" +
			"loomio_poll_url = proposal.vote_url\nlogger.debug(f\"Vote started at {loomio_poll_url}\")\n\n\n" +
			"# Record start of vote on Open Collective\nlink = f\"<a href='{loomio_poll_url}'>on Loomio</a>\"\n" +
			"text = f\"Thank you for submitting a request! A vote has been started {link}.\"\n" +
			"opencollective.post_message(text=text, expense_id=action.expense_id)\n\n",
		Check: "if not proposal.is_vote_closed:\n  # Proposal is still pending in Looomio\n  return PROPOSED\n\n" +
			"consent_count = proposal.get_choice_votes(value=\"consent\").count()\n" +
			"objection_count = proposal.get_choice_votes(value=\"objection\").count()\n\n" +
			"oc_action = None\noc_message = None\n\n" +
			"if objection_count > 0:\n  # If 1 or more people objected, reject the expense.\n  oc_action = \"REJECT\"\n" +
			"  oc_message = f\"Expense rejected. Loomio proposal had {objection_count} objection{'s' if objection_count > 1 else ''}.\"\n" +
			"elif consent_count > 2:\n  # If enough people consented, approve the expense.\n  oc_action = \"APPROVE\"\n" +
			"  oc_message = f\"Expense approved. {consent_count} members consented on Loomio.\"\n" +
			"else:\n  # If nobody objected, but not enough people consented, leave the expense open.\n" +
			"  oc_message = f\"Consensus was not reached on Loomio. {consent_count} members consented and {objection_count} members objected.\"\n\n\n" +
			"# Process the expense (if applicable)\nif oc_action:\n" +
			"  opencollective.process_expense(action=oc_action, expense_id=action.expense_id)\n\n" +
			"# Comment on the expense\nopencollective.post_message(text=oc_message, expense_id=action.expense_id)\n\nreturn PASSED\n",
		Success: "pass",
		Fail:    "pass",
	}}

// The seed's "Vote in Loomio on OpenCollective expenses" end to end, across processes that
// meet only on a durable bus: the server, the Open Collective adapter and the Loomio adapter.
// An expense created on Open Collective (a fake speaking its GraphQL API, delivering the
// activity to the webhook the adapter registered) starts a poll in the community's Loomio
// group (a fake speaking the bot API) and a comment on the expense; members vote in Loomio,
// the votes reach the engine through the group's webhook and the API (alice's as the
// community's alice, by the connection's members setting), and the poll closed early with
// an outcome statement decides the proposal: the expense is approved on Open Collective with
// the policy's comment, and the outcome is on the proposal.
func TestLoomioVoteOnAnOpenCollectiveExpenseAcrossProcesses(t *testing.T) {
	for _, transport := range []string{bus.TransportNATS, bus.TransportPostgres} {
		t.Run(transport, func(t *testing.T) {
			requireTransport(t, transport)
			testLoomioExpenseVote(t, transport)
		})
	}
}

func testLoomioExpenseVote(t *testing.T, transport string) {
	ctx := context.Background()
	cfg := engineConfig(t, transport)
	cfg.Engine = false // this process only seeds and watches
	app, err := NewApp(ctx, cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	newSlackGarden(t, app, expenseVoteInLoomio)
	fake := loomiotest.New("loomio-key-garden", 42)
	defer fake.Close()
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
	srv := startProcess(t, []string{"serve", "--database-url", cfg.DatabaseURL, "--http-addr", serverAddr},
		append(env, "POLICYKIT_LOG_PLATFORMS=log"))
	waitFor(t, "the server ready", func() bool { srv.mustRun(t); return get(t, "http://"+serverAddr+"/readyz") == 200 })
	ocAddr := freeAddr(t)
	ocProc := startProcess(t, []string{"adapter", "opencollective", "--database-url", cfg.DatabaseURL, "--http-addr", ocAddr},
		append(env, "OPENCOLLECTIVE_WEBHOOK_KEY=garden-test-webhook-key-of-32-characters-or-more",
			"OPENCOLLECTIVE_API_URL="+oc.URL(), "POLICYKIT_BASE_URL=http://"+ocAddr))
	loomioAddr := freeAddr(t)
	loomioProc := startProcess(t, []string{"adapter", "loomio", "--database-url", cfg.DatabaseURL, "--http-addr", loomioAddr},
		append(env, "LOOMIO_URL="+fake.URL(), "LOOMIO_POLL_INTERVAL=300ms"))
	fake.SetWebhook("http://" + loomioAddr + "/api/hooks/loomio/garden/whsec-loomio")
	running := func() { srv.mustRun(t); ocProc.mustRun(t); loomioProc.mustRun(t) }

	// alice, the Integration Admin, connects the community's collective (a personal token)
	// and its Loomio group (the group's id, a Loomio user's API key and the webhook's secret,
	// sealed; Loomio user 7 is alice).
	for _, in := range []domain.AddIntegration{
		{Platform: domain.PlatformOpenCollective, ExternalID: "garden-collective", Name: "Garden collective",
			Secrets: map[string]string{opencollective.SecretAPIToken: "oc-token-garden"}},
		{Platform: domain.PlatformLoomio, ExternalID: "42", Name: "Garden on Loomio",
			Settings: map[string]string{loomio.SettingGroupID: "42", loomio.SettingMembers: `{"7": "alice"}`},
			Secrets:  map[string]string{loomio.SecretAPIKey: "loomio-key-garden", loomio.SecretWebhook: "whsec-loomio"}},
	} {
		connect, err := domain.NewConstitutionAction("connect-"+in.Platform, "garden", "alice", in, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if connect, err = box.SealConnection(connect); err != nil {
			t.Fatal(err)
		}
		if _, err := (&engine.Recorder{Store: app.Store()}).ProposeAction(ctx, bus.ProposeAction{Action: connect}, engine.NewMeta()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both connections in the adapters' directory", func() bool {
		var n int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM platform_directory_platforms WHERE platform IN ('loomio', 'opencollective')`).Scan(&n)
		return n == 2
	})
	waitFor(t, "the adapter's webhooks registered on Open Collective", func() bool {
		running()
		return len(oc.Webhooks()) == len(opencollective.ActivityTypes())
	})

	// Bob submits an expense: Open Collective delivers the activity.
	oc.AddExpense(octest.Expense{LegacyID: 77, Collective: "garden-collective", Description: "Seeds for the spring beds",
		Amount: 4200, Currency: "USD", Payee: "bob", CreatedBy: "bob"})
	waitFor(t, "the expense's creation delivered", func() bool {
		st := oc.Deliver(1001, "collective.expense.created", 77)
		return len(st) == 1 && st[0] == http.StatusOK
	})

	var pollID int
	waitFor(t, "the poll in Loomio", func() bool {
		running()
		ids := fake.PollIDs()
		if len(ids) > 0 {
			pollID = ids[0]
		}
		return len(ids) > 0
	})
	poll, _ := fake.Poll(pollID)
	closing, err := time.Parse(time.RFC3339Nano, fmt.Sprint(poll["closing_at"]))
	details := fmt.Sprint(poll["details"])
	if poll["title"] != "Expense 'Seeds for the spring beds'" || poll["poll_type"] != "proposal" ||
		!strings.HasPrefix(details, "Submitted on Open Collective: ") || !strings.HasSuffix(details, "/garden-collective/expenses/77") ||
		fmt.Sprint(poll["options"]) != "[consent objection]" || err != nil || time.Until(closing) < 71*time.Hour {
		t.Fatalf("poll %v (closing: %v)", poll, err)
	}
	pollURL := fmt.Sprintf("%s/p/pk%04d", fake.URL(), pollID)
	waitFor(t, "the comment on the expense linking the poll", func() bool {
		c := oc.Comments(77)
		return len(c) == 1 && c[0].HTML == "Thank you for submitting a request! A vote has been started <a href='"+pollURL+"'>on Loomio</a>."
	})

	// Three members consent in Loomio (one changes their mind on the way); the proposal stays
	// open while the poll does.
	for _, v := range []struct {
		user   int
		name   string
		choice string
	}{{7, "Alice", "consent"}, {8, "Bob", "objection"}, {9, "Carol", "consent"}, {8, "Bob", "consent"}} {
		if err := fake.Choose(pollID, v.user, v.name, v.choice); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the three votes recorded", func() bool {
		var n int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1 AND data->'vote'->>'choice' = 'consent'`,
			domain.EventVoteCast).Scan(&n)
		return n >= 3
	})
	if st := oc.Expense(77).Status; st == "APPROVED" || oc.Count("processExpense") != 0 {
		t.Fatalf("the expense processed while the poll is open (%s)", st)
	}

	// The poll's author closes it early with an outcome: the proposal is decided.
	if err := fake.ClosePoll(pollID, "Approved: three consents"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the expense approved on Open Collective with the policy's comment", func() bool {
		running()
		c := oc.Comments(77)
		return oc.Expense(77).Status == "APPROVED" && len(c) == 2 && c[1].HTML == "Expense approved. 3 members consented on Loomio."
	})
	var proposalID, status string
	waitFor(t, "the proposal passed in the read model", func() bool {
		_ = app.Pool().QueryRow(ctx, `SELECT id, status FROM proposals WHERE action_type = $1`, domain.ActionExpenseCreated).Scan(&proposalID, &status)
		return status == domain.StatusPassed
	})
	p, err := engine.LoadProposal(ctx, app.Store(), proposalID)
	if err != nil {
		t.Fatal(err)
	}
	if !p.VoteClosed || p.VoteOutcome["statement"] != "Approved: three consents" {
		t.Fatalf("the proposal's vote closed %v with outcome %v", p.VoteClosed, p.VoteOutcome)
	}
	// alice voted as herself (the members setting); Bob and Carol, whom it does not name, as
	// community members on platform loomio, by their Loomio user ids.
	if v, ok := p.Votes["alice"]; !ok || v.Choice != "consent" || len(p.Votes) != 3 {
		t.Fatalf("votes %+v", p.Votes)
	}
	var voters []string
	rows, err := app.Pool().Query(ctx, `SELECT data->>'username' FROM events WHERE type = $1 AND data->>'platform' = 'loomio' ORDER BY 1`,
		domain.EventUserRegistered)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			t.Fatal(err)
		}
		voters = append(voters, u)
	}
	rows.Close()
	if !slices.Equal(voters, []string{"8", "9"}) {
		t.Fatalf("Loomio voters registered: %v, want 8 and 9 (7 is alice)", voters)
	}
	if n := oc.Count("processExpense"); n != 1 {
		t.Fatalf("%d processExpense requests, want 1", n)
	}
}
