package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
)

// newAdapterCommand has one subcommand per registered adapter that may run as its own
// process: `policykit adapter NAME`.
func newAdapterCommand(cfg *Config) *cobra.Command {
	cmd := &cobra.Command{Use: "adapter", Short: "Run a platform adapter as its own process, meeting the engine on the bus"}
	for _, reg := range adapterRegistry(nil).All() {
		if reg.Standalone {
			cmd.AddCommand(newAdapterRunCommand(cfg, reg))
		}
	}
	return cmd
}

func newAdapterRunCommand(cfg *Config, reg platform.Registration) *cobra.Command {
	addr := "127.0.0.1:8081"
	cmd := &cobra.Command{
		Use:   reg.Name,
		Short: "Run " + reg.Short + ", alone, on a shared bus",
		Long: `Serve the adapter's HTTP routes and carry out the engine's effects for its platform, talking
to the engine (a policykit serve elsewhere) only through the bus. The bus must be one both
processes reach: POLICYKIT_BUS=postgres, nats or amqp. The adapter is configured as for serve
(for Slack: SLACK_SIGNING_SECRET, SLACK_TEAM_ID, SLACK_BOT_TOKEN, ...; with SLACK_APP_TOKEN
set, events and vote clicks also arrive over Socket Mode, so that Slack needs no public
Request URL). It keeps its own directory of communities and members from the events on the
bus, caught up from the event log at start.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if cfg.Bus.WithDefaults().Transport == bus.TransportGoChannel {
				return errors.New("the adapter alone needs a bus shared with the server: set POLICYKIT_BUS to postgres, nats or amqp")
			}
			logger := newLogger(cfg.LogLevel)
			pool, err := openDatabase(ctx, cfg, false)
			if err != nil {
				return err
			}
			defer pool.Close()
			store, closeStore, err := newEventStore(ctx, cfg, pool, logger)
			if err != nil {
				return err
			}
			defer closeStore()
			bcfg := cfg.Bus
			bcfg.Postgres = pool
			b, err := bus.Open(ctx, bcfg, logger.With("component", "bus"))
			if err != nil {
				return err
			}
			defer b.Close()
			box, err := cfg.secretBox()
			if err != nil {
				return err
			}
			a, err := newStandalone(ctx, reg, pool, store, b, cfg.getenvOf(), box, cfg.WebBaseURL, logger.With("component", reg.Name))
			if err != nil {
				return err
			}
			if a == nil {
				return fmt.Errorf("the %s adapter is not configured: see the README for its settings", reg.Name)
			}
			defer a.Close()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
			errc := make(chan error, 2)
			go func() { errc <- a.Run(ctx, b, nil) }()
			go func() { errc <- srv.Serve(ln) }()
			logger.Info(reg.Name+" adapter serving", "addr", ln.Addr().String(), "bus", bcfg.Transport)
			select {
			case <-ctx.Done():
			case err = <-errc:
			}
			shutdown, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
			defer cancel()
			_ = srv.Shutdown(shutdown)
			if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "http-addr", addr, "where the platform's requests arrive")
	return cmd
}
