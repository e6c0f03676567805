package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/logplatform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
)

// Chaos: the engine that is not the leader is killed (SIGKILL) in the middle of a burst of
// actions, on the Postgres bus and on NATS. Actions it had taken from the bus and not decided
// are picked up by the leader within seconds; every action is decided once, and the audit
// re-derives every decision.
func TestNonLeaderKilledMidBurstLosesNoAction(t *testing.T) {
	for _, transport := range []string{bus.TransportPostgres, bus.TransportNATS} {
		t.Run(transport, func(t *testing.T) {
			requireTransport(t, transport)
			testNonLeaderKilledMidBurst(t, transport)
		})
	}
}

func testNonLeaderKilledMidBurst(t *testing.T, transport string) {
	ctx := context.Background()
	cfg, app, sender := startSenderOn(t, "sender", transport)
	// Commands the killed process held come again after the ack timeout (NATS AckWait).
	env := []string{"POLICYKIT_BUS=" + transport, "POLICYKIT_BUS_NAMESPACE=" + cfg.Bus.Namespace, "POLICYKIT_LOG_PLATFORMS=log,slack",
		"POLICYKIT_BUS_ACK_TIMEOUT=8s"}
	serveAddr, engineAddr := freeAddr(t), freeAddr(t)
	// serve first, so that it holds the leader lock; the engine process shares the commands.
	srv := startProcess(t, []string{"serve", "--database-url", cfg.DatabaseURL, "--http-addr", serveAddr}, env)
	waitFor(t, "serve ready", func() bool { srv.mustRun(t); return get(t, "http://"+serveAddr+"/readyz") == 200 })
	eng := startProcess(t, []string{"engine", "--database-url", cfg.DatabaseURL, "--http-addr", engineAddr}, env)
	waitFor(t, "the engine process ready", func() bool { eng.mustRun(t); return get(t, "http://"+engineAddr+"/readyz") == 200 })

	const n = 300
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("burst-%03d", i)
		publishCommand(t, sender, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: domain.Action{
			ID: ids[i], CommunityID: "garden", Kind: domain.KindPlatform, Type: "slackrenameconversation", Platform: domain.PlatformSlack,
			InitiatorID: "alice", Reversible: true, Fields: map[string]any{"channel": "C0GENERAL", "name": ids[i]},
		}})
	}
	// Killed while both engines have work queued: a tenth of the burst governed.
	waitFor(t, "the burst under way", func() bool {
		var governed int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM actions WHERE id LIKE 'burst-%' AND status <> 'proposed'`).Scan(&governed)
		return governed >= n/10
	})
	eng.kill()
	srv.mustRun(t)
	waitFor(t, "every action governed", func() bool {
		var undecided int
		if err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM actions WHERE id LIKE 'burst-%' AND status = 'proposed'`).Scan(&undecided); err != nil {
			return false
		}
		var recorded int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM actions WHERE id LIKE 'burst-%'`).Scan(&recorded)
		return recorded == n && undecided == 0
	})
	for _, id := range ids {
		evs, err := app.Store().ReadStream(ctx, domain.ActionStream(id), eventstore.Forward, 1, 1000)
		if err != nil {
			t.Fatal(err)
		}
		governed := 0
		for _, ev := range evs {
			if ev.Type == domain.EventActionGoverned {
				governed++
			}
		}
		if governed != 1 {
			t.Fatalf("action %s governed %d times", id, governed)
		}
	}
	out, _, err := runCLI(t, "audit", "verify", "--database-url", cfg.DatabaseURL)
	if err != nil || !strings.Contains(out, " 0 mismatches") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
}

// Chaos: the database cut away from the server for a few seconds (every connection closed,
// new ones refused) in the middle of a stream of actions on the Postgres bus. /readyz says
// so meanwhile; afterwards the server works on by itself: every action is decided once, and
// the audit re-derives every decision.
func TestDatabaseCutForAFewSeconds(t *testing.T) {
	cfg, app, sender := startSenderOn(t, "sender", bus.TransportPostgres)
	u, err := url.Parse(cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startTCPProxy(t, u.Host)
	u.Host = proxy.Addr()
	env := []string{"POLICYKIT_BUS=postgres", "POLICYKIT_BUS_NAMESPACE=" + cfg.Bus.Namespace, "POLICYKIT_LOG_PLATFORMS=log,slack",
		"POLICYKIT_BUS_ACK_TIMEOUT=8s"}
	testServiceCut(t, cfg, app, sender, proxy, u.String(), env, true)
}

// Chaos: the NATS broker cut away from the server for a few seconds in the middle of a
// stream of actions; afterwards the server works on by itself.
func TestNATSCutForAFewSeconds(t *testing.T) {
	requireTransport(t, bus.TransportNATS)
	cfg, app, sender := startSenderOn(t, "sender", bus.TransportNATS)
	proxy := startTCPProxy(t, "127.0.0.1:4222")
	env := []string{"POLICYKIT_BUS=nats", "POLICYKIT_NATS_URL=nats://" + proxy.Addr(), "POLICYKIT_BUS_NAMESPACE=" + cfg.Bus.Namespace,
		"POLICYKIT_LOG_PLATFORMS=log,slack", "POLICYKIT_BUS_ACK_TIMEOUT=8s"}
	testServiceCut(t, cfg, app, sender, proxy, cfg.DatabaseURL, env, false)
}

// testServiceCut runs a stream of actions through a serve process whose connection to one
// service goes through proxy, cut for three seconds in the middle. dbCut: the cut service is
// the database, so /readyz must say not ready meanwhile.
func testServiceCut(t *testing.T, cfg Config, app, sender *App, proxy *tcpProxy, dbURL string, env []string, dbCut bool) {
	ctx := context.Background()
	addr := freeAddr(t)
	srv := startProcess(t, []string{"serve", "--database-url", dbURL, "--http-addr", addr}, env)
	waitFor(t, "serve ready", func() bool { srv.mustRun(t); return get(t, "http://"+addr+"/readyz") == 200 })

	const n = 60
	propose := func(from, to int) {
		for i := from; i < to; i++ {
			id := fmt.Sprintf("cut-%03d", i)
			publishCommand(t, sender, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: domain.Action{
				ID: id, CommunityID: "garden", Kind: domain.KindPlatform, Type: "slackrenameconversation", Platform: domain.PlatformSlack,
				InitiatorID: "alice", Reversible: true, Fields: map[string]any{"channel": "C0GENERAL", "name": id},
			}})
		}
	}
	governed := func() int {
		var k int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM actions WHERE id LIKE 'cut-%' AND status <> 'proposed'`).Scan(&k)
		return k
	}
	propose(0, n/2)
	waitFor(t, "the first actions governed", func() bool { return governed() >= n/6 })

	proxy.cut()
	propose(n/2, n) // recorded on the bus while the server cannot reach the database
	if dbCut {
		waitFor(t, "/readyz saying the database is away", func() bool { srv.mustRun(t); return get(t, "http://"+addr+"/readyz") == 503 })
	}
	time.Sleep(3 * time.Second)
	proxy.restore()

	waitFor(t, "/readyz ready again", func() bool { srv.mustRun(t); return get(t, "http://"+addr+"/readyz") == 200 })
	waitFor(t, "every action governed", func() bool { return governed() == n })
	for i := range n {
		id := fmt.Sprintf("cut-%03d", i)
		evs, err := app.Store().ReadStream(ctx, domain.ActionStream(id), eventstore.Forward, 1, 1000)
		if err != nil {
			t.Fatal(err)
		}
		count := 0
		for _, ev := range evs {
			if ev.Type == domain.EventActionGoverned {
				count++
			}
		}
		if count != 1 {
			t.Fatalf("action %s governed %d times", id, count)
		}
	}
	out, _, err := runCLI(t, "audit", "verify", "--database-url", cfg.DatabaseURL)
	if err != nil || !strings.Contains(out, " 0 mismatches") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
}

