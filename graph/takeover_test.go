package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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

// stranger is an account that registered through the API, signed in with a session.
type stranger struct {
	e      *env
	cookie *http.Cookie
}

func (e *env) mustRegister(t *testing.T, username string) stranger {
	t.Helper()
	if _, out := e.post(t, "", nil, fmt.Sprintf(`mutation { register(username: %q, password: %q) { id } }`, username, username+"-password"), nil); len(out.Errors) > 0 {
		t.Fatalf("register %s: %+v", username, out.Errors)
	}
	resp, out := e.post(t, "", nil, fmt.Sprintf(`mutation { login(username: %q, password: %q) { id } }`, username, username+"-password"), nil)
	if len(out.Errors) > 0 {
		t.Fatalf("login %s: %+v", username, out.Errors)
	}
	return stranger{e: e, cookie: sessionCookie(t, resp)}
}

// do runs a document as the stranger and returns its data and errors.
func (s stranger) do(t *testing.T, query string, vars map[string]any) (json.RawMessage, []gqlError) {
	t.Helper()
	_, out := s.e.post(t, "", []*http.Cookie{s.cookie}, query, vars)
	return out.Data, out.Errors
}

// must runs a document that must succeed and decodes its data into out.
func (s stranger) must(t *testing.T, out any, query string, vars map[string]any) {
	t.Helper()
	data, errs := s.do(t, query, vars)
	if len(errs) > 0 {
		t.Fatalf("%s: %+v", query, errs)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatal(err)
	}
}

// constitution proposes a constitution action in the community; it returns the action's id
// and status, or the errors.
func (s stranger) constitution(t *testing.T, communityID, typ, payload string) (string, string, []gqlError) {
	t.Helper()
	data, errs := s.do(t, `mutation($c: ID!, $type: String!, $payload: String!) {
  proposeConstitutionAction(input: {communityId: $c, type: $type, payloadJSON: $payload}) { action { id status } } }`,
		map[string]any{"c": communityID, "type": typ, "payload": payload})
	if len(errs) > 0 {
		return "", "", errs
	}
	var out struct {
		ProposeConstitutionAction struct{ Action struct{ ID, Status string } }
	}
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out.ProposeConstitutionAction.Action.ID, out.ProposeConstitutionAction.Action.Status, nil
}

// policyPayload is the payload of an add or change of a platform policy whose check block
// carries marker.
func policyPayload(idField, name, marker string) string {
	return fmt.Sprintf(`{%s"name": %q, "description": "", "action_types": ["slackpostmessage"],
		"filter": "return True\n", "initialize": "pass\n", "check": "return PASSED  # %s\n", "notify": "pass\n", "success": "pass\n", "fail": "pass\n"}`,
		idField, name, marker)
}

// communityView is what a member reads of a community's policies and documents.
type communityView struct {
	Community struct {
		Policies conn[struct {
			ID, Name, CodeJSON string
			Active             bool
			Versions           conn[struct {
				Version     int
				ContentJSON string
			}]
		}]
		Documents conn[struct {
			ID, Text string
			Active   bool
		}]
	}
}

const communityViewQuery = `query($c: ID!) { community(id: $c) {
  policies(first: 10) { edges { node { id name codeJSON active versions(first: 5) { edges { node { version contentJSON } } } } } }
  documents(first: 10) { edges { node { id text active } } } } }`

