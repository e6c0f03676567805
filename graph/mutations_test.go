package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore/postgres"
)

// snapshot is what the constitution tests read back of garden after each action.
type snapshot struct {
	Community struct {
		Roles conn[struct {
			Name        string
			Permissions []string
		}]
		Members conn[struct {
			ID    string
			Roles []string
		}]
		Documents conn[struct {
			ID, Name, Text string
			Active         bool
		}]
		Policies conn[struct {
			ID, Kind, Name string
			Active         bool
			Version        int
			Versions       conn[struct{ Change string }]
		}]
	}
}

func (s snapshot) role(name string) ([]string, bool) {
	for _, r := range s.Community.Roles.nodes() {
		if r.Name == name {
			return r.Permissions, true
		}
	}
	return nil, false
}

func (s snapshot) memberRoles(id string) []string {
	for _, m := range s.Community.Members.nodes() {
		if m.ID == id {
			return m.Roles
		}
	}
	return nil
}

// mustConstitution proposes a constitution action as alice and returns its action id; under
// the Testing kit it must pass and be executed.
func (e *env) mustConstitution(t *testing.T, typ, payload string) string {
	t.Helper()
	var resp struct {
		ProposeConstitutionAction struct {
			Action   struct{ ID, Type, Status, Reason string }
			Proposal *struct{ Status string }
		}
	}
	e.mustQuery(t, &resp, `mutation($type: String!, $payload: String!) {
  proposeConstitutionAction(input: {communityId: "garden", type: $type, payloadJSON: $payload}) {
    action { id type status reason } proposal { status }
  }
}`, client.Var("type", typ), client.Var("payload", payload))
	got := resp.ProposeConstitutionAction
	if got.Action.Type != typ || got.Action.Status != domain.ActionStatusExecuted || got.Proposal == nil || got.Proposal.Status != "PASSED" {
		t.Fatalf("%s %s: %+v, want it passed and executed", typ, payload, got)
	}
	return got.Action.ID
}

func (e *env) snapshot(t *testing.T) snapshot {
	t.Helper()
	var s snapshot
	e.mustQuery(t, &s, `{ community(id: "garden") {
  roles { edges { node { name permissions } } } members { edges { node { id roles } } } documents { edges { node { id name text active } } }
  policies { edges { node { id kind name active version versions { edges { node { change } } } } } } } }`)
	return s
}

