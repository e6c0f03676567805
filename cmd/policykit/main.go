// Command policykit is PolicyKit-Go: a self-hosted governance engine for online communities.
//
//	policykit serve     run the server (HTTP health endpoints, projections; migrates first)
//	policykit migrate   create or update the database schema
//	policykit replay    drop and rebuild every read model from the event log
//	policykit events    tail the event log, or export it as JSON lines
//	policykit community create a community with a starter kit; show its state
//	policykit kit       list the starter kits
//	policykit policy    test policies against scenarios; import and export PolicyKit JSON
//	policykit propose   propose an action as a member; vote: vote on a proposal
//	policykit audit     verify every recorded decision; explain one proposal
//	policykit adapter   run a platform adapter (slack) as its own process
//	policykit engine    run one more engine process sharing the work over the bus
//	policykit account   accounts of the GraphQL API: create, link to a member, API tokens
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/policykit-go/policykit/policysandbox"
	"github.com/policykit-go/policykit/sandbox"
)

func main() {
	if sandbox.IsWorker() {
		policysandbox.ServeWorker() // a policy evaluation process started by this binary
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		var exit exitError
		if errors.As(err, &exit) {
			os.Exit(int(exit))
		}
		fmt.Fprintln(os.Stderr, "policykit:", err)
		os.Exit(1)
	}
}

// exitError ends the process with a status code after the command printed its own report.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func newRootCommand() *cobra.Command {
	cfg := DefaultConfig().FromEnv(os.Getenv)
	root := &cobra.Command{
		Use:           "policykit",
		Short:         "PolicyKit-Go: community governance as code, on an event-sourced core",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "Postgres URL (env POLICYKIT_DATABASE_URL)")
	root.PersistentFlags().StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error (env POLICYKIT_LOG_LEVEL)")
	root.AddCommand(
		newServeCommand(&cfg),
		newMigrateCommand(&cfg),
		newReplayCommand(&cfg),
		newEventsCommand(&cfg),
		newHealthcheckCommand(&cfg),
		newCommunityCommand(&cfg),
		newKitCommand(),
		newPolicyCommandWithIO(&cfg),
		newProposeCommand(&cfg),
		newVoteCommand(&cfg),
		newAuditCommand(&cfg),
		newAdapterCommand(&cfg),
		newEngineCommand(&cfg),
		newAccountCommand(&cfg),
	)
	return root
}
