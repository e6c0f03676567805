package domain_test

import (
	"reflect"
	"testing"

	"github.com/policykit-go/policykit/domain"
)

func TestConstitutionActionTypes(t *testing.T) {
	types := domain.ActionTypesOf(domain.KindConstitution)
	// PolicyKit's 21, and connecting and disconnecting a platform.
	if len(types) != 23 {
		t.Fatalf("%d constitution action types, want 23: %v", len(types), types)
	}
	for _, typ := range types {
		info, ok := domain.LookupActionType(typ)
		if !ok || info.Platform != domain.PlatformConstitution || !info.Governable || info.Label == "" {
			t.Errorf("%s: %+v", typ, info)
		}
	}
	for _, k := range domain.Kinds() {
		for _, verb := range []string{"add", "change", "remove", "recover"} {
			if domain.PolicyActionType(verb, k) == "" {
				t.Errorf("no %s action type for %s policies", verb, k)
			}
		}
	}
	if _, ok := domain.LookupActionType("nosuchaction"); ok {
		t.Fatal("unknown type found")
	}
}

// TestExecuteEveryConstitutionAction runs all 21 constitution action types, in an order
// where each finds what it needs, and checks the events and the state after each.
func TestExecuteEveryConstitutionAction(t *testing.T) {
	c, _ := mustCommunity(t)
	code := domain.PolicyCode{Filter: "return True", Check: "return PASSED"}
	steps := []struct {
		payload domain.ConstitutionPayload
		want    []string
		check   func(t *testing.T, c *domain.Community)
	}{
		{domain.AddPolicy{Kind: domain.KindPlatform, Name: "All pass", PolicyCode: code}, []string{domain.EventPolicyAdded}, func(t *testing.T, c *domain.Community) {
			if p := c.Policies["a01"]; p.Kind != domain.KindPlatform || !p.Active || !p.IsBase() {
				t.Fatalf("policy %+v", p)
			}
		}},
		{domain.ChangePolicy{Kind: domain.KindPlatform, PolicyID: "a01", Name: "All pass v2", PolicyCode: code}, []string{domain.EventPolicyChanged}, func(t *testing.T, c *domain.Community) {
			if p := c.Policies["a01"]; p.Name != "All pass v2" || p.Version != 2 {
				t.Fatalf("policy %+v", p)
			}
		}},
		{domain.RemovePolicy{Kind: domain.KindPlatform, PolicyID: "a01"}, []string{domain.EventPolicyRemoved}, func(t *testing.T, c *domain.Community) {
			if c.Policies["a01"].Active {
				t.Fatal("still active")
			}
		}},
		{domain.RecoverPolicy{Kind: domain.KindPlatform, PolicyID: "a01"}, []string{domain.EventPolicyRecovered}, func(t *testing.T, c *domain.Community) {
			if !c.Policies["a01"].Active {
				t.Fatal("not recovered")
			}
		}},
		{domain.AddPolicy{Kind: domain.KindConstitution, Name: "Constitution vote", ActionTypes: []string{domain.ActionAddRole}, PolicyCode: code}, []string{domain.EventPolicyAdded}, func(t *testing.T, c *domain.Community) {
			if p := c.Policies["a05"]; p.Kind != domain.KindConstitution || !p.Lists(domain.ActionAddRole) {
				t.Fatalf("policy %+v", p)
			}
		}},
		{domain.ChangePolicy{Kind: domain.KindConstitution, PolicyID: "a05", Name: "Constitution vote", PolicyCode: code}, []string{domain.EventPolicyChanged}, func(t *testing.T, c *domain.Community) {
			if p := c.Policies["a05"]; !p.IsBase() {
				t.Fatalf("policy %+v", p)
			}
		}},
		{domain.RemovePolicy{Kind: domain.KindConstitution, PolicyID: "a05"}, []string{domain.EventPolicyRemoved}, nil},
		{domain.RecoverPolicy{Kind: domain.KindConstitution, PolicyID: "a05"}, []string{domain.EventPolicyRecovered}, nil},
		{domain.AddPolicy{Kind: domain.KindTrigger, Name: "Expense vote", ActionTypes: []string{domain.ActionExpenseCreated}, PolicyCode: code}, []string{domain.EventPolicyAdded}, nil},
		{domain.ChangePolicy{Kind: domain.KindTrigger, PolicyID: "a09", Name: "Expense vote", ActionTypes: []string{domain.ActionExpenseCreated, domain.ActionSlackPostMessage}, PolicyCode: code}, []string{domain.EventPolicyChanged}, func(t *testing.T, c *domain.Community) {
			if p := c.Policies["a09"]; !reflect.DeepEqual(p.ActionTypes, []string{domain.ActionExpenseCreated, domain.ActionSlackPostMessage}) {
				t.Fatalf("policy %+v", p)
			}
		}},
		{domain.RemovePolicy{Kind: domain.KindTrigger, PolicyID: "a09"}, []string{domain.EventPolicyRemoved}, nil},
		{domain.RecoverPolicy{Kind: domain.KindTrigger, PolicyID: "a09"}, []string{domain.EventPolicyRecovered}, nil},
		{domain.AddRole{Name: "Voter", Description: "votes", Permissions: []domain.Permission{mustPermission(t, "vote:*")}}, []string{domain.EventRoleAdded}, func(t *testing.T, c *domain.Community) {
			if r := c.Roles["Voter"]; r.IsBase || len(r.Permissions) != 1 {
				t.Fatalf("role %+v", r)
			}
		}},
		{domain.AddUserRole{Role: "Voter", UserIDs: []string{"bob", "carol", "bob"}}, []string{domain.EventUserRoleAdded, domain.EventUserRoleAdded}, func(t *testing.T, c *domain.Community) {
			if !c.HasRole("bob", "Voter") || !c.HasRole("carol", "Voter") {
				t.Fatal("roles not given")
			}
		}},
		{domain.EditRole{Role: "Voter", Name: "Elector", Description: "elects", Permissions: []domain.Permission{mustPermission(t, "vote:*"), mustPermission(t, "propose:constitution:*")}}, []string{domain.EventRoleChanged}, func(t *testing.T, c *domain.Community) {
			if _, old := c.Roles["Voter"]; old {
				t.Fatal("old name kept")
			}
			if r := c.Roles["Elector"]; r.Description != "elects" || len(r.Permissions) != 2 {
				t.Fatalf("role %+v", r)
			}
			if !c.HasRole("bob", "Elector") || c.HasRole("bob", "Voter") {
				t.Fatalf("bob's roles %v", c.Users["bob"].Roles)
			}
		}},
		{domain.RemoveUserRole{Role: "Elector", UserIDs: []string{"bob", "alice"}}, []string{domain.EventUserRoleRemoved}, func(t *testing.T, c *domain.Community) {
			if c.HasRole("bob", "Elector") || !c.HasRole("carol", "Elector") {
				t.Fatal("wrong holders")
			}
		}},
		{domain.DeleteRole{Role: "Elector"}, []string{domain.EventRoleDeleted}, func(t *testing.T, c *domain.Community) {
			if _, ok := c.Roles["Elector"]; ok || c.HasRole("carol", "Elector") || len(c.Users["carol"].Roles) != 0 {
				t.Fatal("role not deleted everywhere")
			}
		}},
		{domain.AddDocument{Name: "Code of conduct", Text: "be kind"}, []string{domain.EventDocumentAdded}, func(t *testing.T, c *domain.Community) {
			if d := c.Docs["a18"]; d.Name != "Code of conduct" || !d.Active {
				t.Fatalf("doc %+v", c.Docs)
			}
		}},
		{domain.ChangeDocument{DocumentID: "a18", Name: "Code of conduct", Text: "be kinder"}, []string{domain.EventDocumentChanged}, func(t *testing.T, c *domain.Community) {
			if d := c.Docs["a18"]; d.Text != "be kinder" {
				t.Fatalf("doc %+v", d)
			}
		}},
		{domain.DeleteDocument{DocumentID: "a18"}, []string{domain.EventDocumentDeleted}, func(t *testing.T, c *domain.Community) {
			if c.Docs["a18"].Active || len(c.ActiveDocs()) != 0 {
				t.Fatal("doc still active")
			}
		}},
		{domain.RecoverDocument{DocumentID: "a18"}, []string{domain.EventDocumentRecovered}, func(t *testing.T, c *domain.Community) {
			if !c.Docs["a18"].Active {
				t.Fatal("doc not recovered")
			}
		}},
		{domain.AddIntegration{Platform: domain.PlatformLoomio, ExternalID: "coop", Settings: map[string]string{"group": "g1"}}, []string{domain.EventPlatformConnected}, func(t *testing.T, c *domain.Community) {
			if p := c.Platforms[domain.PlatformLoomio]; !p.Active || p.Settings["group"] != "g1" {
				t.Fatalf("loomio %+v", p)
			}
		}},
		{domain.RemoveIntegration{Platform: domain.PlatformLoomio}, []string{domain.EventPlatformDisconnected}, func(t *testing.T, c *domain.Community) {
			if c.Platforms[domain.PlatformLoomio].Active {
				t.Fatal("loomio still connected")
			}
		}},
	}
	seen := map[string]bool{}
	for i, st := range steps {
		id := "a" + string(rune('0'+(i+1)/10)) + string(rune('0'+(i+1)%10))
		a := mustConstitutionAction(t, id, st.payload)
		seen[a.Type] = true
		t.Run(a.Type, func(t *testing.T) {
			if err := domain.ValidateConstitutionAction(c, a); err != nil {
				t.Fatalf("validate: %v", err)
			}
			// the action survives its own round trip through JSON
			back := mustRoundTrip(t, []domain.Event{domain.ActionProposed{ActionHeader: domain.ActionHeader{CommunityID: "c1", ActionID: id, At: at(10)}, Action: a}})
			a = back[0].(domain.ActionProposed).Action
			events := mustApply(t, c)(c.ExecuteConstitutionAction(a, at(20+i)))
			mustTypes(t, events, st.want...)
			for _, e := range events {
				if m := e.Meta(); m.ActionID != id || m.CommunityID != "c1" || !m.At.Equal(at(20+i)) {
					t.Fatalf("meta %+v", m)
				}
			}
			if st.check != nil {
				st.check(t, c)
			}
			// executing it again changes nothing or is refused, never emits the same again
			again, err := c.ExecuteConstitutionAction(a, at(40))
			if err == nil && len(again) != 0 {
				t.Fatalf("re-execution emitted %v", eventTypes(again))
			}
		})
	}
	if len(seen) != 23 {
		t.Fatalf("covered %d constitution action types, want 23", len(seen))
	}
}

