package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/adapters/logplatform"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/graph"
	"github.com/policykit-go/policykit/identity"
	"github.com/policykit-go/policykit/internal/telemetry"
	"github.com/policykit-go/policykit/policysandbox"
	"github.com/policykit-go/policykit/projections"
	"github.com/policykit-go/policykit/sealed"
	"github.com/policykit-go/policykit/web"
)

// App wires every part of the product from one Config. The binary's commands and the
// end-to-end tests build the same App.
type App struct {
	cfg   Config
	log   *slog.Logger
	pool  *pgxpool.Pool
	store eventstore.Store
	// closeStore closes the store's own connection (KurrentDB); Postgres shares pool.
	closeStore func()
	runner     *projections.Runner
	listener   net.Listener
	server     *http.Server

	bus       *bus.Bus
	evaluator *policysandbox.Evaluator
	engine    *engine.Engine
	service   *engine.Service
	logp      *logplatform.Platform
	graphql   http.Handler
	// adapters are the enabled platform adapters; unconfigured the routes of the others,
	// answered with what to set; directory is kept from the bus when an adapter needs it.
	adapters     []platform.Adapter
	unconfigured map[string]string
	directory    platform.Directory
	// box seals connection secrets where members give them (the API) and opens them where
	// adapters need them; nil without POLICYKIT_SECRET_KEY.
	box *sealed.Box
	// tel is the metrics and traces the App reports (telemetry.go).
	tel appTelemetry

	mu      sync.Mutex
	running bool
}

// NewApp connects to the database (creating it when absent only for serve), applies
// migrations when cfg.AutoMigrate is set, and builds the store and projections. It does not listen yet.
func NewApp(ctx context.Context, cfg Config, logger *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	box, err := cfg.secretBox()
	if err != nil {
		return nil, fmt.Errorf("POLICYKIT_SECRET_KEY: %w", err)
	}
	tuneGC(cfg.getenvOf(), logger)
	pool, err := openPool(ctx, cfg.DatabaseURL, cfg.createDatabase)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: logger, pool: pool, box: box}
	if cfg.AutoMigrate {
		if err := migrateAll(ctx, pool); err != nil {
			pool.Close()
			return nil, err
		}
	}
	if a.store, a.closeStore, err = newEventStore(ctx, &cfg, pool, logger); err != nil {
		pool.Close()
		return nil, err
	}
	a.runner = projections.NewRunner(a.store, pool, cfg.ProjectionBatch, logger.With("component", "projections"), projections.All()...)
	if err := a.startTelemetry(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if cfg.Engine {
		if err := a.startEngine(ctx); err != nil {
			a.Close()
			return nil, err
		}
	}
	if cfg.GraphQL {
		if err := a.startGraphQL(ctx); err != nil {
			a.Close()
			return nil, err
		}
	}
	return a, nil
}

// startGraphQL builds the GraphQL API. Its mutations record commands in the log and wait
// for the engine's decision, made in this process or in a `policykit engine` process on the
// same database; it needs the policy sandbox only to check proposed policy code and to
// re-run recorded decisions, and starts one of its own when the engine does not run here.
func (a *App) startGraphQL(ctx context.Context) error {
	var allow graph.AllowList
	var err error
	if a.cfg.GraphQLAllowList != "" {
		if allow, err = graph.LoadAllowList(a.cfg.GraphQLAllowList); err != nil {
			return fmt.Errorf("graphql: %w", err)
		}
		a.log.Info("graphql: only the allow-list's operations run", "operations", len(allow))
	}
	var loop *evaluation.Loop
	if a.engine != nil {
		loop = a.engine.Loop()
	} else {
		if a.evaluator, err = a.newEvaluator(ctx); err != nil {
			return err
		}
		loop = evaluation.New(telemetry.Evaluator(a.evaluator, a.tel.metrics, a.tel.tracer), a.cfg.RecheckInterval)
		a.tel.metrics.WatchSandbox(a.evaluator.Stats)
	}
	a.graphql, err = graph.NewHandler(graph.Deps{
		DB: a.pool, Store: a.store, Decided: engine.PostgresDecided{Pool: a.pool}, Projections: a.runner, Loop: loop,
		Log: a.log.With("component", "graphql"), AllowList: allow, Now: a.cfg.now, Secrets: a.box,
		DisableRegistration:           !a.cfg.registrationOn(),
		DisableAnonymousIntrospection: !a.cfg.anonymousIntrospectionOn(),
		BaseURL:                       a.cfg.WebBaseURL, InstallLinks: installLinks(a.cfg.getenvOf(), a.cfg.WebBaseURL),
		Extensions: a.graphQLExtensions(),
	})
	if err != nil {
		return fmt.Errorf("graphql: %w", err)
	}
	return nil
}

