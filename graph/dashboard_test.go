package graph_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/graph"
)

type actionTypeNode struct {
	Type, Kind, Platform, Label                string
	Governable, Proposable, ExplicitPermission bool
	Fields                                     []struct {
		Name, Type  string
		Required    bool
		Description *string
	}
}

func (a actionTypeNode) field(name string) (string, bool, bool) {
	for _, f := range a.Fields {
		if f.Name == name {
			return f.Type, f.Required, true
		}
	}
	return "", false, false
}

func TestActionTypesAndPermissionCatalog(t *testing.T) {
	e := newEnv(t, nil)
	var out struct {
		ActionTypes       []actionTypeNode
		PermissionCatalog struct{ Verbs, Wildcards, ActionTypes []string }
	}
	e.mustQuery(t, &out, `{ actionTypes { type kind platform label governable proposable explicitPermission fields { name type required description } }
  permissionCatalog { verbs wildcards actionTypes } }`)
	byType := map[string]actionTypeNode{}
	for _, a := range out.ActionTypes {
		byType[a.Type] = a
	}
	if len(byType) != len(domain.ActionTypes()) {
		t.Fatalf("%d action types, want %d", len(byType), len(domain.ActionTypes()))
	}
	// Constitution types: the payload struct's fields, typed for a form.
	for _, c := range []struct {
		typ, field, want string
		required         bool
	}{
		{"policykitaddrole", "name", "text", true},
		{"policykitaddrole", "description", "longtext", false},
		{"policykitaddrole", "is_base", "boolean", false},
		{"policykitaddrole", "permissions", "permissions", false},
		{"policykitadduserrole", "user_ids", "userIds", true},
		{"policykitaddplatformpolicy", "check", "code", false},
		{"policykitaddplatformpolicy", "check_lang", "text", false},
		{"policykitaddplatformpolicy", "action_types", "list", false},
		{"policykitaddplatformpolicy", "priority", "number", false},
		{"policykitchangetriggerpolicy", "policy_id", "text", true},
		{"policykitaddcommunitydoc", "text", "longtext", true},
		{"policykitaddintegration", "settings", "map", false},
		{"policykitaddintegration", "secrets", "map", false},
		{"slackpostmessage", "text", "text", false},
	} {
		typ, req, ok := byType[c.typ].field(c.field)
		if !ok || typ != c.want || req != c.required {
			t.Errorf("%s.%s = %q required %v (found %v), want %q required %v", c.typ, c.field, typ, req, ok, c.want, c.required)
		}
	}
	// What the member never gives: the kind comes from the type, an added policy's id from
	// the action.
	for _, f := range []string{"kind", "policy_id"} {
		if _, _, ok := byType["policykitaddplatformpolicy"].field(f); ok {
			t.Errorf("policykitaddplatformpolicy offers %s", f)
		}
	}
	if a := byType["policykitaddintegration"]; !a.ExplicitPermission || !a.Proposable || a.Kind != "constitution" {
		t.Errorf("policykitaddintegration = %+v", a)
	}
	if a := byType["slackpostmessage"]; !a.Proposable || !a.Governable || a.Platform != "slack" || a.Label != "Post message" {
		t.Errorf("slackpostmessage = %+v", a)
	}
	if a := byType["slackreactionadded"]; a.Proposable || a.Kind != "trigger" {
		t.Errorf("slackreactionadded = %+v, want a trigger type no one proposes", a)
	}
	c := out.PermissionCatalog
	if strings.Join(c.Verbs, ",") != "propose,execute,view,vote" || strings.Join(c.Wildcards, ",") != "*,platform:*,constitution:*,trigger:*" ||
		len(c.ActionTypes) != len(byType) {
		t.Errorf("permissionCatalog = %+v", c)
	}
}

