package domain

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// StarterKit is PolicyKit's starter kit format: the roles and base policies a community
// starts with. Policy code may contain "${PLATFORM}", replaced by the community's initial
// platform when the kit is applied.
type StarterKit struct {
	Name                 string          `json:"name"`
	Description          string          `json:"description"`
	Disabled             bool            `json:"disabled,omitempty"`
	PlatformPolicies     []StarterPolicy `json:"platform_policies"`
	ConstitutionPolicies []StarterPolicy `json:"constitution_policies"`
	TriggerPolicies      []StarterPolicy `json:"trigger_policies,omitempty"`
	Roles                []StarterRole   `json:"roles"`
}

// StarterPolicy is a policy of a starter kit; its kind is the list it is in.
type StarterPolicy struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	ActionTypes []string `json:"action_types,omitempty"`
	Filter      string   `json:"filter"`
	Initialize  string   `json:"initialize"`
	Check       string   `json:"check"`
	Notify      string   `json:"notify"`
	Success     string   `json:"success"`
	Fail        string   `json:"fail"`
}

// Starter kit user groups: who is given a role when the kit is applied.
const (
	UserGroupAll       = "all"
	UserGroupAdmins    = "admins"
	UserGroupNonAdmins = "nonadmins"
	UserGroupCreator   = "creator"
)

// StarterRole is a role of a starter kit. Permission sets ("view", "propose", "execute")
// grant the verb on every action of the kind; of the Django permission names only the vote
// ones ("Can add boolean vote", "Can add number vote") mean something here: VerbVote on "*".
type StarterRole struct {
	Name                       string   `json:"name"`
	Description                string   `json:"description"`
	IsBaseRole                 bool     `json:"is_base_role"`
	UserGroup                  string   `json:"user_group"`
	PlatformPermissionSets     []string `json:"platform_permission_sets"`
	ConstitutionPermissionSets []string `json:"constitution_permission_sets"`
	TriggerPermissionSets      []string `json:"trigger_permission_sets,omitempty"`
	Permissions                []string `json:"permissions"`
}

// RolePermissions returns the domain permissions a starter role grants.
func (r StarterRole) RolePermissions() []Permission {
	var out []Permission
	out = append(out, PermissionsFor(r.PlatformPermissionSets, KindPlatform)...)
	out = append(out, PermissionsFor(r.ConstitutionPermissionSets, KindConstitution)...)
	out = append(out, PermissionsFor(r.TriggerPermissionSets, KindTrigger)...)
	for _, p := range r.Permissions {
		if p == "Can add boolean vote" || p == "Can add number vote" {
			out = append(out, Permission{Verb: VerbVote, ActionType: AnyActionType})
		}
	}
	return normalizePermissions(out)
}

// ParseStarterKit reads a starter kit file. Errors are Invalid.
func ParseStarterKit(data []byte) (StarterKit, error) {
	if len(data) > MaxPolicyFileBytes {
		return StarterKit{}, Invalid("starter kit is larger than %d bytes", MaxPolicyFileBytes)
	}
	var k StarterKit
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&k); err != nil {
		return StarterKit{}, Invalid("starter kit: %v", err)
	}
	if strings.TrimSpace(k.Name) == "" {
		return StarterKit{}, Invalid("starter kit has no name")
	}
	return k, nil
}

// PolicyCount is the number of policies the kit adds (the PolicyIDs ApplyStarterKit needs).
func (k StarterKit) PolicyCount() int {
	return len(k.PlatformPolicies) + len(k.ConstitutionPolicies) + len(k.TriggerPolicies)
}

// Specs returns the kit's policies as specs, platform then constitution then trigger
// policies, with "${PLATFORM}" replaced by platform.
func (k StarterKit) Specs(platform string) []PolicySpec {
	var out []PolicySpec
	add := func(kind Kind, ps []StarterPolicy) {
		for _, p := range ps {
			r := strings.NewReplacer("${PLATFORM}", platform)
			out = append(out, PolicySpec{
				Kind: kind, Name: p.Name, Description: p.Description, ActionTypes: p.ActionTypes,
				Code: PolicyCode{
					Filter: r.Replace(p.Filter), Initialize: r.Replace(p.Initialize), Check: r.Replace(p.Check),
					Notify: r.Replace(p.Notify), Success: r.Replace(p.Success), Fail: r.Replace(p.Fail),
				},
			}.Normalized())
		}
	}
	add(KindPlatform, k.PlatformPolicies)
	add(KindConstitution, k.ConstitutionPolicies)
	add(KindTrigger, k.TriggerPolicies)
	return out
}

