package domain_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/domain"
)

func TestCreateCommunity(t *testing.T) {
	c := &domain.Community{}
	events := mustApply(t, c)(c.DecideCreateCommunity(domain.CreateCommunity{
		CommunityID: "c1", Name: " Coop ", Platform: domain.PlatformDiscord, ExternalID: "G1", PlatformName: "coop guild",
	}, at(0)))
	mustTypes(t, events, domain.EventCommunityCreated, domain.EventPlatformConnected, domain.EventPlatformConnected)
	if c.ID != "c1" || c.Name != "Coop" || !c.CreatedAt.Equal(at(0)) || c.Version != 3 {
		t.Fatalf("state %+v", c)
	}
	cons, ok := c.Platforms[domain.PlatformConstitution]
	if !ok || !cons.Active {
		t.Fatalf("constitution platform missing: %+v", c.Platforms)
	}
	if d := c.Platforms[domain.PlatformDiscord]; !d.Active || d.ExternalID != "G1" || d.Name != "coop guild" {
		t.Fatalf("discord platform %+v", d)
	}

	// the same command again changes nothing; another community on the stream conflicts
	again, err := c.DecideCreateCommunity(domain.CreateCommunity{CommunityID: "c1", Name: "Coop", Platform: domain.PlatformDiscord}, at(5))
	if err != nil || len(again) != 0 {
		t.Fatalf("idempotent create: %v %v", again, err)
	}
	_, err = c.DecideCreateCommunity(domain.CreateCommunity{CommunityID: "c2", Name: "Other", Platform: domain.PlatformDiscord}, at(5))
	mustCode(t, err, domain.CodeConflict)
}

