package slack

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

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

// The State contract, run against every implementation.
func TestStateContract(t *testing.T) {
	impls := map[string]func(t *testing.T) State{
		"memory":   func(*testing.T) State { return NewMemoryState() },
		"postgres": func(t *testing.T) State { return PostgresState{Pool: mustMigratedPool(t)} },
	}
	for name, mk := range impls {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := mk(t)

			if _, ok, err := s.Effect(ctx, "k1"); err != nil || ok {
				t.Fatalf("empty ledger has k1 (%v)", err)
			}
			first, err := s.SaveEffect(ctx, "k1", EffectRecord{EffectID: "e1", CommunityID: "c1", Method: "initiate_vote", Purpose: "query",
				Result: map[string]any{"post_id": "1.1", "url": "u"}})
			if err != nil || first["post_id"] != "1.1" {
				t.Fatalf("save: %v %v", first, err)
			}
			second, err := s.SaveEffect(ctx, "k1", EffectRecord{EffectID: "e1", CommunityID: "c1", Method: "initiate_vote", Purpose: "query",
				Result: map[string]any{"post_id": "2.2"}})
			if err != nil || second["post_id"] != "1.1" {
				t.Fatalf("the first result must stand: %v %v", second, err)
			}
			if got, ok, err := s.Effect(ctx, "k1"); err != nil || !ok || got["url"] != "u" {
				t.Fatalf("effect k1 = %v %v %v", got, ok, err)
			}

			// Claims: one attempt at a key at a time; the holder renews its own; a failed
			// attempt's claim is dropped by its holder only, a crashed one's expires; once a
			// result is stored, every claim answers it.
			claim := func(key, holder string, ttl time.Duration) EffectClaim {
				t.Helper()
				cl, err := s.ClaimEffect(ctx, key, holder, ttl)
				if err != nil {
					t.Fatal(err)
				}
				return cl
			}
			if cl := claim("k1", "h1", time.Minute); !cl.Done || cl.Result["post_id"] != "1.1" || cl.Claimed {
				t.Fatalf("a claim of a performed effect answered %+v", cl)
			}
			if cl := claim("k2", "h1", time.Minute); !cl.Claimed || cl.Done {
				t.Fatalf("first claim answered %+v", cl)
			}
			if cl := claim("k2", "h2", time.Minute); cl.Claimed || cl.Done {
				t.Fatalf("a live claim taken over: %+v", cl)
			}
			if cl := claim("k2", "h1", time.Minute); !cl.Claimed {
				t.Fatalf("the holder's renewal answered %+v", cl)
			}
			if err := s.ReleaseEffect(ctx, "k2", "h2"); err != nil {
				t.Fatal(err)
			}
			if cl := claim("k2", "h2", time.Minute); cl.Claimed {
				t.Fatal("another holder released h1's claim")
			}
			if err := s.ReleaseEffect(ctx, "k2", "h1"); err != nil {
				t.Fatal(err)
			}
			if cl := claim("k2", "h2", time.Minute); !cl.Claimed {
				t.Fatalf("a released key not claimed: %+v", cl)
			}
			if _, err := s.SaveEffect(ctx, "k2", EffectRecord{EffectID: "e2", CommunityID: "c1", Method: "post_message", Purpose: "policy",
				Result: map[string]any{"ts": "3.3"}}); err != nil {
				t.Fatal(err)
			}
			if cl := claim("k2", "h3", time.Minute); !cl.Done || cl.Result["ts"] != "3.3" {
				t.Fatalf("a claim after the result answered %+v", cl)
			}
			if cl := claim("k3", "crashed", 0); !cl.Claimed {
				t.Fatalf("claim answered %+v", cl)
			}
			if cl := claim("k3", "h1", time.Minute); !cl.Claimed {
				t.Fatalf("an expired claim not taken over: %+v", cl)
			}
			// Many attempts at once: exactly one holds the key.
			var claimed atomic.Int32
			var cwg sync.WaitGroup
			for i := range 16 {
				cwg.Add(1)
				go func() {
					defer cwg.Done()
					cl, err := s.ClaimEffect(ctx, "k4", fmt.Sprint("h", i), time.Minute)
					if err != nil {
						t.Error(err)
					}
					if cl.Claimed {
						claimed.Add(1)
					}
				}()
			}
			cwg.Wait()
			if claimed.Load() != 1 {
				t.Fatalf("%d attempts claimed one key", claimed.Load())
			}

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

			if seen, err := s.Seen(ctx, "T1", "Ev1"); err != nil || seen {
				t.Fatalf("an event not recorded is seen (%v)", err)
			}
			// Many concurrent deliveries of one event: exactly one is first.
			var wins atomic.Int32
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					first, err := s.FirstSeen(ctx, "T1", "Ev1")
					if err != nil {
						t.Error(err)
					}
					if first {
						wins.Add(1)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d deliveries were first", wins.Load())
			}
			if seen, err := s.Seen(ctx, "T1", "Ev1"); err != nil || !seen {
				t.Fatalf("a recorded event is not seen (%v)", err)
			}
			if first, _ := s.FirstSeen(ctx, "T2", "Ev1"); !first {
				t.Fatal("another team's event taken as seen")
			}
		})
	}
}

