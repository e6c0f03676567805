package graph_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/identity"
)

// A platform sign-in's session works on the API like a password login's: for a member with
// an account (alice's) and for one who got a new account (dora).
func TestPlatformSignInSessionWorksOnTheAPI(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	ids := identity.New(e.pool, identity.Options{})
	const me = `{ me { username memberships { communityId userId } } }`

	acc, secret, err := ids.SignInWithPlatform(ctx, identity.PlatformMember{Platform: "slack", ExternalID: "UALICE", CommunityID: "garden", UserID: "alice"}, time.Hour)
	if err != nil || acc.Username != "alice" || secret == "" {
		t.Fatalf("alice signed in as %+v (%v)", acc, err)
	}
	_, out := e.post(t, "", []*http.Cookie{{Name: identity.SessionCookie, Value: secret}}, me, nil)
	if len(out.Errors) > 0 || !strings.Contains(string(out.Data), `"username":"alice"`) || !strings.Contains(string(out.Data), `"userId":"alice"`) {
		t.Fatalf("alice's session: %s %+v", out.Data, out.Errors)
	}

	acc, secret, err = ids.SignInWithPlatform(ctx, identity.PlatformMember{Platform: "slack", ExternalID: "UDORA", CommunityID: "garden", UserID: "user-dora"}, time.Hour)
	if err != nil || acc.Username != "slack-udora" {
		t.Fatalf("dora signed in as %+v (%v)", acc, err)
	}
	_, out = e.post(t, "", []*http.Cookie{{Name: identity.SessionCookie, Value: secret}}, me, nil)
	if len(out.Errors) > 0 || string(out.Data) != `{"me":{"username":"slack-udora","memberships":[{"communityId":"garden","userId":"user-dora"}]}}` {
		t.Fatalf("dora's session: %s %+v", out.Data, out.Errors)
	}
}
