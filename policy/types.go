package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/policykit-go/policykit/domain"
)

// Block names one of the six code blocks of a policy (domain.BlockFilter, ...).
type Block string

// The six blocks, in the order the engine runs them. BlockSuccess is the
// "pass" block; it keeps PolicyKit's stored name.
const (
	BlockFilter     Block = domain.BlockFilter
	BlockInitialize Block = domain.BlockInitialize
	BlockCheck      Block = domain.BlockCheck
	BlockNotify     Block = domain.BlockNotify
	BlockSuccess    Block = domain.BlockSuccess
	BlockFail       Block = domain.BlockFail
)

// Blocks lists every block in evaluation order.
var Blocks = []Block{BlockFilter, BlockInitialize, BlockCheck, BlockNotify, BlockSuccess, BlockFail}

// Source returns the code and language (domain.LangStarlark or
// domain.LangExpr) of block b of a policy's code; ok is false for an unknown
// block name. Only filter and check may be written as expr conditions; an
// empty language is Starlark.
func Source(c domain.PolicyCode, b Block) (src, lang string, ok bool) {
	switch b {
	case BlockFilter:
		return c.Filter, normLang(c.FilterLang), true
	case BlockInitialize, BlockNotify, BlockSuccess, BlockFail:
		return c.Block(string(b)), domain.LangStarlark, true
	case BlockCheck:
		return c.Check, normLang(c.CheckLang), true
	}
	return "", "", false
}

func normLang(l string) string {
	if l == "" {
		return domain.LangStarlark
	}
	return l
}

// Hash returns a stable hex digest of the code (all blocks and languages).
// It is the cache key of compiled programs, so two policy versions with the
// same code share compiled blocks.
func Hash(code domain.PolicyCode) string {
	h := sha256.New()
	var n [8]byte
	h.Write([]byte("policykit-code-v1"))
	for _, s := range []string{code.Filter, code.Initialize, code.Check, code.Notify, code.Success, code.Fail,
		normLang(code.FilterLang), normLang(code.CheckLang)} {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Input is everything one block evaluation may see. The caller maps domain
// state into it; nothing else reaches policy code (no clock, no randomness,
// no I/O).
type Input struct {
	Block Block             `json:"block"`
	Code  domain.PolicyCode `json:"code"`
	// CodeHash is the cache key of Code; Hash(Code) is computed when empty.
	// A caller that sets it must pass Hash(Code) (or another value that
	// changes whenever Code changes).
	CodeHash string `json:"code_hash,omitempty"`
	// Now is the clock of this evaluation (datetime.datetime.now(),
	// proposal.get_time_elapsed(), expr's now and elapsed).
	Now time.Time `json:"now"`
	// Seed drives the policy's random module.
	Seed      int64          `json:"seed"`
	Policy    PolicyInfo     `json:"policy"`
	Action    ActionInfo     `json:"action"`
	Proposal  ProposalInfo   `json:"proposal"`
	Variables map[string]any `json:"variables,omitempty"`
	Community CommunityInfo  `json:"community"`
	// Answers holds the recorded answers to data-returning platform calls,
	// by AnswerKey. See the package documentation.
	Answers map[string]any `json:"answers,omitempty"`
}

// PolicyInfo describes the policy being evaluated (the policy object).
type PolicyInfo struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Kind        string   `json:"kind"`
	ActionTypes []string `json:"action_types,omitempty"`
}

// ActionInfo describes the action that triggered the evaluation.
type ActionInfo struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Kind     string `json:"kind"`
	Platform string `json:"platform"`
	// Fields are the action type's own fields (action.channel, action.name,
	// action.expense_id, ...). JSON-like values.
	Fields    map[string]any `json:"fields,omitempty"`
	Initiator *UserInfo      `json:"initiator,omitempty"`
	// Description is str(action).
	Description string `json:"description"`
}

// UserInfo is a community user (action.initiator, vote.user, get_users()).
type UserInfo struct {
	ID           string   `json:"id"`
	Username     string   `json:"username"`
	ReadableName string   `json:"readable_name"`
	Platform     string   `json:"platform"`
	IsAdmin      bool     `json:"is_admin"`
	Roles        []string `json:"roles,omitempty"`
	Avatar       string   `json:"avatar,omitempty"`
}

// ProposalInfo is the state of the proposal under evaluation.
type ProposalInfo struct {
	ID           string    `json:"id"`
	Status       string    `json:"status"`
	ProposalTime time.Time `json:"proposal_time"`
	VotePostID   string    `json:"vote_post_id,omitempty"`
	VoteURL      string    `json:"vote_url,omitempty"`
	IsVoteClosed bool      `json:"is_vote_closed"`
	// Data is the proposal's DataStore before this block runs.
	Data              map[string]any `json:"data,omitempty"`
	Votes             []VoteInfo     `json:"votes,omitempty"`
	GovernanceProcess map[string]any `json:"governance_process,omitempty"`
	// VoteOutcome is what the platform that closed the vote says it decided (a Loomio
	// poll's outcome statement), nil when it said nothing; proposal.vote_outcome.
	VoteOutcome map[string]any `json:"vote_outcome,omitempty"`
}

