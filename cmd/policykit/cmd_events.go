package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
)

func newEventsCommand(cfg *Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Read the event log: tail it, or export it as JSON lines",
	}
	cmd.AddCommand(newEventsTailCommand(cfg), newEventsExportCommand(cfg))
	return cmd
}

// openStore connects and migrates, for commands that read or write the log without serving.
func openStore(ctx context.Context, cfg *Config) (eventstore.Store, func(), error) {
	pool, err := openDatabase(ctx, cfg, false)
	if err != nil {
		return nil, nil, err
	}
	store, closeStore, err := newEventStore(ctx, cfg, pool, nil)
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return store, func() { closeStore(); pool.Close() }, nil
}

func newEventsTailCommand(cfg *Config) *cobra.Command {
	var from, stream string
	var follow bool
	var last int
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print events of the log (or of one stream) in order; --follow waits for new ones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			store, closeFn, err := openStore(ctx, cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			out := cmd.OutOrStdout()
			if stream != "" {
				return tailStream(ctx, store, stream, last, out)
			}
			after := eventstore.Start
			if from != "" {
				if after, err = eventstore.ParsePosition(from); err != nil {
					return err
				}
			}
			if !follow {
				for ev, err := range eventstore.All(ctx, store, after) {
					if err == nil {
						err = printEvent(out, ev)
					}
					if err != nil {
						return err
					}
				}
				return nil
			}
			err = store.Subscribe(ctx, after, func(_ context.Context, evs []eventstore.RecordedEvent) error {
				for _, ev := range evs {
					if err := printEvent(out, ev); err != nil {
						return err
					}
				}
				return nil
			})
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "start after this position (commit:seq, as printed)")
	cmd.Flags().StringVar(&stream, "stream", "", "print one stream (e.g. proposal-<id>) instead of the whole log")
	cmd.Flags().IntVar(&last, "last", 0, "with --stream: only the last N events")
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new events as they commit")
	return cmd
}

func tailStream(ctx context.Context, store eventstore.Store, stream string, last int, out io.Writer) error {
	var evs []eventstore.RecordedEvent
	if last > 0 {
		back, err := store.ReadStream(ctx, stream, eventstore.Backward, 0, last)
		if err != nil {
			return err
		}
		for i := len(back) - 1; i >= 0; i-- {
			evs = append(evs, back[i])
		}
	} else {
		all, err := engine.ReadStream(ctx, store, stream)
		if err != nil {
			return err
		}
		evs = all
	}
	if len(evs) == 0 {
		return fmt.Errorf("stream %q has no events", stream)
	}
	for _, ev := range evs {
		if err := printEvent(out, ev); err != nil {
			return err
		}
	}
	return nil
}

func printEvent(w io.Writer, ev eventstore.RecordedEvent) error {
	_, err := fmt.Fprintf(w, "%-14s %s  %s@%d  %s  %s\n", ev.Position, ev.RecordedAt.UTC().Format(time.RFC3339Nano), ev.Stream, ev.Version, ev.Type, ev.Data)
	return err
}

func newEventsExportCommand(cfg *Config) *cobra.Command {
	var from, output string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the whole event log (or from a position) as JSON lines, one event per line",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			store, closeFn, err := openStore(ctx, cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			after := eventstore.Start
			if from != "" {
				if after, err = eventstore.ParsePosition(from); err != nil {
					return err
				}
			}
			w := cmd.OutOrStdout()
			if output != "" && output != "-" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			enc := json.NewEncoder(w)
			n := 0
			for ev, err := range eventstore.All(ctx, store, after) {
				if err == nil {
					err = enc.Encode(bus.EnvelopeOf(ev))
				}
				if err != nil {
					return err
				}
				n++
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "exported %d events\n", n)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "start after this position (commit:seq)")
	cmd.Flags().StringVarP(&output, "output", "o", "-", "file to write (default standard output)")
	return cmd
}
