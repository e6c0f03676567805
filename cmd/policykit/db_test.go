package main

import (
	"context"
	"testing"

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
