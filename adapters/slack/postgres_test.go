package slack

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"reflect"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/internal/migrate"
	"github.com/policykit-go/policykit/internal/pgtest"
)

func mustMigratedPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, _ := pgtest.NewPool(tb)
	if err := Migrate(context.Background(), pool); err != nil {
		tb.Fatal(err)
	}
	return pool
}

// The State contract, run against every implementation (the effect ledger's and the
// seen events' are the platform kit's).
func TestStateContract(t *testing.T) {
	impls := map[string]func(t *testing.T) State{
		"memory":   func(*testing.T) State { return NewMemoryState() },
		"postgres": func(t *testing.T) State { return PostgresState{Pool: mustMigratedPool(t)} },
	}
	for name, mk := range impls {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := mk(t)

			v := VotePost{TeamID: "T1", Channel: "C1", TS: "1.1", CommunityID: "c1", ProposalID: "p1", Kind: "choice",
				Options: []string{"a", "b"}, Users: []string{"U1"}}
			if err := s.SaveVote(ctx, v); err != nil {
				t.Fatal(err)
			}
			if got, ok, err := s.Vote(ctx, "T1", "C1", "1.1"); err != nil || !ok || !reflect.DeepEqual(got, v) {
				t.Fatalf("vote = %+v %v %v", got, ok, err)
			}
			if _, ok, err := s.Vote(ctx, "T2", "C1", "1.1"); err != nil || ok {
				t.Fatalf("another team's vote found (%v)", err)
			}

			if n, err := s.ChannelName(ctx, "T1", "C1"); err != nil || n != "" {
				t.Fatalf("unknown channel named %q (%v)", n, err)
			}
			_ = s.SetChannelName(ctx, "T1", "C1", "general")
			_ = s.SetChannelName(ctx, "T1", "C1", "random")
			if n, _ := s.ChannelName(ctx, "T1", "C1"); n != "random" {
				t.Fatalf("channel named %q", n)
			}

			if err := s.ExpectRename(ctx, "T1", "C1", "general"); err != nil {
				t.Fatal(err)
			}
			if own, _ := s.TakeRename(ctx, "T1", "C1", "other"); own {
				t.Fatal("a rename we did not make taken as ours")
			}
			if own, _ := s.TakeRename(ctx, "T1", "C1", "general"); !own {
				t.Fatal("our rename not recognised")
			}
			if own, _ := s.TakeRename(ctx, "T1", "C1", "general"); own {
				t.Fatal("our rename recognised twice")
			}

		})
	}
}

func TestTokenStores(t *testing.T) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	pool := mustMigratedPool(t)
	pg, err := NewPostgresTokens(context.Background(), pool, key)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]TokenStore{"memory": &MemoryTokens{}, "postgres": pg} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			if _, err := s.BotToken(ctx, "T1"); !errors.Is(err, ErrNoToken) {
				t.Fatalf("missing token: %v", err)
			}
			_ = s.SaveBotToken(ctx, "T1", "xoxb-old")
			if err := s.SaveBotToken(ctx, "T1", "xoxb-secret-token"); err != nil {
				t.Fatal(err)
			}
			if tok, err := s.BotToken(ctx, "T1"); err != nil || tok != "xoxb-secret-token" {
				t.Fatalf("token %q (%v)", tok, err)
			}
			if teams, err := s.(teamLister).Teams(ctx); err != nil || !reflect.DeepEqual(teams, []string{"T1"}) {
				t.Fatalf("teams %q (%v)", teams, err)
			}
			// The installer's user token is kept apart from the bot token.
			if _, err := s.UserToken(ctx, "T1"); !errors.Is(err, ErrNoToken) {
				t.Fatalf("missing user token: %v", err)
			}
			_ = s.SaveUserToken(ctx, "T1", "xoxp-old")
			if err := s.SaveUserToken(ctx, "T1", "xoxp-secret-token"); err != nil {
				t.Fatal(err)
			}
			if tok, err := s.UserToken(ctx, "T1"); err != nil || tok != "xoxp-secret-token" {
				t.Fatalf("user token %q (%v)", tok, err)
			}
			if tok, err := s.BotToken(ctx, "T1"); err != nil || tok != "xoxb-secret-token" {
				t.Fatalf("saving the user token changed the bot token: %q (%v)", tok, err)
			}
			if _, err := s.UserToken(ctx, "T2"); !errors.Is(err, ErrNoToken) {
				t.Fatalf("another team's user token: %v", err)
			}
		})
	}
	ctx := context.Background()
	var sealed []byte
	if err := pool.QueryRow(ctx, `SELECT ciphertext FROM platform_secrets WHERE platform = 'slack' AND name = 'bot/T1'`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("xoxb")) {
		t.Fatal("token stored in clear")
	}
	other := make([]byte, 32)
	_, _ = rand.Read(other)
	wrong, _ := NewPostgresTokens(ctx, pool, other)
	if _, err := wrong.BotToken(ctx, "T1"); err == nil {
		t.Fatal("decrypted with the wrong key")
	}
	// A bot token moved into the user token's row does not decrypt as the user token.
	if _, err := pool.Exec(ctx, `UPDATE platform_secrets u SET nonce = b.nonce, ciphertext = b.ciphertext
		FROM platform_secrets b WHERE b.name = 'bot/T1' AND u.name = 'user/T1'`); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.UserToken(ctx, "T1"); err == nil {
		t.Fatal("a bot token moved to the user tokens decrypted")
	}
	if _, err := NewPostgresTokens(ctx, pool, key[:16]); err == nil {
		t.Fatal("a 16-byte key accepted")
	}
}

