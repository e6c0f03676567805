package reddit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/adapters/reddit/reddittest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
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

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

// postgresAdapter is an adapter whose state, handled posts and tokens are in pool, against
// fake, for community c1 on r/garden.
func postgresAdapter(t *testing.T, pool *pgxpool.Pool, key []byte, fake *reddittest.Fake, pub *recorder) *Adapter {
	t.Helper()
	secrets, err := platform.NewPostgresSecrets(pool, domain.PlatformReddit, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := &platform.MemoryDirectory{}
	learn(t, dir, 1, domain.PlatformConnected{CommunityHeader: domain.CommunityHeader{CommunityID: "c1", At: time.Now()}, Platform: domain.PlatformReddit, ExternalID: "garden"})
	a, err := New(Section{ClientID: reddittest.ClientID, ClientSecret: reddittest.ClientSecret, APIURL: fake.URL(), AuthURL: fake.URL(), RateLimitMaxWait: 3 * time.Second},
		Deps{Publisher: pub, Directory: dir, Secrets: secrets, State: PostgresState{Pool: pool},
			Seen: platform.PostgresSeen{Pool: pool, Platform: domain.PlatformReddit}, DirectoryWait: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// noRedirects is a client that reports redirects rather than following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// A moderator's install: /auth/reddit/install sends them to Reddit's authorization with a
// signed state (a permanent grant, the moderation scopes); the callback exchanges the code
// at the token endpoint, checks the account moderates the subreddit, keeps the token
// encrypted, and creates the subreddit's community with the account its first admin. The
// state is single use.
func TestInstallCreatesTheCommunityAndKeepsTheTokenEncrypted(t *testing.T) {
	ctx := context.Background()
	pool := mustMigratedPool(t)
	key := newKey(t)
	fake := reddittest.New(t.Cleanup)
	a := postgresAdapter(t, pool, key, fake, &recorder{})
	var got []platform.Installation
	host := platform.Host{BaseURL: "https://policykit.example", Pool: pool, Log: slog.New(slog.DiscardHandler),
		CreateCommunity: func(_ context.Context, in platform.Installation) (string, bool, error) {
			got = append(got, in)
			return "c9", true, nil
		}}
	srv := httptest.NewServer((&Plugged{Adapter: a}).installRoutes(host))
	defer srv.Close()

	state := startInstall(t, srv.URL, fake)
	code, body := callback(t, srv.URL, reddittest.Code, state)
	if code != http.StatusOK || body["community_id"] != "c9" || body["created"] != true || body["subreddit"] != "garden" {
		t.Fatalf("callback answered %d %v", code, body)
	}
	want := platform.Installation{Platform: domain.PlatformReddit, ExternalID: "garden", Name: "r/garden", InstallerID: "modbot", Kit: "permissive"}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("communities created %+v, want %+v", got, want)
	}
	secrets, _ := platform.NewPostgresSecrets(pool, domain.PlatformReddit, key)
	raw, err := secrets.Get(ctx, tokenName("garden"))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(raw), &tok); err != nil || tok.RefreshToken != reddittest.RefreshToken || tok.AccessToken != reddittest.AccessToken {
		t.Fatalf("kept token %q (%v)", raw, err)
	}
	if user, _ := secrets.Get(ctx, "user:garden"); user != "modbot" {
		t.Fatalf("kept account %q", user)
	}
	rows, err := pool.Query(ctx, `SELECT ciphertext FROM platform_secrets WHERE platform = 'reddit'`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var c []byte
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		n++
		if bytes.Contains(c, []byte(reddittest.RefreshToken)) || bytes.Contains(c, []byte("modbot")) {
			t.Fatalf("a secret is kept in the clear: %q", c)
		}
	}
	if rows.Err() != nil || n != 2 {
		t.Fatalf("%d secrets kept (%v), want the token and the account", n, rows.Err())
	}
	// The installed subreddit is polled with the kept token.
	if err := a.Poll(ctx); err != nil {
		t.Fatal(err)
	}

	if code, _ := callback(t, srv.URL, reddittest.Code, state); code != http.StatusBadRequest || len(got) != 1 {
		t.Fatalf("a replayed state answered %d, %d communities created", code, len(got))
	}
}

// An account that does not moderate the subreddit installs nothing: no community, and its
// token is not kept usable.
func TestInstallByANonModeratorIsRefused(t *testing.T) {
	ctx := context.Background()
	pool := mustMigratedPool(t)
	key := newKey(t)
	fake := reddittest.New(t.Cleanup)
	fake.SetModerator(false)
	a := postgresAdapter(t, pool, key, fake, &recorder{})
	created := false
	host := platform.Host{BaseURL: "https://policykit.example", Pool: pool, Log: slog.New(slog.DiscardHandler),
		CreateCommunity: func(context.Context, platform.Installation) (string, bool, error) {
			created = true
			return "c9", true, nil
		}}
	srv := httptest.NewServer((&Plugged{Adapter: a}).installRoutes(host))
	defer srv.Close()
	code, body := callback(t, srv.URL, reddittest.Code, startInstall(t, srv.URL, fake))
	if code != http.StatusForbidden || created || !strings.Contains(body["error"].(string), "does not moderate") {
		t.Fatalf("callback answered %d %v, created %v", code, body, created)
	}
	if _, err := a.httpClient(ctx, "garden"); err == nil {
		t.Fatal("the refused install's token is usable")
	}
}

// startInstall follows /auth/reddit/install to Reddit's authorization URL and returns its
// state.
func startInstall(t *testing.T, base string, fake *reddittest.Fake) string {
	t.Helper()
	resp, err := noRedirects.Get(base + "/auth/reddit/install?subreddit=garden&kit=permissive")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), fake.URL()+"api/v1/authorize?") {
		t.Fatalf("install answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("client_id") != reddittest.ClientID || q.Get("duration") != "permanent" || q.Get("response_type") != "code" ||
		q.Get("redirect_uri") != "https://policykit.example/auth/reddit/callback" || !slices.Contains(strings.Fields(q.Get("scope")), "modposts") || q.Get("state") == "" {
		t.Fatalf("authorization URL %s", loc)
	}
	return q.Get("state")
}

func callback(t *testing.T, base, code, state string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(base + "/auth/reddit/callback?" + url.Values{"code": {code}, "state": {state}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// The polling cursor, the handled posts and the votes already cast are in Postgres: an
// adapter started again (a restart, or another process) proposes only what was posted
// since (not its own vote post) and does not send a vote again.
func TestPostgresStateSurvivesARestart(t *testing.T) {
	ctx := context.Background()
	pool := mustMigratedPool(t)
	key := newKey(t)
	fake := reddittest.New(t.Cleanup)
	pub1 := &recorder{}
	a1 := postgresAdapter(t, pool, key, fake, pub1)
	tok, _ := json.Marshal(map[string]any{"access_token": reddittest.AccessToken, "token_type": "bearer", "refresh_token": reddittest.RefreshToken, "expiry": time.Now().Add(time.Hour)})
	if err := a1.deps.Secrets.Put(ctx, tokenName("garden"), string(tok)); err != nil {
		t.Fatal(err)
	}
	if err := a1.deps.Secrets.Put(ctx, "user:garden", "modbot"); err != nil {
		t.Fatal(err)
	}
	fake.AddPost("p0", "alice", "Before the install")
	if err := a1.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	fake.AddPost("p1", "alice", "First")
	if err := a1.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	vr := effect("e-vote", bus.MethodInitiateVote, map[string]any{"text": "Keep it?", "users": []any{"alice", "bob"}})
	vr.ProposalID = "p1"
	res, err := a1.Perform(ctx, vr)
	if err != nil {
		t.Fatal(err)
	}
	comment := res["post_id"].(string)
	fake.Reply(comment, "alice", "+1", "t1_a1", 100)
	if err := a1.PollVotes(ctx); err != nil {
		t.Fatal(err)
	}
	if p, v := proposedNames(t, pub1), len(pub1.payloads(bus.TopicCastVote)); !slices.Equal(p, []string{"t3_p1"}) || v != 1 {
		t.Fatalf("before the restart: proposed %q, %d votes", p, v)
	}

	pub2 := &recorder{}
	a2 := postgresAdapter(t, pool, key, fake, pub2)
	fake.AddPost("p2", "bob", "Second")
	fake.Reply(comment, "bob", "-1", "t1_b1", 101)
	if err := a2.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if p := proposedNames(t, pub2); !slices.Equal(p, []string{"t3_p2"}) {
		t.Fatalf("after the restart proposed %q, want only the post made since", p)
	}
	var votes []string
	for _, raw := range pub2.payloads(bus.TopicCastVote) {
		var v bus.CastVote
		_ = json.Unmarshal(raw, &v)
		votes = append(votes, v.Vote.Username)
	}
	if !slices.Equal(votes, []string{"bob"}) {
		t.Fatalf("after the restart votes of %q, want bob's only", votes)
	}
	if c, _ := (PostgresState{Pool: pool}).Cursor(ctx, "garden"); c != "t3_p2" {
		t.Fatalf("cursor %q", c)
	}
}

func proposedNames(t *testing.T, pub *recorder) []string {
	t.Helper()
	var out []string
	for _, raw := range pub.payloads(bus.TopicProposeAction) {
		var p bus.ProposeAction
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Action.Field("name"))
	}
	return out
}
