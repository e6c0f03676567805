package identity_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/identity"
	"github.com/policykit-go/policykit/internal/migrate"
	"github.com/policykit-go/policykit/internal/pgtest"
)

func newStore(t *testing.T) (*identity.Store, *pgxpool.Pool) {
	t.Helper()
	pool, _ := pgtest.NewPool(t)
	if err := identity.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return identity.New(pool, identity.Options{}), pool
}

// A database whose auth_* tables the GraphQL package created (before they were identity's)
// is current: Migrate applies nothing again, and its accounts keep working.
func TestMigrateKeepsADatabaseMigratedBeforeTheMove(t *testing.T) {
	ctx := context.Background()
	pool, _ := pgtest.NewPool(t)
	// testdata/graph_migrations holds the files as the GraphQL package applied them.
	if _, err := migrate.Apply(ctx, pool, "auth_migrations", os.DirFS("testdata"), "graph_migrations"); err != nil {
		t.Fatal(err)
	}
	ids := identity.New(pool, identity.Options{})
	acc, err := ids.Register(ctx, "old-timer", "old-password")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := identity.Migrate(ctx, pool); err != nil {
			t.Fatalf("migrate a database migrated before: %v", err)
		}
	}
	var applied int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM auth_migrations`).Scan(&applied); err != nil || applied != 1 {
		t.Fatalf("auth_migrations lists %d migrations (%v), want 1", applied, err)
	}
	got, secret, err := ids.Login(ctx, "old-timer", "old-password", time.Hour)
	if err != nil || got.ID != acc.ID || secret == "" {
		t.Fatalf("login to the account made before: %+v (%v)", got, err)
	}
}

// A fresh database is migrated once; migrating again changes nothing.
func TestMigrateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	_, pool := newStore(t)
	if err := identity.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'auth\_%' AND table_name <> 'auth_migrations'`).Scan(&n); err != nil || n != 4 {
		t.Fatalf("%d auth tables (%v), want 4", n, err)
	}
}

// SignInWithPlatform signs a member in to the account linked to it, or to a new one without
// a usable password, named after the platform and the member's id there.
func TestSignInWithPlatform(t *testing.T) {
	ctx := context.Background()
	ids, pool := newStore(t)
	member := func(userID, externalID string) identity.PlatformMember {
		return identity.PlatformMember{Platform: domain.PlatformSlack, ExternalID: externalID, CommunityID: "garden", UserID: userID}
	}

	// A member whose account exists (made with a password) signs in to it.
	alice, err := ids.Register(ctx, "alice", "alice-secret")
	if err != nil {
		t.Fatal(err)
	}
	if err := ids.LinkMember(ctx, alice.ID, "garden", "alice"); err != nil {
		t.Fatal(err)
	}
	acc, secret, err := ids.SignInWithPlatform(ctx, member("alice", "UALICE"), time.Hour)
	if err != nil || acc.ID != alice.ID || secret == "" {
		t.Fatalf("alice signed in as %+v (%v)", acc, err)
	}

	// A member without an account gets one, linked to it.
	dora, _, err := ids.SignInWithPlatform(ctx, member("user-dora", "UDORA"), time.Hour)
	if err != nil || dora.Username != "slack-udora" {
		t.Fatalf("dora signed in as %+v (%v)", dora, err)
	}
	again, _, err := ids.SignInWithPlatform(ctx, member("user-dora", "UDORA2"), time.Hour)
	if err != nil || again.ID != dora.ID {
		t.Fatalf("dora's second sign-in: %+v (%v), want account %s", again, err, dora.ID)
	}
	// No password opens it, not even the stored hash itself.
	var hash string
	if err := pool.QueryRow(ctx, `SELECT password_hash FROM auth_accounts WHERE id = $1`, dora.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"", "!", hash, "password1"} {
		if _, _, err := ids.Login(ctx, "slack-udora", pw, time.Hour); !errors.Is(err, domain.ErrForbidden) {
			t.Fatalf("login with %q: %v, want FORBIDDEN", pw, err)
		}
	}

	// A taken or unfit member id still gives a valid username.
	for external, prefix := range map[string]string{"UDORA": "slack-udora-", "é": "slack--", "Ünïcode Name!": "slack--n-code-name-"} {
		acc, _, err := ids.SignInWithPlatform(ctx, member("user-"+external, external), time.Hour)
		if err != nil || !strings.HasPrefix(acc.Username, prefix) {
			t.Fatalf("member %q named %q (%v), want prefix %q", external, acc.Username, err, prefix)
		}
	}
	for name, m := range map[string]identity.PlatformMember{
		"no community":   {Platform: "slack", ExternalID: "U1", UserID: "x"},
		"no user":        {Platform: "slack", ExternalID: "U1", CommunityID: "garden"},
		"no platform":    {ExternalID: "U1", CommunityID: "garden", UserID: "x"},
		"no external id": {Platform: "slack", CommunityID: "garden", UserID: "x"},
	} {
		if _, _, err := ids.SignInWithPlatform(ctx, m, time.Hour); !errors.Is(err, domain.ErrInvalid) {
			t.Errorf("%s: %v, want INVALID", name, err)
		}
	}
}

