// Package model holds the GraphQL API's types: those gqlgen generates (models_gen.go) and
// the ones written here, whose relations (a community's proposals, a proposal's votes ...)
// are resolved lazily by field resolvers in package graph. They are the API's own types,
// filled from read-model rows at the edge; nothing else in the product imports them.
package model

import "time"

// Community is a community's row; its platforms, members, roles, documents, policies and
// proposals are resolved on demand.
type Community struct {
	ID        string
	Name      string
	CreatedAt time.Time
	// AsOf, when set, makes the community's fields the state as of then (see query community).
	AsOf *time.Time
	// AsOfPosition, when set (with AsOf the time of its event), ends the community stream
	// and the events at this log position instead of at AsOf.
	AsOfPosition string
}

// Policy is the current version of a policy; its versions are resolved on demand.
type Policy struct {
	ID            string
	CommunityID   string
	Kind          string
	Name          string
	Description   string
	ActionTypes   []string
	Priority      int
	Active        bool
	Hash          string
	Version       int
	CodeJSON      string
	VariablesJSON string
	CreatedAt     time.Time
	ModifiedAt    time.Time
	// AsOf, when set, limits its versions to those made by then (see query community).
	AsOf *time.Time
}

// Proposal is a proposal's row; its action, votes, tally, effects, evaluation logs and trace
// are resolved on demand.
type Proposal struct {
	ID            string
	CommunityID   string
	ActionID      string
	ActionType    string
	ActionKind    string
	InitiatorID   string
	PolicyID      string
	PolicyName    string
	PolicyKind    string
	PolicyVersion int
	Status        ProposalStatus
	Reason        string
	ProposalTime  time.Time
	DecidedAt     *time.Time
	VotePostID    string
	VoteURL       string
	// AsOf, when set, makes its votes, effects and evaluation logs those of then (see query
	// community).
	AsOf *time.Time
}

// Action is an action's row; its governing proposal is resolved on demand.
type Action struct {
	ID                  string
	CommunityID         string
	Kind                string
	Type                string
	Platform            string
	InitiatorID         string
	FieldsJSON          string
	Reversible          bool
	Status              string
	Reason              string
	ProposedAt          time.Time
	DecidedAt           *time.Time
	GoverningProposalID string
}

// Account is an account with its memberships; its API tokens are resolved on demand.
type Account struct {
	ID          string
	Username    string
	CreatedAt   time.Time
	Memberships []Membership
}
