package projections

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/internal/migrate"
	"github.com/policykit-go/policykit/internal/pgtest"
)

// TestCommunitiesSharingIDsKeepTheirOwnRows: two communities use the same policy, document
// and user ids, with their events at the same stream versions. Each keeps its own rows,
// whatever the other does with its own, and the projections neither fail nor stop.
func TestCommunitiesSharingIDsKeepTheirOwnRows(t *testing.T) {
	pool, store := newTestDB(t)
	b := newLogBuilder(t, store)
	for _, id := range []string{"victim", "attacker"} {
		community(b, id, (*domain.Community).DecideCreateCommunity, domain.CreateCommunity{CommunityID: id, Name: id, Platform: domain.PlatformSlack})
		for _, u := range []string{"u1", "u2"} {
			community(b, id, (*domain.Community).DecideRegisterUser, domain.RegisterUser{
				UserID: u, Platform: domain.PlatformSlack, Username: "U-" + id + "-" + u, ReadableName: id + " " + u,
			})
		}
		community(b, id, (*domain.Community).DecideAddDocument, domain.AddDocument{DocumentID: "doc", Name: "Charter", Text: id + "'s charter"})
		community(b, id, (*domain.Community).DecideAddPolicy, domain.AddPolicy{PolicyID: "pol", Kind: domain.KindPlatform, Name: id + "'s policy",
			PolicyCode: domain.PolicyCode{Check: "return PASSED  # " + id}})
	}
	if b.communities["victim"].Version != b.communities["attacker"].Version {
		t.Fatal("the two communities' events are not at the same stream versions")
	}
	attack := func(typ string) {
		t.Helper()
		switch typ {
		case "change policy":
			community(b, "attacker", (*domain.Community).DecideChangePolicy, domain.ChangePolicy{PolicyID: "pol", Name: "stolen",
				PolicyCode: domain.PolicyCode{Check: "return FAILED"}})
		case "remove policy":
			community(b, "attacker", (*domain.Community).DecideRemovePolicy, domain.RemovePolicy{PolicyID: "pol"})
		case "delete document":
			community(b, "attacker", (*domain.Community).DecideDeleteDocument, domain.DeleteDocument{DocumentID: "doc"})
		case "update user":
			community(b, "attacker", (*domain.Community).DecideRegisterUser, domain.RegisterUser{
				UserID: "u1", Platform: domain.PlatformSlack, Username: "U-stolen", ReadableName: "stolen",
			})
		case "link users":
			community(b, "attacker", (*domain.Community).DecideLinkIdentity, domain.LinkIdentity{UserID: "u1", OtherUserID: "u2"})
		}
	}
	for _, typ := range []string{"change policy", "remove policy", "delete document", "update user", "link users"} {
		attack(typ)
	}

	r := NewRunner(store, pool, 0, nil, All()...)
	mustCatchUp(t, r, pool)
	ctx := context.Background()
	check := func(t *testing.T) {
		t.Helper()
		var name, check string
		var active bool
		if err := pool.QueryRow(ctx, `SELECT name, code->>'check', active FROM policies WHERE community_id = 'victim' AND id = 'pol'`).
			Scan(&name, &check, &active); err != nil {
			t.Fatalf("victim's policy: %v", err)
		}
		if name != "victim's policy" || check != "return PASSED  # victim" || !active {
			t.Errorf("victim's policy = %q %q active %v, want its own, active", name, check, active)
		}
		if err := pool.QueryRow(ctx, `SELECT name, active FROM policies WHERE community_id = 'attacker' AND id = 'pol'`).Scan(&name, &active); err != nil {
			t.Fatalf("attacker's policy: %v", err)
		}
		if name != "stolen" || active {
			t.Errorf("attacker's policy = %q active %v, want its change and removal", name, active)
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM policy_versions WHERE community_id = 'victim' AND policy_id = 'pol'`); n != 1 {
			t.Errorf("victim's policy has %d versions, want 1", n)
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM policy_versions WHERE community_id = 'attacker' AND policy_id = 'pol'`); n != 3 {
			t.Errorf("attacker's policy has %d versions, want 3", n)
		}
		var text string
		if err := pool.QueryRow(ctx, `SELECT text, active FROM documents WHERE community_id = 'victim' AND id = 'doc'`).Scan(&text, &active); err != nil {
			t.Fatalf("victim's document: %v", err)
		}
		if text != "victim's charter" || !active {
			t.Errorf("victim's document = %q active %v", text, active)
		}
		var username string
		if err := pool.QueryRow(ctx, `SELECT username FROM community_users WHERE community_id = 'victim' AND id = 'u1'`).Scan(&username); err != nil {
			t.Fatalf("victim's user: %v", err)
		}
		if username != "U-victim-u1" {
			t.Errorf("victim's u1 = %q", username)
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM community_users`); n != 4 {
			t.Errorf("%d community users, want 2 in each community", n)
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM user_identities WHERE community_id = 'attacker'`); n != 2 {
			t.Errorf("attacker has %d identity links, want both directions of one", n)
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM user_identities WHERE community_id = 'victim'`); n != 0 {
			t.Errorf("victim has %d identity links, want none", n)
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM projection_failures`); n != 0 {
			t.Errorf("%d projection failures, want none", n)
		}
	}
	check(t)
	caughtUp := dump(t, pool)
	mustReplay(t, NewRunner(store, pool, 3, nil, All()...), pool)
	check(t)
	mustEqualDumps(t, "replay vs incremental", dump(t, pool), caughtUp)
}

