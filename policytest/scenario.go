// Package policytest runs policy scenarios: YAML files that set up a community, add policies,
// then play actions, votes, platform answers and the passing of time through the same
// evaluation loop the engine uses (domain/evaluation with the real policy runtime), on a
// virtual clock and an in-memory event store, checking expectations along the way.
//
// The scenario format is documented in docs/policy-tests.md. The entry points are Load (parse
// and validate one file), File.Run (run its cases) and Run (what `policykit policy test`
// does: find files, run them, report like `go test`).
package policytest

import (
	"time"

	"github.com/policykit-go/policykit/domain"
)

// File is one scenario file: a set-up shared by its cases, and the cases.
type File struct {
	// Path is the file as given to Load.
	Path string
	// Name names the file's scenarios: the `name` key, or the file name without extension.
	Name        string
	Description string
	// Start is the virtual time the cases start at.
	Start time.Time
	// RecheckInterval is how often open proposals are checked again while time advances.
	RecheckInterval time.Duration
	Community       CommunitySpec
	Policies        []PolicySpec
	Cases           []*Case
}

// CommunitySpec is the community every case starts from.
type CommunitySpec struct {
	ID        string
	Name      string
	Platforms []string // the first is the initial platform
	Users     []UserSpec
	Roles     []RoleSpec
	Kit       *KitSpec
}

// UserSpec is one community user.
type UserSpec struct {
	Line     int
	ID       string
	Username string
	Name     string
	Admin    bool
	Platform string
	Roles    []string
}

// RoleSpec is one role.
type RoleSpec struct {
	Line        int
	Name        string
	Description string
	Base        bool
	Permissions []domain.Permission
}

// KitSpec is a starter kit applied after users and roles are set up.
type KitSpec struct {
	Line    int
	Path    string // resolved against the scenario file
	Creator string // user id given the kit's "creator" roles
	Kit     domain.StarterKit
}

// PolicySpec is one policy of the scenario.
type PolicySpec struct {
	Line     int
	ID       string
	Priority int
	// Spec is the policy's content: from `inline`, or from the JSON file of `file`.
	Spec domain.PolicySpec
	// SeedFile names a seed policy JSON file that holds the same policy; Options.SeedDir runs
	// the scenario with that file's policy in place of Spec (the import test).
	SeedFile string
}

// Case is one run from a fresh community: a list of steps.
type Case struct {
	// Name is "<file name>/<case name>" with spaces as underscores, like go test subtests.
	Name string
	Line int
	// RecheckInterval overrides the file's for this case (0: the file's).
	RecheckInterval time.Duration
	Steps           []Step
}

// Step kinds.
const (
	StepAction       = "action"
	StepVote         = "vote"
	StepAnswer       = "answer"
	StepEffectResult = "effect_result"
	StepCloseVote    = "close_vote"
	StepAdvance      = "advance"
	StepExpect       = "expect"
)

// Step is one step of a case; Kind says which of the pointers is set.
type Step struct {
	Line    int
	Kind    string
	Action  *ActionStep
	Vote    *VoteStep
	Result  *ResultStep // answer and effect_result
	Close   *Ref        // close_vote
	Advance time.Duration
	Expect  *Expect
	// WantErr, when set, is a substring of the error the step must fail with.
	WantErr string
}

// Ref picks a proposal: the proposal of Policy for Action. Action "" is the last action
// proposed; Policy "" is the action's governing proposal, or its only one.
type Ref struct {
	Action string
	Policy string
}

// ActionStep proposes an action.
type ActionStep struct {
	ID         string
	Type       string
	Platform   string
	Initiator  string
	Reversible bool
	Fields     map[string]any
	ExternalID string
}

// VoteStep casts a vote.
type VoteStep struct {
	Ref
	User    string
	Kind    string // domain.VoteBoolean, VoteChoice or VoteNumber
	Boolean bool
	Choice  string
	Number  int
}

// ResultStep reports what a platform did with a requested effect.
type ResultStep struct {
	Ref
	Platform string
	Method   string
	Purpose  string // required purpose; "query" for answer steps
	Args     map[string]any
	Result   map[string]any
	Error    string
}

// Expect is a block of expectations checked after the steps before it.
type Expect struct {
	Line int
	Ref
	Status       string
	ActionStatus string
	Reverted     *bool
	Proposals    *int
	// Effects: the effects requested since the previous expect, exactly and in order (nil: not
	// checked; empty: none).
	Effects []EffectMatch
	// AllEffects: every effect requested since the case began, exactly and in order.
	AllEffects []EffectMatch
	Logs       []string
	EvalErrors []string
	Data       map[string]any
	VotePostID *string
	VoteURL    *string
	VoteClosed *bool
	Community  *CommunityExpect
}

// EffectMatch matches one requested effect; Args is a subset match.
type EffectMatch struct {
	Line     int
	Platform string
	Method   string
	Purpose  string
	Args     map[string]any
}

// CommunityExpect checks the community's state.
type CommunityExpect struct {
	Roles          []string
	AbsentRoles    []string
	UserRoles      map[string][]string
	Policies       []string // active policies
	AbsentPolicies []string // unknown or removed policies
}
