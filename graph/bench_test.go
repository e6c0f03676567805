package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
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

// BenchmarkDashboardQuery runs the dashboard query of docs/graphql.md (the community and its
// latest 20 proposals, each with its tally and votes) against a community with 100,000
// proposals (the latest thousand with votes), through the HTTP handler, and reports the
// latency percentiles and the SQL statements per request. Every response must be the
// query's data without errors, and every request must run as many statements as the first.
// The read models are filled with SQL directly: the benchmark measures reading them, not
// building them.
func BenchmarkDashboardQuery(b *testing.B) {
	ctx := context.Background()
	dbURL := pgtest.NewDatabase(b)
	counter := &statementCounter{}
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	for _, m := range []func(context.Context, *pgxpool.Pool) error{postgres.Migrate, projections.Migrate, identity.Migrate} {
		if err := m(ctx, pool); err != nil {
			b.Fatal(err)
		}
	}
	for _, sql := range []string{
		`INSERT INTO communities (id, name, created_at, updated_at) VALUES ('big', 'Big', now(), now())`,
		`INSERT INTO community_users (id, community_id, platform, username, joined_at, updated_at)
		 SELECT 'u' || i, 'big', 'web', 'user' || i, now(), now() FROM generate_series(1, 50) i`,
		`INSERT INTO roles (community_id, name, is_base, created_at, updated_at) VALUES ('big', 'Base User', true, now(), now())`,
		`INSERT INTO role_permissions (community_id, role, permission) VALUES ('big', 'Base User', 'view:*'), ('big', 'Base User', 'propose:*'), ('big', 'Base User', 'vote:*')`,
		`INSERT INTO proposals (id, community_id, action_id, action_type, action_kind, initiator_id, policy_id, policy_hash,
		   policy_version, policy_kind, policy_name, status, proposal_time, updated_at)
		 SELECT 'p' || lpad(i::text, 6, '0'), 'big', 'a' || i, 'policykitaddcommunitydoc', 'constitution', 'u' || (i % 50 + 1),
		   'pol', 'hash', 1, 'constitution', 'Two approvals', CASE WHEN i % 3 = 0 THEN 'PASSED' ELSE 'PROPOSED' END,
		   timestamptz '2026-01-01' + i * interval '1 minute', now()
		 FROM generate_series(1, 100000) i`,
		`INSERT INTO votes (proposal_id, user_id, community_id, username, kind, boolean_value, cast_at, event_id)
		 SELECT 'p' || lpad(i::text, 6, '0'), 'u' || u, 'big', 'user' || u, 'boolean', u % 2 = 0, now(), gen_random_uuid()
		 FROM generate_series(99001, 100000) i, generate_series(1, 5) u`,
		`UPDATE proposals SET yes_votes = 2, no_votes = 3, vote_count = 5 WHERE id >= 'p099001'`,
		`ANALYZE`,
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			b.Fatalf("%v\n%s", err, sql)
		}
	}
	accounts := identity.New(pool, identity.Options{})
	acc, err := accounts.Register(ctx, "bench", "bench-password")
	if err != nil {
		b.Fatal(err)
	}
	if err := accounts.LinkMember(ctx, acc.ID, "big", "u1"); err != nil {
		b.Fatal(err)
	}
	_, token, err := accounts.CreateAPIToken(ctx, acc.ID, "bench")
	if err != nil {
		b.Fatal(err)
	}
	rt, err := policy.New(policy.Options{})
	if err != nil {
		b.Fatal(err)
	}
	store := postgres.New(pool)
	h, err := graph.NewHandler(graph.Deps{
		DB: pool, Store: store,
		Decided: engine.PostgresDecided{Pool: pool}, Loop: evaluation.New(rt, 0),
		Projections: projections.NewRunner(store, pool, 0, nil, projections.All()...),
	})
	if err != nil {
		b.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"query": documentedQuery(b, "Dashboard"), "operationName": "Dashboard",
		"variables": map[string]any{"community": "big"}})
	request := func() (int, []byte) {
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.Bytes()
	}
	// check decodes an answer: the page of the 20 latest proposals, the latest with its five
	// votes counted in its tally, and no errors.
	check := func(code int, resp []byte) {
		var out struct {
			Data struct {
				Community struct {
					Proposals struct {
						Edges []struct {
							Node struct {
								ID    string
								Tally struct{ Total int }
								Votes []struct{ UserID string }
							}
						}
						PageInfo struct{ HasNextPage bool }
					}
				}
			}
			Errors []any
		}
		if err := json.Unmarshal(resp, &out); err != nil || code != http.StatusOK || len(out.Errors) > 0 {
			b.Fatalf("dashboard query: %d %v %s", code, err, resp)
		}
		p := out.Data.Community.Proposals
		if len(p.Edges) != 20 || !p.PageInfo.HasNextPage || p.Edges[0].Node.ID != "p100000" || len(p.Edges[0].Node.Votes) != 5 || p.Edges[0].Node.Tally.Total != 5 {
			b.Fatalf("dashboard page: %s", resp)
		}
	}
	// One request to count its statements, then the timed ones.
	counter.n.Store(0)
	check(request())
	statements := counter.n.Load()

	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		counter.n.Store(0)
		start := time.Now()
		code, resp := request()
		durations = append(durations, time.Since(start))
		check(code, resp)
		if n := counter.n.Load(); n != statements {
			b.Fatalf("request %d ran %d statements, the first %d", i, n, statements)
		}
	}
	b.StopTimer()
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1e3, "p50-ms")
	b.ReportMetric(float64(durations[(len(durations)-1)*99/100].Microseconds())/1e3, "p99-ms")
	b.ReportMetric(float64(statements), "statements/request")
}
