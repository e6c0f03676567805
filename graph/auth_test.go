package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/identity"
	"github.com/policykit-go/policykit/starterkits"
)

// post sends a document over HTTP with the given cookies and Authorization header ("" for
// none) and returns the response and its decoded body.
func (e *env) post(t *testing.T, authorization string, cookies []*http.Cookie, query string, vars map[string]any) (*http.Response, struct {
	Data   json.RawMessage
	Errors []gqlError
}) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	var out struct {
		Data   json.RawMessage
		Errors []gqlError
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("response %d %s: %v", rec.Code, rec.Body, err)
	}
	return rec.Result(), out
}

func sessionCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == identity.SessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", identity.SessionCookie, resp.Header["Set-Cookie"])
	return nil
}

func TestLoginSetsASessionCookieThatWorks(t *testing.T) {
	e := newEnv(t, nil)
	const me = `{ me { username memberships { communityId userId permissions } } communities { id } }`

	_, out := e.post(t, "", nil, `mutation { login(username: "alice", password: "wrong-password") { id } }`, nil)
	if len(out.Errors) == 0 || out.Errors[0].Extensions["code"] != "FORBIDDEN" {
		t.Fatalf("wrong password: %+v, want FORBIDDEN", out.Errors)
	}
	_, out = e.post(t, "", nil, `mutation { login(username: "nobody", password: "whatever1") { id } }`, nil)
	if len(out.Errors) == 0 || out.Errors[0].Extensions["code"] != "FORBIDDEN" {
		t.Fatalf("unknown user: %+v, want FORBIDDEN", out.Errors)
	}

	resp, out := e.post(t, "", nil, `mutation { login(username: "Alice", password: "alice-secret") { username memberships { communityId userId } } }`, nil)
	if len(out.Errors) > 0 || !strings.Contains(string(out.Data), `"userId":"alice"`) {
		t.Fatalf("login: %s %+v", out.Data, out.Errors)
	}
	cookie := sessionCookie(t, resp)
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Value == "" || cookie.MaxAge <= 0 {
		t.Errorf("cookie %+v, want a lasting http-only SameSite=Lax session", cookie)
	}

	_, out = e.post(t, "", []*http.Cookie{{Name: identity.SessionCookie, Value: cookie.Value}}, me, nil)
	if len(out.Errors) > 0 || !strings.Contains(string(out.Data), `"username":"alice"`) || !strings.Contains(string(out.Data), `"communities":[{"id":"garden"}]`) ||
		!strings.Contains(string(out.Data), `"view:platform:*"`) {
		t.Fatalf("with the session: %s %+v", out.Data, out.Errors)
	}

	resp, out = e.post(t, "", []*http.Cookie{{Name: identity.SessionCookie, Value: cookie.Value}}, `mutation { logout }`, nil)
	if string(out.Data) != `{"logout":true}` {
		t.Fatalf("logout: %s %+v", out.Data, out.Errors)
	}
	if c := sessionCookie(t, resp); c.Value != "" || c.MaxAge >= 0 {
		t.Errorf("logout cookie %+v, want it cleared", c)
	}
	_, out = e.post(t, "", []*http.Cookie{{Name: identity.SessionCookie, Value: cookie.Value}}, me, nil)
	if len(out.Errors) == 0 || out.Errors[0].Extensions["code"] != "FORBIDDEN" {
		t.Fatalf("after logout: %s %+v, want FORBIDDEN", out.Data, out.Errors)
	}
}