func TestValidatePolicyCode(t *testing.T) {
	e := newEnv(t, nil)
	var out struct {
		ValidatePolicyCode []struct {
			Block   string
			Line    int
			Column  int
			Message string
		}
	}
	e.mustQuery(t, &out, `{ validatePolicyCode(code: {check: "return PASSED\n"}) { block line column message } }`)
	if len(out.ValidatePolicyCode) != 0 {
		t.Errorf("problems of good code: %+v", out.ValidatePolicyCode)
	}
	e.mustQuery(t, &out, `{ validatePolicyCode(code: {filter: "return True\n", check: "x = 1\nif x\n    return PASSED\n"}) { block line column message } }`)
	if p := out.ValidatePolicyCode; len(p) != 1 || p[0].Block != "check" || p[0].Line != 2 || p[0].Message == "" {
		t.Errorf("problems = %+v, want one in check at line 2", p)
	}
	errs := e.mustFail(t, `query($c: String!) { validatePolicyCode(code: {check: $c}) { line } }`,
		map[string]any{"c": strings.Repeat("#", graph.MaxBlockBytes+1)})
	wantCode(t, errs, "INVALID")
}

func TestHookURLAndInstallLinks(t *testing.T) {
	e := newEnvWith(t, nil, func(d *graph.Deps) {
		d.BaseURL = "https://pk.example/"
		d.InstallLinks = []graph.InstallLink{{Platform: "slack", Path: "/auth/slack/install"}}
	})
	var out struct {
		Community struct {
			Platforms []struct {
				Name    string
				HookURL *string
			}
		}
		InstallLinks []struct{ Platform, URL string }
	}
	e.mustQuery(t, &out, `{ community(id: "garden") { platforms { name hookURL } } installLinks { platform url } }`)
	found := false
	for _, p := range out.Community.Platforms {
		switch p.Name {
		case domain.PlatformSlack:
			found = true
			if p.HookURL == nil || *p.HookURL != "https://pk.example/api/hooks/slack/garden" {
				t.Errorf("slack hookURL = %v", p.HookURL)
			}
		case domain.PlatformConstitution, domain.PlatformWeb:
			if p.HookURL != nil {
				t.Errorf("%s hookURL = %s, want none", p.Name, *p.HookURL)
			}
		}
	}
	if !found {
		t.Fatalf("platforms = %+v, want slack", out.Community.Platforms)
	}
	if l := out.InstallLinks; len(l) != 1 || l[0].Platform != "slack" || l[0].URL != "https://pk.example/auth/slack/install" {
		t.Errorf("installLinks = %+v", l)
	}
}

// addLoggingPolicy gives garden a policy for channel pins whose check logs a line of each
// level and whose notify fails.
func addLoggingPolicy(t *testing.T, e *env) {
	t.Helper()
	if _, err := engine.UpdateCommunity(context.Background(), postgres.New(e.pool), "garden", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "pin-log", Kind: domain.KindPlatform, Name: "Log pins",
			ActionTypes: []string{"slackpinmessage"}, Priority: -1, PolicyCode: domain.PolicyCode{
				Filter: "return True\n", Initialize: "pass\n", Success: "pass\n", Fail: "pass\n",
				Check:  "logger.debug(\"counting\")\nlogger.info(\"still open\")\nreturn PROPOSED\n",
				Notify: "x = 1 / 0\n",
			}}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	e.mustCatchUp(t, domain.CommunityStream("garden"))
}

func TestCommunityEvaluationLogs(t *testing.T) {
	e := newEnv(t, nil)
	addLoggingPolicy(t, e)
	for range 2 {
		var proposed any
		e.mustQuery(t, &proposed, `mutation { proposeAction(input: {communityId: "garden", actionType: "slackpinmessage", fieldsJSON: "{\"channel\":\"C1\",\"timestamp\":\"1.2\"}"}) {
  action { id } } }`)
	}
	type line struct{ ProposalID, PolicyID, Block, Level, Message string }
	var out struct {
		Community struct {
			EvaluationLogs conn[line]
		}
	}
	query := `query($level: String, $proposal: ID, $policy: ID, $after: String, $first: Int) { community(id: "garden") {
  evaluationLogs(level: $level, proposalId: $proposal, policyId: $policy, first: $first, after: $after) { edges { cursor node { proposalId policyId block level message evaluatedAt } } pageInfo { hasNextPage endCursor } } } }`
	e.mustQuery(t, &out, query, client.Var("policy", "pin-log"))
	all := out.Community.EvaluationLogs.nodes()
	// The pin-log proposals of both pins (the testing kit's policy governs them in the end),
	// three lines each.
	if len(all) != 6 || all[0].ProposalID == all[5].ProposalID {
		t.Fatalf("lines of pin-log = %+v", all)
	}
	last := all[0].ProposalID
	e.mustQuery(t, &out, query, client.Var("proposal", last))
	var got []string
	for _, l := range out.Community.EvaluationLogs.nodes() {
		if l.ProposalID != last || l.PolicyID != "pin-log" {
			t.Errorf("line %+v: want proposal %s of pin-log", l, last)
		}
		got = append(got, l.Block+"/"+l.Level+"/"+l.Message)
	}
	// Newest first: notify's error after check's lines, in reverse.
	if len(got) != 3 || !strings.HasPrefix(got[0], "notify/error/ZeroDivisionError") || got[1] != "check/info/still open" || got[2] != "check/debug/counting" {
		t.Fatalf("lines = %q", got)
	}
	// By level, across both proposals, one page at a time.
	e.mustQuery(t, &out, query, client.Var("level", "info"), client.Var("first", 1))
	page1 := out.Community.EvaluationLogs
	if len(page1.Edges) != 1 || !page1.PageInfo.HasNextPage || page1.Edges[0].Node.ProposalID != last {
		t.Fatalf("first page = %+v", page1)
	}
	e.mustQuery(t, &out, query, client.Var("level", "info"), client.Var("first", 1), client.Var("after", *page1.PageInfo.EndCursor))
	page2 := out.Community.EvaluationLogs
	if len(page2.Edges) != 1 || page2.PageInfo.HasNextPage || page2.Edges[0].Node.ProposalID == last || page2.Edges[0].Node.Message != "still open" {
		t.Fatalf("second page = %+v", page2)
	}
}

