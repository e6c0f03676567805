package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/internal/pgtest"
	"github.com/policykit-go/policykit/policysandbox"
	"github.com/policykit-go/policykit/sandbox"
)

func TestMain(m *testing.M) {
	if sandbox.IsWorker() {
		policysandbox.ServeWorker()
	}
	if os.Getenv(runAsBinary) == "1" {
		main() // the restart tests run the binary itself, to kill it
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runAsBinary, set in a test binary's environment, makes it run as policykit itself.
const runAsBinary = "POLICYKIT_TEST_RUN_MAIN"

func testConfig(tb testing.TB) Config {
	tb.Helper()
	cfg := DefaultConfig()
	cfg.sandboxCommand, cfg.sandboxArgs = os.Args[0], []string{"-test.run=^$"}
	cfg.DatabaseURL = pgtest.NewDatabase(tb)
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	return cfg
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// mustAppendCommunity records a community with one user through the domain, as the engine
// will, and returns its id.
func mustAppendCommunity(tb testing.TB, store eventstore.Store, name string) string {
	tb.Helper()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	c := &domain.Community{}
	id := uuid.NewString()
	evs, err := c.DecideCreateCommunity(domain.CreateCommunity{CommunityID: id, Name: name, Platform: domain.PlatformWeb}, now)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range evs {
		c.Apply(e)
	}
	more, err := c.DecideRegisterUser(domain.RegisterUser{UserID: uuid.NewString(), Platform: domain.PlatformWeb, Username: "alice", ReadableName: "Alice"}, now)
	if err != nil {
		tb.Fatal(err)
	}
	evs = append(evs, more...)
	data := make([]eventstore.EventData, len(evs))
	for i, e := range evs {
		typ, v, raw, err := domain.Marshal(e)
		if err != nil {
			tb.Fatal(err)
		}
		data[i] = eventstore.EventData{ID: uuid.New(), Type: typ, SchemaVersion: v, Data: raw}
	}
	if _, err := store.Append(context.Background(), domain.CommunityStream(id), eventstore.NoStream(), data); err != nil {
		tb.Fatal(err)
	}
	return id
}

func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAppServesHealthAndKeepsProjectionsLive(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	app, err := NewApp(ctx, testConfig(t), discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	addr, err := app.Listen()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()

	base := "http://" + addr
	if code := get(t, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("healthz = %d", code)
	}
	waitFor(t, "readyz 200", func() bool { return get(t, base+"/readyz") == http.StatusOK })

	id := mustAppendCommunity(t, app.Store(), "Gardeners")
	waitFor(t, "the community in its read model", func() bool {
		var name string
		err := app.Pool().QueryRow(ctx, `SELECT name FROM communities WHERE id = $1`, id).Scan(&name)
		return err == nil && name == "Gardeners"
	})

	cancel() // what SIGTERM does through signal.NotifyContext
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after shutdown")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("server still answers after shutdown")
	}
}

func get(tb testing.TB, url string) int {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// runCLI runs the binary's root command in process.
func runCLI(tb testing.TB, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func TestMigrateReplayAndExportCommands(t *testing.T) {
	cfg := testConfig(t)
	if _, _, err := runCLI(t, "migrate", "--database-url", cfg.DatabaseURL); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	if _, _, err := runCLI(t, "migrate", "--database-url", cfg.DatabaseURL); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	app, err := NewApp(context.Background(), cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	ids := []string{mustAppendCommunity(t, app.Store(), "One"), mustAppendCommunity(t, app.Store(), "Two")}

	out, _, err := runCLI(t, "replay", "-q", "--database-url", cfg.DatabaseURL)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if !strings.Contains(out, "from 8 events") {
		t.Fatalf("replay output %q does not count the 8 events", out)
	}
	var n int
	if err := app.Pool().QueryRow(context.Background(), `SELECT count(*) FROM communities WHERE id = ANY($1)`, ids).Scan(&n); err != nil || n != 2 {
		t.Fatalf("communities after replay = %d (%v)", n, err)
	}

	out, _, err = runCLI(t, "events", "export", "--database-url", cfg.DatabaseURL)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	var lines []bus.EventEnvelope
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e bus.EventEnvelope
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		lines = append(lines, e)
	}
	if len(lines) != 8 || lines[0].Type != domain.EventCommunityCreated || lines[0].Version != 1 || lines[0].Position == "" {
		t.Fatalf("export gave %d lines, first %+v", len(lines), lines[0])
	}

	out, _, err = runCLI(t, "events", "tail", "--stream", domain.CommunityStream(ids[1]), "--database-url", cfg.DatabaseURL)
	if err != nil || strings.Count(out, "\n") != 4 || !strings.Contains(out, "community.created") {
		t.Fatalf("tail --stream: %q %v", out, err)
	}
}

func TestUnreachableDatabaseNamesTheURL(t *testing.T) {
	_, _, err := runCLI(t, "migrate", "--database-url", "postgres://nobody:secret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("migrate against a closed port succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "127.0.0.1:1/db") || strings.Contains(msg, "secret") {
		t.Fatalf("error %q should name the URL without its password", msg)
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DatabaseURL = "mysql://x"
	cfg.HTTPAddr = "nowhere"
	cfg.LogLevel = "loud"
	cfg.ProjectionBatch = 0
	err := cfg.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"database URL", "http addr", "log level", "projection batch"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
}

// /readyz is not ready while the read models lag behind the log past ReadyMaxLag, and says so.
func TestReadyzReportsProjectionsLaggingBehind(t *testing.T) {
	cfg := testConfig(t)
	cfg.ReadyMaxLag = time.Millisecond
	app, err := NewApp(context.Background(), cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	ready := func() (int, map[string]any) {
		rec := httptest.NewRecorder()
		app.readyz(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		return rec.Code, body
	}
	mustAppendCommunity(t, app.Store(), "Lagging")
	// The store shows an event once no older transaction of the server (another test's) is
	// open; until then there is nothing to lag behind.
	waitFor(t, "/readyz saying the read models lag", func() bool {
		code, body := ready()
		return code == http.StatusServiceUnavailable && body["status"] == "lagging" && body["projections_lag_seconds"] != nil
	})
	if _, err := app.Projections().CatchUp(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if code, body := ready(); body["status"] == "lagging" || body["projections_lag_seconds"] != nil {
		t.Fatalf("caught up: %d %v", code, body)
	}
}
