package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"

	"github.com/policykit-go/policykit/domain"
)

// exprEnv is the environment of a one-line expr-lang filter or check
// condition: the same evaluation context as Starlark blocks, flattened.
//
//	action      fields of the action plus type, kind, platform, id,
//	            description and initiator {username, readable_name,
//	            is_community_admin, roles}
//	proposal    {id, status, proposal_time, vote_post_id, vote_url,
//	            is_vote_closed, data}
//	policy      {id, name, description, kind, action_types}
//	variables   the policy variables
//	yes, no     boolean vote counts; votes is the number of all votes
//	choice(v)   the number of choice votes for v; number(n) likewise
//	elapsed     now - proposal_time, a duration (compare with duration("72h"))
//	now         Input.Now
//	PASSED, FAILED, PROPOSED   the check statuses
type exprEnv struct {
	Action    map[string]any   `expr:"action"`
	Proposal  map[string]any   `expr:"proposal"`
	Policy    map[string]any   `expr:"policy"`
	Variables map[string]any   `expr:"variables"`
	Yes       int              `expr:"yes"`
	No        int              `expr:"no"`
	Votes     int              `expr:"votes"`
	Choice    func(string) int `expr:"choice"`
	Number    func(int) int    `expr:"number"`
	Elapsed   time.Duration    `expr:"elapsed"`
	Now       time.Time        `expr:"now"`
	Passed    string           `expr:"PASSED"`
	Failed    string           `expr:"FAILED"`
	Proposed  string           `expr:"PROPOSED"`
}

func exprOptions(b Block) []expr.Option {
	opts := []expr.Option{
		expr.Env(exprEnv{}),
		// now() reads the clock and date()/timezone() can load zone files:
		// policy code sees only Input.Now.
		expr.DisableBuiltin("now"),
		expr.DisableBuiltin("date"),
		expr.DisableBuiltin("timezone"),
	}
	if b == BlockFilter {
		opts = append(opts, expr.AsBool())
	}
	return opts
}

func compileExpr(b Block, src string) *compiled {
	if strings.TrimSpace(src) == "" {
		return &compiled{err: &EvalError{Type: "SyntaxError", Line: 1, Block: b, Detail: "empty expression"}}
	}
	prog, err := expr.Compile(src, exprOptions(b)...)
	if err != nil {
		return &compiled{err: exprError(b, "SyntaxError", err)}
	}
	if b == BlockCheck {
		switch t := prog.Node().Type(); {
		case t == nil, t.Kind() == reflect.Bool, t.Kind() == reflect.String, t.Kind() == reflect.Interface:
		default:
			return &compiled{err: &EvalError{Type: "TypeError", Line: 1, Block: b,
				Detail: fmt.Sprintf("check expression must return a bool or a status string, not %s", t)}}
		}
	}
	node := prog.Node()
	return &compiled{lang: domain.LangExpr, lines: strings.Count(src, "\n") + 1, expr: prog, volatile: exprVolatile(&node)}
}

// exprVolatile tells whether an expression reads what can change without an event on the
// proposal (see Output.Untimed): now or elapsed, or the action's initiator (a community
// member as the community knows them now). The action used whole, not through one of its
// fields, counts as reading the initiator.
func exprVolatile(node *ast.Node) bool {
	v := &volatileVisitor{}
	ast.Walk(node, v)
	return v.volatile || v.actions > v.actionFields
}

type volatileVisitor struct {
	volatile              bool
	actions, actionFields int
}

func (v *volatileVisitor) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		switch n.Value {
		case "now", "elapsed":
			v.volatile = true
		case "action":
			v.actions++
		}
	case *ast.MemberNode:
		id, ok := n.Node.(*ast.IdentifierNode)
		if !ok || id.Value != "action" {
			return
		}
		if p, ok := n.Property.(*ast.StringNode); ok && p.Value != "initiator" {
			v.actionFields++
		}
	}
}

