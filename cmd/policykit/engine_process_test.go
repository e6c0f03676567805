package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
)

// `policykit serve` and `policykit engine`, two processes on one database and the Postgres
// bus, decide every proposal once between them.
func TestServeAndEngineProcessesShareTheWork(t *testing.T) {
	ctx := context.Background()
	cfg, app, sender := startSender(t, "sender")

	env := []string{"POLICYKIT_BUS=postgres", "POLICYKIT_BUS_NAMESPACE=" + cfg.Bus.Namespace, "POLICYKIT_LOG_PLATFORMS=log,slack"}
	serveAddr, engineAddr := freeAddr(t), freeAddr(t)
	srv := startProcess(t, []string{"serve", "--database-url", cfg.DatabaseURL, "--http-addr", serveAddr}, env)
	eng := startProcess(t, []string{"engine", "--database-url", cfg.DatabaseURL, "--http-addr", engineAddr}, env)
	waitFor(t, "both processes ready", func() bool {
		srv.mustRun(t)
		eng.mustRun(t)
		return get(t, "http://"+serveAddr+"/readyz") == 200 && get(t, "http://"+engineAddr+"/readyz") == 200
	})

	const n = 6
	var pids []string
	for i := range n {
		id := fmt.Sprintf("rename-%d", i)
		publishCommand(t, sender, bus.TopicProposeAction, bus.CommandProposeAction, bus.ProposeAction{Action: domain.Action{
			ID: id, CommunityID: "garden", Kind: domain.KindPlatform, Type: "slackrenameconversation", Platform: domain.PlatformSlack,
			InitiatorID: "alice", Reversible: true, Fields: map[string]any{"channel": "C0GENERAL", "name": id},
		}})
		pids = append(pids, evaluation.DeriveID("proposal", id, "rename-vote"))
	}
	for _, pid := range pids {
		waitNotified(t, app, pid)
		publishCommand(t, sender, bus.TopicCastVote, bus.CommandCastVote, bus.CastVote{CommunityID: "garden", ProposalID: pid,
			Vote: domain.Vote{UserID: "bob", Kind: domain.VoteBoolean, Boolean: true}})
	}
	for _, pid := range pids {
		waitFor(t, "proposal "+pid+" passed", func() bool {
			p, err := engine.LoadProposal(ctx, app.Store(), pid)
			return err == nil && p.Status == domain.StatusPassed
		})
		evs, err := app.Store().ReadStream(ctx, domain.ProposalStream(pid), eventstore.Forward, 1, 1000)
		if err != nil {
			t.Fatal(err)
		}
		passed := 0
		for _, ev := range evs {
			if ev.Type == domain.EventProposalPassed {
				passed++
			}
		}
		if passed != 1 {
			t.Fatalf("proposal %s passed %d times", pid, passed)
		}
	}
}