func TestEveryConstitutionActionThroughTheAPI(t *testing.T) {
	e := newEnv(t, nil)

	e.mustConstitution(t, domain.ActionAddRole, `{"name": "Gardener", "description": "Tends", "permissions": ["propose:slackpostmessage"]}`)
	if perms, ok := e.snapshot(t).role("Gardener"); !ok || !slices.Equal(perms, []string{"propose:slackpostmessage"}) {
		t.Fatalf("after add role: Gardener %v %v", ok, perms)
	}
	e.mustConstitution(t, domain.ActionEditRole, `{"role": "Gardener", "name": "Grower", "description": "Grows", "permissions": ["propose:slackpostmessage", "vote:*"]}`)
	s := e.snapshot(t)
	if _, ok := s.role("Gardener"); ok {
		t.Error("after edit role: Gardener still there")
	}
	if perms, ok := s.role("Grower"); !ok || len(perms) != 2 {
		t.Errorf("after edit role: Grower %v %v", ok, perms)
	}
	e.mustConstitution(t, domain.ActionAddUserRole, `{"role": "Grower", "user_ids": ["bob"]}`)
	if !slices.Contains(e.snapshot(t).memberRoles("bob"), "Grower") {
		t.Error("after add user role: bob is no Grower")
	}
	e.mustConstitution(t, domain.ActionRemoveUserRole, `{"role": "Grower", "user_ids": ["bob"]}`)
	if slices.Contains(e.snapshot(t).memberRoles("bob"), "Grower") {
		t.Error("after remove user role: bob is still a Grower")
	}
	e.mustConstitution(t, domain.ActionDeleteRole, `{"role": "Grower"}`)
	if _, ok := e.snapshot(t).role("Grower"); ok {
		t.Error("after delete role: Grower still there")
	}

	doc := e.mustConstitution(t, domain.ActionAddCommunityDoc, `{"name": "Charter", "text": "Be kind."}`)
	document := func() (name, text string, active, found bool) {
		for _, d := range e.snapshot(t).Community.Documents.nodes() {
			if d.ID == doc {
				return d.Name, d.Text, d.Active, true
			}
		}
		return "", "", false, false
	}
	if name, _, active, ok := document(); !ok || name != "Charter" || !active {
		t.Fatalf("after add document: %q %v %v", name, active, ok)
	}
	e.mustConstitution(t, domain.ActionChangeCommunityDoc, fmt.Sprintf(`{"document_id": %q, "name": "Charter", "text": "Be kinder."}`, doc))
	if _, text, _, _ := document(); text != "Be kinder." {
		t.Errorf("after change document: text %q", text)
	}
	e.mustConstitution(t, domain.ActionDeleteCommunityDoc, fmt.Sprintf(`{"document_id": %q}`, doc))
	if _, _, active, _ := document(); active {
		t.Error("after delete document: still active")
	}
	e.mustConstitution(t, domain.ActionRecoverCommunityDoc, fmt.Sprintf(`{"document_id": %q}`, doc))
	if _, _, active, _ := document(); !active {
		t.Error("after recover document: not active")
	}

	// Each kind's policies; their filters match nothing, so that they govern none of the
	// actions that follow.
	code := `"filter": "return False\n", "initialize": "pass\n", "check": "return PASSED\n", "notify": "pass\n", "success": "pass\n", "fail": "pass\n"`
	for _, kind := range []string{"platform", "constitution", "trigger"} {
		id := e.mustConstitution(t, "policykitadd"+kind+"policy", `{"name": "Quiet `+kind+`", "description": "", "action_types": [], `+code+`}`)
		policy := func() (name string, active bool, version int, changes []string) {
			for _, p := range e.snapshot(t).Community.Policies.nodes() {
				if p.ID == id {
					for _, v := range p.Versions.nodes() {
						changes = append(changes, v.Change)
					}
					return p.Name, p.Active, p.Version, changes
				}
			}
			t.Fatalf("%s policy %s is not listed", kind, id)
			return
		}
		if name, active, _, _ := policy(); name != "Quiet "+kind || !active {
			t.Errorf("after add %s policy: %q active %v", kind, name, active)
		}
		e.mustConstitution(t, "policykitchange"+kind+"policy", fmt.Sprintf(`{"policy_id": %q, "name": "Calm %s", "description": "", "action_types": [], %s}`, id, kind, code))
		if name, _, version, _ := policy(); name != "Calm "+kind || version != 2 {
			t.Errorf("after change %s policy: %q version %d", kind, name, version)
		}
		e.mustConstitution(t, "policykitremove"+kind+"policy", fmt.Sprintf(`{"policy_id": %q}`, id))
		if _, active, _, _ := policy(); active {
			t.Errorf("after remove %s policy: still active", kind)
		}
		e.mustConstitution(t, "policykitrecover"+kind+"policy", fmt.Sprintf(`{"policy_id": %q}`, id))
		if _, active, _, changes := policy(); !active || strings.Join(changes, ",") != "added,changed,removed,recovered" {
			t.Errorf("after recover %s policy: active %v, versions %v", kind, active, changes)
		}
	}

	// Bad input changes nothing.
	wantCode(t, e.mustFail(t, `mutation { proposeConstitutionAction(input: {communityId: "garden", type: "policykitnosuchthing", payloadJSON: "{}"}) { action { id } } }`), "INVALID")
	wantCode(t, e.mustFail(t, `mutation { proposeConstitutionAction(input: {communityId: "garden", type: "policykitaddrole", payloadJSON: "{\"name\": \"X\", \"bogus\": 1}"}) { action { id } } }`), "INVALID")
}

