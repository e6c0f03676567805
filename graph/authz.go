package graph

import (
	"context"
	"errors"
	"sort"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/graph/model"
	"github.com/policykit-go/policykit/identity"
)

// Authorization. The caller's memberships and permissions come with the request (see
// Accounts.authenticate: the roles as the read models know them). The rules, applied where
// a resolver reaches a community's data from outside it (the root fields; the fields below
// them stay in the same community and action):
//
//   - a community the caller is not a member of is NOT_FOUND, as if it did not exist, and
//     so are its proposals and actions;
//   - a community's own data (members, roles, documents, policies, proposal lists) needs
//     some view permission there, a proposal or action the view permission on its action
//     type and kind; FORBIDDEN otherwise. Proposal lists leave out what the caller may not
//     view;
//   - mutations act as the caller's user in the community; the engine applies the propose,
//     execute and vote permissions.

// member returns the caller's membership in the community; NOT_FOUND (as for a community
// that does not exist) when the caller is not a member.
func member(ctx context.Context, communityID string) (identity.Membership, error) {
	c, err := CallerOf(ctx)
	if err != nil {
		return identity.Membership{}, err
	}
	m, ok := c.Members[communityID]
	if !ok {
		return identity.Membership{}, domain.NotFound("community %q", communityID)
	}
	return m, nil
}

// viewer returns the caller's membership in a community whose data it may view.
func viewer(ctx context.Context, communityID string) (identity.Membership, error) {
	m, err := member(ctx, communityID)
	if err != nil {
		return identity.Membership{}, err
	}
	if !m.ViewsAnything() {
		return identity.Membership{}, domain.Forbidden("you may not view community %q", communityID)
	}
	return m, nil
}

// mayView checks that the caller may view an action (or its proposal) of the community:
// what does not exist for the caller is NOT_FOUND with notFound's message.
func mayView(ctx context.Context, communityID, actionType, kind string, notFound error) error {
	m, err := member(ctx, communityID)
	if err != nil {
		if errors.Is(err, ErrUnauthenticated) {
			return err
		}
		return notFound
	}
	if !m.Can(domain.VerbView, actionType, domain.Kind(kind)) {
		return domain.Forbidden("you may not view %s actions in community %q", actionType, communityID)
	}
	return nil
}

// viewFilter narrows a proposal list to the action types and kinds m may view.
type viewFilter struct {
	all   bool
	kinds []string // whole kinds (view:platform:*)
	types []string // single action types
}

func viewFilterOf(m identity.Membership) viewFilter {
	var f viewFilter
	for _, p := range m.Permissions {
		if p.Verb != domain.VerbView {
			continue
		}
		switch p.ActionType {
		case domain.AnyActionType:
			f.all = true
		case domain.AnyPlatformAction:
			f.kinds = append(f.kinds, string(domain.KindPlatform))
		case domain.AnyConstitutionAction:
			f.kinds = append(f.kinds, string(domain.KindConstitution))
		case domain.AnyTriggerAction:
			f.kinds = append(f.kinds, string(domain.KindTrigger))
		default:
			f.types = append(f.types, p.ActionType)
		}
	}
	return f
}

// account maps the caller to the API's Account.
func account(c *identity.Caller) *model.Account {
	a := &model.Account{ID: c.Account.ID, Username: c.Account.Username, CreatedAt: c.Account.CreatedAt, Memberships: []model.Membership{}}
	for _, m := range c.Members {
		perms := make([]string, len(m.Permissions))
		for i, p := range m.Permissions {
			perms[i] = p.String()
		}
		a.Memberships = append(a.Memberships, model.Membership{CommunityID: m.CommunityID, UserID: m.UserID, IsAdmin: m.IsAdmin, Permissions: perms})
	}
	sortMemberships(a.Memberships)
	return a
}

func apiToken(t identity.APIToken) *model.APIToken {
	return &model.APIToken{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, RevokedAt: t.RevokedAt}
}

func sortMemberships(ms []model.Membership) {
	sort.Slice(ms, func(i, j int) bool { return ms[i].CommunityID < ms[j].CommunityID })
}