// TestScopedKeysMigrationRebuildsFromTheLog upgrades a database whose read models were kept
// under the old keys, with a policy row another community took over: the migration rekeys
// the tables and resets their projectors, which rebuild them from the log, while the other
// projectors resume where they were. The result is what a clean replay gives.
func TestScopedKeysMigrationRebuildsFromTheLog(t *testing.T) {
	pool, _ := pgtest.NewPool(t)
	ctx := context.Background()
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	first, err := fs.ReadFile(migrations, "migrations/0001_read_models.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Apply(ctx, pool, "projections_schema_migrations",
		fstest.MapFS{"migrations/0001_read_models.sql": {Data: first}}, "migrations"); err != nil {
		t.Fatal(err)
	}
	store := postgres.New(pool, postgres.WithPollInterval(50*time.Millisecond))
	b := newLogBuilder(t, store)
	users, pol := b.setupCommunity("c1", 3)
	b.governedAction(lifecycle{community: "c1", actionID: "a1", proposalID: "p1", policyID: pol, initiator: users[0], pass: true,
		votes: []vote{{user: users[1], yes: true}, {user: users[2], yes: true}}})

	// The projectors whose tables keep their keys ran on the old schema; the policies
	// projector left a row that another community overwrote.
	var kept []Projector
	for _, p := range All() {
		switch p.Name() {
		case "policies", "documents", "communities", CommunityEventsProjector:
		default:
			kept = append(kept, p)
		}
	}
	mustCatchUp(t, NewRunner(store, pool, 0, nil, kept...), pool)
	head := logHead(t, pool)
	if _, err := pool.Exec(ctx, `INSERT INTO policies (id, community_id, kind, name, code, active, hash, version, created_at, modified_at)
			VALUES ($1, 'attacker', 'platform', 'stolen', '{}', true, 'h', 1, now(), now())`, pol); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO projection_checkpoints (name, commit_id, seq, updated_at) VALUES ('policies', $1, $2, now())`,
		int64(head.Commit), head.Seq); err != nil {
		t.Fatal(err)
	}

	if err := Migrate(ctx, pool); err != nil {
		t.Fatalf("migrate a populated database: %v", err)
	}
	r := NewRunner(store, pool, 0, nil, All()...)
	mustCatchUp(t, r, pool)
	if n := mustCount(t, pool, `SELECT count(*) FROM policies WHERE community_id = 'c1' AND id = $1 AND active`, pol); n != 1 {
		t.Errorf("c1's policy rows = %d, want its own again", n)
	}
	upgraded := dump(t, pool)
	mustReplay(t, r, pool)
	mustEqualDumps(t, "upgraded vs replay", upgraded, dump(t, pool))
}