func TestRegister(t *testing.T) {
	e := newEnv(t, nil)
	_, out := e.post(t, "", nil, `mutation { register(username: "Dave", password: "dave-password") { username memberships { communityId } apiTokens { edges { node { id } } } } }`, nil)
	if len(out.Errors) > 0 || string(out.Data) != `{"register":{"username":"dave","memberships":[],"apiTokens":{"edges":[]}}}` {
		t.Fatalf("register: %s %+v", out.Data, out.Errors)
	}
	for name, c := range map[string]struct{ query, code string }{
		"taken":          {`mutation { register(username: "dave", password: "other-password") { id } }`, "CONFLICT"},
		"short password": {`mutation { register(username: "erin", password: "short") { id } }`, "INVALID"},
		"bad username":   {`mutation { register(username: "e rin", password: "erin-password") { id } }`, "INVALID"},
	} {
		if _, out := e.post(t, "", nil, c.query, nil); len(out.Errors) == 0 || out.Errors[0].Extensions["code"] != c.code {
			t.Errorf("%s: %+v, want %s", name, out.Errors, c.code)
		}
	}
	// A new account is no member of anything.
	resp, _ := e.post(t, "", nil, `mutation { login(username: "dave", password: "dave-password") { id } }`, nil)
	_, out = e.post(t, "", []*http.Cookie{sessionCookie(t, resp)}, `{ communities { id } }`, nil)
	if string(out.Data) != `{"communities":[]}` {
		t.Errorf("dave's communities: %s %+v", out.Data, out.Errors)
	}
	if _, out = e.post(t, "", []*http.Cookie{sessionCookie(t, resp)}, `{ community(id: "garden") { id } }`, nil); len(out.Errors) == 0 || out.Errors[0].Extensions["code"] != "NOT_FOUND" {
		t.Errorf("dave reads garden: %s %+v, want NOT_FOUND", out.Data, out.Errors)
	}
}

