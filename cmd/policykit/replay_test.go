package main

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

// An event no projector can apply (a known type whose payload cannot be read) does not stop
// a replay: every other row is rebuilt, the event is listed, and the command exits 1.
func TestReplayReportsAnEventItCannotApply(t *testing.T) {
	cfg := testConfig(t)
	if _, _, err := runCLI(t, "migrate", "--database-url", cfg.DatabaseURL); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	app, err := NewApp(context.Background(), cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	ctx := context.Background()
	broken := mustAppendCommunity(t, app.Store(), "Broken")
	bad := uuid.New()
	if _, err := app.Store().Append(ctx, domain.CommunityStream(broken), eventstore.Exact(4), []eventstore.EventData{{
		ID: bad, Type: domain.EventCommunityRenamed, SchemaVersion: 1, Data: []byte(`{"name": 5}`),
	}}); err != nil {
		t.Fatal(err)
	}
	after := mustAppendCommunity(t, app.Store(), "After")

	out, _, err := runCLI(t, "replay", "-q", "--database-url", cfg.DatabaseURL)
	if err == nil {
		t.Fatalf("replay succeeded with an event skipped: %s", out)
	}
	if !strings.Contains(out, "communities: "+domain.EventCommunityRenamed+" "+bad.String()) {
		t.Errorf("replay output does not list the skipped event:\n%s", out)
	}
	var n int
	if err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM communities WHERE id = ANY($1)`, []string{broken, after}).Scan(&n); err != nil || n != 2 {
		t.Fatalf("communities after replay = %d (%v), want both", n, err)
	}
	if err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM projection_failures WHERE event_id = $1`, bad).Scan(&n); err != nil || n == 0 {
		t.Fatalf("recorded failures of the event = %d (%v)", n, err)
	}
}
