package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
)

func exprInput(filter, check string) Input {
	return Input{
		Code: domain.PolicyCode{Filter: filter, FilterLang: domain.LangExpr, Check: check, CheckLang: domain.LangExpr},
		Now:  testNow,
		Action: ActionInfo{ID: "a1", Type: "slackpostmessage", Kind: "platform", Platform: "slack",
			Fields: map[string]any{"channel": "C1", "text": "hello world", "amount": 12.5}, Initiator: &alice},
		Proposal: ProposalInfo{ID: "p1", Status: "proposed", ProposalTime: testNow.Add(-80 * time.Hour),
			Votes: []VoteInfo{yes(alice), yes(bob), no(carol), choice(user("d"), "consent"), choice(user("e"), "consent")},
			Data:  map[string]any{"round": 2.0}},
		Variables: map[string]any{"quorum": 2.0},
		Policy:    PolicyInfo{Name: "P"},
	}
}

func TestExprFilter(t *testing.T) {
	r := mustRuntime(t, Options{})
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{`action.channel == "C1"`, true},
		{`action.channel == "C2"`, false},
		{`action.type == "slackpostmessage" && action.initiator.username == "alice"`, true},
		{`"Moderator" in action.initiator.roles`, true},
		{`action.text startsWith "hello"`, true},
		{`action.amount > 10`, true},
		{`action.platform == "slack" and policy.name == "P"`, true},
		{`now.Year() == 2024`, true},
	} {
		t.Run(tc.src, func(t *testing.T) {
			out := mustEval(t, r, exprInput(tc.src, "true"), BlockFilter)
			if out.Filter != tc.want {
				t.Fatalf("got %v, want %v", out.Filter, tc.want)
			}
		})
	}
}

func TestExprCheck(t *testing.T) {
	r := mustRuntime(t, Options{})
	for _, tc := range []struct {
		src, want string
	}{
		{`yes >= 2`, domain.StatusPassed},
		{`yes >= 3`, domain.StatusProposed},
		{`no > 0 ? FAILED : PROPOSED`, domain.StatusFailed},
		{`elapsed > duration("72h") ? (yes > no ? PASSED : FAILED) : PROPOSED`, domain.StatusPassed},
		{`elapsed < duration("72h")`, domain.StatusProposed},
		{`choice("consent") >= 2`, domain.StatusPassed},
		{`votes == 5 && yes >= variables.quorum`, domain.StatusPassed},
		{`proposal.data.round == 2 ? "passed" : "proposed"`, domain.StatusPassed},
		{`nil`, domain.StatusProposed},
	} {
		t.Run(tc.src, func(t *testing.T) {
			out := mustEval(t, r, exprInput("true", tc.src), BlockCheck)
			assertStatus(t, out, tc.want)
		})
	}
}

func TestExprErrors(t *testing.T) {
	r := mustRuntime(t, Options{})
	for _, tc := range []struct {
		name, filter, check, typ, detail string
		block                            Block
	}{
		{"syntax", "true", "yes >= ", "SyntaxError", "line 1, column 7: unexpected token EOF", BlockCheck},
		{"unknown name", "unknown_thing == 1", "true", "SyntaxError", "line 1, column 1: unknown name unknown_thing", BlockFilter},
		{"filter must be bool", "1 + 2", "true", "SyntaxError", "line 1, column 1: expected bool, but got int", BlockFilter},
		{"check type", "true", "yes + 1", "TypeError", "check expression must return a bool or a status string", BlockCheck},
		{"no clock", "now() == now", "true", "SyntaxError", "line 1, column 1:", BlockFilter},
		{"bad status", "true", `"maybe"`, "TypeError", "check expression must return", BlockCheck},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := exprInput(tc.filter, tc.check)
			out := eval(t, r, in, tc.block)
			if out.Err == nil || out.Err.Type != tc.typ || !strings.HasPrefix(out.Err.Detail, tc.detail) || out.Err.Line != 1 {
				t.Fatalf("got %#v, want %s with detail %q", out.Err, tc.typ, tc.detail)
			}
			if tc.typ == "SyntaxError" {
				if errs := r.Validate(in.Code); len(errs) != 1 {
					t.Fatalf("Validate: %v", errs)
				}
			}
		})
	}
}
