package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/loomio"
	"github.com/policykit-go/policykit/adapters/loomio/loomiotest"
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

// The seed's "Vote in Loomio on OpenCollective expenses" end to end, across processes on a
// durable bus: an expense created on Open Collective (its expensecreated action, as the Open
// Collective adapter publishes it) starts a poll in the community's Loomio group (a fake
// Loomio speaking the bot API) and a comment on the expense; members vote in Loomio, the
// votes reach the engine through the group's webhook and the API, and the poll closed early
// decides the proposal: the expense is approved with the policy's comment. Open Collective's
// effects are performed by the log platform, whose records the test reads.
func TestLoomioExpenseVoteAcrossProcesses(t *testing.T) {
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
		append(env, "POLICYKIT_LOG_PLATFORMS=log,opencollective"))
	waitFor(t, "the server ready", func() bool { srv.mustRun(t); return get(t, "http://"+serverAddr+"/readyz") == 200 })
	loomioAddr := freeAddr(t)
	loomioProc := startProcess(t, []string{"adapter", "loomio", "--database-url", cfg.DatabaseURL, "--http-addr", loomioAddr},
		append(env, "LOOMIO_URL="+fake.URL(), "LOOMIO_POLL_INTERVAL=300ms"))
	fake.SetWebhook("http://" + loomioAddr + "/api/hooks/loomio/garden/whsec-loomio")

	// alice, the Integration Admin, connects the community's Open Collective and its Loomio
	// group (the group's id, a Loomio user's API key and the webhook's secret, sealed).
	for _, in := range []domain.AddIntegration{
		{Platform: domain.PlatformOpenCollective, ExternalID: "garden-collective", Name: "Garden collective"},
		{Platform: domain.PlatformLoomio, ExternalID: "42", Name: "Garden on Loomio", Settings: map[string]string{loomio.SettingGroupID: "42"},
			Secrets: map[string]string{loomio.SecretAPIKey: "loomio-key-garden", loomio.SecretWebhook: "whsec-loomio"}},
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

	// Open Collective reports an expense.
	expense := domain.Action{ID: "oc-expense-77", CommunityID: "garden", Kind: domain.KindTrigger, Type: domain.ActionExpenseCreated,
		Platform: domain.PlatformOpenCollective, ExternalID: "77", ProposedAt: time.Now().UTC(),
		Fields: map[string]any{"expense_id": "77", "description": "Seeds for the spring beds", "amount": 4200,
			"url": "https://opencollective.com/garden/expenses/77"}}
	bcfg := cfg.Bus
	bcfg.Postgres = app.Pool()
	bcfg.ConsumerGroup = "loomio-test"
	b, err := bus.Open(ctx, bcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	publishCommand(t, &App{bus: b}, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: expense})

	var pollID int
	waitFor(t, "the poll in Loomio", func() bool {
		loomioProc.mustRun(t)
		srv.mustRun(t)
		ids := fake.PollIDs()
		if len(ids) > 0 {
			pollID = ids[0]
		}
		return len(ids) > 0
	})
	poll, _ := fake.Poll(pollID)
	closing, err := time.Parse(time.RFC3339Nano, fmt.Sprint(poll["closing_at"]))
	if poll["title"] != "Expense 'Seeds for the spring beds'" || poll["poll_type"] != "proposal" ||
		poll["details"] != "Submitted on Open Collective: https://opencollective.com/garden/expenses/77" ||
		fmt.Sprint(poll["options"]) != "[consent objection]" || err != nil || time.Until(closing) < 71*time.Hour {
		t.Fatalf("poll %v (closing: %v)", poll, err)
	}
	pollURL := fmt.Sprintf("%s/p/pk%04d", fake.URL(), pollID)
	waitFor(t, "the comment on the expense linking the poll", func() bool {
		return len(ocEffects(t, app, "post_message", "A vote has been started <a href='"+pollURL+"'>on Loomio</a>")) == 1
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
	if n := len(ocEffects(t, app, "process_expense", "")); n != 0 {
		t.Fatalf("the expense processed while the poll is open (%d)", n)
	}

	// The poll's author closes it early: the proposal is decided.
	if err := fake.ClosePoll(pollID, "Approved: three consents"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the expense approved on Open Collective", func() bool {
		loomioProc.mustRun(t)
		return len(ocEffects(t, app, "process_expense", `"action": "APPROVE"`)) == 1
	})
	waitFor(t, "the policy's comment", func() bool {
		return len(ocEffects(t, app, "post_message", "Expense approved. 3 members consented on Loomio.")) == 1
	})
	waitFor(t, "the proposal passed in the read model", func() bool {
		var status string
		_ = app.Pool().QueryRow(ctx, `SELECT status FROM proposals WHERE action_id = $1`, expense.ID).Scan(&status)
		return status == domain.StatusPassed
	})
	// The voters are community members on platform loomio, by their Loomio user id.
	var voters int
	if err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1 AND data->>'platform' = 'loomio' AND data->>'username' IN ('7', '8', '9')`,
		domain.EventUserRegistered).Scan(&voters); err != nil || voters != 3 {
		t.Fatalf("%d Loomio voters registered (%v), want 3", voters, err)
	}
}

// ocEffects are the log platform's records of Open Collective's method whose arguments, as
// JSON, contain want.
func ocEffects(t *testing.T, app *App, method, want string) []string {
	t.Helper()
	rows, err := app.Pool().Query(context.Background(), `SELECT args::text FROM log_platform_effects
		WHERE platform = 'opencollective' AND method = $1 ORDER BY seq`, method)
	if err != nil {
		return nil // not migrated yet
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var args string
		if err := rows.Scan(&args); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if json.Unmarshal([]byte(args), &m) == nil && m["expense_id"] != "77" {
			continue
		}
		if strings.Contains(args, want) || strings.Contains(unescapeHTML(args), want) {
			out = append(out, args)
		}
	}
	return out
}

// unescapeHTML undoes the escaping JSON applies to <, > and &.
func unescapeHTML(s string) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(s)
}
