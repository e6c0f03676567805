package main

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/policykit-go/policykit/internal/pgtest"
)

// The pool is as large as the database URL asks, and forty connections when it does not say.
func TestPoolHonoursTheSizeTheURLAsks(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	cases := []struct {
		name string
		url  string
		want int32
	}{
		{"unset: the default", dbURL, defaultMaxConns},
		{"URL query", dbURL + "&pool_max_conns=5", 5},
		{"URL query above the default", dbURL + "&pool_max_conns=64", 64},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pool, err := openPool(context.Background(), c.url, false)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			if got := pool.Config().MaxConns; got != c.want {
				t.Fatalf("pool of %d connections, want %d", got, c.want)
			}
		})
	}
	if !setsPoolSize("host=127.0.0.1 user=postgres pool_max_conns=3") || setsPoolSize("host=127.0.0.1 user=postgres") {
		t.Fatal("pool_max_conns of a key=value DSN not recognised")
	}
}

// A mistyped database name is reported by propose, vote, audit verify and the other commands
// that work on an existing log, and creates nothing; migrate creates it.
func TestOnlyServeAndMigrateCreateTheDatabase(t *testing.T) {
	existing := pgtest.NewDatabase(t)
	u, err := url.Parse(existing)
	if err != nil {
		t.Fatal(err)
	}
	u.Path += "_typo"
	typo := u.String()
	name := strings.TrimPrefix(u.Path, "/")
	exists := func() bool {
		t.Helper()
		conn, err := pgx.Connect(context.Background(), existing)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	for _, args := range [][]string{
		{"propose", "--community", "demo", "--by", "alice", "--type", "policykitaddrole", "--fields", `{"name":"x"}`},
		{"vote", "--community", "demo", "--by", "bob", "--proposal", "p1", "--value", "yes"},
		{"audit", "verify"},
		{"events", "export"},
		{"replay"},
	} {
		_, _, err := runCLI(t, append(args, "--database-url", typo)...)
		if !errors.Is(err, ErrNoDatabase) {
			t.Errorf("%s: got %v, want that the database does not exist", args[0], err)
		}
		if exists() {
			t.Fatalf("%s created database %s", strings.Join(args, " "), name)
		}
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), existing)
		if err == nil {
			_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			_ = conn.Close(context.Background())
		}
	})
	if _, _, err := runCLI(t, "migrate", "--database-url", typo); err != nil || !exists() {
		t.Fatalf("migrate: %v; created: %v", err, exists())
	}
}