func TestChangingAVoteInTheApp(t *testing.T) {
	e := newEnv(t, nil)
	// A vote that needs two yes votes keeps the proposal open while bob changes his mind.
	e.mustConstitution(t, domain.ActionChangePlatformPolicy, `{"policy_id": "rename-vote", "name": "Vote on renames", "description": "", "action_types": ["slackrenameconversation"],
 "filter": "return True\n", "initialize": "pass\n", "notify": "pass\n", "success": "pass\n", "fail": "pass\n",
 "check": "if proposal.get_yes_votes().count() >= 2:\n    return PASSED\nreturn PROPOSED\n"}`)
	p := e.mustPropose(t, "alice", "veggies")
	const vote = `mutation($p: ID!, $v: String!) {
  castVote(input: {communityId: "garden", proposalId: $p, value: $v}) { proposal { status tally { yes no total } votes { userId boolean } } }
}`
	type voteResp struct {
		CastVote struct {
			Proposal struct {
				Status string
				Tally  struct{ Yes, No, Total int }
				Votes  []struct {
					UserID  string
					Boolean *bool
				}
			}
		}
	}
	var first, changed, second voteResp
	e.mustQueryAs(t, "bob", &first, vote, client.Var("p", p), client.Var("v", "yes"))
	if got := first.CastVote.Proposal; got.Status != "PROPOSED" || got.Tally.Yes != 1 || got.Tally.Total != 1 {
		t.Fatalf("after bob's yes: %+v", got)
	}
	wantCode(t, e.mustFail(t, vote, map[string]any{"p": p, "v": "  "}), "INVALID")
	e.mustQueryAs(t, "bob", &changed, vote, client.Var("p", p), client.Var("v", "no"))
	got := changed.CastVote.Proposal
	if got.Status != "PROPOSED" || got.Tally.Yes != 0 || got.Tally.No != 1 || got.Tally.Total != 1 {
		t.Fatalf("after bob changed to no: %+v, want one no and no yes", got)
	}
	if len(got.Votes) != 1 || got.Votes[0].UserID != "bob" || got.Votes[0].Boolean == nil || *got.Votes[0].Boolean {
		t.Errorf("votes = %+v, want bob's no only", got.Votes)
	}
	// Two yes votes pass it: bob's change back and carol's.
	e.mustQueryAs(t, "bob", &second, vote, client.Var("p", p), client.Var("v", "yes"))
	e.mustQueryAs(t, "carol", &second, vote, client.Var("p", p), client.Var("v", "yes"))
	if got := second.CastVote.Proposal; got.Status != "PASSED" || got.Tally.Yes != 2 || got.Tally.Total != 2 {
		t.Errorf("after two yes votes: %+v, want PASSED", got)
	}
}

func TestPolicyDiffBetweenTwoVersions(t *testing.T) {
	e := newEnv(t, nil)
	e.mustConstitution(t, domain.ActionChangePlatformPolicy, `{"policy_id": "rename-vote", "name": "Vote on renames", "description": "", "action_types": ["slackrenameconversation"],
 "filter": "return True\n", "initialize": "pass\n", "notify": "pass\n", "success": "pass\n", "fail": "pass\n",
 "check": "if proposal.get_yes_votes().count() >= 2:\n    return PASSED\nreturn PROPOSED\n"}`)
	var resp struct {
		Policy struct {
			Version  int
			Versions conn[struct {
				Version  int
				Change   string
				ActionID string
			}]
			Diff string
		}
	}
	e.mustQuery(t, &resp, `{ policy(id: "rename-vote") { version versions { edges { node { version change actionId } } } diff(fromVersion: 1, toVersion: 2) } }`)
	p := resp.Policy
	if versions := p.Versions.nodes(); p.Version != 2 || len(versions) != 2 || versions[1].Change != "changed" || versions[1].ActionID == "" {
		t.Fatalf("policy = %+v, want two versions, the second changed by an action", p)
	}
	for _, line := range []string{
		"- if proposal.get_yes_votes().count() >= 1:\n",
		"+ if proposal.get_yes_votes().count() >= 2:\n",
		"- if proposal.get_no_votes().count() >= 1:\n",
		"  return PROPOSED\n",
		"  # filter\n",
	} {
		if !strings.Contains(p.Diff, line) {
			t.Errorf("diff lacks %q:\n%s", line, p.Diff)
		}
	}
	wantCode(t, e.mustFail(t, `{ policy(id: "rename-vote") { diff(fromVersion: 1, toVersion: 3) } }`), "INVALID")
	wantCode(t, e.mustFail(t, `{ policy(id: "nope") { id } }`), "NOT_FOUND")
}

