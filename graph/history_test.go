package graph_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/graph"
	"github.com/policykit-go/policykit/identity"
)

type eventsResp struct {
	Community struct {
		Events struct {
			Edges []struct {
				Cursor string
				Node   struct {
					ID, Position, Stream, Type, DataJSON string
					Version, SchemaVersion               int
					CausationID                          *string
				}
			}
			PageInfo struct {
				HasNextPage bool
				EndCursor   *string
			}
		}
	}
}

const eventsQuery = `query($first: Int, $after: String, $filter: EventFilter) {
  community(id: "garden") { events(first: $first, after: $after, filter: $filter) {
    edges { cursor node { id position stream version type schemaVersion recordedAt causationId correlationId dataJSON } }
    pageInfo { hasNextPage endCursor }
  } }
}`

func TestCommunityEventsPageThroughItsStreams(t *testing.T) {
	e := newEnv(t, nil)
	p := e.mustPropose(t, "alice", "veggies")

	// All of them, in pages of 3.
	var all []string
	streams := map[string]bool{}
	var after *string
	for range 100 {
		var resp eventsResp
		opts := []client.Option{client.Var("first", 3)}
		if after != nil {
			opts = append(opts, client.Var("after", *after))
		}
		e.mustQuery(t, &resp, eventsQuery, opts...)
		for _, ed := range resp.Community.Events.Edges {
			all = append(all, ed.Node.Position)
			streams[ed.Node.Stream] = true
			if ed.Node.DataJSON == "" || ed.Node.Type == "" || ed.Node.Version < 1 {
				t.Errorf("event %+v", ed.Node)
			}
		}
		if !resp.Community.Events.PageInfo.HasNextPage {
			break
		}
		if len(resp.Community.Events.Edges) != 3 {
			t.Fatalf("a page with more after it has %d events", len(resp.Community.Events.Edges))
		}
		after = resp.Community.Events.PageInfo.EndCursor
	}
	seen := map[string]bool{}
	for _, pos := range all {
		if seen[pos] {
			t.Fatalf("position %s twice", pos)
		}
		seen[pos] = true
	}
	if !streams["community-garden"] || !streams["proposal-"+p] {
		t.Errorf("streams = %v, want the community's and the proposal's", streams)
	}

	// Filters.
	var resp eventsResp
	e.mustQuery(t, &resp, eventsQuery, client.Var("first", 100), client.Var("filter", map[string]any{"stream": "proposal-" + p}))
	if len(resp.Community.Events.Edges) == 0 {
		t.Fatal("no events of the proposal stream")
	}
	typ := resp.Community.Events.Edges[0].Node.Type
	for _, ed := range resp.Community.Events.Edges {
		if ed.Node.Stream != "proposal-"+p {
			t.Errorf("stream filter let %s through", ed.Node.Stream)
		}
	}
	e.mustQuery(t, &resp, eventsQuery, client.Var("first", 100), client.Var("filter", map[string]any{"types": []string{typ}, "from": time.Now().Add(-time.Hour)}))
	for _, ed := range resp.Community.Events.Edges {
		if ed.Node.Type != typ {
			t.Errorf("type filter let %s through", ed.Node.Type)
		}
	}
	e.mustQuery(t, &resp, eventsQuery, client.Var("first", 100), client.Var("filter", map[string]any{"to": time.Now().Add(-time.Hour)}))
	if n := len(resp.Community.Events.Edges); n != 0 {
		t.Errorf("%d events recorded an hour ago", n)
	}

	wantCode(t, e.mustFail(t, `{ community(id: "garden") { events(first: 101) { edges { cursor } } } }`), "INVALID")
	wantCode(t, e.mustFail(t, `{ community(id: "garden") { events(after: "bogus") { edges { cursor } } } }`), "INVALID")
	// Not a member: the community does not exist for an account linked to no community, nor
	// for a member of another one.
	accounts := identity.New(e.pool, identity.Options{})
	dave, err := accounts.Register(context.Background(), "dave", "dave-secret")
	if err != nil {
		t.Fatal(err)
	}
	_, daveToken, err := accounts.CreateAPIToken(context.Background(), dave.ID, "tests")
	if err != nil {
		t.Fatal(err)
	}
	e.mustSeedOrchard(t)
	for _, token := range []string{daveToken, e.tokens["erin"]} {
		wantCode(t, e.mustFailAs(t, "Bearer "+token, `{ community(id: "garden") { events { edges { cursor } } } }`), "NOT_FOUND")
	}
	// Without credentials, nothing is readable.
	wantCode(t, e.mustFailAs(t, "", `{ community(id: "garden") { events { edges { cursor } } } }`), "FORBIDDEN")
}

