package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/internal/telemetry"
	"github.com/policykit-go/policykit/policysandbox"
)

// appTelemetry is what the App reports through: metrics (nil when off) and traces (nil
// when off), and the metrics' own listener when POLICYKIT_METRICS_ADDR is set.
type appTelemetry struct {
	metrics *telemetry.Metrics
	tracer  trace.TracerProvider
	// sdk is the provider the App made, to flush and shut down on Close.
	sdk           *sdktrace.TracerProvider
	metricsLn     net.Listener
	metricsServer *http.Server
}

// startTelemetry builds the metrics and the tracer provider the configuration asks for.
func (a *App) startTelemetry(ctx context.Context) error {
	if a.cfg.Metrics {
		a.tel.metrics = telemetry.New(a.log.With("component", "metrics"))
		a.tel.metrics.WatchProjectionLag(a.behind(a.runner.Checkpoint))
	}
	switch endpoint := a.cfg.tracingEndpoint(); {
	case a.cfg.tracerProvider != nil:
		a.tel.tracer = a.cfg.tracerProvider
	case endpoint != "":
		tp, err := telemetry.NewTracerProvider(ctx, endpoint, "policykit")
		if err != nil {
			return fmt.Errorf("tracing: %w", err)
		}
		a.tel.sdk, a.tel.tracer = tp, tp
		a.log.Info("tracing: sending traces", "endpoint", endpoint)
	}
	return nil
}

// behind is the lag of a reader of the log at checkpoint, for the metrics: how many events
// it has yet to read and how old the oldest of them is.
func (a *App) behind(checkpoint func(context.Context) (eventstore.Position, error)) telemetry.LagFunc {
	store, ok := a.store.(interface {
		Behind(ctx context.Context, pos eventstore.Position) (int64, time.Time, error)
	})
	if !ok {
		return nil
	}
	return func(ctx context.Context) (int64, time.Time, error) {
		cp, err := checkpoint(ctx)
		if err != nil {
			return 0, time.Time{}, err
		}
		return store.Behind(ctx, cp)
	}
}

// instrumentEngine hands the metrics and the tracer to the engine's parts: the sandbox's
// counters, the forwarder's events (decisions) and its backlog.
func (a *App) instrumentEngine(ev *policysandbox.Evaluator, svc *engine.Service) {
	m := a.tel.metrics
	if m == nil {
		return
	}
	m.WatchSandbox(ev.Stats)
	svc.Observe = m.ObserveEvents
	cps := engine.PostgresCheckpoints{Pool: a.pool}
	m.WatchBusBacklog(a.behind(func(ctx context.Context) (eventstore.Position, error) {
		return cps.Load(ctx, engine.ForwarderCheckpoint)
	}))
}

// graphQLExtensions are the GraphQL server's extensions for metrics.
func (a *App) graphQLExtensions() []graphql.HandlerExtension {
	if a.tel.metrics == nil {
		return nil
	}
	return []graphql.HandlerExtension{a.tel.metrics.GraphQLExtension()}
}

// metricsOnMain tells whether the main listener serves /metrics.
func (a *App) metricsOnMain() bool { return a.tel.metrics != nil && a.cfg.MetricsAddr == "" }

// instrumentHTTP wraps the main mux: requests counted and timed by route, and traced.
func (a *App) instrumentHTTP(mux http.Handler) http.Handler {
	return telemetry.HTTP(mux, a.tel.metrics, a.tel.tracer)
}

// listenMetrics binds POLICYKIT_METRICS_ADDR when set: /metrics alone, apart from the API.
func (a *App) listenMetrics() error {
	if a.tel.metrics == nil || a.cfg.MetricsAddr == "" || a.tel.metricsLn != nil {
		return nil
	}
	ln, err := net.Listen("tcp", a.cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (POLICYKIT_METRICS_ADDR): %w", a.cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.tel.metrics.Handler())
	a.tel.metricsLn = ln
	a.tel.metricsServer = &http.Server{Handler: mux, ReadHeaderTimeout: a.cfg.HTTPReadHeaderTimeout, ReadTimeout: a.cfg.HTTPReadTimeout}
	return nil
}

// MetricsURL is the address of /metrics on this machine.
func (a *App) MetricsURL() string {
	if a.tel.metricsLn != nil {
		_, port, _ := net.SplitHostPort(a.tel.metricsLn.Addr().String())
		return "http://" + net.JoinHostPort("127.0.0.1", port) + "/metrics"
	}
	return a.LocalURL() + "/metrics"
}

// serveMetrics serves the metrics' own listener, if any, until shutdownMetrics.
func (a *App) serveMetrics(wg *sync.WaitGroup, errc chan<- error, cancel context.CancelFunc) {
	if a.tel.metricsServer == nil {
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := a.tel.metricsServer.Serve(a.tel.metricsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("metrics http: %w", err)
			cancel()
		}
	}()
}

func (a *App) shutdownMetrics(ctx context.Context) {
	if a.tel.metricsServer != nil {
		if err := a.tel.metricsServer.Shutdown(ctx); err != nil {
			a.log.Warn("metrics http shutdown", "err", err)
		}
	}
}

// closeTelemetry flushes the spans not yet sent.
func (a *App) closeTelemetry() {
	if a.tel.sdk == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.tel.sdk.Shutdown(ctx); err != nil {
		a.log.Warn("tracing shutdown", "err", err)
	}
}