func TestApplyStarterKitProposesItsRolesAndPolicies(t *testing.T) {
	e := newEnv(t, nil)
	var kits struct {
		StarterKits []struct {
			Name            string
			Roles, Policies []string
		}
	}
	e.mustQuery(t, &kits, `{ starterKits { name roles policies } }`)
	var moderators []string
	for _, k := range kits.StarterKits {
		if k.Name == "moderators" {
			moderators = k.Roles
		}
	}
	if len(moderators) == 0 {
		t.Fatalf("starterKits = %+v, want the moderators kit with its roles", kits.StarterKits)
	}

	const apply = `mutation($kit: String!) {
  applyStarterKit(input: {communityId: "garden", kit: $kit}) {
    proposed { action { type status initiatorId } proposal { status } }
    skipped
  }
}`
	type applyResp struct {
		ApplyStarterKit struct {
			Proposed []struct {
				Action   struct{ Type, Status, InitiatorID string }
				Proposal *struct{ Status string }
			}
			Skipped []string
		}
	}
	var first applyResp
	e.mustQuery(t, &first, apply, client.Var("kit", "moderators"))
	var types []string
	for _, p := range first.ApplyStarterKit.Proposed {
		types = append(types, p.Action.Type)
		if p.Action.Status != domain.ActionStatusExecuted || p.Action.InitiatorID != "alice" || p.Proposal == nil || p.Proposal.Status != "PASSED" {
			t.Errorf("%s: %+v, want alice's proposal passed by the constitution policy", p.Action.Type, p)
		}
	}
	// Garden has a base role and the Testing kit's platform policy already; the Moderator
	// role goes to its user group (alice, the admin) once it has passed.
	if want := []string{domain.ActionAddRole, domain.ActionAddUserRole, domain.ActionAddConstitutionPolicy}; !slices.Equal(types, want) {
		t.Fatalf("proposed %v, want %v (skipped: %v)", types, want, first.ApplyStarterKit.Skipped)
	}
	if len(first.ApplyStarterKit.Skipped) != 2 {
		t.Errorf("skipped %q, want the base role and the platform policy", first.ApplyStarterKit.Skipped)
	}
	s := e.snapshot(t)
	if _, ok := s.role("Moderator"); !ok || !slices.Contains(s.memberRoles("alice"), "Moderator") {
		t.Errorf("roles %+v, alice's %v; want Moderator, held by alice", s.Community.Roles.nodes(), s.memberRoles("alice"))
	}

	// Applying it again proposes nothing: everything is there.
	var again applyResp
	e.mustQuery(t, &again, apply, client.Var("kit", "moderators"))
	if len(again.ApplyStarterKit.Proposed) != 0 || len(again.ApplyStarterKit.Skipped) == 0 {
		t.Errorf("second application: %+v, want nothing proposed and everything skipped", again.ApplyStarterKit)
	}

	wantCode(t, e.mustFail(t, apply, map[string]any{"kit": "nope"}), "NOT_FOUND")
	// Orchard exists, but alice is no member of it: it is not found, and gets no roles.
	e.mustSeedOrchard(t)
	before := e.orchardState(t)
	wantCode(t, e.mustFail(t, `mutation { applyStarterKit(input: {communityId: "orchard", kit: "moderators"}) { skipped } }`), "NOT_FOUND")
	if after := e.orchardState(t); after != before || strings.Contains(after, "Moderator") {
		t.Errorf("applying a kit to orchard as alice changed it:\n%s\nwas\n%s", after, before)
	}
}

