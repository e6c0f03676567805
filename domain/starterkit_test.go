package domain_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/domain"
)

const kitJSON = `{
  "name": "Moderated",
  "description": "test kit",
  "platform_policies": [{"name": "Platform pass", "description": "", "filter": "return True", "initialize": "pass", "check": "return PASSED", "notify": "pass", "success": "pass", "fail": "pass"}],
  "constitution_policies": [{"name": "Mods decide", "description": "", "filter": "return True", "initialize": "pass", "check": "return PASSED", "notify": "${PLATFORM}.initiate_vote(text='vote')", "success": "pass", "fail": "pass"}],
  "roles": [
    {"name": "Base User", "description": "", "is_base_role": true, "user_group": "all",
     "platform_permission_sets": ["view", "propose"], "constitution_permission_sets": ["view", "propose"],
     "permissions": ["Can add boolean vote", "Can view boolean vote"]},
    {"name": "Moderator", "description": "mods", "is_base_role": false, "user_group": "admins",
     "platform_permission_sets": ["view", "propose", "execute"], "constitution_permission_sets": ["view"],
     "permissions": ["Can view number vote"]},
    {"name": "Founder", "description": "", "is_base_role": false, "user_group": "creator",
     "platform_permission_sets": [], "constitution_permission_sets": ["execute"], "permissions": []}
  ]
}`

func TestApplyStarterKit(t *testing.T) {
	kit, err := domain.ParseStarterKit([]byte(kitJSON))
	if err != nil {
		t.Fatal(err)
	}
	c := &domain.Community{}
	mustApply(t, c)(c.DecideCreateCommunity(domain.CreateCommunity{CommunityID: "c1", Name: "Coop", Platform: domain.PlatformSlack}, at(0)))
	mustApply(t, c)(c.DecideRegisterUser(domain.RegisterUser{UserID: "alice", Platform: domain.PlatformSlack, Username: "U01", IsAdmin: true}, at(0)))
	mustApply(t, c)(c.DecideRegisterUser(domain.RegisterUser{UserID: "bob", Platform: domain.PlatformSlack, Username: "U02"}, at(0)))

	cmd := domain.ApplyStarterKit{Kit: kit, Platform: domain.PlatformSlack, CreatorID: "bob", PolicyIDs: []string{"pp", "cp"}}
	events := mustApply(t, c)(c.DecideApplyStarterKit(cmd, at(1)))
	mustTypes(t, events,
		domain.EventRoleAdded, domain.EventRoleAdded, domain.EventUserRoleAdded,
		domain.EventRoleAdded, domain.EventUserRoleAdded,
		domain.EventRoleAdded, domain.EventUserRoleAdded, // Integration Admin, to the creator
		domain.EventPolicyAdded, domain.EventPolicyAdded)
	if !c.Users["bob"].HasRole(domain.RoleIntegrationAdmin) || c.Users["alice"].HasRole(domain.RoleIntegrationAdmin) {
		t.Errorf("Integration Admin holders: bob %v, alice %v; want only the creator, bob",
			c.Users["bob"].HasRole(domain.RoleIntegrationAdmin), c.Users["alice"].HasRole(domain.RoleIntegrationAdmin))
	}

	base := c.Roles["Base User"]
	wantBase := []string{"propose:constitution:*", "propose:platform:*", "view:constitution:*", "view:platform:*", "vote:*"}
	var got []string
	for _, p := range base.Permissions {
		got = append(got, p.String())
	}
	if !base.IsBase || !reflect.DeepEqual(got, wantBase) {
		t.Fatalf("base role %v", got)
	}
	if !c.HasRole("alice", "Moderator") || c.HasRole("bob", "Moderator") || !c.HasRole("bob", "Founder") {
		t.Fatalf("roles alice %v bob %v", c.Users["alice"].Roles, c.Users["bob"].Roles)
	}
	if !c.Can("alice", domain.VerbExecute, domain.ActionSlackPostMessage, domain.KindPlatform) || !c.Can("bob", domain.VerbVote, domain.ActionSlackPostMessage, domain.KindPlatform) {
		t.Fatal("permissions not granted")
	}
	if !c.Can("bob", domain.VerbExecute, domain.ActionAddRole, domain.KindConstitution) {
		t.Fatal("founder cannot execute constitution actions")
	}
	cp := c.Policies["cp"]
	if cp.Kind != domain.KindConstitution || !strings.Contains(cp.Code.Notify, "slack.initiate_vote") {
		t.Fatalf("constitution policy %+v", cp)
	}
	// applying again: nothing; wrong number of ids: invalid
	mustTypes(t, mustApply(t, c)(c.DecideApplyStarterKit(cmd, at(2))))
	cmd.PolicyIDs = cmd.PolicyIDs[:1]
	_, err = c.DecideApplyStarterKit(cmd, at(2))
	mustCode(t, err, domain.CodeInvalid)

	_, err = domain.ParseStarterKit([]byte(`{"name": 3}`))
	mustCode(t, err, domain.CodeInvalid)
}

