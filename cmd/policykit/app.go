package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/projections"
)

// App wires every part of the product from one Config. The binary's commands and the
// end-to-end tests build the same App.
type App struct {
	cfg      Config
	log      *slog.Logger
	pool     *pgxpool.Pool
	store    eventstore.Store
	runner   *projections.Runner
	listener net.Listener
	server   *http.Server

	mu      sync.Mutex
	running bool
}

// NewApp connects to the database (creating it when absent), applies migrations when
// cfg.AutoMigrate is set, and builds the store and projections. It does not listen yet.
func NewApp(ctx context.Context, cfg Config, logger *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	pool, err := openPool(ctx, cfg.DatabaseURL, true)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: logger, pool: pool}
	if cfg.AutoMigrate {
		if err := migrateAll(ctx, pool); err != nil {
			pool.Close()
			return nil, err
		}
	}
	a.store = postgres.New(pool)
	a.runner = projections.NewRunner(a.store, pool, cfg.ProjectionBatch, logger.With("component", "projections"), projections.All()...)
	return a, nil
}

func migrateAll(ctx context.Context, pool *pgxpool.Pool) error {
	if err := postgres.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrate event store: %w", err)
	}
	if err := projections.Migrate(ctx, pool); err != nil {
		return fmt.Errorf("migrate projections: %w", err)
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
	a.listener = ln
	a.server = &http.Server{Handler: a.routes(), ReadHeaderTimeout: 10 * time.Second}
	return ln.Addr().String(), nil
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
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		err := a.runner.Run(ctx)
		if err != nil && !errors.Is(err, context.Canceled) {
			errc <- fmt.Errorf("projections: %w", err)
			cancel()
		}
	}()
	go func() {
		defer wg.Done()
		if err := a.server.Serve(a.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
			cancel()
		}
	}()
	a.setRunning(true)
	<-ctx.Done()
	a.setRunning(false)
	shutdownCtx, done := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer done()
	if err := a.server.Shutdown(shutdownCtx); err != nil {
		a.log.Warn("http shutdown", "err", err)
	}
	wg.Wait()
	close(errc)
	err := <-errc // nil when the shutdown was asked for
	a.log.Info("stopped", "err", err)
	return err
}

// Close releases the database pool. Call it after Run returns.
func (a *App) Close() error {
	a.pool.Close()
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
	return mux
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
	}
	a.mu.Lock()
	running := a.running
	a.mu.Unlock()
	if !running && code == http.StatusOK {
		status["status"], code = "starting", http.StatusServiceUnavailable
	}
	writeJSON(w, code, status)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