func TestAPITokenWorksUntilRevoked(t *testing.T) {
	e := newEnv(t, nil)
	var created struct {
		CreateAPIToken struct {
			Token  struct{ ID, Name string }
			Secret string
		}
	}
	e.mustQuery(t, &created, `mutation { createApiToken(name: "nightly report") { token { id name } secret } }`)
	tok := created.CreateAPIToken
	if tok.Token.Name != "nightly report" || !strings.HasPrefix(tok.Secret, "pk_") {
		t.Fatalf("created %+v", tok)
	}
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM auth_api_tokens WHERE token_hash = $1`, tok.Secret).Scan(&n); err != nil || n != 0 {
		t.Errorf("the secret is stored as is (%d, %v)", n, err)
	}

	_, out := e.post(t, "Bearer "+tok.Secret, nil, `{ me { username apiTokens { edges { node { name revokedAt } } } } }`, nil)
	if len(out.Errors) > 0 || !strings.Contains(string(out.Data), `{"node":{"name":"nightly report","revokedAt":null}}`) {
		t.Fatalf("with the new token: %s %+v", out.Data, out.Errors)
	}

	// Bob cannot revoke alice's token.
	errs := e.mustFailAs(t, "Bearer "+e.tokens["bob"], `mutation($id: ID!) { revokeApiToken(id: $id) { id } }`, map[string]any{"id": tok.Token.ID})
	wantCode(t, errs, "NOT_FOUND")

	var revoked struct {
		RevokeAPIToken struct {
			ID        string
			RevokedAt *time.Time
		} `json:"revokeApiToken"`
	}
	e.mustQuery(t, &revoked, `mutation($id: ID!) { revokeApiToken(id: $id) { id revokedAt } }`, client.Var("id", tok.Token.ID))
	if revoked.RevokeAPIToken.RevokedAt == nil {
		t.Fatalf("revoked %+v", revoked)
	}
	wantCode(t, e.mustFailAs(t, "Bearer "+tok.Secret, `{ me { username } }`), "FORBIDDEN")
	// Alice's other token still works.
	var me struct{ Me struct{ Username string } }
	e.mustQuery(t, &me, `{ me { username } }`)
}

func TestUnauthenticatedCallsAreForbidden(t *testing.T) {
	e := newEnv(t, nil)
	id := e.mustPropose(t, "alice", "x")
	for _, auth := range []string{"", "Bearer pk_not-a-token", "Basic YWxpY2U6YWxpY2Utc2VjcmV0"} {
		for _, q := range []string{
			`{ communities { id } }`,
			`{ community(id: "garden") { id } }`,
			`{ proposal(id: "` + id + `") { id } }`,
			`{ action(id: "a") { id } }`,
			`{ me { id } }`,
			`mutation { proposeAction(input: {communityId: "garden", actionType: "slackpostmessage"}) { action { id } } }`,
			`mutation { proposeConstitutionAction(input: {communityId: "garden", type: "policykitaddrole", payloadJSON: "{\"name\": \"X\"}"}) { action { id } } }`,
			`mutation { castVote(input: {communityId: "garden", proposalId: "` + id + `", value: "yes"}) { proposal { id } } }`,
			`mutation { createApiToken(name: "x") { secret } }`,
			`mutation { revokeApiToken(id: "x") { id } }`,
		} {
			errs := e.mustFailAs(t, auth, q)
			if errs[0].Extensions["code"] != "FORBIDDEN" || !strings.Contains(errs[0].Message, "authentication required") {
				t.Errorf("%q %s: %+v, want FORBIDDEN", auth, q, errs)
			}
		}
	}
	// Nothing was recorded: still one proposal, no roles named X, no votes.
	var c struct {
		Community struct {
			Proposals struct {
				Edges []struct {
					Node struct{ Tally struct{ Total int } }
				}
			}
			Roles conn[struct{ Name string }]
		}
	}
	e.mustQuery(t, &c, `{ community(id: "garden") { proposals { edges { node { tally { total } } } } roles { edges { node { name } } } } }`)
	if len(c.Community.Proposals.Edges) != 1 || c.Community.Proposals.Edges[0].Node.Tally.Total != 0 || strings.Contains(fmt.Sprint(c.Community.Roles.nodes()), "X") {
		t.Errorf("unauthenticated calls changed something: %+v", c.Community)
	}
	// Introspection needs no caller.
	if _, out := e.post(t, "", nil, `{ __typename __schema { queryType { name } } }`, nil); len(out.Errors) > 0 {
		t.Errorf("introspection: %+v", out.Errors)
	}
}

// orchard is a second community whose base role may propose and vote but view nothing:
// erin holds Steward (view:*), gwen Auditor (view:constitution:*), frank only the base role.
// Erin proposed a channel rename (platform) and a new role (constitution); both passed.
// platformPolicy is the Testing kit's platform policy there.
type orchard struct {
	platformProposal, platformAction, constitutionProposal, platformPolicy string
}

func (e *env) mustSeedOrchard(t *testing.T) orchard {
	t.Helper()
	ctx := context.Background()
	store := postgres.New(e.pool)
	kit, err := starterkits.Load("testing")
	if err != nil {
		t.Fatal(err)
	}
	for i := range kit.Roles {
		kit.Roles[i].PlatformPermissionSets = []string{domain.VerbPropose}
		kit.Roles[i].ConstitutionPermissionSets = []string{domain.VerbPropose}
		kit.Roles[i].TriggerPermissionSets = []string{domain.VerbPropose}
	}
	now := time.Now()
	if _, err := engine.NewCommunity(ctx, store, domain.CreateCommunity{CommunityID: "orchard", Name: "Orchard", Platform: domain.PlatformSlack},
		kit, domain.RegisterUser{UserID: "erin", Username: "UERIN", ReadableName: "Erin", IsAdmin: true}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.UpdateCommunity(ctx, store, "orchard", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		return decideInTurn(c,
			func() ([]domain.Event, error) {
				return c.DecideRegisterUser(domain.RegisterUser{UserID: "frank", Platform: domain.PlatformSlack, Username: "UFRANK"}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideRegisterUser(domain.RegisterUser{UserID: "gwen", Platform: domain.PlatformSlack, Username: "UGWEN"}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideAddRole(domain.AddRole{Name: "Steward", Permissions: []domain.Permission{{Verb: domain.VerbView, ActionType: domain.AnyActionType}}}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideAddRole(domain.AddRole{Name: "Auditor", Permissions: []domain.Permission{{Verb: domain.VerbView, ActionType: domain.AnyConstitutionAction}}}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideAddUserRole(domain.AddUserRole{Role: "Steward", UserIDs: []string{"erin"}}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideAddUserRole(domain.AddUserRole{Role: "Auditor", UserIDs: []string{"gwen"}}, now)
			},
		)
	}); err != nil {
		t.Fatal(err)
	}
	e.mustCatchUp(t, domain.CommunityStream("orchard"))
	for _, user := range []string{"erin", "frank", "gwen"} {
		e.tokens[user] = e.mustAccount(t, user, "orchard", user)
	}

	var o orchard
	var p proposeResp
	e.mustQueryAs(t, "erin", &p, `mutation { proposeAction(input: {communityId: "orchard", actionType: "slackrenameconversation", fieldsJSON: "{\"channel\":\"C1\",\"name\":\"apples\"}"}) {
    action { id type status governingProposalId } proposal { id status policyId actionType tally { yes no total } } } }`)
	if p.ProposeAction.Proposal == nil {
		t.Fatalf("orchard rename: %+v", p)
	}
	o.platformProposal, o.platformAction = p.ProposeAction.Proposal.ID, p.ProposeAction.Action.ID
	var c struct {
		ProposeConstitutionAction struct{ Proposal *struct{ ID string } }
	}
	e.mustQueryAs(t, "erin", &c, `mutation { proposeConstitutionAction(input: {communityId: "orchard", type: "policykitaddrole", payloadJSON: "{\"name\": \"Picker\"}"}) { proposal { id } } }`)
	if c.ProposeConstitutionAction.Proposal == nil {
		t.Fatal("orchard add role: no proposal")
	}
	o.constitutionProposal = c.ProposeConstitutionAction.Proposal.ID
	var policies struct {
		Community struct {
			Policies conn[struct{ ID, Kind string }]
		}
	}
	e.mustQueryAs(t, "erin", &policies, `{ community(id: "orchard") { policies { edges { node { id kind } } } } }`)
	for _, p := range policies.Community.Policies.nodes() {
		if p.Kind == string(domain.KindPlatform) {
			o.platformPolicy = p.ID
		}
	}
	if o.platformPolicy == "" {
		t.Fatalf("orchard's policies: %+v, want a platform policy", policies.Community.Policies.nodes())
	}
	return o
}

// orchardState is what erin sees of orchard: what a refused call by another community's
// member must leave as it was.
func (e *env) orchardState(t *testing.T) string {
	t.Helper()
	var out struct {
		Community struct {
			Events    conn[struct{ Position, Type string }]
			Roles     conn[struct{ Name string }]
			Policies  conn[struct{ ID, Hash string }]
			Proposals conn[struct {
				ID, Status string
				Tally      struct{ Total int }
			}]
		}
	}
	e.mustQueryAs(t, "erin", &out, `{ community(id: "orchard") {
  events(first: 100) { edges { node { position type } } pageInfo { hasNextPage } }
  roles(first: 100) { edges { node { name } } } policies(first: 100) { edges { node { id hash } } }
  proposals(first: 100) { edges { node { id status tally { total } } } } } }`)
	if out.Community.Events.PageInfo.HasNextPage {
		t.Fatal("orchard has more than a page of events")
	}
	return fmt.Sprintf("events %v\nroles %v\npolicies %v\nproposals %v", out.Community.Events.nodes(), out.Community.Roles.nodes(),
		out.Community.Policies.nodes(), out.Community.Proposals.nodes())
}

func TestMembersOfOneCommunityCannotReachAnother(t *testing.T) {
	e := newEnv(t, nil)
	o := e.mustSeedOrchard(t)
	gardenProposal := e.mustPropose(t, "alice", "g")
	// An open proposal in orchard: renames there go to a vote too.
	if _, err := engine.UpdateCommunity(context.Background(), postgres.New(e.pool), "orchard", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "orchard-rename-vote", Kind: domain.KindPlatform, Name: "Vote on renames",
			ActionTypes: []string{domain.ActionSlackRenameConversation}, PolicyCode: domain.PolicyCode{
				Filter: "return True\n", Initialize: "pass\n", Notify: "pass\n", Success: "pass\n", Fail: "pass\n",
				Check: "if proposal.get_yes_votes().count() >= 1:\n    return PASSED\nreturn PROPOSED\n",
			}}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	e.mustCatchUp(t, domain.CommunityStream("orchard"))
	var open proposeResp
	e.mustQueryAs(t, "erin", &open, `mutation { proposeAction(input: {communityId: "orchard", actionType: "slackrenameconversation", fieldsJSON: "{\"channel\":\"C1\",\"name\":\"plums\"}"}) {
    action { id type status governingProposalId } proposal { id status policyId actionType tally { yes no total } } } }`)
	if open.ProposeAction.Proposal == nil || open.ProposeAction.Proposal.Status != "PROPOSED" {
		t.Fatalf("orchard's open rename: %+v", open.ProposeAction)
	}
	openProposal := open.ProposeAction.Proposal.ID
	var exported struct{ ExportPolicy string }
	e.mustQueryAs(t, "erin", &exported, `query($p: ID!) { exportPolicy(id: $p) }`, client.Var("p", o.platformPolicy))
	before := e.orchardState(t)

	var list struct{ Communities []struct{ ID string } }
	e.mustQuery(t, &list, `{ communities { id } }`)
	if len(list.Communities) != 1 || list.Communities[0].ID != "garden" {
		t.Errorf("alice's communities: %+v, want garden only", list.Communities)
	}
	e.mustQueryAs(t, "erin", &list, `{ communities { id } }`)
	if len(list.Communities) != 1 || list.Communities[0].ID != "orchard" {
		t.Errorf("erin's communities: %+v, want orchard only", list.Communities)
	}

	// Alice, a member of garden, with orchard's real ids.
	alice := "Bearer " + e.tokens["alice"]
	for name, c := range map[string]struct {
		query string
		vars  map[string]any
	}{
		"community":            {`{ community(id: "orchard") { id } }`, nil},
		"community as of":      {`{ community(id: "orchard", asOf: "2999-01-01T00:00:00Z") { members { edges { node { id } } } } }`, nil},
		"members":              {`{ community(id: "orchard") { members { edges { node { id } } } } }`, nil},
		"proposals":            {`{ community(id: "orchard") { proposals { edges { node { id } } } } }`, nil},
		"events":               {`{ community(id: "orchard") { events { edges { node { id } } } } }`, nil},
		"proposal":             {`query($p: ID!) { proposal(id: $p) { id } }`, map[string]any{"p": o.platformProposal}},
		"open proposal":        {`query($p: ID!) { proposal(id: $p) { votes { userId } verification { ok } } }`, map[string]any{"p": openProposal}},
		"action":               {`query($a: ID!) { action(id: $a) { id } }`, map[string]any{"a": o.platformAction}},
		"policy":               {`query($p: ID!) { policy(id: $p) { id codeJSON } }`, map[string]any{"p": o.platformPolicy}},
		"policy versions":      {`query($p: ID!) { policy(id: $p) { versions { edges { node { contentJSON } } } } }`, map[string]any{"p": o.platformPolicy}},
		"policy diff":          {`query($p: ID!) { policy(id: $p) { diff(fromVersion: 1, toVersion: 1) } }`, map[string]any{"p": o.platformPolicy}},
		"export policy":        {`query($p: ID!) { exportPolicy(id: $p) }`, map[string]any{"p": o.platformPolicy}},
		"import policy":        {`mutation($json: String!) { importPolicy(input: {communityId: "orchard", policyJSON: $json}) { action { id } } }`, map[string]any{"json": exported.ExportPolicy}},
		"apply starter kit":    {`mutation { applyStarterKit(input: {communityId: "orchard", kit: "moderators"}) { skipped } }`, nil},
		"propose":              {`mutation { proposeAction(input: {communityId: "orchard", actionType: "slackpostmessage"}) { action { id } } }`, nil},
		"propose constitution": {`mutation { proposeConstitutionAction(input: {communityId: "orchard", type: "policykitaddrole", payloadJSON: "{\"name\": \"X\"}"}) { action { id } } }`, nil},
		"vote":                 {`mutation($p: ID!) { castVote(input: {communityId: "orchard", proposalId: $p, value: "yes"}) { proposal { id } } }`, map[string]any{"p": openProposal}},
		"vote through own":     {`mutation($p: ID!) { castVote(input: {communityId: "garden", proposalId: $p, value: "yes"}) { proposal { id } } }`, map[string]any{"p": openProposal}},
	} {
		var vars []map[string]any
		if c.vars != nil {
			vars = append(vars, c.vars)
		}
		if errs := e.mustFailAs(t, alice, c.query, vars...); errs[0].Extensions["code"] != "NOT_FOUND" {
			t.Errorf("%s: %+v, want NOT_FOUND", name, errs)
		}
	}
	if after := e.orchardState(t); after != before {
		t.Errorf("alice's refused calls changed orchard:\n%s\nwas\n%s", after, before)
	}

	// And the other way round; a proposal or policy of another community looks like none at all.
	errs := e.mustFailAs(t, "Bearer "+e.tokens["erin"], `{ proposal(id: "`+gardenProposal+`") { id } }`)
	wantCode(t, errs, "NOT_FOUND")
	if other := e.mustFailAs(t, "Bearer "+e.tokens["erin"], `{ proposal(id: "nope") { id } }`); other[0].Message != strings.ReplaceAll(errs[0].Message, gardenProposal, "nope") {
		t.Errorf("messages differ: %q and %q", errs[0].Message, other[0].Message)
	}
	errs = e.mustFailAs(t, "Bearer "+e.tokens["erin"], `{ exportPolicy(id: "rename-vote") }`)
	wantCode(t, errs, "NOT_FOUND")
	if other := e.mustFailAs(t, "Bearer "+e.tokens["erin"], `{ exportPolicy(id: "nope") }`); other[0].Message != strings.ReplaceAll(errs[0].Message, "rename-vote", "nope") {
		t.Errorf("messages differ: %q and %q", errs[0].Message, other[0].Message)
	}
	wantCode(t, e.mustFailAs(t, "Bearer "+e.tokens["erin"], `{ community(id: "garden") { id } }`), "NOT_FOUND")
}

func TestViewPermissionIsNeeded(t *testing.T) {
	e := newEnv(t, nil)
	o := e.mustSeedOrchard(t)
	frank, gwen := "Bearer "+e.tokens["frank"], "Bearer "+e.tokens["gwen"]

	// Frank may view nothing: the community is FORBIDDEN and not listed, its proposals too.
	for _, q := range []string{
		`{ community(id: "orchard") { id } }`,
		`{ proposal(id: "` + o.platformProposal + `") { id } }`,
		`{ proposal(id: "` + o.constitutionProposal + `") { id } }`,
		`{ action(id: "` + o.platformAction + `") { id } }`,
	} {
		wantCode(t, e.mustFailAs(t, frank, q), "FORBIDDEN")
	}
	var list struct{ Communities []struct{ ID string } }
	e.mustQueryAs(t, "frank", &list, `{ communities { id } }`)
	if len(list.Communities) != 0 {
		t.Errorf("frank's communities: %+v, want none", list.Communities)
	}
	// He may still propose: proposing needs propose, which the engine checks.
	var p proposeResp
	e.mustQueryAs(t, "frank", &p, `mutation { proposeAction(input: {communityId: "orchard", actionType: "slackrenameconversation", fieldsJSON: "{\"channel\":\"C1\",\"name\":\"pears\"}"}) {
    action { id type status governingProposalId } proposal { id status policyId actionType tally { yes no total } } } }`)
	if p.ProposeAction.Action.Status != "executed" {
		t.Errorf("frank's rename: %+v", p.ProposeAction)
	}

	// Gwen views constitution actions only.
	wantCode(t, e.mustFailAs(t, gwen, `{ proposal(id: "`+o.platformProposal+`") { id } }`), "FORBIDDEN")
	wantCode(t, e.mustFailAs(t, gwen, `{ action(id: "`+o.platformAction+`") { id } }`), "FORBIDDEN")
	var one struct {
		Proposal struct{ ID, ActionKind string }
	}
	e.mustQueryAs(t, "gwen", &one, `query($p: ID!) { proposal(id: $p) { id actionKind } }`, client.Var("p", o.constitutionProposal))
	if one.Proposal.ActionKind != "constitution" {
		t.Errorf("gwen's proposal: %+v", one.Proposal)
	}
	var c struct {
		Community struct {
			Proposals struct {
				Edges []struct {
					Node struct{ ID, ActionKind string }
				}
			}
		}
	}
	e.mustQueryAs(t, "gwen", &c, `{ community(id: "orchard") { proposals { edges { node { id actionKind } } } } }`)
	if len(c.Community.Proposals.Edges) != 1 || c.Community.Proposals.Edges[0].Node.ID != o.constitutionProposal {
		t.Errorf("gwen's list: %+v, want the constitution proposal only", c.Community.Proposals.Edges)
	}
	// Erin views everything: both of hers and frank's.
	e.mustQueryAs(t, "erin", &c, `{ community(id: "orchard") { proposals { edges { node { id actionKind } } } } }`)
	if len(c.Community.Proposals.Edges) != 3 {
		t.Errorf("erin's list: %+v, want 3 proposals", c.Community.Proposals.Edges)
	}
}

func TestMutationsActAsTheCaller(t *testing.T) {
	e := newEnv(t, nil)
	id := e.mustPropose(t, "bob", "by-bob")
	var voted struct {
		CastVote struct {
			Proposal struct {
				InitiatorID string
				Action      struct{ InitiatorID string }
				Votes       []struct{ UserID string }
			}
		}
	}
	e.mustQueryAs(t, "carol", &voted, `mutation($p: ID!) { castVote(input: {communityId: "garden", proposalId: $p, value: "yes"}) {
    proposal { initiatorId action { initiatorId } votes { userId } } } }`, client.Var("p", id))
	got := voted.CastVote.Proposal
	if got.InitiatorID != "bob" || got.Action.InitiatorID != "bob" {
		t.Errorf("initiator %q / %q, want bob", got.InitiatorID, got.Action.InitiatorID)
	}
	if len(got.Votes) != 1 || got.Votes[0].UserID != "carol" {
		t.Errorf("votes %+v, want carol's", got.Votes)
	}
}

// meadow is a community whose base role may view everything but propose and vote on
// nothing: hana holds Steward (propose:*, vote:*), jun Executor
// (execute:slackrenameconversation), ivan only the base role. Renames go to a vote that one
// yes passes, as in garden.
func (e *env) mustSeedMeadow(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	store := postgres.New(e.pool)
	kit, err := starterkits.Load("testing")
	if err != nil {
		t.Fatal(err)
	}
	for i := range kit.Roles {
		kit.Roles[i].PlatformPermissionSets = []string{domain.VerbView}
		kit.Roles[i].ConstitutionPermissionSets = []string{domain.VerbView}
		kit.Roles[i].TriggerPermissionSets = []string{domain.VerbView}
		kit.Roles[i].Permissions = nil // no "Can add boolean vote"
	}
	now := time.Now()
	if _, err := engine.NewCommunity(ctx, store, domain.CreateCommunity{CommunityID: "meadow", Name: "Meadow", Platform: domain.PlatformSlack},
		kit, domain.RegisterUser{UserID: "hana", Username: "UHANA", ReadableName: "Hana", IsAdmin: true}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.UpdateCommunity(ctx, store, "meadow", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		return decideInTurn(c,
			func() ([]domain.Event, error) {
				return c.DecideRegisterUser(domain.RegisterUser{UserID: "ivan", Platform: domain.PlatformSlack, Username: "UIVAN"}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideRegisterUser(domain.RegisterUser{UserID: "jun", Platform: domain.PlatformSlack, Username: "UJUN"}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideAddRole(domain.AddRole{Name: "Steward", Permissions: []domain.Permission{
					{Verb: domain.VerbPropose, ActionType: domain.AnyActionType}, {Verb: domain.VerbVote, ActionType: domain.AnyActionType}}}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideAddRole(domain.AddRole{Name: "Executor", Permissions: []domain.Permission{
					{Verb: domain.VerbExecute, ActionType: domain.ActionSlackRenameConversation}}}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideAddUserRole(domain.AddUserRole{Role: "Steward", UserIDs: []string{"hana"}}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideAddUserRole(domain.AddUserRole{Role: "Executor", UserIDs: []string{"jun"}}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "meadow-rename-vote", Kind: domain.KindPlatform, Name: "Vote on renames",
					ActionTypes: []string{domain.ActionSlackRenameConversation}, PolicyCode: domain.PolicyCode{
						Filter: "return True\n", Initialize: "pass\n", Notify: "pass\n", Success: "pass\n", Fail: "pass\n",
						Check: "if proposal.get_yes_votes().count() >= 1:\n    return PASSED\nreturn PROPOSED\n",
					}}, now)
			},
		)
	}); err != nil {
		t.Fatal(err)
	}
	e.mustCatchUp(t, domain.CommunityStream("meadow"))
	for _, user := range []string{"hana", "ivan", "jun"} {
		e.tokens[user] = e.mustAccount(t, user, "meadow", user)
	}
}

const proposeMeadowAction = `mutation($type: String!, $fields: String) {
  proposeAction(input: {communityId: "meadow", actionType: $type, fieldsJSON: $fields}) {
    action { id type status reason initiatorId governingProposalId }
    proposal { id status }
  }
}`

type meadowProposal struct {
	ProposeAction struct {
		Action struct {
			ID, Type, Status, Reason, InitiatorID, GoverningProposalID string
		}
		Proposal *struct{ ID, Status string }
	}
}

// The engine's permission gate, through the API: proposing needs propose (else the action is
// rejected, with no proposal), the execute permission passes an action at once without
// governance, and voting needs vote (else FORBIDDEN, and the vote is not counted).
func TestPermissionsGateProposingVotingAndExecuting(t *testing.T) {
	e := newEnv(t, nil)
	e.mustSeedMeadow(t)
	rename := func(name string) string { return fmt.Sprintf(`{"channel":"C1","name":%q}`, name) }

	var refused meadowProposal
	e.mustQueryAs(t, "ivan", &refused, proposeMeadowAction, client.Var("type", domain.ActionSlackRenameConversation), client.Var("fields", rename("ivy")))
	got := refused.ProposeAction
	if got.Action.Status != domain.ActionStatusRejected || got.Action.Reason != "initiator may not propose slackrenameconversation" ||
		got.Action.InitiatorID != "ivan" || got.Action.GoverningProposalID != "" || got.Proposal != nil {
		t.Errorf("ivan's rename: %+v, want it rejected for lack of propose, without a proposal", got)
	}

	var opened meadowProposal
	e.mustQueryAs(t, "hana", &opened, proposeMeadowAction, client.Var("type", domain.ActionSlackRenameConversation), client.Var("fields", rename("hay")))
	if opened.ProposeAction.Proposal == nil || opened.ProposeAction.Proposal.Status != "PROPOSED" {
		t.Fatalf("hana's rename: %+v, want it put to the vote", opened.ProposeAction)
	}
	proposal := opened.ProposeAction.Proposal.ID
	errs := e.mustFailAs(t, "Bearer "+e.tokens["ivan"], `mutation($p: ID!) { castVote(input: {communityId: "meadow", proposalId: $p, value: "yes"}) { proposal { status } } }`,
		map[string]any{"p": proposal})
	wantCode(t, errs, "FORBIDDEN")
	if !strings.Contains(errs[0].Message, "may not vote") {
		t.Errorf("message %q does not say why", errs[0].Message)
	}

	var executed meadowProposal
	e.mustQueryAs(t, "jun", &executed, proposeMeadowAction, client.Var("type", domain.ActionSlackRenameConversation), client.Var("fields", rename("june")))
	got = executed.ProposeAction
	if got.Action.Status != domain.ActionStatusExecuted || got.Action.Reason != "initiator has the execute permission" ||
		got.Action.GoverningProposalID != "" || got.Proposal != nil {
		t.Errorf("jun's rename: %+v, want it executed at once, without a proposal", got)
	}
	// Execute is for renames only; jun may not propose anything else.
	var other meadowProposal
	e.mustQueryAs(t, "jun", &other, proposeMeadowAction, client.Var("type", domain.ActionSlackPostMessage), client.Var("fields", `{"channel":"C1","text":"hi"}`))
	if other.ProposeAction.Action.Status != domain.ActionStatusRejected || other.ProposeAction.Proposal != nil {
		t.Errorf("jun's post: %+v, want it rejected", other.ProposeAction)
	}

	// The only proposal is hana's, still open, with no vote counted.
	var list struct {
		Community struct {
			Proposals conn[struct {
				ID, Status, InitiatorID string
				Tally                   struct{ Total int }
				Votes                   []struct{ UserID string }
			}]
		}
	}
	e.mustQueryAs(t, "hana", &list, `{ community(id: "meadow") { proposals { edges { node { id status initiatorId tally { total } votes { userId } } } } } }`)
	ps := list.Community.Proposals.nodes()
	if len(ps) != 1 || ps[0].ID != proposal || ps[0].Status != "PROPOSED" || ps[0].Tally.Total != 0 || len(ps[0].Votes) != 0 {
		t.Errorf("meadow's proposals: %+v, want hana's alone, open, without votes", ps)
	}
}
