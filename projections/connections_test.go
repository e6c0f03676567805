package projections

import (
	"context"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/internal/migrate"
	"github.com/policykit-go/policykit/internal/pgtest"
)

// sealedSecret stands for a secret as an entry point seals it: only its prefix matters to
// the domain and the read models.
const sealedSecret = domain.SealedPrefix + "bm9uY2UtYW5kLWNpcGhlcnRleHQ"

// connectCoop proposes and executes, in community id, the constitution action that connects
// Open Collective with a setting and a sealed secret, then the one that disconnects it.
func connectCoop(t *testing.T, b *logBuilder, id string) {
	t.Helper()
	for i, p := range []domain.ConstitutionPayload{
		domain.AddIntegration{Platform: domain.PlatformOpenCollective, ExternalID: "coop", Name: "Coop",
			Settings: map[string]string{"collective": "coop"}, Secrets: map[string]string{"webhook_secret": sealedSecret}},
		domain.RemoveIntegration{Platform: domain.PlatformOpenCollective},
	} {
		a, err := domain.NewConstitutionAction(id+"-connect-"+string(rune('a'+i)), id, "", p, b.tick())
		if err != nil {
			t.Fatal(err)
		}
		action(b, a.ID, (*domain.ActionRecord).DecideProposeAction, domain.ProposeAction{Action: a})
		community(b, id, (*domain.Community).ExecuteConstitutionAction, a)
	}
}

func TestConnectionsKeepSettingsAndSecretNamesButNoSecret(t *testing.T) {
	pool, store := newTestDB(t)
	b := newLogBuilder(t, store)
	community(b, "c1", (*domain.Community).DecideCreateCommunity, domain.CreateCommunity{CommunityID: "c1", Name: "c1", Platform: domain.PlatformSlack})
	connectCoop(t, b, "c1")
	r := NewRunner(store, pool, 0, nil, All()...)
	mustCatchUp(t, r, pool)
	ctx := context.Background()

	var active bool
	var settings string
	var names []string
	if err := pool.QueryRow(ctx, `SELECT active, settings::text, secret_names FROM community_platforms WHERE community_id = 'c1' AND platform = $1`,
		domain.PlatformOpenCollective).Scan(&active, &settings, &names); err != nil {
		t.Fatal(err)
	}
	// Disconnected, the platform keeps what it was connected with.
	if active || settings != `{"collective": "coop"}` || !slices.Equal(names, []string{"webhook_secret"}) {
		t.Errorf("open collective: active %v, settings %s, secret names %v; want inactive, the collective, webhook_secret", active, settings, names)
	}
	var shown string
	if err := pool.QueryRow(ctx, `SELECT fields->'secrets'->>'webhook_secret' FROM actions WHERE id = 'c1-connect-a'`).Scan(&shown); err != nil {
		t.Fatal(err)
	}
	if shown != domain.RedactedSecret {
		t.Errorf("the connecting action's secret shows as %q, want %q", shown, domain.RedactedSecret)
	}
	for table, rows := range dump(t, pool) {
		if strings.Contains(rows, domain.SealedPrefix) {
			t.Errorf("table %s holds a sealed secret: %s", table, rows)
		}
	}
}

// TestConnectionSettingsMigrationRebuildsFromTheLog upgrades a database whose read models
// were kept before connections had settings: the actions table holds a connecting action's
// sealed secret and community_platforms has no settings. After the migration and a catch-up,
// the secret is gone and the settings are there, as a clean replay gives them.
func TestConnectionSettingsMigrationRebuildsFromTheLog(t *testing.T) {
	pool, _ := pgtest.NewPool(t)
	ctx := context.Background()
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	old := fstest.MapFS{}
	for _, name := range []string{"0001_read_models.sql", "0002_community_scoped_keys.sql", "0003_projection_failures.sql", "0004_pending_actions.sql"} {
		data, err := fs.ReadFile(migrations, "migrations/"+name)
		if err != nil {
			t.Fatal(err)
		}
		old["migrations/"+name] = &fstest.MapFile{Data: data}
	}
	if _, err := migrate.Apply(ctx, pool, "projections_schema_migrations", old, "migrations"); err != nil {
		t.Fatal(err)
	}
	store := postgres.New(pool, postgres.WithPollInterval(50*time.Millisecond))
	b := newLogBuilder(t, store)
	community(b, "c1", (*domain.Community).DecideCreateCommunity, domain.CreateCommunity{CommunityID: "c1", Name: "c1", Platform: domain.PlatformSlack})
	connectCoop(t, b, "c1")

	// Every projector but the communities one (whose new columns the old schema lacks) and
	// those whose tables came later ran on the old schema; the actions projector kept the
	// fields as proposed then.
	var kept []Projector
	for _, p := range All() {
		if p.Name() != "communities" && p.Name() != CommunityEventsProjector {
			kept = append(kept, p)
		}
	}
	mustCatchUp(t, NewRunner(store, pool, 0, nil, kept...), pool)
	if _, err := pool.Exec(ctx, `UPDATE actions SET fields = jsonb_set(fields, '{secrets,webhook_secret}', to_jsonb($1::text)) WHERE id = 'c1-connect-a'`,
		sealedSecret); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO community_platforms (community_id, platform, external_id, name, active, connected_at)
		VALUES ('c1', $1, 'coop', 'Coop', false, now())`, domain.PlatformOpenCollective); err != nil {
		t.Fatal(err)
	}

	if err := Migrate(ctx, pool); err != nil {
		t.Fatalf("migrate a populated database: %v", err)
	}
	r := NewRunner(store, pool, 0, nil, All()...)
	mustCatchUp(t, r, pool)
	var settings string
	var names []string
	if err := pool.QueryRow(ctx, `SELECT settings::text, secret_names FROM community_platforms WHERE community_id = 'c1' AND platform = $1`,
		domain.PlatformOpenCollective).Scan(&settings, &names); err != nil {
		t.Fatal(err)
	}
	if settings != `{"collective": "coop"}` || !slices.Equal(names, []string{"webhook_secret"}) {
		t.Errorf("after the migration: settings %s, secret names %v", settings, names)
	}
	upgraded := dump(t, pool)
	for table, rows := range upgraded {
		if strings.Contains(rows, domain.SealedPrefix) {
			t.Errorf("after the migration, table %s holds a sealed secret: %s", table, rows)
		}
	}
	mustReplay(t, r, pool)
	mustEqualDumps(t, "upgraded vs replay", upgraded, dump(t, pool))
}