func TestCommunityDecideErrors(t *testing.T) {
	c, _ := mustCommunity(t)
	empty := &domain.Community{}
	big := strings.Repeat("x", domain.MaxPolicyCodeBytes+1)
	tests := []struct {
		name   string
		decide func() ([]domain.Event, error)
		want   domain.Code
	}{
		{"create without id", func() ([]domain.Event, error) {
			return empty.DecideCreateCommunity(domain.CreateCommunity{Name: "x", Platform: domain.PlatformSlack}, at(0))
		}, domain.CodeInvalid},
		{"create with empty name", func() ([]domain.Event, error) {
			return empty.DecideCreateCommunity(domain.CreateCommunity{CommunityID: "c", Name: "  ", Platform: domain.PlatformSlack}, at(0))
		}, domain.CodeInvalid},
		{"create on unknown platform", func() ([]domain.Event, error) {
			return empty.DecideCreateCommunity(domain.CreateCommunity{CommunityID: "c", Name: "x", Platform: "myspace"}, at(0))
		}, domain.CodeInvalid},
		{"command on missing community", func() ([]domain.Event, error) {
			return empty.DecideAddRole(domain.AddRole{Name: "r"}, at(0))
		}, domain.CodeNotFound},
		{"connect unknown platform", func() ([]domain.Event, error) {
			return c.DecideConnectPlatform(domain.ConnectPlatform{Platform: "myspace"}, at(9))
		}, domain.CodeInvalid},
		{"disconnect constitution", func() ([]domain.Event, error) {
			return c.DecideDisconnectPlatform(domain.DisconnectPlatform{Platform: domain.PlatformConstitution}, at(9))
		}, domain.CodeInvalid},
		{"disconnect unconnected", func() ([]domain.Event, error) {
			return c.DecideDisconnectPlatform(domain.DisconnectPlatform{Platform: domain.PlatformReddit}, at(9))
		}, domain.CodeNotFound},
		{"register on unconnected platform", func() ([]domain.Event, error) {
			return c.DecideRegisterUser(domain.RegisterUser{UserID: "d", Platform: domain.PlatformReddit, Username: "d"}, at(9))
		}, domain.CodeNotFound},
		{"register taken username", func() ([]domain.Event, error) {
			return c.DecideRegisterUser(domain.RegisterUser{UserID: "dave", Platform: domain.PlatformSlack, Username: "U01"}, at(9))
		}, domain.CodeConflict},
		{"register user without username", func() ([]domain.Event, error) {
			return c.DecideRegisterUser(domain.RegisterUser{UserID: "dave", Platform: domain.PlatformSlack}, at(9))
		}, domain.CodeInvalid},
		{"link self", func() ([]domain.Event, error) {
			return c.DecideLinkIdentity(domain.LinkIdentity{UserID: "bob", OtherUserID: "bob"}, at(9))
		}, domain.CodeInvalid},
		{"link unknown user", func() ([]domain.Event, error) {
			return c.DecideLinkIdentity(domain.LinkIdentity{UserID: "bob", OtherUserID: "zed"}, at(9))
		}, domain.CodeNotFound},
		{"duplicate role name", func() ([]domain.Event, error) {
			return c.DecideAddRole(domain.AddRole{Name: "Moderator", Description: "other"}, at(9))
		}, domain.CodeConflict},
		{"empty role name", func() ([]domain.Event, error) {
			return c.DecideAddRole(domain.AddRole{Name: " "}, at(9))
		}, domain.CodeInvalid},
		{"role with unknown action type", func() ([]domain.Event, error) {
			return c.DecideAddRole(domain.AddRole{Name: "X", Permissions: []domain.Permission{{Verb: "propose", ActionType: "fly"}}}, at(9))
		}, domain.CodeInvalid},
		{"role with unknown verb", func() ([]domain.Event, error) {
			return c.DecideAddRole(domain.AddRole{Name: "X", Permissions: []domain.Permission{{Verb: "fly", ActionType: "*"}}}, at(9))
		}, domain.CodeInvalid},
		{"edit unknown role", func() ([]domain.Event, error) {
			return c.DecideEditRole(domain.EditRole{Role: "Nobody"}, at(9))
		}, domain.CodeNotFound},
		{"rename role onto another", func() ([]domain.Event, error) {
			return c.DecideEditRole(domain.EditRole{Role: "Moderator", Name: "Base User"}, at(9))
		}, domain.CodeConflict},
		{"delete base role", func() ([]domain.Event, error) {
			return c.DecideDeleteRole(domain.DeleteRole{Role: "Base User"}, at(9))
		}, domain.CodeInvalid},
		{"delete unknown role", func() ([]domain.Event, error) {
			return c.DecideDeleteRole(domain.DeleteRole{Role: "Nobody"}, at(9))
		}, domain.CodeNotFound},
		{"give unknown role", func() ([]domain.Event, error) {
			return c.DecideAddUserRole(domain.AddUserRole{Role: "Nobody", UserIDs: []string{"bob"}}, at(9))
		}, domain.CodeNotFound},
		{"give role to unknown user", func() ([]domain.Event, error) {
			return c.DecideAddUserRole(domain.AddUserRole{Role: "Moderator", UserIDs: []string{"zed"}}, at(9))
		}, domain.CodeNotFound},
		{"give role to nobody", func() ([]domain.Event, error) {
			return c.DecideAddUserRole(domain.AddUserRole{Role: "Moderator"}, at(9))
		}, domain.CodeInvalid},
		{"give base role", func() ([]domain.Event, error) {
			return c.DecideAddUserRole(domain.AddUserRole{Role: "Base User", UserIDs: []string{"bob"}}, at(9))
		}, domain.CodeInvalid},
		{"document without name", func() ([]domain.Event, error) {
			return c.DecideAddDocument(domain.AddDocument{DocumentID: "d1"}, at(9))
		}, domain.CodeInvalid},
		{"change unknown document", func() ([]domain.Event, error) {
			return c.DecideChangeDocument(domain.ChangeDocument{DocumentID: "nope", Name: "x"}, at(9))
		}, domain.CodeNotFound},
		{"policy without id", func() ([]domain.Event, error) {
			return c.DecideAddPolicy(domain.AddPolicy{Kind: domain.KindPlatform, Name: "p"}, at(9))
		}, domain.CodeInvalid},
		{"policy without name", func() ([]domain.Event, error) {
			return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "p", Kind: domain.KindPlatform}, at(9))
		}, domain.CodeInvalid},
		{"policy of unknown kind", func() ([]domain.Event, error) {
			return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "p", Kind: "magic", Name: "p"}, at(9))
		}, domain.CodeInvalid},
		{"policy code over 64 KiB", func() ([]domain.Event, error) {
			return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "p", Kind: domain.KindPlatform, Name: "p", PolicyCode: domain.PolicyCode{Check: big}}, at(9))
		}, domain.CodeInvalid},
		{"policy with unknown action type", func() ([]domain.Event, error) {
			return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "p", Kind: domain.KindPlatform, Name: "p", ActionTypes: []string{"fly"}}, at(9))
		}, domain.CodeInvalid},
		{"platform policy listing a constitution type", func() ([]domain.Event, error) {
			return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "p", Kind: domain.KindPlatform, Name: "p", ActionTypes: []string{domain.ActionAddRole}}, at(9))
		}, domain.CodeInvalid},
		{"platform policy listing a trigger-only type", func() ([]domain.Event, error) {
			return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "p", Kind: domain.KindPlatform, Name: "p", ActionTypes: []string{domain.ActionExpenseCreated}}, at(9))
		}, domain.CodeInvalid},
		{"policy with unknown language", func() ([]domain.Event, error) {
			return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "p", Kind: domain.KindPlatform, Name: "p", PolicyCode: domain.PolicyCode{CheckLang: "lua"}}, at(9))
		}, domain.CodeInvalid},
		{"policy with duplicate variable", func() ([]domain.Event, error) {
			return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "p", Kind: domain.KindPlatform, Name: "p", Variables: []domain.Variable{{Name: "v", Type: "string"}, {Name: "v", Type: "string"}}}, at(9))
		}, domain.CodeInvalid},
		{"change unknown policy", func() ([]domain.Event, error) {
			return c.DecideChangePolicy(domain.ChangePolicy{PolicyID: "nope", Name: "x"}, at(9))
		}, domain.CodeNotFound},
		{"remove unknown policy", func() ([]domain.Event, error) {
			return c.DecideRemovePolicy(domain.RemovePolicy{PolicyID: "nope"}, at(9))
		}, domain.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := tt.decide()
			mustCode(t, err, tt.want)
			if len(events) != 0 {
				t.Fatalf("events with error: %v", eventTypes(events))
			}
		})
	}
}

