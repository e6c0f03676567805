package main

import (
	"fmt"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// maxFailuresListed bounds the skipped events replay prints; the table has them all.
const maxFailuresListed = 20

func newReplayCommand(cfg *Config) *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Drop every read model and rebuild it from the start of the event log",
		Long: `Empty the projection tables and fold the whole event log into them again.

The event log is the only source of truth; run this after changing a projector, or to prove
that the tables agree with the log. Stop the servers that write projections first, or they
will resume from their checkpoints once the rebuild commits.

An event that a projector cannot apply is skipped by that projector alone and the rebuild
goes on; the skipped events are listed at the end (and kept in the table
projection_failures), and the command then exits 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			rcfg := *cfg
			rcfg.Engine, rcfg.GraphQL = false, false // a rebuild only reads the log
			app, err := NewApp(ctx, rcfg, newLogger(cfg.LogLevel))
			if err != nil {
				return err
			}
			defer app.Close()
			// The bar's total is the Postgres log's size; KurrentDB's is not counted up front, so
			// the bar shows a count without a total there.
			total := int64(-1)
			if cfg.EventStore != EventStoreKurrentDB {
				if err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&total); err != nil {
					return fmt.Errorf("count events: %w", err)
				}
			}
			bar := progressbar.NewOptions64(total,
				progressbar.OptionSetDescription("replaying events"),
				progressbar.OptionSetWriter(cmd.ErrOrStderr()),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("events"),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionSetVisibility(!quiet),
			)
			start := time.Now()
			n, err := app.Projections().Replay(ctx, func(applied int) { _ = bar.Set64(int64(applied)) })
			_ = bar.Finish()
			if err != nil {
				return fmt.Errorf("replay: %w", err)
			}
			elapsed := time.Since(start)
			fmt.Fprintf(cmd.OutOrStdout(), "\nrebuilt %d projections from %d events in %s (%.0f events/s)\n",
				len(app.Projections().Projectors()), n, elapsed.Round(time.Millisecond), float64(n)/max(elapsed.Seconds(), 1e-9))
			failures, err := app.Projections().Failures(ctx)
			if err != nil {
				return err
			}
			if len(failures) == 0 {
				return nil
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%d times a projector could not apply an event and skipped it (table projection_failures):\n", len(failures))
			for i, f := range failures {
				if i == maxFailuresListed {
					fmt.Fprintf(out, "  ... and %d more\n", len(failures)-i)
					break
				}
				fmt.Fprintf(out, "  %s: %s %s (%s version %d, at %s): %s\n", f.Projector, f.Type, f.EventID, f.Stream, f.Version, f.Position, f.Error)
			}
			return fmt.Errorf("replay: the read models were rebuilt without %d event applications", len(failures))
		},
	}
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress bar")
	return cmd
}
