// Package pgtest gives each test its own freshly created Postgres database and drops it
// afterwards. The server comes from POLICYKIT_TEST_DATABASE_URL (default: the local server on
// 127.0.0.1:5432 as user postgres). When no server answers, tests skip, except under CI=true,
// where a missing Postgres fails the run loudly.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultServerURL is used when POLICYKIT_TEST_DATABASE_URL is unset.
const DefaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL is the maintenance database URL tests create their databases through.
func ServerURL() string {
	if u := os.Getenv("POLICYKIT_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultServerURL
}

// NewDatabase creates a uniquely named empty database and returns its URL. The database is
// dropped when the test ends.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		unavailable(tb, err)
	}
	defer admin.Close(context.Background())

	name := "pk_test_" + randomSuffix()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, ServerURL())
		if err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(ServerURL())
	if err != nil {
		tb.Fatalf("pgtest: parse %s: %v", ServerURL(), err)
	}
	u.Path = "/" + name
	return u.String()
}

// NewPool creates a fresh database and a pool on it, closed when the test ends.
func NewPool(tb testing.TB) (*pgxpool.Pool, string) {
	tb.Helper()
	dbURL := NewDatabase(tb)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		tb.Fatalf("pgtest: pool on %s: %v", dbURL, err)
	}
	tb.Cleanup(pool.Close)
	return pool, dbURL
}

func unavailable(tb testing.TB, err error) {
	tb.Helper()
	msg := fmt.Sprintf("pgtest: Postgres at %s is not reachable: %v", ServerURL(), err)
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg + " (CI=true: a missing Postgres fails the run)")
	}
	tb.Skip(msg)
}

func randomSuffix() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}