func TestConstitutionActionErrors(t *testing.T) {
	c, _ := mustCommunity(t)
	mustApply(t, c)(c.DecideAddPolicy(domain.AddPolicy{PolicyID: "p1", Kind: domain.KindTrigger, Name: "t"}, at(5)))
	good := mustConstitutionAction(t, "x1", domain.AddRole{Name: "Voter"})
	withFields := func(a domain.Action, f map[string]any) domain.Action { a.Fields = f; return a }
	tests := []struct {
		name   string
		action domain.Action
		want   domain.Code
	}{
		{"unknown field", withFields(good, map[string]any{"name": "Voter", "permisions": []any{"view:*"}}), domain.CodeInvalid},
		{"bad permission", withFields(good, map[string]any{"name": "Voter", "permissions": []any{"fly:*"}}), domain.CodeInvalid},
		{"wrong field type", withFields(good, map[string]any{"name": 3.0}), domain.CodeInvalid},
		{"existing role", mustConstitutionAction(t, "x2", domain.AddRole{Name: "Moderator"}), domain.CodeConflict},
		{"delete base role", mustConstitutionAction(t, "x3", domain.DeleteRole{Role: "Base User"}), domain.CodeInvalid},
		{"unknown user", mustConstitutionAction(t, "x4", domain.AddUserRole{Role: "Moderator", UserIDs: []string{"zed"}}), domain.CodeNotFound},
		{"trigger policy changed as platform policy", mustConstitutionAction(t, "x5", domain.ChangePolicy{Kind: domain.KindPlatform, PolicyID: "p1", Name: "t"}), domain.CodeInvalid},
		{"payload kind contradicts type", withFields(mustConstitutionAction(t, "x6", domain.RemovePolicy{Kind: domain.KindPlatform, PolicyID: "p1"}), map[string]any{"policy_id": "p1", "kind": "trigger"}), domain.CodeInvalid},
		// Ids a caller picks could be another community's: new ids are the action's own.
		{"add policy naming its id", mustConstitutionAction(t, "x9", domain.AddPolicy{PolicyID: "theirs", Kind: domain.KindPlatform, Name: "Mine"}), domain.CodeInvalid},
		{"add policy naming the action's id", mustConstitutionAction(t, "x10", domain.AddPolicy{PolicyID: "x10", Kind: domain.KindPlatform, Name: "Mine"}), domain.CodeInvalid},
		{"add document naming its id", mustConstitutionAction(t, "x11", domain.AddDocument{DocumentID: "theirs", Name: "Mine"}), domain.CodeInvalid},
		{"platform action", domain.Action{ID: "x7", CommunityID: "c1", Type: domain.ActionSlackPostMessage}, domain.CodeInvalid},
		{"other community", func() domain.Action { a := good; a.CommunityID = "c2"; return a }(), domain.CodeInvalid},
		{"unknown type", domain.Action{ID: "x8", CommunityID: "c1", Type: "policykitaddwebhook"}, domain.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustCode(t, domain.ValidateConstitutionAction(c, tt.action), tt.want)
		})
	}
	if _, err := (&domain.Community{}).ExecuteConstitutionAction(good, at(1)); err == nil {
		t.Fatal("executed on a missing community")
	}
	if _, err := domain.NewConstitutionAction("x", "c1", "", domain.AddPolicy{Name: "no kind"}, at(1)); err == nil {
		t.Fatal("policy payload without kind accepted")
	}
}