// VoteInfo is one cast vote. Kind (domain.VoteBoolean, domain.VoteChoice or
// domain.VoteNumber) selects which value field is meaningful.
type VoteInfo struct {
	User    UserInfo  `json:"user"`
	Kind    string    `json:"kind"`
	Boolean bool      `json:"boolean,omitempty"`
	Choice  string    `json:"choice,omitempty"`
	Number  int       `json:"number,omitempty"`
	At      time.Time `json:"at"`
}

// CommunityInfo is what platform objects (slack.get_users(), ...) can see.
type CommunityInfo struct {
	// Platforms are the connected platforms ("slack", "discord", ...).
	// Calling a method of any other platform is an error.
	Platforms []string   `json:"platforms,omitempty"`
	Users     []UserInfo `json:"users,omitempty"`
	Roles     []RoleInfo `json:"roles,omitempty"`
}

// RoleInfo is a community role.
type RoleInfo struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	IsBase      bool     `json:"is_base,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
}

// Output is the result of one block evaluation.
//
// When Question is set the evaluation stopped at an unanswered platform
// call and every other field is empty: the block must be re-run with the
// answer recorded in Input.Answers.
type Output struct {
	// Filter is the filter block's verdict.
	Filter bool `json:"filter,omitempty"`
	// Status is the check block's verdict: domain.StatusPassed,
	// domain.StatusFailed or domain.StatusProposed (returning None or nothing
	// means domain.StatusProposed).
	Status string `json:"status,omitempty"`
	// Variables is the dict returned by the initialize block, if any.
	Variables map[string]any `json:"variables,omitempty"`
	// Effects are the platform calls the block made, in call order.
	Effects []Effect `json:"effects,omitempty"`
	// Logs are the logger.* and print() lines, in order.
	Logs []domain.LogLine `json:"logs,omitempty"`
	// DataOps are the proposal.data changes, in order; Data is the DataStore
	// after applying them (a copy; nil when the store is empty).
	DataOps []domain.DataOp `json:"data_ops,omitempty"`
	Data    map[string]any  `json:"data,omitempty"`
	// VotePostID and VoteURL are set when an answered initiate_vote ran.
	VotePostID string `json:"vote_post_id,omitempty"`
	VoteURL    string `json:"vote_url,omitempty"`
	// Question is the unanswered data-returning call that stopped the block.
	Question *Question `json:"question,omitempty"`
	// Err is set when the block failed (syntax error, runtime error, limit).
	Err *EvalError `json:"error,omitempty"`
	// Untimed is true when the block read nothing that can change without an event on
	// its proposal: not the clock (datetime's now, today and utcnow, get_time_elapsed,
	// expr's now and elapsed), not the community (its users and their names and roles,
	// its platforms). Run again on the same input it returns the same, so it need not be
	// run again until something happens to the proposal. False (the safe answer) from an
	// evaluator that cannot tell.
	Untimed bool `json:"untimed,omitempty"`
}

// Effect is a platform call recorded by policy code; the engine turns it
// into an effect request. Args are JSON-like (user objects became their
// username, datetimes RFC 3339 strings, timedeltas seconds). Seq is the
// 0-based position of the effect within the block's output.
type Effect struct {
	Platform string         `json:"platform"`
	Method   string         `json:"method"`
	Args     map[string]any `json:"args,omitempty"`
	Seq      int            `json:"seq"`
}

// Question is a data-returning platform call that has no recorded answer.
// Key is AnswerKey(Platform, Method, Args).
type Question struct {
	Key      string         `json:"key"`
	Platform string         `json:"platform"`
	Method   string         `json:"method"`
	Args     map[string]any `json:"args,omitempty"`
}

// AnswerKey is the key under which the answer to a data-returning platform
// call is recorded in Input.Answers: a hex SHA-256 of the platform, the
// method and the canonical JSON of the (already JSON-like) arguments.
func AnswerKey(platform, method string, args map[string]any) string {
	b, err := json.Marshal(args) // map keys are sorted: canonical
	if err != nil {
		b = []byte(fmt.Sprintf("%v", args))
	}
	h := sha256.New()
	h.Write([]byte(platform))
	h.Write([]byte{0})
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// EvalError is a failed evaluation. Type is a Python-style error class
// (SyntaxError, NameError, AttributeError, TypeError, ValueError, KeyError,
// IndexError, ZeroDivisionError, RecursionError, ImportError, PlatformError,
// TimeoutError, CancelledError, StepLimitError, CodeSizeError, Error).
// Line is the 1-based line in the author's block (0 when unknown).
type EvalError struct {
	Type   string `json:"type"`
	Line   int    `json:"line"`
	Block  Block  `json:"block"`
	Detail string `json:"detail"`
}

// Error formats "Type at line N of block: detail" (or "Type in block:
// detail" when the line is unknown).
func (e *EvalError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s at line %d of %s: %s", e.Type, e.Line, e.Block, e.Detail)
	}
	return fmt.Sprintf("%s in %s: %s", e.Type, e.Block, e.Detail)
}

func init() {
	// Input and Output carry JSON-like values in interface fields; gob needs
	// their concrete composite types registered to ship them to workers.
	gob.Register(map[string]any{})
	gob.Register([]any{})
	gob.Register(json.Number(""))
}
