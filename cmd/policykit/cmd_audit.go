package main

import (
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
)

func newAuditCommand(cfg *Config) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Check and explain recorded governance decisions"}
	var quiet bool
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Re-run every recorded decision from the log and report any that come out differently (exit 1)",
		Long: `Re-run every decision the engine recorded, with the policy version, the community, the
votes, the platform answers and the clock it had then, in the same sandbox the engine uses,
and compare the outcome with the events in the log. Any difference is a mismatch: the
command lists them and exits with status 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			store, closeFn, err := openStore(ctx, cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			ev, closeEval, err := newEvaluator(ctx, cfg)
			if err != nil {
				return err
			}
			defer closeEval()
			bar := progressbar.NewOptions(-1,
				progressbar.OptionSetDescription("verifying decisions"),
				progressbar.OptionSetWriter(cmd.ErrOrStderr()),
				progressbar.OptionShowCount(),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionSetVisibility(!quiet),
			)
			var progress func(done, total int)
			if !quiet { // the total takes a pass over the log of its own
				progress = func(done, total int) {
					bar.ChangeMax(total)
					_ = bar.Set(done)
				}
			}
			rep, err := engine.Verify(ctx, store, evaluation.New(ev, cfg.RecheckInterval), progress)
			_ = bar.Finish()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "\n%d events, %d decisions verified, %d mismatches\n", rep.Events, rep.Decisions, len(rep.Mismatches))
			for _, m := range rep.Mismatches {
				fmt.Fprintf(out, "\nMISMATCH %s decision caused by %s at %s: %s\n", m.Decision.Kind, m.Decision.Cause, m.Decision.At.UTC().Format(time.RFC3339), m.Reason)
				for _, l := range m.Want {
					fmt.Fprintf(out, "  recorded: %s\n", l)
				}
				for _, l := range m.Got {
					fmt.Fprintf(out, "  now:      %s\n", l)
				}
			}
			if len(rep.Mismatches) > 0 {
				return exitError(1)
			}
			return nil
		},
	}
	verify.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	explain := &cobra.Command{
		Use:   "explain PROPOSAL",
		Short: "Print a proposal's decision trace: evaluations, votes counted, statuses returned, effects",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			store, closeFn, err := openStore(ctx, cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			return engine.Explain(ctx, store, args[0], cmd.OutOrStdout())
		},
	}
	cmd.AddCommand(verify, explain)
	return cmd
}