func TestParsePolicyFile(t *testing.T) {
	spec, err := domain.ParsePolicyFile([]byte(`{"policy_kind": "Platform", "action_types": ["slackrenameconversation"],
		"name": "Vote on renaming", "description": "d", "is_bundled": false,
		"filter": "return True\n", "initialize": "pass", "check": "return PASSED", "notify": "pass", "success": "pass", "fail": "pass"}`))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Kind != domain.KindPlatform || spec.Name != "Vote on renaming" || spec.Code.CheckLang != domain.LangStarlark || !reflect.DeepEqual(spec.ActionTypes, []string{"slackrenameconversation"}) {
		t.Fatalf("spec %+v", spec)
	}
	back, err := domain.PolicyFileOf(spec).Spec()
	if err != nil || back.ContentHash() != spec.ContentHash() {
		t.Fatalf("export/import: %v", err)
	}
	if f := domain.PolicyFileOf(spec); f.PolicyKind != "Platform" {
		t.Fatalf("exported kind %q", f.PolicyKind)
	}
	for name, data := range map[string]string{
		"malformed":   `{"policy_kind": `,
		"bundled":     `{"policy_kind": "Platform", "name": "x", "is_bundled": true}`,
		"bad kind":    `{"policy_kind": "Galactic", "name": "x"}`,
		"bad type":    `{"policy_kind": "Platform", "name": "x", "action_types": ["expensecreated"]}`,
		"nameless":    `{"policy_kind": "Trigger", "name": ""}`,
		"too large":   `{"policy_kind": "Trigger", "name": "x", "check": "` + strings.Repeat("#", domain.MaxPolicyCodeBytes+1) + `"}`,
		"over 1 MiB ": strings.Repeat(" ", domain.MaxPolicyFileBytes+1),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := domain.ParsePolicyFile([]byte(data))
			mustCode(t, err, domain.CodeInvalid)
		})
	}
}

// TestSeedFiles imports the seed's example policies and starter kits when the seed folder
// is next to the repository (it is not part of it); otherwise it is skipped, except under
// CI=true, where the folder must be there.
func TestSeedFiles(t *testing.T) {
	seed := filepath.Join("..", "..", "shared", "seed")
	policies, _ := filepath.Glob(filepath.Join(seed, "policy_examples", "*.json"))
	kits, _ := filepath.Glob(filepath.Join(seed, "starterkits", "*.json"))
	if len(policies) == 0 && len(kits) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("seed files not found under %s (CI=true: they must be there)", seed)
		}
		t.Skip("seed files not found")
	}
	for _, f := range policies {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := domain.ParsePolicyFile(data); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
	for _, f := range kits {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		kit, err := domain.ParseStarterKit(data)
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
			continue
		}
		ids := make([]string, kit.PolicyCount())
		for i := range ids {
			ids[i] = "kit-policy-" + string(rune('a'+i))
		}
		c := &domain.Community{}
		mustApply(t, c)(c.DecideCreateCommunity(domain.CreateCommunity{CommunityID: "c1", Name: "Coop", Platform: domain.PlatformSlack}, at(0)))
		mustApply(t, c)(c.DecideRegisterUser(domain.RegisterUser{UserID: "alice", Platform: domain.PlatformSlack, Username: "U01", IsAdmin: true}, at(0)))
		if _, err := c.DecideApplyStarterKit(domain.ApplyStarterKit{Kit: kit, Platform: domain.PlatformSlack, CreatorID: "alice", PolicyIDs: ids}, at(1)); err != nil {
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
}
