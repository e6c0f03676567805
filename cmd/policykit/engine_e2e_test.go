package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/starterkits"
)

// The seed's "All Constitution Actions need 1 approval in Slack" and "Vote on renaming Slack
// channels", as the documentation gives them.
var (
	oneApproval = domain.PolicyCode{
		Filter: "return True\n", Initialize: "pass\n",
		Check: `if proposal.get_yes_votes().count() > 0:
    return PASSED

if proposal.get_no_votes().count() > 0:
    return FAILED

if proposal.get_time_elapsed() > datetime.timedelta(hours=3):
    logger.debug(f"Failing proposed constitution change, no approvals in 3 hours")
    return FAILED

return PROPOSED
`,
		Notify: `message = f"'{action}' proposed by {action.initiator.readable_name}"
governance_channel = "C0001"
slack.initiate_vote(text=message, channel=governance_channel)
`,
		Success: `message = f"Constitutional change accepted!"
governance_channel = "C0001"
slack.post_message(text=message, channel=governance_channel, thread_ts=proposal.vote_post_id)
`,
		Fail: `message = f"Constitutional change rejected."
governance_channel = "C0001"
slack.post_message(text=message, channel=governance_channel, thread_ts=proposal.vote_post_id)
`,
	}
	renameVote = domain.PolicyCode{
		Filter: "return True\n", Initialize: "pass\n",
		Check: `yes_votes = proposal.get_yes_votes().count()
no_votes = proposal.get_no_votes().count()
logger.debug(f"{yes_votes} for, {no_votes} against")
if yes_votes >= 1:
    return PASSED
elif no_votes >= 1:
    return FAILED

logger.debug("No votes yet....")
return PROPOSED
`,
		Notify: `message = f"Should this channel be renamed to #{action.name}? Vote with :thumbsup: or :thumbsdown: on this post."
slack.initiate_vote(text=message)
`,
		Success: `text = f"Proposal to rename this channel to #{action.name} passed."
slack.post_message(text=text, channel=action.channel, thread_ts=proposal.vote_post_id)
`,
		Fail: `text = f"Proposal to rename this channel to #{action.name} failed."
slack.post_message(text=text, channel=action.channel, thread_ts=proposal.vote_post_id)
`,
	}
)

// requireTransport skips a bus transport whose service is not running, except under CI=true.
func requireTransport(t *testing.T, transport string) {
	t.Helper()
	addr := map[string]string{bus.TransportNATS: "127.0.0.1:4222", bus.TransportAMQP: "127.0.0.1:5672"}[transport]
	if addr == "" {
		return
	}
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		conn.Close()
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s at %s is not reachable: %v (CI=true: a missing service fails the run)", transport, addr, err)
	}
	t.Skipf("%s at %s is not reachable: %v", transport, addr, err)
}

func randomName() string {
	var b [6]byte
	rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:])
}

// startApp runs the whole App (as the binary wires it) on a fresh database and the given bus,
// with the log platform standing in for Slack.
func startApp(t testing.TB, cfg Config) (*App, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	app, err := NewApp(ctx, cfg, discardLogger())
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	addr, err := app.Listen()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	waitFor(t, "the app ready", func() bool { return get(t, "http://"+addr+"/readyz") == 200 })
	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return after shutdown")
		}
		app.Close()
	}
	return app, stop
}

func engineConfig(t *testing.T, transport string) Config {
	cfg := testConfig(t)
	cfg.Bus.Transport = transport
	cfg.Bus.Namespace = randomName()
	cfg.Bus.AMQPQueueTTL = time.Minute
	cfg.LogPlatforms = []string{domain.PlatformLog, domain.PlatformSlack}
	return cfg
}

// seedCommunity: a Slack community on the Testing kit, with alice and bob, and the two seed
// policies.
func seedCommunity(t testing.TB, app *App) *domain.Community {
	t.Helper()
	return seedCommunityNamed(t, app, "garden")
}

