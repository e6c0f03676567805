package graph

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/graph/model"
	"github.com/policykit-go/policykit/starterkits"
)

// starterKits lists the kits a community can be created with or have proposed to it.
func starterKits() ([]model.StarterKit, error) {
	out := []model.StarterKit{}
	for _, name := range starterkits.Names() {
		k, err := starterkits.Load(name)
		if err != nil {
			return nil, err
		}
		if k.Disabled {
			continue
		}
		sk := model.StarterKit{Name: name, Description: k.Description, Roles: []string{}, Policies: []string{}}
		for _, r := range k.Roles {
			sk.Roles = append(sk.Roles, r.Name)
		}
		for _, s := range k.Specs("") {
			sk.Policies = append(sk.Policies, s.Name)
		}
		out = append(out, sk)
	}
	return out, nil
}

// applyStarterKit proposes a kit's roles and policies to an existing community as
// constitution actions, so that the community's own constitution policies decide them: a
// kit must not be a way around governance. Roles go first, so that a role that passes at
// once can be given to its user group before the policies that may refer to it.
func (r *Resolver) applyStarterKit(ctx context.Context, in model.ApplyStarterKitInput) (*model.ApplyStarterKitPayload, error) {
	m, err := member(ctx, in.CommunityID)
	if err != nil {
		return nil, err
	}
	kit, err := starterkits.Load(in.Kit)
	if err != nil {
		return nil, err
	}
	if kit.Disabled {
		return nil, domain.Invalid("starter kit %q is disabled", in.Kit)
	}
	c, err := engine.LoadCommunity(ctx, r.deps.Store, in.CommunityID)
	if err != nil {
		return nil, err
	}
	platform := kitPlatform(c)
	if in.Platform != nil && strings.TrimSpace(*in.Platform) != "" {
		platform = strings.TrimSpace(*in.Platform)
	}
	out := &model.ApplyStarterKitPayload{Proposed: []model.ProposeActionPayload{}, Skipped: []string{}}
	action := func(p domain.ConstitutionPayload) (domain.Action, error) {
		return domain.NewConstitutionAction(r.deps.NewID(), in.CommunityID, m.UserID, p, r.deps.Now())
	}
	proposeAction := func(a domain.Action) (*model.ProposeActionPayload, error) {
		res, err := r.propose(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.Type, err)
		}
		out.Proposed = append(out.Proposed, *res)
		return res, nil
	}
	propose := func(p domain.ConstitutionPayload) (*model.ProposeActionPayload, error) {
		a, err := action(p)
		if err != nil {
			return nil, err
		}
		return proposeAction(a)
	}

	// The policies' actions are made, and so validated, before anything is proposed, so that
	// a bad kit proposes nothing.
	specs := kit.Specs(platform)
	policies := make([]domain.Action, len(specs))
	for i, s := range specs {
		if policies[i], err = action(domain.AddPolicyOf("", s)); err != nil {
			return nil, err
		}
	}

	for _, role := range kit.Roles {
		name := strings.TrimSpace(role.Name)
		if _, ok := c.Roles[name]; ok {
			out.Skipped = append(out.Skipped, fmt.Sprintf("role %q: the community has a role of that name", name))
			continue
		}
		if role.IsBaseRole && hasBaseRole(c) {
			out.Skipped = append(out.Skipped, fmt.Sprintf("role %q: the community has a base role already", name))
			continue
		}
		res, err := propose(domain.AddRole{Name: name, Description: role.Description, Permissions: role.RolePermissions()})
		if err != nil {
			return nil, err
		}
		if role.IsBaseRole {
			continue // every member holds the base role
		}
		users, err := c.UserGroup(role.UserGroup, m.UserID)
		if err != nil {
			return nil, err
		}
		if len(users) == 0 {
			continue
		}
		if res.Action.Status != domain.ActionStatusExecuted {
			out.Skipped = append(out.Skipped, fmt.Sprintf("members of role %q: adding the role is %s", name, res.Action.Status))
			continue
		}
		if _, err := propose(domain.AddUserRole{Role: name, UserIDs: users}); err != nil {
			return nil, err
		}
	}
	for i, s := range specs {
		if hasActivePolicy(c, s.Kind, s.Name) {
			out.Skipped = append(out.Skipped, fmt.Sprintf("%s policy %q: the community has an active policy of that name", s.Kind, s.Name))
			continue
		}
		if _, err := proposeAction(policies[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// kitPlatform is the platform a kit's ${PLATFORM} stands for in c: its first active
// platform other than PolicyKit's own, else PolicyKit's.
func kitPlatform(c *domain.Community) string {
	var names []string
	for name, p := range c.Platforms {
		if p.Active && name != domain.PlatformWeb {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return domain.PlatformWeb
	}
	sort.Strings(names)
	return names[0]
}

func hasBaseRole(c *domain.Community) bool {
	for _, r := range c.Roles {
		if r.IsBase {
			return true
		}
	}
	return false
}

func hasActivePolicy(c *domain.Community, kind domain.Kind, name string) bool {
	for _, p := range c.Policies {
		if p.Active && p.Kind == kind && p.Name == name {
			return true
		}
	}
	return false
}