// Tokens that earlier versions sealed into slack_tokens and slack_user_tokens (the team id,
// and "user:" and the team id, as additional data) are copied into the kit's secret store
// when the store opens, so that an upgrade keeps every installation; a token saved since is
// not overwritten by an older copy.
func TestPostgresTokensCopyTheTokensOfEarlierVersions(t *testing.T) {
	ctx := context.Background()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	pool := mustMigratedPool(t)
	block, _ := aes.NewCipher(key)
	aead, _ := cipher.NewGCM(block)
	legacy := func(table, team, ad, token string) {
		t.Helper()
		nonce := make([]byte, aead.NonceSize())
		_, _ = rand.Read(nonce)
		if _, err := pool.Exec(ctx, `INSERT INTO `+table+` (team_id, nonce, ciphertext) VALUES ($1, $2, $3)`,
			team, nonce, aead.Seal(nil, nonce, []byte(token), []byte(ad))); err != nil {
			t.Fatal(err)
		}
	}
	legacy("slack_tokens", "T1", "T1", "xoxb-one")
	legacy("slack_user_tokens", "T1", "user:T1", "xoxp-one")
	legacy("slack_tokens", "T2", "T2", "xoxb-two")
	tokens, err := NewPostgresTokens(ctx, pool, key)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := tokens.BotToken(ctx, "T1"); err != nil || tok != "xoxb-one" {
		t.Fatalf("bot token T1 = %q %v", tok, err)
	}
	if tok, err := tokens.UserToken(ctx, "T1"); err != nil || tok != "xoxp-one" {
		t.Fatalf("user token T1 = %q %v", tok, err)
	}
	if teams, err := tokens.Teams(ctx); err != nil || !reflect.DeepEqual(teams, []string{"T1", "T2"}) {
		t.Fatalf("teams = %q %v", teams, err)
	}
	if err := tokens.SaveBotToken(ctx, "T2", "xoxb-two-new"); err != nil {
		t.Fatal(err)
	}
	again, err := NewPostgresTokens(ctx, pool, key)
	if err != nil {
		t.Fatal(err)
	}
	if tok, _ := again.BotToken(ctx, "T2"); tok != "xoxb-two-new" {
		t.Fatalf("reopening copied an old token over a new one: %q", tok)
	}
}

// The effects an earlier version recorded in slack_effects, and the events it handled, are
// copied into the kit's tables by the migration, so that an upgraded adapter neither
// performs an effect again nor handles an event again.
func TestMigrationCopiesTheLedgerOfEarlierVersions(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewPool(t)
	// The schema as it was before the kit: the first three migrations only.
	if _, err := migrate.Apply(ctx, pool, "slack_schema_migrations", fstest.MapFS{
		"m/0001_slack.sql":               &fstest.MapFile{Data: mustRead(t, "migrations/0001_slack.sql")},
		"m/0002_slack_user_tokens.sql":   &fstest.MapFile{Data: mustRead(t, "migrations/0002_slack_user_tokens.sql")},
		"m/0003_slack_effect_claims.sql": &fstest.MapFile{Data: mustRead(t, "migrations/0003_slack_effect_claims.sql")},
	}, "m"); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO slack_effects (idempotency_key, effect_id, community_id, method, purpose, result)
		VALUES ('e-vote', 'e-vote', 'c1', 'initiate_vote', 'query', '{"post_id": "1.1"}');
		INSERT INTO slack_seen_events (team_id, event_id) VALUES ('T1', 'Ev1')`); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	ledger := platform.PostgresLedger{Pool: pool, Platform: "slack"}
	if res, ok, err := ledger.Result(ctx, "e-vote"); err != nil || !ok || res["post_id"] != "1.1" {
		t.Fatalf("copied effect = %v %v %v", res, ok, err)
	}
	if seen, err := (platform.PostgresSeen{Pool: pool, Platform: "slack"}).Seen(ctx, "T1", "Ev1"); err != nil || !seen {
		t.Fatalf("copied event seen = %v %v", seen, err)
	}
}

func mustRead(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := migrations.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// The whole rename flow with the Postgres state: a restart (a new adapter on the same
// database) still answers a redelivered vote request from the ledger and knows its buttons.
func TestPostgresStateSurvivesRestart(t *testing.T) {
	pool := mustMigratedPool(t)
	pg := func(_ *Config, d *Deps) { d.Ledger = platform.PostgresLedger{Pool: pool, Platform: "slack"} }
	h := newHarness(t, PostgresState{Pool: pool}, pg)
	res := h.effect(busVote("e-vote", "p1", "C1"))
	postID := res.Result["post_id"].(string)
	_ = h.a.Close()

	h2 := newHarness(t, PostgresState{Pool: pool}, pg)
	if again := h2.effect(busVote("e-vote", "p1", "C1")); again.Result["post_id"] != postID {
		t.Fatalf("after restart answered %v", again.Result)
	}
	if n := len(h2.fake.seen("chat.postMessage")); n != 0 {
		t.Fatalf("posted the vote again after a restart (%d)", n)
	}
	h2.click("U3", "C1", postID, valueNo)
	if cv := h2.castVote(); cv.ProposalID != "p1" || cv.Vote.Boolean || cv.Vote.Username != "U3" {
		t.Fatalf("cast %+v", cv)
	}
}
