package bus_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/policykit-go/policykit/bus"
)

// testConfig is a configuration with short timings, so that retries, redeliveries and
// restarts happen within the suite's time budget.
func testConfig(transport, group, namespace string) bus.Config {
	return bus.Config{
		Transport:       transport,
		NATSURL:         os.Getenv("POLICYKIT_NATS_URL"),
		AMQPURL:         os.Getenv("POLICYKIT_AMQP_URL"),
		ConsumerGroup:   group,
		Namespace:       namespace,
		AckTimeout:      3 * time.Second,
		RedeliveryDelay: 50 * time.Millisecond,
		PollInterval:    50 * time.Millisecond,
		CloseTimeout:    5 * time.Second,
		AMQPQueueTTL:    10 * time.Minute,
		Retry: bus.RetryConfig{
			MaxRetries:      2,
			InitialInterval: 10 * time.Millisecond,
			Multiplier:      2,
			MaxInterval:     50 * time.Millisecond,
		},
	}
}

// testLogger discards logs unless POLICYKIT_TEST_BUS_LOG is set (to a slog level such as
// "debug"); then they go to stderr. Background goroutines may log after a test has ended,
// so t.Log cannot be the sink.
func testLogger() *slog.Logger {
	v := os.Getenv("POLICYKIT_TEST_BUS_LOG")
	if v == "" {
		return slog.New(slog.DiscardHandler)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(v)); err != nil {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// mustOpen opens a bus and closes it when t ends.
func mustOpen(t *testing.T, cfg bus.Config) *bus.Bus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, cfg, testLogger())
	if err != nil {
		t.Fatalf("open %s bus: %v", cfg.Transport, err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close %s bus: %v", cfg.Transport, err)
		}
	})
	return b
}

// requireServer skips the test when nothing listens at rawURL's host, or fails it under
// CI=true, where every service must be up.
func requireServer(t *testing.T, name, rawURL string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("%s URL %q: %v", name, rawURL, err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err == nil {
		conn.Close()
		return
	}
	msg := name + " at " + u.Host + " is not reachable: " + err.Error()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: a missing service fails the run)")
	}
	t.Skip(msg)
}

func uniqueNamespace(t *testing.T) string {
	t.Helper()
	return "pktest-" + time.Now().UTC().Format("150405") + "-" + randomHex(t, 4)
}

func envOf(k string) string { return os.Getenv(k) }

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