// newEvaluator starts the policy sandbox.
func (a *App) newEvaluator(ctx context.Context) (*policysandbox.Evaluator, error) {
	return policysandbox.New(ctx, policysandbox.Options{
		Workers: a.cfg.SandboxWorkers, MemoryLimit: a.cfg.SandboxMemory, Deadline: a.cfg.SandboxDeadline,
		Command: a.cfg.sandboxCommand, Args: a.cfg.sandboxArgs,
	}, a.log.With("component", "sandbox"))
}

// startEngine connects the bus, starts the policy sandbox and builds the engine service and
// the built-in adapters; Run runs them.
func (a *App) startEngine(ctx context.Context) error {
	bcfg := a.cfg.Bus
	bcfg.Postgres = a.pool
	if a.tel.metrics != nil {
		bcfg.Observer = a.tel.metrics
	}
	bcfg.Tracing = a.tel.tracer
	b, err := bus.Open(ctx, bcfg, a.log.With("component", "bus"))
	if err != nil {
		return fmt.Errorf("bus: %w", err)
	}
	a.bus = b
	ev, err := a.newEvaluator(ctx)
	if err != nil {
		return err
	}
	a.evaluator = ev
	a.engine = engine.New(a.store, evaluation.New(telemetry.Evaluator(ev, a.tel.metrics, a.tel.tracer), a.cfg.RecheckInterval), a.log.With("component", "engine"), a.cfg.now)
	a.service = &engine.Service{
		Engine: a.engine, Store: a.store, Bus: b,
		Checkpoints:    engine.PostgresCheckpoints{Pool: a.pool},
		OpenProposals:  a.openProposals,
		PendingActions: a.pendingActions,
		Decided:        engine.PostgresDecided{Pool: a.pool},
		Parallel:       4 * a.cfg.SandboxWorkers,
		Leadership: func(ctx context.Context, fn func(context.Context) error) error {
			return engine.RunAsLeader(ctx, a.pool, "engine", 2*time.Second, fn)
		},
		Log: a.log.With("component", "engine"),
	}
	a.instrumentEngine(ev, a.service)
	if err := a.buildAdapters(ctx); err != nil {
		return err
	}
	return nil
}

// openProposals lists the pending proposals from the read model, for the re-check schedule.
func (a *App) openProposals(ctx context.Context) ([]engine.ProposalRef, error) {
	return queryRefs[engine.ProposalRef](ctx, a.pool, `SELECT community_id, id FROM proposals WHERE status = 'PROPOSED'`)
}

// pendingActions lists the actions recorded but not decided yet, from the read model.
func (a *App) pendingActions(ctx context.Context) ([]engine.ActionRef, error) {
	return queryRefs[engine.ActionRef](ctx, a.pool, `SELECT community_id, id FROM actions WHERE status = 'proposed' ORDER BY proposed_at`)
}

// queryRefs reads (community id, id) rows into T's two fields.
func queryRefs[T any](ctx context.Context, pool *pgxpool.Pool, sql string) ([]T, error) {
	rows, err := pool.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[T])
}

// Bus is the App's message bus (nil when the engine is off).
func (a *App) Bus() *bus.Bus { return a.bus }

// Engine is the App's engine (nil when the engine is off).
func (a *App) Engine() *engine.Engine { return a.engine }

// LogPlatform is the built-in log adapter's record of the effects it performed.
func (a *App) LogPlatform() *logplatform.Platform { return a.logp }