// Chaos: a policy asks for a post far over what NATS carries, then a small one, in a server
// on the NATS bus. The large one is refused where it is made, with the reason in the
// evaluation's log; the small one and every later effect are carried out, and the server
// stays ready.
func TestOversizedEffectOnNATS(t *testing.T) {
	requireTransport(t, bus.TransportNATS)
	ctx := context.Background()
	cfg, app, sender := startSenderOn(t, "sender", bus.TransportNATS)
	if _, err := engine.UpdateCommunity(ctx, app.Store(), "garden", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "echo", Kind: domain.KindPlatform, Name: "Echo posts",
			ActionTypes: []string{domain.ActionSlackPostMessage}, PolicyCode: domain.PolicyCode{
				Check: "slack.post_message(text='x' * 1100000, channel='C1')\nslack.post_message(text='small ' + action.text, channel='C1')\nreturn PASSED\n",
			}}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	env := []string{"POLICYKIT_BUS=nats", "POLICYKIT_BUS_NAMESPACE=" + cfg.Bus.Namespace, "POLICYKIT_LOG_PLATFORMS=log,slack"}
	addr := freeAddr(t)
	srv := startProcess(t, []string{"serve", "--database-url", cfg.DatabaseURL, "--http-addr", addr}, env)
	waitFor(t, "serve ready", func() bool { srv.mustRun(t); return get(t, "http://"+addr+"/readyz") == 200 })

	for i, text := range []string{"one", "two"} {
		publishCommand(t, sender, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: domain.Action{
			ID: fmt.Sprintf("post-%d", i), CommunityID: "garden", Kind: domain.KindPlatform, Type: domain.ActionSlackPostMessage,
			Platform: domain.PlatformSlack, InitiatorID: "alice", Reversible: true,
			Fields: map[string]any{"channel": "C1", "text": text, "user": "UALICE", "timestamp": fmt.Sprintf("1700000000.00000%d", i)},
		}})
	}
	performed := logplatform.New(logplatform.PostgresLedger{Pool: app.Pool()}, nil) // what the server's log platform did
	waitFor(t, "both small posts carried out", func() bool {
		effs, err := performed.Effects(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, e := range effs {
			if text, _ := e.Args["text"].(string); e.Method == "post_message" && (text == "small one" || text == "small two") {
				got++
			}
			if text, _ := e.Args["text"].(string); len(text) > 1000 {
				t.Fatalf("a post of %d bytes was carried out", len(text))
			}
		}
		return got == 2
	})
	if code := get(t, "http://"+addr+"/readyz"); code != 200 {
		t.Fatalf("/readyz %d after the oversized effect", code)
	}
	waitFor(t, "the refused post in the evaluation logs (the server's read models)", func() bool {
		var n int
		err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM evaluation_logs, jsonb_array_elements(logs) l
			WHERE l->>'level' = 'error' AND l->>'message' LIKE '%slack.post_message not requested%'`).Scan(&n)
		return err == nil && n == 2
	})
}