type dryRunOut struct {
	DryRun struct {
		Ok    bool
		Steps []struct {
			Line        int
			Kind        string
			Description string
			At          time.Time
			Status      *string
			Passed      bool
			Error       *string
			Events      []string
			Logs        []string
		}
	}
}

const dryRunQuery = `mutation($scenario: String!, $check: String!, $policy: ID) { dryRun(input: {communityId: "garden", scenario: $scenario,
  policy: {policyId: $policy, kind: "platform", name: "Two yes votes", actionTypes: ["slackrenameconversation"], code: {check: $check}}}) {
  ok steps { line kind description at status passed error events logs } } }`

func TestDryRunPlaysADraftOnTheCommunity(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	logEnd := func() eventstore.Position {
		recs, err := postgres.New(e.pool).ReadAll(ctx, eventstore.Position{}, 100000)
		if err != nil {
			t.Fatal(err)
		}
		return recs[len(recs)-1].Position
	}
	before := logEnd()
	// The draft replaces rename-vote: two yes votes pass. The members are garden's, by id.
	check := "logger.info(\"yes: %d\" % proposal.get_yes_votes().count())\nif proposal.get_yes_votes().count() >= 2:\n    return PASSED\nreturn PROPOSED\n"
	scenario := `steps:
  - action: {id: r1, type: slackrenameconversation, initiator: alice, fields: {channel: C1, name: veggies}}
  - vote: {user: bob, value: yes}
  - expect: {status: PROPOSED}
  - advance: 1h
  - vote: {user: carol, value: yes}
  - expect: {status: PASSED, action_status: executed}
`
	var out dryRunOut
	e.mustQuery(t, &out, dryRunQuery, client.Var("scenario", scenario), client.Var("check", check), client.Var("policy", "rename-vote"))
	r := out.DryRun
	if !r.Ok || len(r.Steps) != 6 {
		t.Fatalf("dry run = %+v", r)
	}
	for i, want := range []string{"PROPOSED", "PROPOSED", "PROPOSED", "PROPOSED", "PASSED", "PASSED"} {
		if s := r.Steps[i]; s.Status == nil || *s.Status != want || !s.Passed || s.Line != i+2 {
			t.Errorf("step %d = %+v, want %s at line %d", i, s, want, i+2)
		}
	}
	if s := r.Steps[0]; s.Kind != "action" || s.Description != "action r1 (slackrenameconversation) by alice" || !strings.Contains(strings.Join(s.Logs, "\n"), "info: yes: 0") {
		t.Errorf("action step = %+v", s)
	}
	if s := r.Steps[1]; s.Kind != "vote" || s.Description != "vote yes by bob" {
		t.Errorf("vote step = %+v", s)
	}
	if d := r.Steps[4].At.Sub(r.Steps[0].At); d != time.Hour {
		t.Errorf("virtual time between the first and fifth step = %s, want 1h", d)
	}
	if !strings.Contains(strings.Join(r.Steps[4].Events, "\n"), "proposal.passed") {
		t.Errorf("events of the deciding vote = %q", r.Steps[4].Events)
	}
	if after := logEnd(); after != before {
		t.Errorf("the dry run appended to the community's log (%s -> %s)", before, after)
	}

	// A failed expectation ends the run there.
	bad := strings.Replace(scenario, "expect: {status: PROPOSED}", "expect: {status: PASSED}", 1)
	e.mustQuery(t, &out, dryRunQuery, client.Var("scenario", bad), client.Var("check", check), client.Var("policy", "rename-vote"))
	if r := out.DryRun; r.Ok || len(r.Steps) != 3 || r.Steps[2].Passed || r.Steps[2].Error == nil || !strings.Contains(*r.Steps[2].Error, "status: want PASSED, got PROPOSED") {
		t.Errorf("failing dry run = %+v", r)
	}
}

