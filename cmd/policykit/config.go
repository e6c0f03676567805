package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/sealed"
)

// secretBox is the Box of SecretKey; nil (connections without secrets only) when none is set.
func (c Config) secretBox() (*sealed.Box, error) {
	if c.SecretKey == "" {
		return nil, nil
	}
	key, err := sealed.ParseKey(c.SecretKey)
	if err != nil {
		return nil, err
	}
	return sealed.NewBox(key)
}

// Config is everything the binary needs to start. Defaults come first (DefaultConfig), then
// the environment, then flags; Validate reports every problem at once.
type Config struct {
	DatabaseURL string // POLICYKIT_DATABASE_URL
	// EventStore (POLICYKIT_EVENTSTORE) holds the event log: "postgres" (the default, in the
	// database of DatabaseURL) or "kurrentdb" (the KurrentDB server of KurrentDBURL,
	// POLICYKIT_KURRENTDB_URL). Read models and everything else stay in Postgres.
	EventStore      string
	KurrentDBURL    string
	HTTPAddr        string        // POLICYKIT_HTTP_ADDR
	LogLevel        string        // POLICYKIT_LOG_LEVEL: debug, info, warn, error
	ShutdownTimeout time.Duration // how long serve waits for in-flight work on SIGTERM
	ProjectionBatch int           // events per projection transaction
	AutoMigrate     bool          // serve applies migrations before starting

	Bus             bus.Config    // POLICYKIT_BUS and friends
	Engine          bool          // run the engine (commands, evaluation, effects, re-checks)
	RecheckInterval time.Duration // POLICYKIT_RECHECK_INTERVAL: how often pending proposals are checked
	// ReadyMaxLag (POLICYKIT_READY_MAX_LAG): /readyz answers not ready while the oldest event
	// the read models have not yet applied is older than this.
	ReadyMaxLag     time.Duration
	SandboxWorkers  int           // POLICYKIT_SANDBOX_WORKERS: policy evaluation processes
	SandboxMemory   int64         // bytes per evaluation process
	SandboxDeadline time.Duration // wall-clock limit of one policy block
	// LogPlatforms are the platforms whose effects the built-in log adapter performs
	// (POLICYKIT_LOG_PLATFORMS, comma-separated): "log" itself, and any platform it stands in
	// for in demos and tests.
	LogPlatforms []string
	// SecretKey (POLICYKIT_SECRET_KEY) is the base64 of the 32-byte key that seals the
	// secrets of communities' platform connections (API keys, webhook secrets) before they are
	// proposed, and opens them where an adapter needs one. Without it, connecting a platform
	// with secrets is refused. Keep it apart from the database: the log holds only ciphertext.
	SecretKey string
	// WebBaseURL prefixes links to proposals made by the web platform (POLICYKIT_BASE_URL).
	WebBaseURL string
	// GraphQL serves the GraphQL API at /graphql (GraphiQL there for a browser, and at
	// /graphiql): on unless POLICYKIT_GRAPHQL=false. Callers authenticate with an account's
	// session or API token (policykit account); nothing but register and login answers
	// without one.
	GraphQL bool
	// badGraphQL holds a POLICYKIT_GRAPHQL that is not a boolean, for Validate to report.
	badGraphQL string
	// GraphQLAllowList is a file or directory of the only operations the GraphQL API runs
	// (POLICYKIT_GRAPHQL_ALLOWLIST; graph.LoadAllowList reads it). Empty: any operation runs.
	// A list that cannot be read or verified stops start-up rather than leave the API open.
	GraphQLAllowList string
	// Registration lets anyone create an account through GraphQL's register
	// (POLICYKIT_REGISTRATION, --registration). Unset, it is on when the server listens on
	// loopback only (HTTPAddr's host is localhost or a loopback address) and off otherwise,
	// where an operator creates accounts (policykit account create).
	Registration AutoBool
	// AnonymousIntrospection lets callers without a token or session introspect the
	// GraphQL schema (POLICYKIT_GRAPHQL_ANONYMOUS_INTROSPECTION,
	// --graphql-anonymous-introspection). Unset, like Registration: on on loopback only.
	AnonymousIntrospection AutoBool

	// HTTPReadTimeout bounds reading a whole request, body included
	// (POLICYKIT_HTTP_READ_TIMEOUT), so that a client sending slowly cannot hold a
	// connection; websockets are exempt once upgraded. HTTPReadHeaderTimeout bounds the
	// headers (POLICYKIT_HTTP_READ_HEADER_TIMEOUT), HTTPIdleTimeout an idle keep-alive
	// connection (POLICYKIT_HTTP_IDLE_TIMEOUT).
	HTTPReadTimeout, HTTPReadHeaderTimeout, HTTPIdleTimeout time.Duration

	// Metrics serves Prometheus metrics at /metrics (POLICYKIT_METRICS, on unless false): on
	// the main listener, or, when MetricsAddr (POLICYKIT_METRICS_ADDR, host:port) is set, on
	// a listener of its own that serves nothing else, so they need not be public.
	Metrics     bool
	MetricsAddr string
	badMetrics  string
	// Tracing sends OpenTelemetry traces over OTLP/HTTP to TracingEndpoint
	// (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT with /v1/traces
	// added). POLICYKIT_TRACING; unset, it is on when an endpoint is set.
	Tracing         AutoBool
	TracingEndpoint string
	// tracerProvider, when set (tests), is the provider traces go to instead of OTLP.
	tracerProvider trace.TracerProvider

	// sandboxCommand and sandboxArgs start evaluation workers; empty means this binary.
	// Tests point them at the test binary.
	sandboxCommand string
	sandboxArgs    []string
	// createDatabase lets NewApp create a missing database: serve does, the other commands
	// say it does not exist rather than work on an empty one made from a typo.
	createDatabase bool
	// getenv reads the platform adapters' settings (their Sections: SLACK_*, ...); nil means
	// os.Getenv.
	getenv func(string) string
	// now is the engine's clock, by which proposals age and come due for re-checks; nil
	// means time.Now. Tests set a virtual clock to live through a vote of several days.
	now func() time.Time
}