// exprError reports an expr-lang error as "line L, column C: message"
// (columns 1-based).
func exprError(b Block, typ string, err error) *EvalError {
	var fe *file.Error
	if errors.As(err, &fe) {
		line := max(fe.Line, 1)
		return &EvalError{Type: typ, Line: line, Block: b,
			Detail: fmt.Sprintf("line %d, column %d: %s", line, fe.Column+1, fe.Message)}
	}
	return &EvalError{Type: typ, Line: 1, Block: b, Detail: "line 1, column 1: " + err.Error()}
}

func newExprEnv(in *Input) exprEnv {
	env := exprEnv{
		Variables: exprMap(in.Variables),
		Now:       in.Now,
		Passed:    domain.StatusPassed,
		Failed:    domain.StatusFailed,
		Proposed:  domain.StatusProposed,
	}
	a := make(map[string]any, len(in.Action.Fields)+8)
	for k, v := range in.Action.Fields {
		a[k] = exprValue(v)
	}
	a["type"], a["action_type"], a["kind"] = in.Action.Type, in.Action.Type, in.Action.Kind
	a["platform"], a["id"] = in.Action.Platform, in.Action.ID
	if _, ok := a["description"]; !ok {
		a["description"] = in.Action.Description
	}
	if u := in.Action.Initiator; u != nil {
		a["initiator"] = map[string]any{"username": u.Username, "readable_name": u.ReadableName,
			"is_community_admin": u.IsAdmin, "roles": u.Roles}
	} else {
		a["initiator"] = nil
	}
	env.Action = a
	p := in.Proposal
	env.Proposal = map[string]any{"id": p.ID, "status": p.Status, "proposal_time": p.ProposalTime,
		"vote_post_id": p.VotePostID, "vote_url": p.VoteURL, "is_vote_closed": p.IsVoteClosed, "data": exprMap(p.Data)}
	env.Policy = map[string]any{"id": in.Policy.ID, "name": in.Policy.Name, "description": in.Policy.Description,
		"kind": in.Policy.Kind, "action_types": in.Policy.ActionTypes}
	if !p.ProposalTime.IsZero() {
		env.Elapsed = in.Now.Sub(p.ProposalTime)
	}
	choices := map[string]int{}
	numbers := map[int]int{}
	for _, v := range p.Votes {
		env.Votes++
		switch v.Kind {
		case domain.VoteBoolean:
			if v.Boolean {
				env.Yes++
			} else {
				env.No++
			}
		case domain.VoteChoice:
			choices[v.Choice]++
		case domain.VoteNumber:
			numbers[v.Number]++
		}
	}
	env.Choice = func(c string) int { return choices[c] }
	env.Number = func(n int) int { return numbers[n] }
	return env
}

func evalExpr(in *Input, c *compiled) (out Output) {
	env := newExprEnv(in)
	res, err := expr.Run(c.expr, env)
	if err != nil {
		return Output{Err: exprError(in.Block, "Error", err)}
	}
	defer func() { out.Untimed = out.Err == nil && !c.volatile }()
	switch in.Block {
	case BlockFilter:
		b, _ := res.(bool)
		return Output{Filter: b}
	case BlockCheck:
		switch v := res.(type) {
		case nil:
			return Output{Status: domain.StatusProposed}
		case bool:
			if v {
				return Output{Status: domain.StatusPassed}
			}
			return Output{Status: domain.StatusProposed}
		case string:
			switch strings.ToUpper(v) {
			case domain.StatusPassed, domain.StatusFailed, domain.StatusProposed:
				return Output{Status: strings.ToUpper(v)}
			}
		}
		return Output{Err: &EvalError{Type: "TypeError", Line: 1, Block: in.Block,
			Detail: fmt.Sprintf("check expression must return a bool or PASSED/FAILED/PROPOSED, not %v", res)}}
	}
	return Output{}
}

// exprValue gives expr-lang the numbers it computes with: a json.Number (an
// exact JSON number from the log) becomes an int when it is one, else a
// float64.
func exprValue(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return int(i)
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		return exprMap(v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = exprValue(x)
		}
		return out
	}
	return v
}

func exprMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = exprValue(v)
	}
	return out
}