func TestDryRunRefusals(t *testing.T) {
	e := newEnv(t, nil)
	check := "return PASSED\n"
	for name, c := range map[string]struct {
		scenario, msg string
	}{
		"unknown user":      {"steps:\n  - action: {type: slackrenameconversation, initiator: zed, fields: {channel: C1, name: x}}\n", "unknown initiator"},
		"not yaml":          {"steps: [", "not valid YAML"},
		"too many rechecks": {"recheck_interval: 1s\nsteps:\n  - advance: 2h\n", "recheck intervals"},
		"too large":         {"steps: []\n" + strings.Repeat("#", graph.MaxScenarioBytes), "bytes"},
		"several cases":     {"cases:\n  - {name: a, steps: [{advance: 1m}]}\n  - {name: b, steps: [{advance: 1m}]}\n", "one case"},
	} {
		t.Run(name, func(t *testing.T) {
			errs := e.mustFail(t, dryRunQuery, map[string]any{"scenario": c.scenario, "check": check})
			wantCode(t, errs, "INVALID")
			if !strings.Contains(errs[0].Message, c.msg) {
				t.Errorf("message %q, want %q in it", errs[0].Message, c.msg)
			}
		})
	}
	var b []byte
	b, _ = json.Marshal(map[string]any{"scenario": "steps:\n  - advance: 1m\n", "check": check, "policy": "nope"})
	var vars map[string]any
	_ = json.Unmarshal(b, &vars)
	wantCode(t, e.mustFail(t, dryRunQuery, vars), "NOT_FOUND")
	// A community the caller is not a member of does not exist for it.
	other := strings.Replace(dryRunQuery, `communityId: "garden"`, `communityId: "elsewhere"`, 1)
	wantCode(t, e.mustFail(t, other, map[string]any{"scenario": "steps:\n  - advance: 1m\n", "check": check}), "NOT_FOUND")
}

// A community made on the site (web platform, a starter kit) sets up for a dry run too.
func TestDryRunOnACommunityMadeOnTheSite(t *testing.T) {
	e := newEnv(t, nil)
	var made struct {
		CreateCommunity struct {
			ID      string
			Members struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
	}
	e.mustQuery(t, &made, `mutation { createCommunity(input: {name: "Orchard", kit: "testing"}) { id members { edges { node { id } } } } }`)
	c := made.CreateCommunity
	if len(c.Members.Edges) != 1 {
		t.Fatalf("members = %+v", c.Members)
	}
	q := strings.Replace(dryRunQuery, `communityId: "garden"`, `communityId: "`+c.ID+`"`, 1)
	q = strings.Replace(q, `"slackrenameconversation"`, `"policykitaddcommunitydoc"`, 1)
	q = strings.Replace(q, `kind: "platform"`, `kind: "constitution"`, 1)
	scenario := "steps:\n  - action: {type: policykitaddcommunitydoc, initiator: " + c.Members.Edges[0].Node.ID + ", fields: {name: Rules, text: Be kind}}\n  - expect: {status: FAILED}\n"
	var out dryRunOut
	e.mustQuery(t, &out, q, client.Var("scenario", scenario), client.Var("check", "return FAILED\n"))
	if r := out.DryRun; !r.Ok || len(r.Steps) != 2 || r.Steps[1].Status == nil || *r.Steps[1].Status != "FAILED" {
		t.Fatalf("dry run = %+v", r)
	}
}