// defaultTracingEndpoint is where traces go when POLICYKIT_TRACING is on and no endpoint is
// set: a collector on this machine (OTLP/HTTP's default port).
const defaultTracingEndpoint = "http://localhost:4318/v1/traces"

// tracingEndpoint is where traces go, "" when tracing is off.
func (c Config) tracingEndpoint() string {
	if !c.Tracing.On(c.TracingEndpoint != "") {
		return ""
	}
	if c.TracingEndpoint == "" {
		return defaultTracingEndpoint
	}
	return c.TracingEndpoint
}

// DefaultConfig returns the configuration a newcomer gets with nothing set.
func DefaultConfig() Config {
	return Config{
		DatabaseURL:     "postgres://localhost:5432/policykit?sslmode=disable",
		EventStore:      EventStorePostgres,
		HTTPAddr:        "127.0.0.1:8080",
		LogLevel:        "info",
		ShutdownTimeout: 10 * time.Second,
		ProjectionBatch: 2000,
		AutoMigrate:     true,
		Bus:             bus.DefaultConfig(),
		Engine:          true,
		RecheckInterval: 30 * time.Second,
		ReadyMaxLag:     30 * time.Second,
		SandboxWorkers:  2,
		SandboxMemory:   256 << 20,
		SandboxDeadline: time.Second,
		LogPlatforms:    []string{"log"},
		WebBaseURL:      "http://127.0.0.1:8080",
		GraphQL:         true,
		Metrics:         true,

		HTTPReadTimeout:       30 * time.Second,
		HTTPReadHeaderTimeout: 10 * time.Second,
		HTTPIdleTimeout:       2 * time.Minute,
	}
}