func TestPlatformsUsersAndIdentities(t *testing.T) {
	c, _ := mustCommunity(t)

	mustTypes(t, mustApply(t, c)(c.DecideConnectPlatform(domain.ConnectPlatform{Platform: domain.PlatformDiscourse, ExternalID: "https://forum", Name: "forum"}, at(5))), domain.EventPlatformConnected)
	mustTypes(t, mustApply(t, c)(c.DecideConnectPlatform(domain.ConnectPlatform{Platform: domain.PlatformDiscourse, ExternalID: "https://forum", Name: "forum"}, at(6))))
	mustTypes(t, mustApply(t, c)(c.DecideDisconnectPlatform(domain.DisconnectPlatform{Platform: domain.PlatformDiscourse}, at(7))), domain.EventPlatformDisconnected)
	if p := c.Platforms[domain.PlatformDiscourse]; p.Active || !p.DisconnectedAt.Equal(at(7)) {
		t.Fatalf("disconnected platform %+v", p)
	}
	mustTypes(t, mustApply(t, c)(c.DecideDisconnectPlatform(domain.DisconnectPlatform{Platform: domain.PlatformDiscourse}, at(8))))
	mustTypes(t, mustApply(t, c)(c.DecideConnectPlatform(domain.ConnectPlatform{Platform: domain.PlatformDiscourse, ExternalID: "https://forum", Name: "forum"}, at(9))), domain.EventPlatformConnected)

	// register a Discourse user, update a profile, register the same again
	dave := domain.RegisterUser{UserID: "alice-d", Platform: domain.PlatformDiscourse, Username: "alice123", ReadableName: "Alice"}
	mustTypes(t, mustApply(t, c)(c.DecideRegisterUser(dave, at(10))), domain.EventUserRegistered)
	mustTypes(t, mustApply(t, c)(c.DecideRegisterUser(dave, at(11))))
	dave.Avatar = "https://avatar"
	mustTypes(t, mustApply(t, c)(c.DecideRegisterUser(dave, at(12))), domain.EventUserProfileUpdated)
	if u := c.Users["alice-d"]; u.Avatar != "https://avatar" || !u.JoinedAt.Equal(at(10)) {
		t.Fatalf("user %+v", u)
	}
	_, err := c.DecideRegisterUser(domain.RegisterUser{UserID: "alice-d", Platform: domain.PlatformSlack, Username: "U09"}, at(12))
	mustCode(t, err, domain.CodeConflict)

	// link alice's two identities, symmetric and idempotent
	mustTypes(t, mustApply(t, c)(c.DecideLinkIdentity(domain.LinkIdentity{UserID: "alice", OtherUserID: "alice-d"}, at(13))), domain.EventIdentityLinked)
	mustTypes(t, mustApply(t, c)(c.DecideLinkIdentity(domain.LinkIdentity{UserID: "alice-d", OtherUserID: "alice"}, at(14))))
	if !reflect.DeepEqual(c.Users["alice"].LinkedIdentities, []string{"alice-d"}) || !reflect.DeepEqual(c.Users["alice-d"].LinkedIdentities, []string{"alice"}) {
		t.Fatalf("links %v %v", c.Users["alice"].LinkedIdentities, c.Users["alice-d"].LinkedIdentities)
	}
	mustTypes(t, mustApply(t, c)(c.DecideUnlinkIdentity(domain.UnlinkIdentity{UserID: "alice-d", OtherUserID: "alice"}, at(15))), domain.EventIdentityUnlinked)
	if len(c.Users["alice"].LinkedIdentities) != 0 || len(c.Users["alice-d"].LinkedIdentities) != 0 {
		t.Fatalf("links left after unlink")
	}

	// rename
	mustTypes(t, mustApply(t, c)(c.DecideRenameCommunity(domain.RenameCommunity{Name: "Coop"}, at(16))))
	mustTypes(t, mustApply(t, c)(c.DecideRenameCommunity(domain.RenameCommunity{Name: "Co-op"}, at(16))), domain.EventCommunityRenamed)

	if u, ok := c.UserByUsername(domain.PlatformDiscourse, "alice123"); !ok || u.ID != "alice-d" {
		t.Fatalf("UserByUsername = %+v %v", u, ok)
	}
	var names []string
	for _, u := range c.PlatformUsers(domain.PlatformSlack, "Moderator") {
		names = append(names, u.ID)
	}
	if !reflect.DeepEqual(names, []string{"alice"}) {
		t.Fatalf("slack moderators = %v", names)
	}
	if n := len(c.PlatformUsers(domain.PlatformSlack, "Base User")); n != 3 {
		t.Fatalf("slack base users = %d, want 3", n)
	}
	if n := len(c.PlatformUsers("")); n != 4 {
		t.Fatalf("all users = %d, want 4", n)
	}
}