func TestCommunityAsOfShowsPlatformsPolicyVersionsAndProposalsThen(t *testing.T) {
	e := newEnv(t, nil)
	p := e.mustPropose(t, "alice", "veggies")
	time.Sleep(10 * time.Millisecond)
	beforeChange := time.Now()
	time.Sleep(10 * time.Millisecond)
	e.mustConstitution(t, domain.ActionChangePlatformPolicy, `{"policy_id": "rename-vote", "name": "Vote on renames", "description": "", "action_types": ["slackrenameconversation"],
 "filter": "return True\n", "initialize": "pass\n", "notify": "pass\n", "success": "pass\n", "fail": "pass\n",
 "check": "if proposal.get_yes_votes().count() >= 1:\n    return PASSED\nreturn PROPOSED\n"}`)
	time.Sleep(10 * time.Millisecond)
	between := time.Now()
	time.Sleep(10 * time.Millisecond)
	if _, err := engine.UpdateCommunity(context.Background(), postgres.New(e.pool), "garden", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		return c.DecideConnectPlatform(domain.ConnectPlatform{Platform: domain.PlatformDiscord, ExternalID: "G1", Name: "Garden Discord"}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	var voted struct {
		CastVote struct{ Proposal struct{ Status string } }
	}
	e.mustQueryAs(t, "bob", &voted, `mutation($p: ID!) { castVote(input: {communityId: "garden", proposalId: $p, value: "yes"}) { proposal { status } } }`, client.Var("p", p))
	if voted.CastVote.Proposal.Status != "PASSED" {
		t.Fatalf("after bob's yes: %+v", voted)
	}

	type asOfResp struct {
		Community struct {
			Platforms []struct{ Name string }
			Policies  conn[struct {
				ID       string
				Version  int
				Versions conn[struct{ Version int }]
			}]
			Proposals struct {
				Edges []struct {
					Node struct {
						ID, Status string
						DecidedAt  *time.Time
						Votes      []struct{ UserID string }
						Tally      struct{ Total int }
					}
				}
			}
			Passed struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
	}
	const q = `query($at: Time) { community(id: "garden", asOf: $at) {
  platforms { name }
  policies { edges { node { id version versions { edges { node { version } } } } } }
  proposals { edges { node { id status decidedAt votes { userId } tally { total } } } }
  passed: proposals(filter: {status: PASSED}) { edges { node { id } } }
} }`
	var then, now asOfResp
	e.mustQuery(t, &then, q, client.Var("at", between))
	e.mustQuery(t, &now, q)

	platforms := func(r asOfResp) (names []string) {
		for _, p := range r.Community.Platforms {
			names = append(names, p.Name)
		}
		return names
	}
	if got := platforms(then); !slices.Contains(got, domain.PlatformSlack) || slices.Contains(got, domain.PlatformDiscord) {
		t.Errorf("platforms then = %v, want slack and no discord yet", got)
	}
	if got := platforms(now); !slices.Contains(got, domain.PlatformDiscord) {
		t.Errorf("platforms now = %v, want discord too", got)
	}
	for _, pol := range then.Community.Policies.nodes() {
		if pol.ID == "rename-vote" && (pol.Version != 2 || len(pol.Versions.Edges) != 2) {
			t.Errorf("rename-vote then: %+v, want its two versions", pol)
		}
	}
	nodeOf := func(r asOfResp) (status string, decided bool, votes int) {
		for _, e := range r.Community.Proposals.Edges {
			if e.Node.ID == p {
				return e.Node.Status, e.Node.DecidedAt != nil, len(e.Node.Votes) + e.Node.Tally.Total
			}
		}
		t.Fatalf("proposal %s not listed: %+v", p, r.Community.Proposals)
		return
	}
	if status, decided, votes := nodeOf(then); status != "PROPOSED" || decided || votes != 0 {
		t.Errorf("proposal then: %s decided %v votes %d, want PROPOSED, undecided, no votes", status, decided, votes)
	}
	if status, decided, votes := nodeOf(now); status != "PASSED" || !decided || votes != 2 {
		t.Errorf("proposal now: %s decided %v votes %d, want PASSED with bob's vote", status, decided, votes)
	}
	passed := func(r asOfResp) bool {
		for _, e := range r.Community.Passed.Edges {
			if e.Node.ID == p {
				return true
			}
		}
		return false
	}
	if passed(then) || !passed(now) {
		t.Errorf("among passed proposals then %v, now %v; want only now", passed(then), passed(now))
	}

	// Before the change, the policy had one version (and its current one was that).
	var first asOfResp
	e.mustQuery(t, &first, q, client.Var("at", beforeChange))
	for _, pol := range first.Community.Policies.nodes() {
		if pol.ID == "rename-vote" && (pol.Version != 1 || len(pol.Versions.Edges) != 1) {
			t.Errorf("rename-vote before its change: %+v, want version 1 only", pol)
		}
	}
}

func TestCommunityAsOfALogPosition(t *testing.T) {
	e := newEnv(t, nil)
	e.mustConstitution(t, domain.ActionAddRole, `{"name": "Gardener", "description": "Tends", "permissions": []}`)
	e.mustConstitution(t, domain.ActionAddRole, `{"name": "Pruner", "description": "Prunes", "permissions": []}`)
	var log struct {
		Community struct {
			Events struct {
				Edges []struct {
					Node struct{ Position, Type, DataJSON string }
				}
			}
		}
	}
	e.mustQuery(t, &log, `{ community(id: "garden") { events(first: 100, filter: {types: ["community.role_added"]}) { edges { node { position type dataJSON } } } } }`)
	var gardener string
	for _, ed := range log.Community.Events.Edges {
		if strings.Contains(ed.Node.DataJSON, `"Gardener"`) {
			gardener = ed.Node.Position
		}
	}
	if gardener == "" {
		t.Fatalf("no role_added event for Gardener in %+v", log.Community.Events.Edges)
	}

	var then struct {
		Community struct {
			Roles  conn[struct{ Name string }]
			Events struct {
				Edges []struct{ Node struct{ Position string } }
			}
		}
	}
	e.mustQuery(t, &then, `query($p: String) { community(id: "garden", asOfPosition: $p) { roles { edges { node { name } } } events(first: 100) { edges { node { position } } } } }`,
		client.Var("p", gardener))
	var roles []string
	for _, r := range then.Community.Roles.nodes() {
		roles = append(roles, r.Name)
	}
	if !slices.Contains(roles, "Gardener") || slices.Contains(roles, "Pruner") {
		t.Errorf("roles at the Gardener's event: %v, want Gardener and no Pruner yet", roles)
	}
	edges := then.Community.Events.Edges
	if len(edges) == 0 || edges[len(edges)-1].Node.Position != gardener {
		t.Errorf("events at the Gardener's event end at %+v, want at %s", edges[len(edges)-1:], gardener)
	}

	wantCode(t, e.mustFail(t, `{ community(id: "garden", asOfPosition: "nope") { name } }`), "INVALID")
	wantCode(t, e.mustFail(t, `{ community(id: "garden", asOfPosition: "1:999999999") { name } }`), "NOT_FOUND")
	wantCode(t, e.mustFail(t, `{ community(id: "garden", asOf: "2030-01-01T00:00:00Z", asOfPosition: "1:1") { name } }`), "INVALID")
}

func TestCommunityAsOfShowsTheVotesCastThen(t *testing.T) {
	e := newEnv(t, nil)
	e.mustConstitution(t, domain.ActionChangePlatformPolicy, `{"policy_id": "rename-vote", "name": "Vote on renames", "description": "", "action_types": ["slackrenameconversation"],
 "filter": "return True\n", "initialize": "pass\n", "notify": "pass\n", "success": "pass\n", "fail": "pass\n",
 "check": "if proposal.get_yes_votes().count() >= 3:\n    return PASSED\nreturn PROPOSED\n"}`)
	p := e.mustPropose(t, "alice", "veggies")
	const vote = `mutation($p: ID!, $v: String!) { castVote(input: {communityId: "garden", proposalId: $p, value: $v}) { proposal { status } } }`
	var ignored any
	e.mustQueryAs(t, "bob", &ignored, vote, client.Var("p", p), client.Var("v", "yes"))
	time.Sleep(10 * time.Millisecond)
	between := time.Now()
	time.Sleep(10 * time.Millisecond)
	e.mustQueryAs(t, "bob", &ignored, vote, client.Var("p", p), client.Var("v", "no"))
	e.mustQueryAs(t, "carol", &ignored, vote, client.Var("p", p), client.Var("v", "yes"))

	type resp struct {
		Community struct {
			Proposals struct {
				Edges []struct {
					Node struct {
						ID    string
						Tally struct{ Yes, No, Total int }
						Votes []struct {
							UserID  string
							Boolean *bool
						}
					}
				}
			}
		}
	}
	const q = `query($at: Time) { community(id: "garden", asOf: $at) { proposals { edges { node { id tally { yes no total } votes { userId boolean } } } } } }`
	var then, now resp
	e.mustQuery(t, &then, q, client.Var("at", between))
	e.mustQuery(t, &now, q)
	find := func(r resp) (yes, no, total int, votes string) {
		for _, ed := range r.Community.Proposals.Edges {
			if ed.Node.ID == p {
				for _, v := range ed.Node.Votes {
					votes += fmt.Sprintf("%s=%v ", v.UserID, v.Boolean != nil && *v.Boolean)
				}
				return ed.Node.Tally.Yes, ed.Node.Tally.No, ed.Node.Tally.Total, votes
			}
		}
		t.Fatalf("proposal %s not listed", p)
		return
	}
	if yes, no, total, votes := find(then); yes != 1 || no != 0 || total != 1 || votes != "bob=true " {
		t.Errorf("then: %d yes, %d no, %d in all, votes %q; want bob's first vote, yes", yes, no, total, votes)
	}
	if yes, no, total, _ := find(now); yes != 1 || no != 1 || total != 2 {
		t.Errorf("now: %d yes, %d no, %d in all; want bob's no and carol's yes", yes, no, total)
	}
}

// The fields of one community(asOf:) share one fold of its log, and a proposal's votes and
// tally then share one fold of the proposal's: asking for more fields reads nothing more.
func TestCommunityAsOfFoldsOncePerRequest(t *testing.T) {
	e := newEnv(t, nil)
	e.mustPropose(t, "alice", "veggies")
	at := time.Now()
	count := func(query string) int64 {
		t.Helper()
		var out any
		e.statements.n.Store(0)
		e.mustQuery(t, &out, query, client.Var("at", at))
		return e.statements.n.Load()
	}
	one := count(`query($at: Time) { community(id: "garden", asOf: $at) { members { edges { node { id } } } proposals { edges { node { votes { userId } } } } } }`)
	all := count(`query($at: Time) { community(id: "garden", asOf: $at) { members { edges { node { id } } } roles { edges { node { name } } }
  documents { edges { node { id } } } platforms { name } policies { edges { node { id } } }
  proposals { edges { node { votes { userId } tally { yes } } } } } }`)
	if all != one {
		t.Errorf("%d statements with every field, %d with members and votes only; want the same", all, one)
	}
}

// The effects a proposal's policy requested come back with the proposal: the notify block's
// post when it is proposed, then the rename itself once the vote passes it. No platform
// carries them out here, so they stay requested.
func TestProposalEffectsComeBackWithIt(t *testing.T) {
	e := newEnv(t, nil)
	e.mustConstitution(t, domain.ActionChangePlatformPolicy, noisyRenameVote)
	type effect struct {
		ID, Platform, Method, Purpose, ArgsJSON, Status, Error string
		ResultJSON                                             *string
		RequestedAt                                            time.Time
		FinishedAt                                             *time.Time
	}
	const fields = `effects { edges { node { id platform method purpose argsJSON status resultJSON error requestedAt finishedAt } } pageInfo { hasNextPage } }`
	var proposed struct {
		ProposeAction struct {
			Action   struct{ ID string }
			Proposal struct {
				ID      string
				Effects conn[effect]
			}
		}
	}
	e.mustQuery(t, &proposed, `mutation { proposeAction(input: {communityId: "garden", actionType: "slackrenameconversation", fieldsJSON: "{\"channel\":\"C1\",\"name\":\"veggies\"}"}) {
  action { id } proposal { id `+fields+` } } }`)
	post := proposed.ProposeAction.Proposal.Effects.nodes()
	if len(post) != 1 {
		t.Fatalf("effects when proposed: %+v, want the notify block's post", post)
	}
	if p := post[0]; p.ID == "" || p.Platform != domain.PlatformSlack || p.Method != "post_message" || p.Purpose != "policy" || p.Status != "requested" ||
		p.ArgsJSON != `{"text": "Vote on the rename", "channel": "C1"}` || p.ResultJSON != nil || p.Error != "" || p.RequestedAt.IsZero() || p.FinishedAt != nil {
		t.Errorf("notify effect = %+v", p)
	}

	var voted struct {
		CastVote struct {
			Proposal struct {
				Status  string
				Effects conn[effect]
			}
		}
	}
	e.mustQueryAs(t, "bob", &voted, `mutation($p: ID!) { castVote(input: {communityId: "garden", proposalId: $p, value: "yes"}) { proposal { status `+fields+` } } }`,
		client.Var("p", proposed.ProposeAction.Proposal.ID))
	got := voted.CastVote.Proposal
	effects := got.Effects.nodes()
	if got.Status != "PASSED" || len(effects) != 2 || got.Effects.PageInfo.HasNextPage || effects[0].ID != post[0].ID {
		t.Fatalf("after bob's yes: %+v, want PASSED with the post and then the rename", got)
	}
	var args struct {
		ActionID   string         `json:"action_id"`
		ActionType string         `json:"action_type"`
		Fields     map[string]any `json:"fields"`
	}
	if err := json.Unmarshal([]byte(effects[1].ArgsJSON), &args); err != nil {
		t.Fatal(err)
	}
	if x := effects[1]; x.Platform != domain.PlatformSlack || x.Method != "execute" || x.Purpose != "execute" || x.Status != "requested" ||
		args.ActionID != proposed.ProposeAction.Action.ID || args.ActionType != domain.ActionSlackRenameConversation || args.Fields["name"] != "veggies" ||
		x.RequestedAt.Before(effects[0].RequestedAt) {
		t.Errorf("execute effect = %+v (args %+v)", x, args)
	}
}

// A value the proposal's yes/no vote does not offer is INVALID and leaves the tally and the
// member's vote as they were; before, "yse" became a choice vote that replaced bob's yes.
func TestCastVoteRefusesWhatTheVoteDoesNotOffer(t *testing.T) {
	e := newEnv(t, nil)
	e.mustConstitution(t, domain.ActionChangePlatformPolicy, `{"policy_id": "rename-vote", "name": "Vote on renames", "description": "", "action_types": ["slackrenameconversation"],
 "filter": "return True\n", "initialize": "pass\n", "notify": "slack.initiate_vote(text='Rename?')\n", "success": "pass\n", "fail": "pass\n",
 "check": "if proposal.get_yes_votes().count() >= 2:\n    return PASSED\nreturn PROPOSED\n"}`)
	p := e.mustPropose(t, "alice", "veggies")
	const vote = `mutation($p: ID!, $v: String!) { castVote(input: {communityId: "garden", proposalId: $p, value: $v}) { proposal { status } } }`
	type tally struct {
		Proposal struct {
			Status string
			Tally  struct{ Yes, No, Total int }
			Votes  []struct {
				UserID  string
				Kind    string
				Boolean *bool
				Choice  *string
			}
		}
	}
	var voted any
	e.mustQueryAs(t, "bob", &voted, vote, client.Var("p", p), client.Var("v", "yes"))
	for _, v := range []string{"yse", "maybe", "99999999999999999999", "3", strings.Repeat("x", domain.MaxChoiceLen+1)} {
		errs := e.mustFailAs(t, "Bearer "+e.tokens["bob"], vote, map[string]any{"p": p, "v": v})
		wantCode(t, errs, "INVALID")
	}
	var got tally
	e.mustQuery(t, &got, `query($p: ID!) { proposal(id: $p) { status tally { yes no total } votes { userId kind boolean choice } } }`, client.Var("p", p))
	if g := got.Proposal; g.Status != "PROPOSED" || g.Tally.Yes != 1 || g.Tally.No != 0 || g.Tally.Total != 1 ||
		len(g.Votes) != 1 || g.Votes[0].UserID != "bob" || g.Votes[0].Boolean == nil || !*g.Votes[0].Boolean || g.Votes[0].Choice != nil {
		t.Fatalf("after refused votes: %+v, want bob's yes only", g)
	}
}

// A proposal says what its vote offers (the options of the initiate_vote its policy asked
// for) and whether the caller may vote on it now: the vote permission, a pending proposal.
func TestProposalBallotsAndCanVote(t *testing.T) {
	e := newEnv(t, nil)
	e.mustConstitution(t, domain.ActionChangePlatformPolicy, `{"policy_id": "rename-vote", "name": "Consent on renames", "description": "", "action_types": ["slackrenameconversation"],
 "filter": "return True\n", "initialize": "pass\n", "notify": "slack.initiate_vote(text='Rename?', options=['consent', 'objection'])\n", "success": "pass\n", "fail": "pass\n",
 "check": "if proposal.get_choice_votes(value='consent').count() >= 2:\n    return PASSED\nif proposal.get_choice_votes(value='objection').count() >= 1:\n    return FAILED\nreturn PROPOSED\n"}`)
	p := e.mustPropose(t, "alice", "veggies")
	type ballots struct {
		Proposal struct {
			Status  string
			CanVote bool
			Ballots []struct {
				Kind    string
				Options []string
			}
		}
	}
	const q = `query($p: ID!) { proposal(id: $p) { status canVote ballots { kind options } } }`
	var got ballots
	e.mustQueryAs(t, "bob", &got, q, client.Var("p", p))
	if g := got.Proposal; g.Status != "PROPOSED" || !g.CanVote || len(g.Ballots) != 1 || g.Ballots[0].Kind != "choice" ||
		strings.Join(g.Ballots[0].Options, ",") != "consent,objection" {
		t.Fatalf("pending proposal as bob: %+v, want canVote and one choice of consent, objection", g)
	}

	// Without the vote permission (the base role loses it), bob may not vote.
	e.mustConstitution(t, domain.ActionEditRole, `{"role": "Base User", "description": "May view and propose", "permissions": ["view:*", "propose:*"]}`)
	got = ballots{}
	e.mustQueryAs(t, "bob", &got, q, client.Var("p", p))
	if got.Proposal.CanVote {
		t.Fatalf("bob without the vote permission: %+v, want canVote false", got.Proposal)
	}
	e.mustConstitution(t, domain.ActionEditRole, `{"role": "Base User", "description": "Everything", "permissions": ["view:*", "propose:*", "vote:*"]}`)

	// A decided proposal takes no vote.
	const vote = `mutation($p: ID!, $v: String!) { castVote(input: {communityId: "garden", proposalId: $p, value: $v}) { proposal { status } } }`
	var voted struct {
		CastVote struct{ Proposal struct{ Status string } }
	}
	e.mustQueryAs(t, "carol", &voted, vote, client.Var("p", p), client.Var("v", "objection"))
	if voted.CastVote.Proposal.Status != "FAILED" {
		t.Fatalf("after an objection: %s", voted.CastVote.Proposal.Status)
	}
	got = ballots{}
	e.mustQueryAs(t, "bob", &got, q, client.Var("p", p))
	if g := got.Proposal; g.CanVote || len(g.Ballots) != 1 {
		t.Fatalf("decided proposal: %+v, want no vote offered and its ballot kept", g)
	}
}