// FromEnv overlays the POLICYKIT_* environment variables that are set.
func (c Config) FromEnv(getenv func(string) string) Config {
	if v := getenv("POLICYKIT_DATABASE_URL"); v != "" {
		c.DatabaseURL = v
	}
	if v := getenv("POLICYKIT_EVENTSTORE"); v != "" {
		c.EventStore = v
	}
	if v := getenv("POLICYKIT_KURRENTDB_URL"); v != "" {
		c.KurrentDBURL = v
	}
	if v := getenv("POLICYKIT_HTTP_ADDR"); v != "" {
		c.HTTPAddr = v
	}
	if v := getenv("POLICYKIT_LOG_LEVEL"); v != "" {
		c.LogLevel = v
	}
	c.Bus = c.Bus.FromEnv(getenv)
	if v := getenv("POLICYKIT_RECHECK_INTERVAL"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			c.RecheckInterval = d
		} else {
			c.RecheckInterval = -1 // reported by Validate
		}
	}
	if v := getenv("POLICYKIT_READY_MAX_LAG"); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			c.ReadyMaxLag = d
		} else {
			c.ReadyMaxLag = -1 // reported by Validate
		}
	}
	if v := getenv("POLICYKIT_SANDBOX_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			n = -1
		}
		c.SandboxWorkers = n
	}
	if v := getenv("POLICYKIT_LOG_PLATFORMS"); v != "" {
		c.LogPlatforms = strings.Split(v, ",")
	}
	if v := getenv("POLICYKIT_GRAPHQL"); v != "" {
		if on, err := strconv.ParseBool(v); err == nil {
			c.GraphQL = on
		} else {
			c.badGraphQL = v
		}
	}
	for _, b := range []struct {
		env string
		to  *AutoBool
	}{{"POLICYKIT_REGISTRATION", &c.Registration}, {"POLICYKIT_GRAPHQL_ANONYMOUS_INTROSPECTION", &c.AnonymousIntrospection}} {
		if v := getenv(b.env); v != "" {
			_ = b.to.Set(v) // a bad value is kept for Validate
		}
	}
	for _, d := range []struct {
		env string
		to  *time.Duration
	}{
		{"POLICYKIT_HTTP_READ_TIMEOUT", &c.HTTPReadTimeout},
		{"POLICYKIT_HTTP_READ_HEADER_TIMEOUT", &c.HTTPReadHeaderTimeout},
		{"POLICYKIT_HTTP_IDLE_TIMEOUT", &c.HTTPIdleTimeout},
	} {
		if v := getenv(d.env); v != "" {
			if t, err := time.ParseDuration(v); err == nil {
				*d.to = t
			} else {
				*d.to = -1 // reported by Validate
			}
		}
	}
	if v := getenv("POLICYKIT_GRAPHQL_ALLOWLIST"); v != "" {
		c.GraphQLAllowList = v
	}
	if v := getenv("POLICYKIT_BASE_URL"); v != "" {
		c.WebBaseURL = strings.TrimRight(v, "/")
	}
	if v := getenv("POLICYKIT_SECRET_KEY"); v != "" {
		c.SecretKey = v
	}
	if v := getenv("POLICYKIT_METRICS"); v != "" {
		if on, err := strconv.ParseBool(v); err == nil {
			c.Metrics = on
		} else {
			c.badMetrics = v
		}
	}
	if v := getenv("POLICYKIT_METRICS_ADDR"); v != "" {
		c.MetricsAddr = v
	}
	if v := getenv("POLICYKIT_TRACING"); v != "" {
		_ = c.Tracing.Set(v) // a bad value is kept for Validate
	}
	if v := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); v != "" {
		c.TracingEndpoint = v
	} else if v := getenv("OTEL_EXPORTER_OTLP_ENDPOINT"); v != "" {
		c.TracingEndpoint = strings.TrimRight(v, "/") + "/v1/traces"
	}
	return c
}

