package evaluation

import (
	"sort"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/policy"
)

// communityInfo is the community as policy code sees it, built once per step.
type communityInfo struct {
	info  policy.CommunityInfo
	users map[string]policy.UserInfo
}

func newCommunityInfo(c *domain.Community) communityInfo {
	ci := communityInfo{users: make(map[string]policy.UserInfo, len(c.Users))}
	for _, name := range sortedKeys(c.Platforms) {
		if c.Platforms[name].Active {
			ci.info.Platforms = append(ci.info.Platforms, name)
		}
	}
	for _, id := range sortedKeys(c.Users) {
		u := userInfo(c, c.Users[id])
		ci.users[id] = u
		ci.info.Users = append(ci.info.Users, u)
	}
	for _, name := range sortedKeys(c.Roles) {
		r := c.Roles[name]
		perms := make([]string, len(r.Permissions))
		for i, p := range r.Permissions {
			perms[i] = p.String()
		}
		ci.info.Roles = append(ci.info.Roles, policy.RoleInfo{Name: r.Name, Description: r.Description, IsBase: r.IsBase, Permissions: perms})
	}
	return ci
}

func userInfo(c *domain.Community, u domain.User) policy.UserInfo {
	roles := c.UserRoles(u.ID)
	sort.Strings(roles)
	return policy.UserInfo{
		ID: u.ID, Username: u.Username, ReadableName: u.ReadableName, Platform: u.Platform,
		IsAdmin: u.IsAdmin, Roles: roles, Avatar: u.Avatar,
	}
}

// input builds what one block of pol sees for proposal p (nil while filtering).
func (s *step) input(pol domain.Policy, p *domain.Proposal, b policy.Block) policy.Input {
	var a domain.Action
	if p != nil {
		a = p.Action
	} else {
		a = s.rec.Action
	}
	if s.info == nil {
		info := newCommunityInfo(s.c)
		s.info = &info
	}
	in := policy.Input{
		Block:    b,
		Code:     pol.Code,
		CodeHash: pol.Hash,
		Now:      s.now,
		Policy: policy.PolicyInfo{
			ID: pol.ID, Name: pol.Name, Description: pol.Description, Kind: string(pol.Kind),
			ActionTypes: pol.ActionTypes,
		},
		Action: policy.ActionInfo{
			ID: a.ID, Type: a.Type, Kind: string(a.Kind), Platform: a.Platform, Fields: a.PublicFields(), // a connection's secrets by name only, never in a log line
			Description: a.Describe(),
		},
		Community: s.info.info,
		Variables: s.policyVariables(pol),
	}
	if a.InitiatorID != "" {
		if u, ok := s.info.users[a.InitiatorID]; ok {
			in.Action.Initiator = &u
		}
	}
	if p == nil {
		in.Seed = seed(a.ID + "/" + pol.ID)
		in.Proposal = policy.ProposalInfo{Status: domain.StatusProposed, ProposalTime: s.now}
		return in
	}
	in.Seed = seed(p.ID)
	if p.VariablesInitialized {
		in.Variables = p.Variables
	}
	in.Answers = p.Answers
	in.Proposal = policy.ProposalInfo{
		ID: p.ID, Status: p.Status, ProposalTime: p.ProposalTime, VotePostID: p.VotePostID, VoteURL: p.VoteURL,
		IsVoteClosed: p.VoteClosed, Data: p.Data, GovernanceProcess: p.GovernanceProcess, VoteOutcome: p.VoteOutcome,
	}
	for _, v := range p.CurrentVotes() {
		u, ok := s.info.users[v.UserID]
		if !ok {
			u = policy.UserInfo{ID: v.UserID, Username: v.Username}
		}
		in.Proposal.Votes = append(in.Proposal.Votes, policy.VoteInfo{
			User: u, Kind: v.Kind, Boolean: v.Boolean, Choice: v.Choice, Number: v.Number, At: v.At,
		})
	}
	return in
}