// buildAdapters builds the enabled adapters of the registry. An enabled adapter's platform is
// no longer one the log adapter stands in for, or both would answer its effects.
func (a *App) buildAdapters(ctx context.Context) error {
	getenv := a.cfg.getenvOf()
	var standIns []string
	for _, reg := range adapterRegistry(nil).All() {
		if reg.Name != domain.PlatformLog && slices.Contains(a.cfg.LogPlatforms, reg.Name) && reg.Config(getenv).Enabled() {
			a.log.Warn(reg.Name + " is configured: the log platform no longer stands in for it")
			standIns = append(standIns, reg.Name)
		}
	}
	if len(standIns) > 0 {
		a.cfg.LogPlatforms = slices.DeleteFunc(slices.Clone(a.cfg.LogPlatforms), func(p string) bool { return slices.Contains(standIns, p) })
	}
	a.unconfigured = map[string]string{}
	dir := platform.PostgresDirectory{Pool: a.pool, Name: "serve"}
	host := adapterHost(a.pool, a.bus, a.store, dir, a.box, a.cfg.WebBaseURL, a.log)
	for _, reg := range adapterRegistry(a.cfg.LogPlatforms).All() {
		sec := reg.Config(getenv)
		if !sec.Enabled() {
			for pattern, msg := range reg.Unconfigured {
				a.unconfigured[pattern] = msg
			}
			continue
		}
		if reg.NeedsDirectory {
			a.directory = dir
		}
		h := host
		h.Log = a.log.With("component", reg.Name)
		ad, err := reg.New(ctx, sec, h)
		if err != nil {
			return fmt.Errorf("%s adapter: %w", reg.Name, err)
		}
		a.adapters = append(a.adapters, ad)
		if l, ok := ad.(*logplatform.Adapter); ok {
			a.logp = l.Platform
		}
	}
	return nil
}

func migrateAll(ctx context.Context, pool *pgxpool.Pool) error {
	if err := postgres.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrate event store: %w", err)
	}
	if err := projections.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrate projections: %w", err)
	}
	if err := engine.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrate engine: %w", err)
	}
	if err := platform.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrate the platform kit: %w", err)
	}
	for _, reg := range adapterRegistry(nil).All() {
		if reg.Migrate != nil {
			if err := reg.Migrate(ctx, pool); err != nil {
				return fmt.Errorf("migrate %s adapter: %w", reg.Name, err)
			}
		}
	}
	if err := identity.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrate graphql accounts: %w", err)
	}
	return nil
}

// Store is the event store the App writes to.
func (a *App) Store() eventstore.Store { return a.store }

// Pool is the App's database pool.
func (a *App) Pool() *pgxpool.Pool { return a.pool }

// Projections is the App's projection runner.
func (a *App) Projections() *projections.Runner { return a.runner }

// Listen binds the HTTP address (":0" picks a free port) and returns the bound address.
func (a *App) Listen() (string, error) {
	ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
	if err != nil {
		return "", fmt.Errorf("listen on %s: %w", a.cfg.HTTPAddr, err)
	}
	if err := a.listenMetrics(); err != nil {
		ln.Close()
		return "", err
	}
	a.listener = ln
	a.server = &http.Server{
		Handler:           a.instrumentHTTP(a.routes()),
		ReadTimeout:       a.cfg.HTTPReadTimeout,
		ReadHeaderTimeout: a.cfg.HTTPReadHeaderTimeout,
		IdleTimeout:       a.cfg.HTTPIdleTimeout,
	}
	return ln.Addr().String(), nil
}

