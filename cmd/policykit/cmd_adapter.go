package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/policykit-go/policykit/bus"
)

func newAdapterCommand(cfg *Config) *cobra.Command {
	cmd := &cobra.Command{Use: "adapter", Short: "Run a platform adapter as its own process, meeting the engine on the bus"}
	addr := "127.0.0.1:8081"
	slack := &cobra.Command{
		Use:   "slack",
		Short: "Run the Slack adapter alone: its webhook endpoint and its effects, on a shared bus",
		Long: `Serve Slack's Events API and interactivity at POST /api/hooks/slack and carry out the
engine's Slack effects, talking to the engine (a policykit serve elsewhere) only through the
bus. The bus must be one both processes reach: POLICYKIT_BUS=postgres, nats or amqp. Slack
is configured as for serve (SLACK_SIGNING_SECRET, SLACK_TEAM_ID, SLACK_BOT_TOKEN, ...). With
SLACK_APP_TOKEN set, events and vote clicks also arrive over Socket Mode, so that Slack needs
no public Request URL.`,
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
			bcfg := cfg.Bus
			bcfg.Postgres = pool
			b, err := bus.Open(ctx, bcfg, logger.With("component", "bus"))
			if err != nil {
				return err
			}
			defer b.Close()
			getenv := cfg.getenv
			if getenv == nil {
				getenv = os.Getenv
			}
			a, err := newSlackAdapter(ctx, pool, b, getenv, logger.With("component", "slack"))
			if err != nil {
				return err
			}
			if a == nil {
				return errors.New("the Slack adapter is not configured: set SLACK_SIGNING_SECRET (see the README)")
			}
			defer a.Close()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			mux := http.NewServeMux()
			mux.Handle("POST /api/hooks/slack", a)
			srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
			errc := make(chan error, 3)
			go func() { errc <- a.Run(ctx, b, nil) }()
			go func() { errc <- srv.Serve(ln) }()
			if a.SocketMode() {
				go func() { errc <- a.RunSocketMode(ctx) }()
			}
			logger.Info("slack adapter serving", "addr", ln.Addr().String(), "bus", bcfg.Transport)
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
	slack.Flags().StringVar(&addr, "http-addr", addr, "where Slack's requests arrive")
	cmd.AddCommand(slack)
	return cmd
}
