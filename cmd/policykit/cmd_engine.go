package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/policykit-go/policykit/bus"
)

// newEngineCommand runs one more engine process beside the servers: it takes commands from
// the shared bus in the engine's consumer group, so the processes share the work, and
// optimistic concurrency keeps every decision single.
func newEngineCommand(cfg *Config) *cobra.Command {
	addr := "127.0.0.1:8082"
	cmd := &cobra.Command{
		Use:   "engine",
		Short: "Run an engine process that shares the decisions with the servers over a shared bus",
		Long: `Run the engine (commands, policy evaluation, effects of the built-in platforms,
re-checks) and the read models, with only /healthz, /readyz and /metrics (unless
POLICYKIT_METRICS_ADDR moves it or POLICYKIT_METRICS=false) on --http-addr. Several
engine and serve processes on one database and one broker share the work: the bus must be
one they all reach (POLICYKIT_BUS=postgres, nats or amqp).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Bus.WithDefaults().Transport == bus.TransportGoChannel {
				return fmt.Errorf("an engine process needs a bus shared with the servers: set POLICYKIT_BUS to postgres, nats or amqp")
			}
			ecfg := *cfg
			ecfg.HTTPAddr, ecfg.GraphQL, ecfg.Engine = addr, false, true
			app, err := NewApp(cmd.Context(), ecfg, newLogger(cfg.LogLevel))
			if err != nil {
				return err
			}
			defer app.Close()
			return app.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&addr, "http-addr", addr, "where /healthz, /readyz and /metrics answer")
	return cmd
}