// LocalURL is the address to reach this App's HTTP server from this machine: the bound
// address once listening (an unspecified host named as loopback), else cfg.WebBaseURL.
func (a *App) LocalURL() string {
	if a.listener == nil {
		return a.cfg.WebBaseURL
	}
	host, port, err := net.SplitHostPort(a.listener.Addr().String())
	if err != nil {
		return a.cfg.WebBaseURL
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Run serves HTTP and keeps the projections caught up until ctx ends, then shuts down
// gracefully within cfg.ShutdownTimeout. It listens first if Listen was not called.
func (a *App) Run(ctx context.Context) error {
	if a.listener == nil {
		if _, err := a.Listen(); err != nil {
			return err
		}
	}
	a.log.Info("serving", "addr", a.listener.Addr().String())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 5)
	var wg sync.WaitGroup
	if a.service != nil {
		a.runEngine(ctx, cancel, &wg, errc)
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		keepRunning(ctx, a.log.With("component", "projections"), "projections", a.runner.Run)
	}()
	go func() {
		defer wg.Done()
		if err := a.server.Serve(a.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
			cancel()
		}
	}()
	a.serveMetrics(&wg, errc, cancel)
	a.setRunning(true)
	<-ctx.Done()
	a.setRunning(false)
	shutdownCtx, done := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer done()
	if err := a.server.Shutdown(shutdownCtx); err != nil {
		a.log.Warn("http shutdown", "err", err)
	}
	a.shutdownMetrics(shutdownCtx)
	wg.Wait()
	close(errc)
	err := <-errc // nil when the shutdown was asked for
	if err != nil {
		a.log.Error("stopped", "err", err)
	} else {
		a.log.Info("stopped")
	}
	return err
}

// runEngine starts the engine service, the directory and the enabled adapters, and waits
// until they are subscribed, so that the App is ready when Run reports it running.
func (a *App) runEngine(ctx context.Context, cancel context.CancelFunc, wg *sync.WaitGroup, errc chan<- error) {
	run := func(name string, fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	run("engine", func() error { return a.service.Run(ctx) })
	waits := []<-chan struct{}{a.service.Ready()}
	if a.directory != nil {
		ready := make(chan struct{})
		run("directory", func() error {
			return platform.RunDirectory(ctx, a.bus, "platform-directory", a.directory, storeCatchUp(a.store), ready)
		})
		waits = append(waits, ready)
	}
	for _, ad := range a.adapters {
		ready := make(chan struct{})
		run(ad.Name()+" adapter", func() error { return ad.Run(ctx, a.bus, ready) })
		waits = append(waits, ready)
	}
	for _, ch := range waits {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

// Close releases the bus, the sandbox workers and the database pool. Call it after Run
// returns.
func (a *App) Close() error {
	for _, ad := range a.adapters {
		_ = ad.Close() // waits for its background work, which publishes on the bus
	}
	if a.bus != nil {
		_ = a.bus.Close()
	}
	if a.evaluator != nil {
		_ = a.evaluator.Close()
	}
	if a.closeStore != nil {
		a.closeStore()
	}
	a.pool.Close()
	a.closeTelemetry()
	return nil
}

func (a *App) setRunning(v bool) {
	a.mu.Lock()
	a.running = v
	a.mu.Unlock()
}

func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", a.readyz)
	if a.metricsOnMain() {
		mux.Handle("GET /metrics", a.tel.metrics.Handler())
	}
	for _, ad := range a.adapters {
		for pattern, h := range ad.Routes() {
			mux.Handle(pattern, h)
		}
	}
	unconfigured := a.unconfigured
	if unconfigured == nil { // no engine, so no adapters: say so at their routes
		unconfigured = map[string]string{}
		for _, reg := range adapterRegistry(nil).All() {
			for pattern, msg := range reg.Unconfigured {
				unconfigured[pattern] = msg
			}
		}
	}
	for pattern, msg := range unconfigured {
		mux.Handle(pattern, platform.NotConfigured(msg))
	}
	if a.graphql != nil {
		playground := graph.Playground("/graphql")
		mux.Handle("/graphql", withGraphiQL(a.graphql, playground))
		mux.Handle("GET /graphiql", playground)
		mux.Handle("GET "+graph.GraphiQLAssetsPath, graph.GraphiQLAssets())
		// The dashboard, last and at the broadest pattern, so every route above wins; its
		// pages (/, /proposals/<id> the web platform's vote link ...) all load the app.
		mux.Handle("/", web.Handler())
	}
	return mux
}

// withGraphiQL answers a browser opening /graphql (a GET asking for HTML) with GraphiQL, and
// every API request with the API.
func withGraphiQL(api, playground http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.RawQuery == "" && strings.Contains(r.Header.Get("Accept"), "text/html") {
			playground.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

// readyz answers 200 when the database answers and the App is running, with the projections'
// checkpoint so an operator can see how far the read models are.
func (a *App) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status := map[string]any{"status": "ready"}
	code := http.StatusOK
	if err := a.pool.Ping(ctx); err != nil {
		status["status"], status["database"] = "unavailable", err.Error()
		code = http.StatusServiceUnavailable
	} else if cp, err := a.runner.Checkpoint(ctx); err != nil {
		status["status"], status["projections"] = "unavailable", err.Error()
		code = http.StatusServiceUnavailable
	} else {
		status["projections_checkpoint"] = cp.String()
		// The oldest event not yet applied tells how far behind the read models are.
		if next, err := a.store.ReadAll(ctx, cp, 1); err != nil {
			status["status"], status["projections"] = "unavailable", err.Error()
			code = http.StatusServiceUnavailable
		} else if len(next) == 1 {
			lag := time.Since(next[0].RecordedAt)
			status["projections_lag_seconds"] = lag.Seconds()
			if lag > a.cfg.ReadyMaxLag {
				status["status"], status["projections"] = "lagging", fmt.Sprintf("%s behind the log, over %s", lag.Round(time.Second), a.cfg.ReadyMaxLag)
				code = http.StatusServiceUnavailable
			}
		}
	}
	a.mu.Lock()
	running := a.running
	a.mu.Unlock()
	if !running && code == http.StatusOK {
		status["status"], code = "starting", http.StatusServiceUnavailable
	}
	if running && a.service != nil && !a.service.Live() {
		status["status"], status["engine"], code = "unavailable", "not running", http.StatusServiceUnavailable
	}
	writeJSON(w, code, status)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