func TestCan(t *testing.T) {
	c, _ := mustCommunity(t)
	mustApply(t, c)(c.DecideAddRole(domain.AddRole{Name: "Poster", Permissions: []domain.Permission{
		mustPermission(t, "propose:slackpostmessage"),
		mustPermission(t, "execute:platform:*"),
		mustPermission(t, "execute:policykitaddrole"),
	}}, at(5)))
	mustApply(t, c)(c.DecideAddUserRole(domain.AddUserRole{Role: "Poster", UserIDs: []string{"bob"}}, at(6)))

	tests := []struct {
		name       string
		user, verb string
		actionType string
		kind       domain.Kind
		want       bool
	}{
		{"base role: propose anything", "carol", domain.VerbPropose, domain.ActionAddRole, domain.KindConstitution, true},
		{"base role: view anything", "carol", domain.VerbView, domain.ActionSlackPostMessage, domain.KindPlatform, true},
		{"base role does not execute", "carol", domain.VerbExecute, domain.ActionSlackPostMessage, domain.KindPlatform, false},
		{"wildcard execute", "alice", domain.VerbExecute, domain.ActionEditRole, domain.KindConstitution, true},
		{"kind wildcard matches its kind", "bob", domain.VerbExecute, domain.ActionSlackRenameConversation, domain.KindPlatform, true},
		{"kind wildcard does not match other kinds", "bob", domain.VerbExecute, domain.ActionDeleteRole, domain.KindConstitution, false},
		{"specific permission", "bob", domain.VerbExecute, domain.ActionAddRole, domain.KindConstitution, true},
		{"unknown user", "zed", domain.VerbView, domain.ActionSlackPostMessage, domain.KindPlatform, false},
		{"empty user (PolicyKit)", "", domain.VerbView, domain.ActionSlackPostMessage, domain.KindPlatform, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Can(tt.user, tt.verb, tt.actionType, tt.kind); got != tt.want {
				t.Fatalf("Can(%s, %s, %s, %s) = %v", tt.user, tt.verb, tt.actionType, tt.kind, got)
			}
		})
	}

	// removing bob's role removes its permissions; the base role stays
	mustApply(t, c)(c.DecideRemoveUserRole(domain.RemoveUserRole{Role: "Poster", UserIDs: []string{"bob"}}, at(7)))
	if c.Can("bob", domain.VerbExecute, domain.ActionAddRole, domain.KindConstitution) {
		t.Fatal("bob can still execute after losing the role")
	}
	if !c.Can("bob", domain.VerbPropose, domain.ActionAddRole, domain.KindConstitution) {
		t.Fatal("bob lost the base role")
	}
	if got := c.UserRoles("alice"); !reflect.DeepEqual(got, []string{"Base User", "Moderator"}) {
		t.Fatalf("UserRoles(alice) = %v", got)
	}
	var execs []string
	for _, u := range c.UsersWithPermission(domain.PlatformSlack, domain.VerbExecute, domain.ActionAddRole, domain.KindConstitution) {
		execs = append(execs, u.ID)
	}
	if !reflect.DeepEqual(execs, []string{"alice"}) {
		t.Fatalf("UsersWithPermission = %v", execs)
	}
}