func TestConstitutionPayloadRoundTrip(t *testing.T) {
	payloads := []domain.ConstitutionPayload{
		domain.AddPolicy{PolicyID: "p", Kind: domain.KindTrigger, Name: "n", Description: "d", ActionTypes: []string{domain.ActionExpenseCreated}, PolicyCode: domain.PolicyCode{Filter: "f", Initialize: "i", Check: "c", Notify: "n", Success: "s", Fail: "x", FilterLang: "expr", CheckLang: "starlark"}, Variables: []domain.Variable{{Name: "v", Type: "string", Value: "1"}}, Priority: 2},
		domain.ChangePolicy{PolicyID: "p", Kind: domain.KindConstitution, Name: "n", PolicyCode: domain.PolicyCode{Check: "c"}},
		domain.RemovePolicy{PolicyID: "p", Kind: domain.KindPlatform},
		domain.RecoverPolicy{PolicyID: "p", Kind: domain.KindPlatform},
		domain.AddRole{Name: "r", Description: "d", IsBase: true, Permissions: []domain.Permission{mustPermission(t, "view:*")}},
		domain.EditRole{Role: "r", Name: "s", Description: "d", Permissions: []domain.Permission{mustPermission(t, "propose:slackpostmessage")}},
		domain.DeleteRole{Role: "r"},
		domain.AddUserRole{Role: "r", UserIDs: []string{"u1", "u2"}},
		domain.RemoveUserRole{Role: "r", UserIDs: []string{"u1"}},
		domain.AddDocument{DocumentID: "d", Name: "n", Text: "t"},
		domain.ChangeDocument{DocumentID: "d", Name: "n", Text: "t2"},
		domain.DeleteDocument{DocumentID: "d"},
		domain.RecoverDocument{DocumentID: "d"},
	}
	for _, p := range payloads {
		a := mustConstitutionAction(t, "a", p)
		got, err := domain.DecodeConstitutionPayload(a)
		if err != nil {
			t.Fatalf("%T: %v", p, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("%T round trip:\n got %#v\nwant %#v", p, got, p)
		}
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		action domain.Action
		want   string
	}{
		{mustConstitutionAction(t, "a", domain.AddRole{Name: "Moderator"}), "Add role: Moderator"},
		{mustConstitutionAction(t, "a", domain.AddUserRole{Role: "Moderator", UserIDs: []string{"u"}}), "Add user role: Moderator"},
		{mustConstitutionAction(t, "a", domain.AddPolicy{Kind: domain.KindPlatform, Name: "All pass"}), "Add platform policy: All pass"},
		{mustConstitutionAction(t, "a", domain.DeleteDocument{DocumentID: "d7"}), "Delete document: d7"},
		{domain.Action{Type: domain.ActionSlackRenameConversation, Fields: map[string]any{"name": "general"}}, "Rename conversation: general"},
		{domain.Action{Type: domain.ActionExpenseCreated, Fields: map[string]any{"expense_id": 42.0}}, "Expense created: 42"},
		{domain.Action{Type: domain.ActionSlackPostMessage}, "Post message"},
		{domain.Action{Type: "mystery"}, "mystery"},
	}
	for _, tt := range tests {
		if got := tt.action.Describe(); got != tt.want {
			t.Errorf("Describe() = %q, want %q", got, tt.want)
		}
	}
}
