package graph_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/graph"
)

// SignInMember signs a member in to the account linked to it, or to a new one without a
// usable password; either way the session works like a password login's.
func TestSignInMember(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	accounts := graph.NewAccounts(e.pool)
	const me = `{ me { username memberships { communityId userId } } }`

	// A member whose account exists (alice's, made with a password) signs in to it.
	acc, secret, err := accounts.SignInMember(ctx, "garden", "alice", "slack-UALICE", time.Hour)
	if err != nil || acc.Username != "alice" || secret == "" {
		t.Fatalf("alice signed in as %+v (%v)", acc, err)
	}
	_, out := e.post(t, "", []*http.Cookie{{Name: graph.SessionCookie, Value: secret}}, me, nil)
	if len(out.Errors) > 0 || !strings.Contains(string(out.Data), `"username":"alice"`) || !strings.Contains(string(out.Data), `"userId":"alice"`) {
		t.Fatalf("alice's session: %s %+v", out.Data, out.Errors)
	}

	// A member without an account gets one, named after the hint and linked to it.
	acc, secret, err = accounts.SignInMember(ctx, "garden", "user-dora", "slack-UDORA", time.Hour)
	if err != nil || acc.Username != "slack-udora" {
		t.Fatalf("dora signed in as %+v (%v)", acc, err)
	}
	_, out = e.post(t, "", []*http.Cookie{{Name: graph.SessionCookie, Value: secret}}, me, nil)
	if len(out.Errors) > 0 || string(out.Data) != `{"me":{"username":"slack-udora","memberships":[{"communityId":"garden","userId":"user-dora"}]}}` {
		t.Fatalf("dora's session: %s %+v", out.Data, out.Errors)
	}
	again, _, err := accounts.SignInMember(ctx, "garden", "user-dora", "another hint", time.Hour)
	if err != nil || again.ID != acc.ID {
		t.Fatalf("dora's second sign-in: %+v (%v), want account %s", again, err, acc.ID)
	}
	// No password opens it, not even the stored hash itself.
	var hash string
	if err := e.pool.QueryRow(ctx, `SELECT password_hash FROM auth_accounts WHERE id = $1`, acc.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"", "!", hash, "password1"} {
		if _, _, err := accounts.Login(ctx, "slack-udora", pw, time.Hour); !errors.Is(err, domain.ErrForbidden) {
			t.Fatalf("login with %q: %v, want FORBIDDEN", pw, err)
		}
	}

	// A taken or unfit hint still gives a valid username.
	for hint, prefix := range map[string]string{"Alice": "alice-", "é": "member", "Ünïcode Name!": "-n-code-name-"} {
		acc, _, err := accounts.SignInMember(ctx, "garden", "user-"+hint, hint, time.Hour)
		if err != nil || !strings.HasPrefix(acc.Username, prefix) {
			t.Fatalf("hint %q named %q (%v), want prefix %q", hint, acc.Username, err, prefix)
		}
	}
	if _, _, err := accounts.SignInMember(ctx, "", "x", "x", time.Hour); !errors.Is(err, domain.ErrInvalid) {
		t.Fatalf("no community: %v, want INVALID", err)
	}
}

// Concurrent first sign-ins of one member agree on one account and leave no other behind.
func TestSignInMemberConcurrently(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	accounts := graph.NewAccounts(e.pool)
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acc, _, err := accounts.SignInMember(ctx, "garden", "user-erin", "slack-UERIN", time.Hour)
			if err != nil {
				t.Error(err)
			}
			ids[i] = acc.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("sign-ins got accounts %v", ids)
		}
	}
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM auth_accounts WHERE username LIKE 'slack-uerin%'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d accounts made (%v)", n, err)
	}
}

func TestSetSessionCookie(t *testing.T) {
	rec := httptest.NewRecorder()
	graph.SetSessionCookie(rec, "s3cret", 2*time.Hour, true)
	cs := rec.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("cookies %v", cs)
	}
	c := cs[0]
	if c.Name != graph.SessionCookie || c.Value != "s3cret" || c.Path != "/" || c.MaxAge != 7200 || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("cookie %+v", c)
	}
}
