package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/graph"
)

func TestGraphQLAllowListOption(t *testing.T) {
	env := map[string]string{"POLICYKIT_GRAPHQL_ALLOWLIST": "/etc/policykit/operations.json"}
	cfg := DefaultConfig().FromEnv(func(k string) string { return env[k] })
	if cfg.GraphQLAllowList != "/etc/policykit/operations.json" {
		t.Errorf("from the environment: %q", cfg.GraphQLAllowList)
	}
	serve := newServeCommand(&cfg)
	if err := serve.Flags().Set("graphql-allowlist", "ops"); err != nil {
		t.Fatal(err)
	}
	if cfg.GraphQLAllowList != "ops" {
		t.Errorf("from --graphql-allowlist: %q", cfg.GraphQLAllowList)
	}
	if DefaultConfig().GraphQLAllowList != "" {
		t.Error("an allow-list is set by default")
	}
}

// An allow-list that cannot be read or verified stops start-up, naming the problem.
func TestAppRefusesABadGraphQLAllowList(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"0000000000000000000000000000000000000000000000000000000000000000": "{ communities { id } }"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		bad:                               "not the sha256",
		filepath.Join(dir, "absent.json"): "absent.json",
	} {
		cfg := testConfig(t)
		cfg.GraphQL = true
		cfg.GraphQLAllowList = path
		app, err := NewApp(context.Background(), cfg, discardLogger())
		if err == nil {
			app.Close()
			t.Fatalf("started with allow-list %s", path)
		}
		if !strings.Contains(err.Error(), "allow-list") || !strings.Contains(err.Error(), want) {
			t.Errorf("error %q should name the allow-list and %q", err, want)
		}
	}
}

// With an allow-list, the App's /graphql runs the listed operations and refuses the others.
func TestAppServesOnlyTheGraphQLAllowList(t *testing.T) {
	const listed = `{ communities { id } }`
	manifest, _ := json.Marshal(map[string]any{
		"format": "apollo-persisted-query-manifest", "version": 1,
		"operations": []map[string]any{{"id": graph.QueryHash(listed), "name": "", "type": "query", "body": listed}},
	})
	path := filepath.Join(t.TempDir(), "manifest.json")
	if err := os.WriteFile(path, manifest, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.GraphQL = true
	cfg.GraphQLAllowList = path
	app, stop := startApp(t, cfg)
	defer stop()
	seedCommunity(t, app)
	ctx := context.Background()
	waitFor(t, "the community in the read model", func() bool {
		var n int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM communities WHERE id = 'garden'`).Scan(&n)
		return n == 1
	})
	token := mustAPIToken(t, app, "alice", "garden", "alice")
	post := func(body map[string]any) string {
		t.Helper()
		return string(postGraphQL(t, app, "Bearer "+token, body))
	}
	byHash := map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": graph.QueryHash(listed)}}}
	if out := post(byHash); !strings.Contains(out, `"garden"`) {
		t.Errorf("listed operation by hash: %s", out)
	}
	if out := post(map[string]any{"query": `{ communities { id name } }`}); !strings.Contains(out, "FORBIDDEN") || strings.Contains(out, "garden") {
		t.Errorf("unlisted operation: %s, want FORBIDDEN", out)
	}
}