// ApplyStarterKit sets a community up from a starter kit.
type ApplyStarterKit struct {
	Kit StarterKit
	// Platform replaces "${PLATFORM}" in policy code (the initial platform, e.g. "slack").
	Platform string
	// CreatorID is the user given the roles of the "creator" group ("" for none).
	CreatorID string
	// PolicyIDs are the ids of the kit's policies, in Specs order (Kit.PolicyCount of them).
	PolicyIDs []string
}

// RoleIntegrationAdmin is PolicyKit's role of those who may connect and disconnect platforms.
const RoleIntegrationAdmin = "Integration Admin"

// IntegrationAdminRole is the role every community gets with its starter kit, held by the
// member who created the community: proposing to connect or disconnect a platform. Those
// proposals are governed by the constitution policies like every other.
func IntegrationAdminRole() AddRole {
	var perms []Permission
	for _, t := range []string{ActionAddIntegration, ActionRemoveIntegration} {
		perms = append(perms, Permission{Verb: VerbPropose, ActionType: t}, Permission{Verb: VerbView, ActionType: t})
	}
	return AddRole{Name: RoleIntegrationAdmin, Description: "Can propose to connect and disconnect platforms", Permissions: perms}
}

// DecideApplyStarterKit emits RoleAdded for each role, UserRoleAdded for the current users
// of each non-base role's user group, the Integration Admin role (given to the creator) when
// the community has none, and PolicyAdded for each policy. Applying the same kit
// again changes nothing. Invalid: wrong number of policy ids, unknown user group, bad
// policy content; Conflict: a role or policy id already used differently.
func (c *Community) DecideApplyStarterKit(cmd ApplyStarterKit, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	specs := cmd.Kit.Specs(cmd.Platform)
	if len(cmd.PolicyIDs) != len(specs) {
		return nil, Invalid("starter kit %q has %d policies, %d ids given", cmd.Kit.Name, len(specs), len(cmd.PolicyIDs))
	}
	scratch := c.Clone()
	h := c.header(now, "")
	var out []Event
	emit := func(events []Event, err error) error {
		if err != nil {
			return err
		}
		for _, e := range events {
			scratch.Apply(e)
		}
		out = append(out, events...)
		return nil
	}
	for _, r := range cmd.Kit.Roles {
		role := AddRole{Name: r.Name, Description: r.Description, IsBase: r.IsBaseRole, Permissions: r.RolePermissions()}
		if err := emit(scratch.addRole(role, h)); err != nil {
			return nil, err
		}
		if r.IsBaseRole {
			continue
		}
		users, err := scratch.UserGroup(r.UserGroup, cmd.CreatorID)
		if err != nil {
			return nil, err
		}
		if len(users) == 0 {
			continue
		}
		if err := emit(scratch.addUserRole(AddUserRole{Role: strings.TrimSpace(r.Name), UserIDs: users}, h)); err != nil {
			return nil, err
		}
	}
	if _, ok := scratch.Roles[RoleIntegrationAdmin]; !ok {
		if err := emit(scratch.addRole(IntegrationAdminRole(), h)); err != nil {
			return nil, err
		}
		if _, ok := scratch.Users[cmd.CreatorID]; ok {
			if err := emit(scratch.addUserRole(AddUserRole{Role: RoleIntegrationAdmin, UserIDs: []string{cmd.CreatorID}}, h)); err != nil {
				return nil, err
			}
		}
	}
	for i, s := range specs {
		if err := emit(scratch.addPolicy(AddPolicyOf(cmd.PolicyIDs[i], s), h)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// UserGroup lists the ids of the current users of a starter kit user group.
func (c *Community) UserGroup(group, creatorID string) ([]string, error) {
	var ids []string
	switch group {
	case UserGroupAll, UserGroupAdmins, UserGroupNonAdmins:
		for _, u := range c.PlatformUsers("") {
			if group == UserGroupAll || (group == UserGroupAdmins) == u.IsAdmin {
				ids = append(ids, u.ID)
			}
		}
	case UserGroupCreator:
		if creatorID != "" {
			if _, ok := c.Users[creatorID]; !ok {
				return nil, NotFound("user %q", creatorID)
			}
			ids = append(ids, creatorID)
		}
	case "":
	default:
		return nil, Invalid("unknown user group %q", group)
	}
	return ids, nil
}

func copyOf[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
