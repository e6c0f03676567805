package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
)

// server is `policykit serve` running as its own process, so that a test can kill it.
type server struct {
	cmd *exec.Cmd
	out *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startSender is the test's own process for tests whose engines run in other processes: an
// App without an engine (it seeds garden and reads the log) and a sender of commands on
// the Postgres bus, in consumer group group. Both close when the test ends.
func startSender(t *testing.T, group string) (Config, *App, *App) {
	t.Helper()
	return startSenderOn(t, group, bus.TransportPostgres)
}

// startSenderOn is startSender on another durable transport.
func startSenderOn(t *testing.T, group, transport string) (Config, *App, *App) {
	t.Helper()
	ctx := context.Background()
	cfg := engineConfig(t, transport)
	cfg.Engine = false
	app, err := NewApp(ctx, cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Close() })
	seedCommunity(t, app)
	bcfg := cfg.Bus
	bcfg.Postgres = app.Pool()
	bcfg.ConsumerGroup = group
	b, err := bus.Open(ctx, bcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return cfg, app, &App{bus: b}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startServer(t *testing.T, dbURL, namespace string) *server {
	t.Helper()
	addr := freeAddr(t)
	s := startProcess(t, []string{"serve", "--database-url", dbURL, "--http-addr", addr, "--log-level", "debug"},
		[]string{"POLICYKIT_BUS=postgres", "POLICYKIT_BUS_NAMESPACE=" + namespace, "POLICYKIT_LOG_PLATFORMS=log,slack", "POLICYKIT_RECHECK_INTERVAL=1s"})
	waitFor(t, "the server at "+addr+" ready", func() bool {
		s.mustRun(t)
		return get(t, "http://"+addr+"/readyz") == 200
	})
	return s
}

// startProcess runs this binary as policykit with args and extra environment.
func startProcess(t *testing.T, args, env []string) *server {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), runAsBinary+"=1"), env...)
	s := &server{cmd: cmd, out: &lockedBuffer{}}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.kill() })
	return s
}

// mustRun fails the test when the process has exited.
func (s *server) mustRun(t *testing.T) {
	t.Helper()
	if s.cmd.ProcessState != nil {
		t.Fatalf("%v exited:\n%s", s.cmd.Args[1:], s.out.String())
	}
}

// kill ends the server at once, as a crash or an OOM kill would.
func (s *server) kill() {
	if s.cmd.Process != nil && s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		_ = s.cmd.Wait()
	}
}

// Killing the server mid-run and starting it again loses no decision and repeats no effect.
func TestKilledServerLosesNoDecisionAndRepeatsNoEffect(t *testing.T) {
	ctx := context.Background()
	cfg, app, sender := startSender(t, "restart-test")
	namespace := cfg.Bus.Namespace

	srv := startServer(t, cfg.DatabaseURL, namespace)
	publishCommand(t, sender, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: domain.Action{
		ID: "rename-1", CommunityID: "garden", Kind: domain.KindPlatform, Type: "slackrenameconversation", Platform: domain.PlatformSlack,
		InitiatorID: "alice", Reversible: true, Fields: map[string]any{"channel": "C0GENERAL", "name": "garden-chat"},
	}})
	srv.kill() // right after the proposal was sent: maybe before, maybe during its evaluation
	srv = startServer(t, cfg.DatabaseURL, namespace)
	pid := evaluation.DeriveID("proposal", "rename-1", "rename-vote")
	waitFor(t, "the vote posted after a restart", func() bool {
		p, err := engine.LoadProposal(ctx, app.Store(), pid)
		return err == nil && p.Notified && p.VotePostID != ""
	})

	publishCommand(t, sender, bus.TopicCastVote, bus.CommandCastVote, bus.CastVote{CommunityID: "garden", ProposalID: pid,
		Vote: domain.Vote{UserID: "bob", Kind: domain.VoteBoolean, Boolean: true}})
	time.Sleep(50 * time.Millisecond) // let the vote be in flight when the process dies
	srv.kill()
	srv = startServer(t, cfg.DatabaseURL, namespace)
	waitFor(t, "the rename executed after the second restart", func() bool {
		p, err := engine.LoadProposal(ctx, app.Store(), pid)
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
	srv.kill()

	// One decision, each effect requested once, performed once, its result recorded once.
	evs, err := app.Store().ReadStream(ctx, domain.ProposalStream(pid), eventstore.Forward, 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	requested := map[string]int{}
	results := map[string]int{}
	for _, ev := range evs {
		count[ev.Type]++
		e, _ := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
		switch e := e.(type) {
		case domain.EffectRequested:
			requested[e.EffectID]++
		case domain.EffectCompleted:
			results[e.EffectID]++
		case domain.EffectFailed:
			results[e.EffectID]++
		}
	}
	if count[domain.EventProposalPassed] != 1 || count[domain.EventProposalNotified] != 1 || count[domain.EventVoteCast] != 1 {
		t.Fatalf("events by type: %v", count)
	}
	for id, n := range requested {
		if n != 1 || results[id] != 1 {
			t.Fatalf("effect %s requested %d times with %d results", id, n, results[id])
		}
	}
	var performed int
	if err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM log_platform_effects WHERE proposal_id = $1`, pid).Scan(&performed); err != nil {
		t.Fatal(err)
	}
	if performed != len(requested) {
		t.Fatalf("the log platform performed %d effects for %d requested", performed, len(requested))
	}
	rec, _ := engine.LoadAction(ctx, app.Store(), "rename-1")
	if rec.Status != domain.ActionStatusExecuted {
		t.Fatalf("action %s", rec.Status)
	}
	out, _, err := runCLI(t, "audit", "verify", "-q", "--database-url", cfg.DatabaseURL)
	if err != nil {
		t.Fatalf("audit verify after restarts: %v\n%s", err, out)
	}
}