func TestPermissionText(t *testing.T) {
	tests := []struct {
		in      string
		want    domain.Permission
		invalid bool
	}{
		{in: "propose:slackpostmessage", want: domain.Permission{Verb: "propose", ActionType: "slackpostmessage"}},
		{in: "execute:constitution:*", want: domain.Permission{Verb: "execute", ActionType: "constitution:*"}},
		{in: "view:*", want: domain.Permission{Verb: "view", ActionType: "*"}},
		{in: "vote:*", want: domain.Permission{Verb: "vote", ActionType: "*"}},
		{in: "propose", invalid: true},
		{in: "dance:*", invalid: true},
		{in: "propose:nosuchtype", invalid: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			p, err := domain.ParsePermission(tt.in)
			if tt.invalid {
				mustCode(t, err, domain.CodeInvalid)
				return
			}
			if err != nil || p != tt.want || p.String() != tt.in {
				t.Fatalf("ParsePermission(%q) = %+v, %v", tt.in, p, err)
			}
		})
	}
}

func TestCandidatePolicies(t *testing.T) {
	c, _ := mustCommunity(t)
	add := func(id string, kind domain.Kind, priority, minute int, types ...string) {
		t.Helper()
		mustApply(t, c)(c.DecideAddPolicy(domain.AddPolicy{PolicyID: id, Kind: kind, Name: id, ActionTypes: types, Priority: priority}, at(minute)))
	}
	add("base-old", domain.KindPlatform, 0, 10)
	add("base-new", domain.KindPlatform, 0, 20)
	add("specific-old", domain.KindPlatform, 0, 11, domain.ActionSlackPostMessage)
	add("specific-new", domain.KindPlatform, 0, 21, domain.ActionSlackPostMessage, domain.ActionSlackPinMessage)
	add("urgent-base", domain.KindPlatform, -1, 5)
	add("late-specific", domain.KindPlatform, 5, 30, domain.ActionSlackPostMessage)
	add("other-type", domain.KindPlatform, 0, 40, domain.ActionSlackRenameConversation)
	add("tie-b", domain.KindPlatform, 2, 50)
	add("tie-a", domain.KindPlatform, 2, 50)
	add("inactive", domain.KindPlatform, -5, 60)
	add("constitution-base", domain.KindConstitution, -9, 60)
	add("trigger", domain.KindTrigger, -9, 60, domain.ActionSlackPostMessage)
	mustApply(t, c)(c.DecideRemovePolicy(domain.RemovePolicy{PolicyID: "inactive"}, at(61)))

	var got []string
	for _, p := range c.CandidatePolicies(domain.KindPlatform, domain.ActionSlackPostMessage) {
		got = append(got, p.ID)
	}
	want := []string{"urgent-base", "specific-new", "specific-old", "base-new", "base-old", "tie-a", "tie-b", "late-specific"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("CandidatePolicies =\n %v\nwant\n %v", got, want)
	}

	// changing the old specific policy makes it the most recently modified one
	mustApply(t, c)(c.DecideChangePolicy(domain.ChangePolicy{PolicyID: "specific-old", Name: "specific-old v2", ActionTypes: []string{domain.ActionSlackPostMessage}}, at(70)))
	got = got[:0]
	for _, p := range c.CandidatePolicies(domain.KindPlatform, domain.ActionSlackPostMessage) {
		got = append(got, p.ID)
	}
	if got[1] != "specific-old" || got[2] != "specific-new" {
		t.Fatalf("after change: %v", got)
	}
	if ps := c.CandidatePolicies(domain.KindTrigger, domain.ActionSlackPostMessage); len(ps) != 1 || ps[0].ID != "trigger" {
		t.Fatalf("trigger candidates %v", ps)
	}
	if ps := c.CandidatePolicies(domain.KindTrigger, domain.ActionExpenseCreated); len(ps) != 0 {
		t.Fatalf("trigger candidates for expensecreated %v", ps)
	}
}