// giveUpAfter bounds a request: one that waits for ever fails with INTERNAL instead of
// hanging the test run.
func giveUpAfter(t *testing.T, d time.Duration) client.Option {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return func(r *client.Request) { r.HTTP = r.HTTP.WithContext(ctx) }
}

func TestProposalVerificationRerunsItsDecisions(t *testing.T) {
	e := newEnv(t, nil)
	p := e.mustPropose(t, "alice", "veggies")
	var voted struct {
		CastVote struct{ Proposal struct{ Status string } }
	}
	e.mustQueryAs(t, "bob", &voted, `mutation($p: ID!) { castVote(input: {communityId: "garden", proposalId: $p, value: "yes"}) { proposal { status } } }`, client.Var("p", p))
	var resp struct {
		Proposal struct {
			Verification struct {
				Ok         bool
				Decisions  int
				Mismatches []string
			}
		}
	}
	e.mustQuery(t, &resp, `query($p: ID!) { proposal(id: $p) { verification { ok decisions mismatches } } }`, client.Var("p", p))
	v := resp.Proposal.Verification
	if !v.Ok || v.Decisions < 2 || len(v.Mismatches) != 0 {
		t.Errorf("verification = %+v, want ok with the opening and the vote", v)
	}

	// A decision the policy never made, appended to the log: another rename "passed" with
	// no vote cast, which the vote policy keeps open.
	ctx := context.Background()
	store := postgres.New(e.pool)
	forged := e.mustPropose(t, "alice", "forged")
	open, err := engine.LoadProposal(ctx, store, forged)
	if err != nil {
		t.Fatal(err)
	}
	passed, err := open.DecidePassProposal(domain.PassProposal{Reason: "trust me"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := engine.Append(ctx, store, domain.ProposalStream(forged), open.Version, passed, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	e.mustQuery(t, &resp, `query($p: ID!) { proposal(id: $p) { verification { ok decisions mismatches } } }`, client.Var("p", forged), giveUpAfter(t, time.Minute))
	v = resp.Proposal.Verification
	if v.Ok || len(v.Mismatches) != 1 || !strings.Contains(v.Mismatches[0], "recheck decision at ") ||
		!strings.HasSuffix(v.Mismatches[0], ": the decision comes out differently") {
		t.Errorf("verification of the forged decision = %+v, want one mismatch, the recheck that passed it", v)
	}
	// The first proposal's decisions are still the policy's, and verifying them reads past the
	// events of the other streams that follow them in the log.
	e.mustQuery(t, &resp, `query($p: ID!) { proposal(id: $p) { verification { ok decisions mismatches } } }`, client.Var("p", p), giveUpAfter(t, time.Minute))
	if !resp.Proposal.Verification.Ok {
		t.Errorf("verification of the first proposal = %+v, want ok", resp.Proposal.Verification)
	}
}

func TestCommunityAsOfShowsTheEarlierState(t *testing.T) {
	e := newEnv(t, nil)
	before := time.Now()
	time.Sleep(10 * time.Millisecond)
	var added struct {
		ProposeConstitutionAction struct{ Action struct{ Status string } }
	}
	e.mustQuery(t, &added, `mutation($payload: String!) {
  proposeConstitutionAction(input: {communityId: "garden", type: "policykitaddrole", payloadJSON: $payload}) { action { status } }
}`, client.Var("payload", `{"name": "Gardener", "description": "Tends the beds", "permissions": ["propose:slackpostmessage"]}`))
	if added.ProposeConstitutionAction.Action.Status != "executed" {
		t.Fatalf("add role: %+v", added)
	}
	// A document and a member, later too.
	e.mustConstitution(t, domain.ActionAddCommunityDoc, `{"name": "Charter", "text": "Be kind."}`)
	if _, err := engine.UpdateCommunity(context.Background(), postgres.New(e.pool), "garden", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		return c.DecideRegisterUser(domain.RegisterUser{UserID: "dora", Platform: domain.PlatformSlack, Username: "UDORA", ReadableName: "Dora"}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	e.mustCatchUp(t, domain.CommunityStream("garden"))
	type communityResp struct {
		Community struct {
			Name      string
			Roles     conn[struct{ Name string }]
			Members   conn[struct{ ID string }]
			Documents conn[struct{ Name, Text string }]
			Policies  conn[struct{ ID string }]
			Proposals struct{ Edges []struct{ Cursor string } }
		}
	}
	const q = `query($at: Time) { community(id: "garden", asOf: $at) { name roles { edges { node { name } } } members { edges { node { id } } }
  documents { edges { node { name text } } } policies { edges { node { id } } } proposals { edges { cursor } } } }`
	memberIDs := func(c communityResp) (ids []string) {
		for _, m := range c.Community.Members.nodes() {
			ids = append(ids, m.ID)
		}
		return ids
	}
	hasGardener := func(c communityResp) bool {
		for _, r := range c.Community.Roles.nodes() {
			if r.Name == "Gardener" {
				return true
			}
		}
		return false
	}
	var now, then communityResp
	e.mustQuery(t, &now, q)
	e.mustQuery(t, &then, q, client.Var("at", before))
	if !hasGardener(now) {
		t.Errorf("now: roles = %+v, want Gardener", now.Community.Roles)
	}
	if hasGardener(then) {
		t.Errorf("as of before: roles = %+v, want no Gardener", then.Community.Roles)
	}
	if then.Community.Name != "Garden" || len(then.Community.Policies.Edges) != 3 {
		t.Errorf("as of before: %+v", then.Community)
	}
	if got, want := strings.Join(memberIDs(then), ","), "alice,bob,carol"; got != want {
		t.Errorf("members as of before: %s, want %s (no dora yet)", got, want)
	}
	if got, want := strings.Join(memberIDs(now), ","), "alice,bob,carol,dora"; got != want {
		t.Errorf("members now: %s, want %s", got, want)
	}
	if docs := then.Community.Documents.nodes(); len(docs) != 0 {
		t.Errorf("documents as of before: %+v, want none", docs)
	}
	if docs := now.Community.Documents.nodes(); len(docs) != 1 || docs[0].Name != "Charter" || docs[0].Text != "Be kind." {
		t.Errorf("documents now: %+v, want the charter", docs)
	}
	if len(now.Community.Proposals.Edges) == 0 || len(then.Community.Proposals.Edges) != 0 {
		t.Errorf("proposals now %d, then %d; want some now and none before", len(now.Community.Proposals.Edges), len(then.Community.Proposals.Edges))
	}
	wantCode(t, e.mustFail(t, `{ community(id: "garden", asOf: "2001-01-01T00:00:00Z") { name } }`), "NOT_FOUND")
}

func TestCreateCommunityImportExportAndDiffPolicies(t *testing.T) {
	e := newEnv(t, nil)
	var created struct {
		CreateCommunity struct {
			ID, Name  string
			Platforms []struct {
				Name   string
				Active bool
			}
			Members conn[struct {
				Platform, Username string
				IsAdmin            bool
				Roles              []string
			}]
		}
	}
	e.mustQueryAs(t, "carol", &created, `mutation { createCommunity(input: {name: "Orchard", kit: "testing"}) {
  id name platforms { name active } members { edges { node { platform username isAdmin roles } } } } }`)
	c := created.CreateCommunity
	if members := c.Members.nodes(); c.Name != "Orchard" || len(members) != 1 || !members[0].IsAdmin || members[0].Username != "carol" ||
		members[0].Platform != domain.PlatformWeb {
		t.Fatalf("created %+v, want Orchard with carol its admin on the web platform", c)
	}
	// Platforms by name: every community's built-in constitution platform, and the web
	// platform it was created on.
	if len(c.Platforms) != 2 || c.Platforms[0].Name != domain.PlatformConstitution || c.Platforms[1].Name != domain.PlatformWeb || !c.Platforms[1].Active {
		t.Errorf("created community's platforms = %+v, want the constitution platform and PolicyKit's web platform", c.Platforms)
	}
	var me struct {
		Me struct {
			Memberships []struct{ CommunityID string }
		}
	}
	e.mustQueryAs(t, "carol", &me, `{ me { memberships { communityId } } }`)
	if len(me.Me.Memberships) != 2 {
		t.Errorf("carol's memberships = %+v, want garden and the new one", me.Me.Memberships)
	}
	wantCode(t, e.mustFail(t, `mutation { createCommunity(input: {name: "X", kit: "nope"}) { id } }`), "INVALID")

	// Export the vote policy, import it again under another name.
	var exported struct{ ExportPolicy string }
	e.mustQuery(t, &exported, `{ exportPolicy(id: "rename-vote") }`)
	if !strings.Contains(exported.ExportPolicy, `"policy_kind": "Platform"`) || !strings.Contains(exported.ExportPolicy, "get_yes_votes") {
		t.Fatalf("export = %s", exported.ExportPolicy)
	}
	changed := strings.Replace(strings.Replace(exported.ExportPolicy, "Vote on renames", "Vote again", 1), ">= 1", ">= 2", 1)
	var imported struct {
		ImportPolicy struct {
			Action   struct{ ID, Type, Status string }
			Proposal *struct{ Status string }
		}
	}
	e.mustQuery(t, &imported, `mutation($communityId: ID!, $json: String!) { importPolicy(input: {communityId: $communityId, policyJSON: $json}) { action { id type status } proposal { status } } }`,
		client.Var("communityId", "garden"), client.Var("json", changed))
	if imported.ImportPolicy.Action.Type != "policykitaddplatformpolicy" || imported.ImportPolicy.Action.Status != "executed" {
		t.Fatalf("import = %+v", imported.ImportPolicy)
	}
	var policies struct {
		Community struct {
			Policies conn[struct{ ID, Name string }]
		}
	}
	e.mustQuery(t, &policies, `{ community(id: "garden") { policies { edges { node { id name } } } } }`)
	var found bool
	for _, p := range policies.Community.Policies.nodes() {
		found = found || p.Name == "Vote again"
	}
	if !found {
		t.Errorf("policies = %+v, want the imported one", policies.Community.Policies)
	}
	wantCode(t, e.mustFail(t, `mutation { importPolicy(input: {communityId: "garden", policyJSON: "{"}) { action { id } } }`), "INVALID")
	wantCode(t, e.mustFail(t, `{ exportPolicy(id: "nope") }`), "NOT_FOUND")

	// Change the vote policy and diff its versions.
	var changedResp struct {
		ProposeConstitutionAction struct{ Action struct{ Status string } }
	}
	e.mustQuery(t, &changedResp, `mutation($payload: String!) {
  proposeConstitutionAction(input: {communityId: "garden", type: "policykitchangeplatformpolicy", payloadJSON: $payload}) { action { status } }
}`, client.Var("payload", `{"policy_id": "rename-vote", "name": "Vote on renames", "description": "", "action_types": ["slackrenameconversation"],
 "filter": "return True\n", "initialize": "pass\n", "notify": "pass\n", "success": "pass\n", "fail": "pass\n",
 "check": "if proposal.get_yes_votes().count() >= 2:\n    return PASSED\nreturn PROPOSED\n"}`))
	if changedResp.ProposeConstitutionAction.Action.Status != "executed" {
		t.Fatalf("change policy: %+v", changedResp)
	}
	// Every policy has a version 1; the vote policy's diff from 1 to 1 is its code unchanged.
	var diff struct {
		Community struct {
			Policies conn[struct {
				ID, Diff string
				Version  int
			}]
		}
	}
	e.mustQuery(t, &diff, `{ community(id: "garden") { policies { edges { node { id version diff(fromVersion: 1, toVersion: 1) } } } } }`)
	for _, p := range diff.Community.Policies.nodes() {
		if p.ID == "rename-vote" {
			if p.Version != 2 || !strings.Contains(p.Diff, "  # check\n") || strings.Contains(p.Diff, "\n+ ") || strings.Contains(p.Diff, "\n- ") {
				t.Errorf("rename-vote version %d diff 1..1:\n%s", p.Version, p.Diff)
			}
		}
	}
	wantCode(t, e.mustFail(t, `{ community(id: "garden") { policies { edges { node { id diff(fromVersion: 1, toVersion: 9) } } } } }`), "INVALID")
}

func TestLineDiff(t *testing.T) {
	got := graph.LineDiff("a\nb\nc\n", "a\nc\nd\n")
	want := "  a\n- b\n  c\n+ d\n"
	if got != want {
		t.Errorf("LineDiff = %q, want %q", got, want)
	}
}

func TestCommunityEventsFollowViewPermissions(t *testing.T) {
	e := newEnv(t, nil)
	o := e.mustSeedOrchard(t)
	const q = `{ community(id: "orchard") { events(first: 100) { edges { node { stream } } } } }`
	streamsOf := func(user string) map[string]bool {
		var resp struct {
			Community struct {
				Events struct {
					Edges []struct{ Node struct{ Stream string } }
				}
			}
		}
		e.mustQueryAs(t, user, &resp, q)
		out := map[string]bool{}
		for _, ed := range resp.Community.Events.Edges {
			out[ed.Node.Stream] = true
		}
		return out
	}
	erin, gwen := streamsOf("erin"), streamsOf("gwen")
	if !erin["proposal-"+o.platformProposal] || !erin["proposal-"+o.constitutionProposal] || !erin["community-orchard"] {
		t.Errorf("erin (view:*) sees %v", erin)
	}
	if gwen["proposal-"+o.platformProposal] || gwen["action-"+o.platformAction] || !gwen["proposal-"+o.constitutionProposal] {
		t.Errorf("gwen (view:constitution:*) sees %v", gwen)
	}
	wantCode(t, e.mustFailAs(t, "Bearer "+e.tokens["frank"], q), "FORBIDDEN")
	wantCode(t, e.mustFailAs(t, "Bearer "+e.tokens["alice"], q), "NOT_FOUND")
	// Orchard's real policy is no more there for alice than one that does not exist.
	alice := "Bearer " + e.tokens["alice"]
	refused := e.mustFailAs(t, alice, `query($p: ID!) { exportPolicy(id: $p) }`, map[string]any{"p": o.platformPolicy})
	wantCode(t, refused, "NOT_FOUND")
	if none := e.mustFailAs(t, alice, `{ exportPolicy(id: "nope") }`); none[0].Message != strings.ReplaceAll(refused[0].Message, o.platformPolicy, "nope") {
		t.Errorf("messages differ: %q and %q", refused[0].Message, none[0].Message)
	}
}