// seedCommunityNamed creates a community like the garden one under another id.
func seedCommunityNamed(t testing.TB, app *App, id string) *domain.Community {
	t.Helper()
	ctx := context.Background()
	kit, err := starterkits.Load("testing")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.NewCommunity(ctx, app.Store(), domain.CreateCommunity{CommunityID: id, Name: "Garden", Platform: domain.PlatformSlack},
		kit, domain.RegisterUser{UserID: "alice", Username: "UALICE", ReadableName: "Alice", IsAdmin: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	c, err := engine.UpdateCommunity(ctx, app.Store(), id, engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		var all []domain.Event
		for _, step := range []func() ([]domain.Event, error){
			func() ([]domain.Event, error) {
				return c.DecideRegisterUser(domain.RegisterUser{UserID: "bob", Platform: domain.PlatformSlack, Username: "UBOB", ReadableName: "Bob"}, time.Now())
			},
			func() ([]domain.Event, error) {
				return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "one-approval", Kind: domain.KindConstitution, Name: "All Constitution Actions need 1 approval in Slack", PolicyCode: oneApproval}, time.Now())
			},
			func() ([]domain.Event, error) {
				return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "rename-vote", Kind: domain.KindPlatform, Name: "Vote on renaming Slack channels", ActionTypes: []string{"slackrenameconversation"}, PolicyCode: renameVote}, time.Now())
			},
		} {
			evs, err := step()
			if err != nil {
				return nil, err
			}
			for _, e := range evs {
				c.Apply(e)
			}
			all = append(all, evs...)
		}
		return all, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func publishCommand(t testing.TB, app *App, topic, typ string, v any) {
	t.Helper()
	payload, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Bus().Publisher().Publish(topic, bus.NewMessage(uuid.NewString(), typ, payload)); err != nil {
		t.Fatal(err)
	}
}

func logEffects(t *testing.T, app *App) []bus.EffectRequest {
	t.Helper()
	effs, err := app.LogPlatform().Effects(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return effs
}

func waitNotified(t *testing.T, app *App, pid string) *domain.Proposal {
	t.Helper()
	var p *domain.Proposal
	waitFor(t, "proposal "+pid+" to post its vote", func() bool {
		var err error
		p, err = engine.LoadProposal(context.Background(), app.Store(), pid)
		return err == nil && p.Notified && p.VotePostID != ""
	})
	return p
}

func driveSeedPolicies(t *testing.T, app *App) {
	ctx := context.Background()
	// 5.9: a constitution change needs one approval.
	addRole, err := domain.NewConstitutionAction("add-gardener", "garden", "alice", domain.AddRole{Name: "Gardener", Description: "Tends the beds"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	publishCommand(t, app, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: addRole})
	constID := evaluation.DeriveID("proposal", "add-gardener", "one-approval")
	p := waitNotified(t, app, constID)
	publishCommand(t, app, bus.TopicCastVote, bus.CommandCastVote, bus.CastVote{CommunityID: "garden", ProposalID: constID, Platform: domain.PlatformSlack,
		Vote: domain.Vote{Username: "UBOB", Kind: domain.VoteBoolean, Boolean: true}})
	waitFor(t, "the role added by the passed constitution action", func() bool {
		c, err := engine.LoadCommunity(ctx, app.Store(), "garden")
		_, ok := c.Roles["Gardener"]
		return err == nil && ok
	})
	waitFor(t, "the acceptance posted in the vote's thread", func() bool {
		for _, e := range logEffects(t, app) {
			if e.Method == "post_message" && e.Args["text"] == "Constitutional change accepted!" && e.Args["thread_ts"] == p.VotePostID {
				return true
			}
		}
		return false
	})

	// 5.1: a channel rename is reverted, voted on, and executed when the vote passes.
	publishCommand(t, app, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: domain.Action{
		ID: "rename-1", CommunityID: "garden", Kind: domain.KindPlatform, Type: "slackrenameconversation", Platform: domain.PlatformSlack,
		InitiatorID: "alice", Reversible: true, ExternalID: "Ev0001", Fields: map[string]any{"channel": "C0GENERAL", "name": "garden-chat", "previous_name": "general"},
	}})
	renameID := evaluation.DeriveID("proposal", "rename-1", "rename-vote")
	p = waitNotified(t, app, renameID)
	publishCommand(t, app, bus.TopicCastVote, bus.CommandCastVote, bus.CastVote{CommunityID: "garden", ProposalID: renameID,
		Vote: domain.Vote{UserID: "bob", Kind: domain.VoteBoolean, Boolean: true}})
	waitFor(t, "the rename executed and the result posted", func() bool {
		var executed, posted bool
		for _, e := range logEffects(t, app) {
			executed = executed || (e.ProposalID == renameID && e.Method == "execute")
			posted = posted || (e.Method == "post_message" && e.Args["thread_ts"] == p.VotePostID &&
				strings.Contains(e.Args["text"].(string), "passed"))
		}
		return executed && posted
	})
	rec, err := engine.LoadAction(ctx, app.Store(), "rename-1")
	if err != nil || rec.Status != domain.ActionStatusExecuted || !rec.Reverted {
		t.Fatalf("rename action %s reverted=%v (%v)", rec.Status, rec.Reverted, err)
	}
	// Each effect was performed once.
	seen := map[string]int{}
	for _, e := range logEffects(t, app) {
		seen[e.IdempotencyKey]++
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("effect %s performed %d times", k, n)
		}
	}
}

