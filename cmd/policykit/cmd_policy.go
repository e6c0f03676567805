package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/policykit-go/policykit/policytest"
)

// newPolicyCommand groups the commands that work on policies without a server.
func newPolicyCommand(cfg *Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Test policies against scenarios; import and export them as PolicyKit JSON",
	}
	cmd.AddCommand(newPolicyTestCommand(cfg))
	return cmd
}

func newPolicyTestCommand(cfg *Config) *cobra.Command {
	var opts policytest.Options
	cmd := &cobra.Command{
		Use:   "test PATH...",
		Short: "Run policy scenarios through the decision loop on a virtual clock",
		Long: `Run policy scenario files (YAML): each sets up a community and its policies, then plays
actions, votes, platform answers and the passing of time through the same evaluation loop
the engine uses, on a virtual clock and an in-memory event store, and checks expectations
(statuses, requested effects and their arguments, log lines, proposal data) along the way.

Policy blocks run in worker processes behind the same sandbox as under serve, with the
same memory ceiling, time limit per block and size limits on a block's input and output:
a block that exceeds one fails here as it would on the server. An interrupt (ctrl-C,
SIGTERM) stops the run at once.

PATH is a scenario file or a directory, searched recursively for *.yaml and *.yml. The
report reads like go test's; the exit status is 0 when every case passed, 1 when one failed,
and 2 when a scenario is malformed (nothing runs then) or a PATH does not exist.

The format is documented in docs/policy-tests.md.`,
		Example: `  policykit policy test testdata/scenarios
  policykit policy test -v --run 'renaming-slack-channels/no' testdata/scenarios/5.01_vote_on_renaming_slack_channels.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, paths []string) error {
			ev, closeEv, err := newEvaluator(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer closeEv()
			opts.Evaluator = ev
			ok, err := policytest.Run(cmd.Context(), paths, cmd.OutOrStdout(), opts)
			if err != nil {
				if !errors.Is(err, policytest.ErrMalformed) { // malformed scenarios are already reported
					fmt.Fprintln(cmd.ErrOrStderr(), "policykit policy test:", err)
				}
				return exitError(2)
			}
			if !ok {
				return exitError(1)
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "print every case as it runs and every event it appends")
	cmd.Flags().StringVar(&opts.Run, "run", "", "run only the cases whose name (file name/case name) matches this regular expression")
	cmd.Flags().StringVar(&opts.SeedDir, "seed-dir", "", "run policies that name a seed_file with the policy imported from that JSON file in this directory")
	return cmd
}