// Concurrent first sign-ins of one member agree on one account and leave no other behind.
func TestSignInWithPlatformConcurrently(t *testing.T) {
	ctx := context.Background()
	ids, pool := newStore(t)
	accounts := make([]string, 8)
	var wg sync.WaitGroup
	for i := range accounts {
		wg.Go(func() {
			acc, _, err := ids.SignInWithPlatform(ctx, identity.PlatformMember{Platform: "slack", ExternalID: "UERIN", CommunityID: "garden", UserID: "user-erin"}, time.Hour)
			if err != nil {
				t.Error(err)
			}
			accounts[i] = acc.ID
		})
	}
	wg.Wait()
	for _, id := range accounts {
		if id != accounts[0] {
			t.Fatalf("sign-ins got accounts %v", accounts)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM auth_accounts WHERE username LIKE 'slack-uerin%'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d accounts made (%v)", n, err)
	}
}

func TestSetSessionCookie(t *testing.T) {
	rec := httptest.NewRecorder()
	identity.SetSessionCookie(rec, "s3cret", 2*time.Hour, true)
	cs := rec.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("cookies %v", cs)
	}
	c := cs[0]
	if c.Name != identity.SessionCookie || c.Value != "s3cret" || c.Path != "/" || c.MaxAge != 7200 || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie %+v", c)
	}
}

func TestCredentialsOf(t *testing.T) {
	for name, tc := range map[string]struct {
		authorization, cookie string
		want                  identity.Credentials
	}{
		"none":                 {want: identity.Credentials{}},
		"bearer token":         {authorization: "Bearer  pk_abc ", want: identity.Credentials{Token: "pk_abc"}},
		"bearer in lower case": {authorization: "bearer pk_abc", want: identity.Credentials{Token: "pk_abc"}},
		"another scheme":       {authorization: "Basic YWxpY2U6c2VjcmV0", want: identity.Credentials{}},
		"session and token":    {authorization: "Bearer t", cookie: "s", want: identity.Credentials{Token: "t", Session: "s"}},
	} {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.authorization != "" {
				r.Header.Set("Authorization", tc.authorization)
			}
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: tc.cookie})
			}
			if got := identity.CredentialsOf(r); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSignInLimits(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := identity.NewSignInLimits(identity.RateLimit{Every: time.Minute, Burst: 3}, identity.RateLimit{Every: time.Minute, Burst: 2},
		func() time.Time { return now })
	// One username: two attempts, then refused, from any address.
	if !l.Allow("10.0.0.1:1000", "alice") || !l.Allow("10.0.0.2:1000", "Alice ") || l.Allow("10.0.0.3:1000", "alice") {
		t.Fatal("a username's attempts are not limited to its burst")
	}
	// One address (any port; an IPv6 client by its /64): three attempts, then refused.
	if !l.Allow("[2001:db8::1]:1", "a1") || !l.Allow("[2001:db8::2]:2", "a2") || !l.Allow("[2001:db8::3]:3", "a3") || l.Allow("[2001:db8::4]:4", "a4") {
		t.Fatal("an address's attempts are not limited to its burst")
	}
	now = now.Add(time.Minute)
	if !l.Allow("10.0.0.3:1000", "alice") {
		t.Fatal("no attempt back after Every")
	}
}
