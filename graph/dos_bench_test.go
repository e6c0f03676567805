package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/graph"
	"github.com/policykit-go/policykit/identity"
	"github.com/policykit-go/policykit/internal/pgtest"
	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/projections"
)

// cpuTime is the process's user and system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkHostileRequests sends the denial-of-service requests of the security review,
// without credentials, through the HTTP handler and reports the CPU each costs the process
// (cpu-ms/op) and the live heap after the run (heap-MB): each must be refused, with the
// refusal's code, and the heap must stay flat.
func BenchmarkHostileRequests(b *testing.B) {
	e := newBenchEnv(b)
	for _, c := range []struct {
		name, query, code string
	}{
		{"16000 duplicate fields", "{ " + repeat("__typename", 16000) + "}", graph.CodeQueryTooLarge},
		{"90000 duplicate fields", "{ " + repeat("__typename", 90000) + "}", graph.CodeQueryTooLarge},
		{"1000 aliases of __schema", "{ " + aliased("__schema { types { name fields { name } } }", 1000) + "}", graph.CodeQueryTooLarge},
		{"1000 aliased logins", "mutation { " + aliased(`login(username: "alice", password: "guess-guess") { id }`, 1000) + "}", graph.CodeQueryTooLarge},
		{"90 aliased logins", "mutation { " + aliased(`login(username: "alice", password: "guess-guess") { id }`, 90) + "}", graph.CodeLimitExceeded},
		// The worst found within the bounds: it reaches validation, whose overlapping
		// fields check compares every pair and reports each conflict.
		{"100 conflicting fields, within the bounds", "{ " + conflicting(graph.MaxAliases/graph.MaxSameResponseName) + "}", "GRAPHQL_VALIDATION_FAILED"},
	} {
		body, _ := json.Marshal(map[string]any{"query": c.query})
		b.Run(c.name, func(b *testing.B) {
			runtime.GC()
			start := cpuTime(b)
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, req)
				var out struct {
					Errors []struct{ Extensions map[string]any }
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Errors) == 0 || out.Errors[0].Extensions["code"] != c.code {
					b.Fatalf("%d bytes: %s, want %s", len(body), rec.Body.String(), c.code)
				}
			}
			b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N)/1e6, "cpu-ms/op")
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MB")
			b.ReportMetric(float64(len(body))/1024, "body-KB")
		})
	}
}

// conflicting is names response names, each answered by MaxSameResponseName proposal
// fields with different arguments: every pair under one name conflicts.
func conflicting(names int) string {
	var b strings.Builder
	for i := range names {
		for j := range graph.MaxSameResponseName {
			fmt.Fprintf(&b, "p%d: proposal(id: \"%d\") { id } ", i, j)
		}
	}
	return b.String()
}

// newBenchEnv is the handler over a fresh, empty database: the hostile requests need no
// data.
func newBenchEnv(b *testing.B) http.Handler {
	b.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, pgtest.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	for _, m := range []func(context.Context, *pgxpool.Pool) error{postgres.Migrate, projections.Migrate, identity.Migrate} {
		if err := m(ctx, pool); err != nil {
			b.Fatal(err)
		}
	}
	store := postgres.New(pool)
	rt, err := policy.New(policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	h, err := graph.NewHandler(graph.Deps{
		DB: pool, Store: store, Decided: engine.PostgresDecided{Pool: pool}, Loop: evaluation.New(rt, 0),
		Projections: projections.NewRunner(store, pool, 0, nil, projections.All()...),
	})
	if err != nil {
		b.Fatal(err)
	}
	return h
}