// TestTakeoverOfAnotherCommunitysPolicyAndDocument: an account that registers, creates its
// own community and adds a policy and a document under the ids of another community's
// cannot read, hide or overwrite them, nor stop the projections.
func TestTakeoverOfAnotherCommunitysPolicyAndDocument(t *testing.T) {
	e := newEnv(t, nil)
	victim, attacker := e.mustRegister(t, "victim"), e.mustRegister(t, "mallory")
	var created struct{ CreateCommunity struct{ ID string } }
	victim.must(t, &created, `mutation { createCommunity(input: {name: "Victims", kit: "testing"}) { id } }`, nil)
	vc := created.CreateCommunity.ID
	attacker.must(t, &created, `mutation { createCommunity(input: {name: "Mallory's", kit: "testing"}) { id } }`, nil)
	ac := created.CreateCommunity.ID

	// The victim's policy (changed once: two versions) and document.
	policyID, status, errs := victim.constitution(t, vc, domain.ActionAddPlatformPolicy, policyPayload("", "Secret", "victim-secret-v1"))
	if errs != nil || status != domain.ActionStatusExecuted {
		t.Fatalf("victim adds a policy: %s %+v", status, errs)
	}
	if _, status, errs = victim.constitution(t, vc, domain.ActionChangePlatformPolicy,
		policyPayload(fmt.Sprintf(`"policy_id": %q, `, policyID), "Secret", "victim-secret-v2")); errs != nil || status != domain.ActionStatusExecuted {
		t.Fatalf("victim changes the policy: %s %+v", status, errs)
	}
	docID, status, errs := victim.constitution(t, vc, domain.ActionAddCommunityDoc, `{"name": "Charter", "text": "victim's charter"}`)
	if errs != nil || status != domain.ActionStatusExecuted {
		t.Fatalf("victim adds a document: %s %+v", status, errs)
	}

	// The attacker adds a policy and a document under the victim's ids, in its own community.
	_, _, errs = attacker.constitution(t, ac, domain.ActionAddPlatformPolicy, policyPayload(fmt.Sprintf(`"policy_id": %q, `, policyID), "Mine", "mallory"))
	if errs == nil {
		t.Error("the attacker added a policy under the victim's policy id")
	} else {
		wantCode(t, errs, "INVALID")
	}
	_, _, errs = attacker.constitution(t, ac, domain.ActionAddCommunityDoc, fmt.Sprintf(`{"document_id": %q, "name": "Mine", "text": "mallory's"}`, docID))
	if errs == nil {
		t.Error("the attacker added a document under the victim's document id")
	} else {
		wantCode(t, errs, "INVALID")
	}
	// Nor can it reach them through its own community.
	for typ, payload := range map[string]string{
		domain.ActionChangePlatformPolicy:  policyPayload(fmt.Sprintf(`"policy_id": %q, `, policyID), "Mine", "mallory"),
		domain.ActionRemovePlatformPolicy:  fmt.Sprintf(`{"policy_id": %q}`, policyID),
		domain.ActionDeleteCommunityDoc:    fmt.Sprintf(`{"document_id": %q}`, docID),
		domain.ActionChangeCommunityDoc:    fmt.Sprintf(`{"document_id": %q, "name": "Mine", "text": "mallory's"}`, docID),
		domain.ActionRecoverPlatformPolicy: fmt.Sprintf(`{"policy_id": %q}`, policyID),
	} {
		if _, _, errs := attacker.constitution(t, ac, typ, payload); errs == nil {
			t.Errorf("%s of the victim's id in the attacker's community succeeded", typ)
		}
	}

	// The victim still sees its own policy, versions and document.
	var v communityView
	victim.must(t, &v, communityViewQuery, map[string]any{"c": vc})
	found := false
	for _, p := range v.Community.Policies.nodes() {
		if p.ID != policyID {
			continue
		}
		found = true
		versions := p.Versions.nodes()
		if !p.Active || !strings.Contains(p.CodeJSON, "victim-secret-v2") || len(versions) != 2 ||
			!strings.Contains(versions[0].ContentJSON, "victim-secret-v1") || !strings.Contains(versions[1].ContentJSON, "victim-secret-v2") {
			t.Errorf("victim's policy = %+v, want it active with its own code and its two versions", p)
		}
	}
	if !found {
		t.Errorf("victim's policy %s is gone from its community: %+v", policyID, v.Community.Policies.nodes())
	}
	docs := v.Community.Documents.nodes()
	if len(docs) != 1 || docs[0].ID != docID || docs[0].Text != "victim's charter" || !docs[0].Active {
		t.Errorf("victim's documents = %+v, want its charter", docs)
	}
	var one struct{ Policy struct{ CodeJSON string } }
	victim.must(t, &one, `query($id: ID!) { policy(id: $id) { codeJSON } }`, map[string]any{"id": policyID})
	if !strings.Contains(one.Policy.CodeJSON, "victim-secret-v2") {
		t.Errorf("victim's policy(id:) = %s", one.Policy.CodeJSON)
	}

	// The attacker reads nothing of it.
	for _, q := range []string{
		`query($id: ID!) { policy(id: $id) { codeJSON versions { edges { node { contentJSON } } } } }`,
		`query($id: ID!) { exportPolicy(id: $id) }`,
	} {
		data, errs := attacker.do(t, q, map[string]any{"id": policyID})
		if len(errs) == 0 || errs[0].Extensions["code"] != "NOT_FOUND" || strings.Contains(string(data), "victim-secret") {
			t.Errorf("attacker: %s: %s %+v, want NOT_FOUND", q, data, errs)
		}
	}
	var a communityView
	attacker.must(t, &a, communityViewQuery, map[string]any{"c": ac})
	if b, _ := json.Marshal(a); strings.Contains(string(b), "victim") {
		t.Errorf("the attacker's community shows the victim's data: %s", b)
	}

	// The projections kept up with the whole log and recorded no failure.
	e.mustCatchUp(t, "community-"+vc)
	e.mustCatchUp(t, "community-"+ac)
	var failures int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM projection_failures`).Scan(&failures); err != nil || failures != 0 {
		t.Errorf("projection failures: %d, %v", failures, err)
	}
}

// TestCommunitiesSharingAPolicyIDReadTheirOwn: ids that setup code gives (starter kits,
// imports, seeded communities) may be the same in two communities. Each community's
// members read their own policy, versions and document under that id, and a member of both
// is asked to read through the community.
func TestCommunitiesSharingAPolicyIDReadTheirOwn(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	store := postgres.New(e.pool)
	kit, err := starterkits.Load("testing")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := engine.NewCommunity(ctx, store, domain.CreateCommunity{CommunityID: "orchard", Name: "Orchard", Platform: domain.PlatformSlack},
		kit, domain.RegisterUser{UserID: "alice", Username: "UERIN", ReadableName: "Erin", IsAdmin: true}, now); err != nil {
		t.Fatal(err)
	}
	code := func(marker string) domain.PolicyCode {
		return domain.PolicyCode{Filter: "return True\n", Check: "return PASSED  # " + marker + "\n"}
	}
	if _, err := engine.UpdateCommunity(ctx, store, "orchard", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		return decideInTurn(c,
			func() ([]domain.Event, error) {
				return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "rename-vote", Kind: domain.KindPlatform, Name: "Orchard renames",
					ActionTypes: []string{"slackrenameconversation"}, PolicyCode: code("orchard-v1")}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideChangePolicy(domain.ChangePolicy{PolicyID: "rename-vote", Name: "Orchard renames",
					ActionTypes: []string{"slackrenameconversation"}, PolicyCode: code("orchard-v2")}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideAddDocument(domain.AddDocument{DocumentID: "charter", Name: "Charter", Text: "orchard's"}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideRegisterUser(domain.RegisterUser{UserID: "dave", Platform: domain.PlatformSlack, Username: "UDAVE", ReadableName: "Dave"}, now)
			},
		)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.UpdateCommunity(ctx, store, "garden", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		return decideInTurn(c,
			func() ([]domain.Event, error) {
				return c.DecideAddDocument(domain.AddDocument{DocumentID: "charter", Name: "Charter", Text: "garden's"}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideRegisterUser(domain.RegisterUser{UserID: "dave", Platform: domain.PlatformSlack, Username: "UDAVE", ReadableName: "Dave"}, now)
			},
		)
	}); err != nil {
		t.Fatal(err)
	}
	e.mustCatchUp(t, domain.CommunityStream("orchard"))
	e.mustCatchUp(t, domain.CommunityStream("garden"))
	// erin is orchard's alice (the same user id as garden's alice); dave is a member of both.
	e.tokens["erin"] = e.mustAccount(t, "erin", "orchard", "alice")
	e.tokens["dave"] = e.mustAccount(t, "dave", "garden", "dave")
	accounts := identity.New(e.pool, identity.Options{})
	dave, err := accounts.CallerByToken(ctx, e.tokens["dave"])
	if err != nil {
		t.Fatal(err)
	}
	if err := accounts.LinkMember(ctx, dave.Account.ID, "orchard", "dave"); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		user, community, marker, doc string
		versions                     int
	}{
		{"alice", "garden", "proposal.get_yes_votes", "garden's", 1},
		{"erin", "orchard", "orchard-v2", "orchard's", 2},
	} {
		var one struct {
			Policy struct {
				CodeJSON string
				Versions conn[struct{ Version int }]
			}
			ExportPolicy string
		}
		e.mustQueryAs(t, c.user, &one, `{ policy(id: "rename-vote") { codeJSON versions { edges { node { version } } } } exportPolicy(id: "rename-vote") }`)
		if !strings.Contains(one.Policy.CodeJSON, c.marker) || len(one.Policy.Versions.nodes()) != c.versions || !strings.Contains(one.ExportPolicy, c.marker) {
			t.Errorf("%s reads policy rename-vote = %+v, want %s's with %d versions", c.user, one, c.community, c.versions)
		}
		var v communityView
		e.mustQueryAs(t, c.user, &v, communityViewQuery, client.Var("c", c.community))
		for _, p := range v.Community.Policies.nodes() {
			if p.ID == "rename-vote" && (len(p.Versions.nodes()) != c.versions || !strings.Contains(p.CodeJSON, c.marker)) {
				t.Errorf("%s's rename-vote = %+v, want its own with %d versions", c.community, p, c.versions)
			}
		}
		if docs := v.Community.Documents.nodes(); len(docs) != 1 || docs[0].Text != c.doc {
			t.Errorf("%s's documents = %+v, want its own charter", c.community, docs)
		}
	}
	var diff struct{ Policy struct{ Diff string } }
	e.mustQueryAs(t, "erin", &diff, `{ policy(id: "rename-vote") { diff(fromVersion: 1, toVersion: 2) } }`)
	if !strings.Contains(diff.Policy.Diff, "- return PASSED  # orchard-v1") || !strings.Contains(diff.Policy.Diff, "+ return PASSED  # orchard-v2") {
		t.Errorf("orchard's diff = %q", diff.Policy.Diff)
	}
	wantCode(t, e.mustFailAs(t, "Bearer "+e.tokens["dave"], `{ policy(id: "rename-vote") { id } }`), "INVALID")
}