func TestAppDecidesTheSeedPoliciesOnEveryBus(t *testing.T) {
	for _, transport := range []string{bus.TransportGoChannel, bus.TransportPostgres, bus.TransportNATS, bus.TransportAMQP} {
		t.Run(transport, func(t *testing.T) {
			requireTransport(t, transport)
			app, stop := startApp(t, engineConfig(t, transport))
			defer stop()
			seedCommunity(t, app)
			driveSeedPolicies(t, app)
			auditLog(t, app.cfg.DatabaseURL)
		})
	}
}

// auditLog checks every decision in the log with `policykit audit verify`, and that
// `audit explain` tells the rename's story.
func auditLog(t *testing.T, dbURL string) {
	t.Helper()
	out, _, err := runCLI(t, "audit", "verify", "-q", "--database-url", dbURL)
	if err != nil {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
	if !strings.Contains(out, " 0 mismatches") {
		t.Fatalf("audit verify: %s", out)
	}
	out, _, err = runCLI(t, "audit", "explain", evaluation.DeriveID("proposal", "rename-1", "rename-vote"), "--database-url", dbURL)
	if err != nil {
		t.Fatalf("audit explain: %v", err)
	}
	for _, want := range []string{"Vote on renaming Slack channels", "check -> PROPOSED", "vote by UBOB: yes", "check -> PASSED", "slack.execute", "status: PASSED"} {
		if !strings.Contains(out, want) {
			t.Fatalf("audit explain lacks %q:\n%s", want, out)
		}
	}
}

// Two engine processes (two Apps) on one database and one broker share the work, and every
// decision is made once: one ProposalPassed per proposal, each effect performed once.
func TestTwoEnginesShareTheWork(t *testing.T) {
	for _, transport := range []string{bus.TransportNATS, bus.TransportAMQP} {
		t.Run(transport, func(t *testing.T) {
			requireTransport(t, transport)
			ctx := context.Background()
			cfg := engineConfig(t, transport)
			app1, stop1 := startApp(t, cfg)
			defer stop1()
			app2, stop2 := startApp(t, cfg)
			defer stop2()
			seedCommunity(t, app1)

			const n = 8
			var pids []string
			for i := range n {
				id := fmt.Sprintf("rename-%d", i)
				via := []*App{app1, app2}[i%2]
				publishCommand(t, via, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: domain.Action{
					ID: id, CommunityID: "garden", Kind: domain.KindPlatform, Type: "slackrenameconversation", Platform: domain.PlatformSlack,
					InitiatorID: "alice", Reversible: true, Fields: map[string]any{"channel": "C0GENERAL", "name": id},
				}})
				pids = append(pids, evaluation.DeriveID("proposal", id, "rename-vote"))
			}
			for i, pid := range pids {
				waitNotified(t, app1, pid)
				via := []*App{app2, app1}[i%2]
				publishCommand(t, via, bus.TopicCastVote, bus.CommandCastVote, bus.CastVote{CommunityID: "garden", ProposalID: pid,
					Vote: domain.Vote{UserID: "bob", Kind: domain.VoteBoolean, Boolean: true}})
			}
			for _, pid := range pids {
				waitFor(t, "proposal "+pid+" passed with every effect done", func() bool {
					p, err := engine.LoadProposal(ctx, app1.Store(), pid)
					if err != nil || p.Status != domain.StatusPassed {
						return false
					}
					for _, f := range p.Effects {
						if !f.Done() {
							return false
						}
					}
					return true
				})
			}
			for _, pid := range pids {
				evs, err := app1.Store().ReadStream(ctx, domain.ProposalStream(pid), eventstore.Forward, 1, 1000)
				if err != nil {
					t.Fatal(err)
				}
				count := map[string]int{}
				for _, ev := range evs {
					count[ev.Type]++
				}
				if count[domain.EventProposalPassed] != 1 || count[domain.EventProposalOpened] != 1 || count[domain.EventEffectCompleted] != count[domain.EventEffectRequested] {
					t.Fatalf("proposal %s: %v", pid, count)
				}
			}
			var performed, distinct int
			if err := app1.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT effect_id) FROM log_platform_effects`).Scan(&performed, &distinct); err != nil {
				t.Fatal(err)
			}
			if performed != distinct || performed < 4*n {
				t.Fatalf("%d effects performed, %d distinct; want each of at least %d once", performed, distinct, 4*n)
			}
			auditLog(t, cfg.DatabaseURL)
		})
	}
}
