package main

import (
	"github.com/spf13/cobra"
)

func newServeCommand(cfg *Config) *cobra.Command {
	var demo bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server: the engine, projections, built-in platforms and HTTP endpoints",
		Long: `Run the server until SIGINT or SIGTERM.

It creates the database if it does not exist, applies migrations (unless --migrate=false),
keeps the read models caught up with the event log, runs the engine (policy evaluation,
effects, re-checks) with the built-in web and log platforms on the configured bus
(POLICYKIT_BUS, default in-process), and serves the GraphQL API at /graphql (GraphiQL for a
browser; --graphql=false turns it off), /healthz and /readyz. With --engine=false it runs no
engine: the API records commands in the log and answers with the decision of the engine
running in ` + "`policykit engine`" + ` processes on the same database. With SLACK_SIGNING_SECRET set it
also runs the Slack adapter (/api/hooks/slack, /auth/slack/...).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger := newLogger(cfg.LogLevel)
			scfg := *cfg
			scfg.createDatabase = true
			if demo {
				demoSecretKey(&scfg, logger)
			}
			app, err := NewApp(cmd.Context(), scfg, logger)
			if err != nil {
				return err
			}
			defer app.Close()
			// Bind first, so that the demo's banner names the port really listened on and
			// is printed only once it is open.
			if _, err := app.Listen(); err != nil {
				return err
			}
			if demo {
				if err := setupDemo(cmd.Context(), app, cmd.OutOrStdout()); err != nil {
					return err
				}
			}
			return app.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "address to listen on (env POLICYKIT_HTTP_ADDR)")
	cmd.Flags().BoolVar(&cfg.AutoMigrate, "migrate", cfg.AutoMigrate, "apply database migrations before starting")
	cmd.Flags().BoolVar(&cfg.Engine, "engine", cfg.Engine, "run the engine, the built-in platforms and the Slack adapter in this process; --engine=false serves the API and the read models only, beside `policykit engine` processes")
	cmd.Flags().BoolVar(&cfg.GraphQL, "graphql", cfg.GraphQL, "serve the GraphQL API at /graphql and GraphiQL at /graphiql; --graphql=false turns it off (env POLICYKIT_GRAPHQL)")
	cmd.Flags().StringVar(&cfg.GraphQLAllowList, "graphql-allowlist", cfg.GraphQLAllowList, "run only the GraphQL operations of this persisted query manifest or directory of .graphql files; GraphiQL then does not work (env POLICYKIT_GRAPHQL_ALLOWLIST)")
	cmd.Flags().VarPF(&cfg.Registration, "registration", "", "let anyone create an account with GraphQL's register; default: on when --http-addr is loopback, else off (env POLICYKIT_REGISTRATION)").NoOptDefVal = "true"
	cmd.Flags().VarPF(&cfg.AnonymousIntrospection, "graphql-anonymous-introspection", "", "answer introspection without an API token or session; default: on when --http-addr is loopback, else off (env POLICYKIT_GRAPHQL_ANONYMOUS_INTROSPECTION)").NoOptDefVal = "true"
	cmd.Flags().DurationVar(&cfg.HTTPReadTimeout, "http-read-timeout", cfg.HTTPReadTimeout, "how long a client may take to send a whole request, body included (env POLICYKIT_HTTP_READ_TIMEOUT)")
	cmd.Flags().DurationVar(&cfg.HTTPReadHeaderTimeout, "http-read-header-timeout", cfg.HTTPReadHeaderTimeout, "how long a client may take to send a request's headers (env POLICYKIT_HTTP_READ_HEADER_TIMEOUT)")
	cmd.Flags().DurationVar(&cfg.HTTPIdleTimeout, "http-idle-timeout", cfg.HTTPIdleTimeout, "how long an idle keep-alive connection stays open (env POLICYKIT_HTTP_IDLE_TIMEOUT)")
	cmd.Flags().BoolVar(&demo, "demo", false, "create (once) a demo community with three members and print how to act as them")
	cmd.Flags().DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long to wait for in-flight work on shutdown")
	return cmd
}