func TestPolicyVersionsAndHash(t *testing.T) {
	c, _ := mustCommunity(t)
	spec := domain.AddPolicy{PolicyID: "p1", Kind: domain.KindPlatform, Name: "Vote on renames",
		ActionTypes: []string{domain.ActionSlackRenameConversation, domain.ActionSlackRenameConversation},
		PolicyCode:  domain.PolicyCode{Check: "return PASSED"},
		Variables:   []domain.Variable{{Name: "quorum", Type: domain.VariableNumber, DefaultValue: "2"}, {Name: "on", Type: domain.VariableBoolean, Value: "true"}, {Name: "ids", Type: domain.VariableString, Value: "a, b", IsList: true}}}
	events := mustApply(t, c)(c.DecideAddPolicy(spec, at(5)))
	added := events[0].(domain.PolicyAdded)
	if added.Version != 1 || len(added.Hash) != 64 || added.Code.CheckLang != domain.LangStarlark || len(added.ActionTypes) != 1 {
		t.Fatalf("PolicyAdded %+v", added)
	}
	p := c.Policies["p1"]
	if p.Hash != added.Hash || !p.Active || p.Version != 1 {
		t.Fatalf("policy %+v", p)
	}
	vals := p.VariableValues()
	if vals["quorum"] != int64(2) || vals["on"] != true || !reflect.DeepEqual(vals["ids"], []any{"a", "b"}) {
		t.Fatalf("VariableValues = %#v", vals)
	}

	// same content: no events; adding the same again: no events; other content: conflict
	mustTypes(t, mustApply(t, c)(c.DecideAddPolicy(spec, at(6))))
	other := spec
	other.Description = "changed"
	_, err := c.DecideAddPolicy(other, at(6))
	mustCode(t, err, domain.CodeConflict)

	change := domain.ChangePolicy{PolicyID: "p1", Name: spec.Name, ActionTypes: spec.ActionTypes, PolicyCode: spec.PolicyCode, Variables: spec.Variables}
	mustTypes(t, mustApply(t, c)(c.DecideChangePolicy(change, at(7))))
	change.Check = "return FAILED"
	events = mustApply(t, c)(c.DecideChangePolicy(change, at(8)))
	changed := events[0].(domain.PolicyChanged)
	if changed.Version != 2 || changed.Hash == added.Hash || c.Policies["p1"].Version != 2 || !c.Policies["p1"].ModifiedAt.Equal(at(8)) {
		t.Fatalf("PolicyChanged %+v", changed)
	}
	// priority is not part of the hash but is a change
	change.Priority = 3
	events = mustApply(t, c)(c.DecideChangePolicy(change, at(9)))
	if pc := events[0].(domain.PolicyChanged); pc.Hash != changed.Hash || pc.Version != 3 {
		t.Fatalf("priority change %+v", pc)
	}
	change.Kind = domain.KindTrigger
	_, err = c.DecideChangePolicy(change, at(10))
	mustCode(t, err, domain.CodeInvalid)
}

func TestCloneIsIndependent(t *testing.T) {
	c, _ := mustCommunity(t)
	before := len(c.PolicyVersions)
	d := c.Clone()
	mustApply(t, d)(d.DecideAddPolicy(domain.AddPolicy{PolicyID: "p-clone", Kind: domain.KindPlatform, Name: "Cloned",
		PolicyCode: domain.PolicyCode{Filter: "return True\n", Initialize: "pass\n", Check: "return PASSED\n", Notify: "pass\n", Success: "pass\n", Fail: "pass\n"}}, at(5)))
	mustApply(t, d)(d.DecideRegisterUser(domain.RegisterUser{UserID: "u-clone", Platform: domain.PlatformSlack, Username: "UCLONE"}, at(5)))
	if _, ok := d.Policies["p-clone"]; !ok || len(d.PolicyVersions) != before+1 {
		t.Fatalf("clone: policies %v, %d versions", d.Policies, len(d.PolicyVersions))
	}
	if _, ok := c.Policies["p-clone"]; ok || len(c.PolicyVersions) != before || c.Version == d.Version {
		t.Errorf("the original changed with its clone: %d versions, version %d", len(c.PolicyVersions), c.Version)
	}
	if _, ok := c.Users["u-clone"]; ok {
		t.Error("the original gained the clone's user")
	}
}