func TestTokenStores(t *testing.T) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	pool := mustMigratedPool(t)
	pg, err := NewPostgresTokens(pool, key)
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
	if err := pool.QueryRow(ctx, `SELECT ciphertext FROM slack_tokens WHERE team_id = 'T1'`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("xoxb")) {
		t.Fatal("token stored in clear")
	}
	if err := pool.QueryRow(ctx, `SELECT ciphertext FROM slack_user_tokens WHERE team_id = 'T1'`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("xoxp")) {
		t.Fatal("user token stored in clear")
	}
	other := make([]byte, 32)
	_, _ = rand.Read(other)
	wrong, _ := NewPostgresTokens(pool, other)
	if _, err := wrong.BotToken(ctx, "T1"); err == nil {
		t.Fatal("decrypted with the wrong key")
	}
	// A ciphertext moved to another team's row does not decrypt.
	if _, err := pool.Exec(ctx, `INSERT INTO slack_tokens (team_id, nonce, ciphertext) SELECT 'T2', nonce, ciphertext FROM slack_tokens WHERE team_id = 'T1'`); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.BotToken(ctx, "T2"); err == nil {
		t.Fatal("a token moved to another team decrypted")
	}
	if _, err := wrong.UserToken(ctx, "T1"); err == nil {
		t.Fatal("a user token decrypted with the wrong key")
	}
	// A bot token moved into the user tokens' table does not decrypt as the user token.
	if _, err := pool.Exec(ctx, `UPDATE slack_user_tokens u SET nonce = b.nonce, ciphertext = b.ciphertext
		FROM slack_tokens b WHERE b.team_id = 'T1' AND u.team_id = 'T1'`); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.UserToken(ctx, "T1"); err == nil {
		t.Fatal("a bot token moved to the user tokens decrypted")
	}
	if _, err := NewPostgresTokens(pool, key[:16]); err == nil {
		t.Fatal("a 16-byte key accepted")
	}
}

func TestPostgresDirectory(t *testing.T) {
	pool, _ := pgtest.NewPool(t)
	ctx := context.Background()
	// The engine's read models, as projections/migrations create them (only the columns read).
	if _, err := pool.Exec(ctx, `
		CREATE TABLE community_platforms (community_id text, platform text, external_id text, active boolean, connected_at timestamptz);
		CREATE TABLE community_users (id text, community_id text, platform text, username text);
		INSERT INTO community_platforms VALUES ('c1', 'slack', 'T1', true, now()), ('c2', 'slack', 'T9', false, now()), ('c3', 'discord', 'T1', true, now());
		INSERT INTO community_users VALUES ('user-1', 'c1', 'slack', 'U1'), ('user-x', 'c1', 'discord', 'U2');`); err != nil {
		t.Fatal(err)
	}
	d := PostgresDirectory{Pool: pool}
	if c, err := d.CommunityOfTeam(ctx, "T1"); err != nil || c != "c1" {
		t.Fatalf("community of T1 = %q (%v)", c, err)
	}
	if _, err := d.CommunityOfTeam(ctx, "T9"); !errors.Is(err, ErrUnknownWorkspace) {
		t.Fatalf("disconnected team: %v", err)
	}
	if team, err := d.TeamOfCommunity(ctx, "c1"); err != nil || team != "T1" {
		t.Fatalf("team of c1 = %q (%v)", team, err)
	}
	if _, err := d.TeamOfCommunity(ctx, "c3"); !errors.Is(err, ErrUnknownWorkspace) {
		t.Fatalf("community without slack: %v", err)
	}
	if u, err := d.UserID(ctx, "c1", "U1"); err != nil || u != "user-1" {
		t.Fatalf("user U1 = %q (%v)", u, err)
	}
	if u, err := d.UserID(ctx, "c1", "U2"); err != nil || u != "" {
		t.Fatalf("a discord user found as slack user: %q (%v)", u, err)
	}
}

// The whole rename flow with the Postgres state: a restart (a new adapter on the same
// database) still answers a redelivered vote request from the ledger and knows its buttons.
func TestPostgresStateSurvivesRestart(t *testing.T) {
	pool := mustMigratedPool(t)
	h := newHarness(t, PostgresState{Pool: pool})
	res := h.effect(busVote("e-vote", "p1", "C1"))
	postID := res.Result["post_id"].(string)
	_ = h.a.Close()

	h2 := newHarness(t, PostgresState{Pool: pool})
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
