package policy

import (
	"errors"
	"maps"
	"slices"
	"time"

	"go.starlark.net/starlark"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/policy/python"
)

const (
	stateKey = "policykit.state"
	// Limits on what one block may produce.
	maxEffects    = 1000
	maxLogLines   = 1000
	maxLogMessage = 16 << 10
)

// errQuestion stops an evaluation at an unanswered data-returning call. It
// is not an error of the policy: Output.Question carries the call.
var errQuestion = errors.New("policy: unanswered platform call")

// evalState is the mutable state of one evaluation. Builtins reach it
// through the thread (stateOf); it is never shared between evaluations.
type evalState struct {
	in    *Input
	block Block

	effects     []Effect
	logs        []domain.LogLine
	logsDropped int
	dataOps     []domain.DataOp
	data        map[string]any
	dataOwned   bool

	votePostID, voteURL string
	voteSet             bool
	govProcess          map[string]any
	govSet              bool

	question *Question
	rng      *rng
	// volatile: the block read something that can change without an event on its
	// proposal (the clock, the community); see Output.Untimed.
	volatile bool

	proposal  *proposalValue
	dataStore *dataStore
	action    *actionValue
	policy    *policyValue
	variables starlark.Value
}

func newState(in *Input) *evalState {
	return &evalState{
		in:         in,
		block:      in.Block,
		data:       in.Proposal.Data,
		votePostID: in.Proposal.VotePostID,
		voteURL:    in.Proposal.VoteURL,
	}
}

func stateOf(th *starlark.Thread) *evalState {
	st, _ := th.Local(stateKey).(*evalState)
	if st == nil {
		panic("policy: builtin called outside an evaluation")
	}
	return st
}

func (st *evalState) dataMap() map[string]any { return st.data }

// writableData returns the DataStore map, copying the input's map on the
// first write so that Input is never modified.
func (st *evalState) writableData() map[string]any {
	if !st.dataOwned {
		st.data = maps.Clone(st.data)
		if st.data == nil {
			st.data = map[string]any{}
		}
		st.dataOwned = true
	}
	return st.data
}

// mayWriteData refuses proposal.data changes in the filter block: the filter
// runs before there is a proposal to keep them, and PolicyKit raises there
// (so the policy does not govern the action) rather than drop them.
func (st *evalState) mayWriteData() error {
	if st.block == BlockFilter {
		return python.Errorf("ValueError", "proposal.data cannot be changed in the filter block: there is no proposal yet")
	}
	return nil
}

func (st *evalState) connected(platform string) bool {
	st.volatile = true // platforms are connected and disconnected on the community
	return slices.Contains(st.in.Community.Platforms, platform)
}

// clock is Input.Now, read by policy code.
func (st *evalState) clock() time.Time {
	st.volatile = true
	return st.in.Now
}

func (st *evalState) log(level, msg string) {
	if len(st.logs) >= maxLogLines {
		st.logsDropped++
		return
	}
	if len(msg) > maxLogMessage {
		msg = msg[:maxLogMessage] + "...(truncated)"
	}
	st.logs = append(st.logs, domain.LogLine{Level: level, Message: msg})
}

func (st *evalState) addEffect(platform, method string, args map[string]any) error {
	if len(st.effects) >= maxEffects {
		return python.Errorf("PlatformError", "too many platform calls in one block (limit %d)", maxEffects)
	}
	st.effects = append(st.effects, Effect{Platform: platform, Method: method, Args: args, Seq: len(st.effects)})
	return nil
}

func (st *evalState) proposalValue() *proposalValue {
	if st.proposal == nil {
		st.proposal = &proposalValue{st: st}
	}
	return st.proposal
}

func (st *evalState) actionValue() *actionValue {
	if st.action == nil {
		st.action = &actionValue{st}
	}
	return st.action
}

func (st *evalState) policyValue() *policyValue {
	if st.policy == nil {
		st.policy = &policyValue{st}
	}
	return st.policy
}

func (st *evalState) variablesValue() (starlark.Value, error) {
	if st.variables == nil {
		v, err := toStarlark(st.in.Variables)
		if err != nil {
			return nil, err
		}
		if v == starlark.None {
			v = newAttrDict(0)
		}
		st.variables = v
	}
	return st.variables, nil
}

func (st *evalState) governanceProcess() (starlark.Value, error) {
	if st.govSet {
		return toStarlark(st.govProcess)
	}
	if st.in.Proposal.GovernanceProcess == nil {
		return starlark.None, nil
	}
	return toStarlark(st.in.Proposal.GovernanceProcess)
}

// currentProcess is the governance process the proposal follows (started in this evaluation
// or recorded before), nil when none.
func (st *evalState) currentProcess() map[string]any {
	if st.govSet {
		return st.govProcess
	}
	return st.in.Proposal.GovernanceProcess
}

// finalData is the DataStore after the block (nil when empty).
func (st *evalState) finalData() map[string]any {
	if len(st.data) == 0 {
		return nil
	}
	if st.dataOwned {
		return st.data
	}
	return maps.Clone(st.data)
}