// Validate checks every field and returns all problems joined, each naming its field.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		errs = append(errs, fmt.Errorf("database URL %q: want postgres://user@host:port/db", redact(c.DatabaseURL)))
	}
	errs = append(errs, c.validateEventStore()...)
	if c.HTTPAddr == "" || !strings.Contains(c.HTTPAddr, ":") {
		errs = append(errs, fmt.Errorf("http addr %q: want host:port", c.HTTPAddr))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("log level: %w", err))
	}
	if c.SecretKey != "" {
		if _, err := sealed.ParseKey(c.SecretKey); err != nil {
			errs = append(errs, fmt.Errorf("POLICYKIT_SECRET_KEY: %w", err))
		}
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown timeout %s: must be positive", c.ShutdownTimeout))
	}
	if c.ProjectionBatch <= 0 || c.ProjectionBatch > 10000 {
		errs = append(errs, fmt.Errorf("projection batch %d: must be 1..10000", c.ProjectionBatch))
	}
	if c.ReadyMaxLag <= 0 {
		errs = append(errs, fmt.Errorf("POLICYKIT_READY_MAX_LAG %s: must be a positive duration such as 30s", c.ReadyMaxLag))
	}
	if c.RecheckInterval <= 0 {
		errs = append(errs, fmt.Errorf("recheck interval: must be a positive duration such as 30s"))
	}
	if c.SandboxWorkers < 1 || c.SandboxWorkers > 64 {
		errs = append(errs, fmt.Errorf("sandbox workers %d: must be 1..64", c.SandboxWorkers))
	}
	if c.badGraphQL != "" {
		errs = append(errs, fmt.Errorf("graphql %q: want true or false", c.badGraphQL))
	}
	if c.Registration.bad != "" {
		errs = append(errs, fmt.Errorf("registration %q: want true or false", c.Registration.bad))
	}
	if c.AnonymousIntrospection.bad != "" {
		errs = append(errs, fmt.Errorf("graphql anonymous introspection %q: want true or false", c.AnonymousIntrospection.bad))
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"http read timeout", c.HTTPReadTimeout}, {"http read header timeout", c.HTTPReadHeaderTimeout}, {"http idle timeout", c.HTTPIdleTimeout}} {
		if d.d <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be a positive duration such as 30s", d.name))
		}
	}
	if c.badMetrics != "" {
		errs = append(errs, fmt.Errorf("POLICYKIT_METRICS %q: want true or false", c.badMetrics))
	}
	if c.MetricsAddr != "" && !strings.Contains(c.MetricsAddr, ":") {
		errs = append(errs, fmt.Errorf("POLICYKIT_METRICS_ADDR %q: want host:port", c.MetricsAddr))
	}
	if c.Tracing.bad != "" {
		errs = append(errs, fmt.Errorf("POLICYKIT_TRACING %q: want true or false", c.Tracing.bad))
	}
	if c.TracingEndpoint != "" {
		if u, err := url.Parse(c.TracingEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("OTLP traces endpoint %q: want an http(s) URL such as http://collector:4318/v1/traces", c.TracingEndpoint))
		}
	}
	b := c.Bus.WithDefaults()
	if b.Transport == bus.TransportPostgres && b.Postgres == nil {
		b.Postgres = &pgxpool.Pool{} // the App passes its own pool; only the other fields are checked here
	}
	if err := b.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("bus: %w", err))
	}
	// Each adapter's own settings (SLACK_*), when it is enabled.
	if err := adapterRegistry(c.LogPlatforms).Validate(c.getenvOf()); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q is not one of debug, info, warn, error", s)
	}
	return l, nil
}

func newLogger(level string) *slog.Logger {
	l, err := parseLevel(level)
	if err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// redact hides a password in a database URL before it is printed.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// AutoBool is a setting that is on, off, or unset (then its default depends on other
// settings). It is a command-line flag value: --flag alone means true.
type AutoBool struct {
	set, on bool
	bad     string // a value that is no boolean, for Validate
}

// On returns the setting, or def when it is unset.
func (b AutoBool) On(def bool) bool {
	if b.set {
		return b.on
	}
	return def
}

func (b *AutoBool) Set(s string) error {
	on, err := strconv.ParseBool(s)
	if err != nil {
		b.bad = s
		return fmt.Errorf("want true or false")
	}
	*b = AutoBool{set: true, on: on}
	return nil
}

func (b *AutoBool) String() string {
	if b == nil || !b.set {
		return "auto"
	}
	return strconv.FormatBool(b.on)
}

func (*AutoBool) Type() string { return "bool" }

// loopbackOnly reports whether addr (host:port) listens on loopback only: its host is
// localhost or a loopback IP. An empty host listens everywhere.
func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// registrationOn is whether GraphQL's register creates accounts (see Registration).
func (c Config) registrationOn() bool { return c.Registration.On(loopbackOnly(c.HTTPAddr)) }

// anonymousIntrospectionOn is whether callers without credentials may introspect.
func (c Config) anonymousIntrospectionOn() bool {
	return c.AnonymousIntrospection.On(loopbackOnly(c.HTTPAddr))
}
