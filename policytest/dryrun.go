package policytest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/policykit-go/policykit/domain"
)

// ParseOn is Parse for a scenario that plays on a community set up elsewhere (a real
// community, for a dry run of a draft policy): when the scenario has no `community` key,
// community is its set-up, and policies are added before the scenario's own.
func ParseOn(path string, data []byte, community CommunitySpec, policies []PolicySpec) (*File, error) {
	p := &parser{path: path, dir: filepath.Dir(path), base: &community}
	f := p.file(data)
	if len(p.problems) == 0 {
		f.Policies = append(append([]PolicySpec(nil), policies...), f.Policies...)
		p.validateSetup(f)
	}
	if len(p.problems) > 0 {
		return nil, &MalformedError{Path: path, Problems: p.report()}
	}
	return f, nil
}

// StepResult is what one step of a case did (see File.RunSteps).
type StepResult struct {
	Line int
	Kind string
	// Description says what the step did, in a line.
	Description string
	// At is the virtual time after the step.
	At time.Time
	// Status is the status of the proposal of the last action proposed after the step (its
	// governing proposal, or its only one); "" when there is none.
	Status string
	// Passed is false when the step failed (an error it did not want) or, for an expect
	// step, when an expectation failed; Error says why.
	Passed bool
	Error  string
	// Events are the events the step appended, one line each; Logs the log lines
	// ("level: message") and errors ("error: ...") of the block runs among them.
	Events []string
	Logs   []string
}

// RunSteps runs the file's first case step by step, reporting each step, and stops at the
// first step that fails. It returns an error only when the case cannot start (the set-up)
// or ctx ends.
func (f *File) RunSteps(ctx context.Context, opts Options) ([]StepResult, error) {
	if opts.Evaluator == nil {
		return nil, ErrNoEvaluator
	}
	if len(f.Cases) == 0 {
		return nil, errors.New("policytest: the scenario has no case")
	}
	c := f.Cases[0]
	w, err := newWorld(f, c, opts, nil)
	if err != nil {
		return nil, fmt.Errorf("set-up: %w", err)
	}
	w.ctx = ctx
	var out []StepResult
	for i := range c.Steps {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		st := &c.Steps[i]
		from := len(w.log)
		err := w.run(st)
		res := StepResult{Line: st.Line, Kind: st.Kind, Description: describeStep(st), At: w.now, Passed: true}
		var ee *expectError
		switch {
		case errors.As(err, &ee):
			res.Passed, res.Error = false, "expectation failed:\n"+strings.Join(ee.problems, "\n")
		case st.WantErr != "" && err == nil:
			res.Passed, res.Error = false, fmt.Sprintf("want an error containing %q, got none", st.WantErr)
		case st.WantErr != "" && !strings.Contains(err.Error(), st.WantErr):
			res.Passed, res.Error = false, fmt.Sprintf("want an error containing %q, got: %v", st.WantErr, err)
		case st.WantErr != "":
			res.Error = err.Error() // failed as wanted
		case err != nil:
			res.Passed, res.Error = false, err.Error()
		}
		if _, p, perr := w.pick(Ref{}); perr == nil && p != nil {
			res.Status = p.Status
		}
		res.Events, res.Logs = []string{}, []string{}
		for _, en := range w.log[from:] {
			res.Events = append(res.Events, w.describeEntry(en))
			if ev, ok := en.event.(domain.ProposalEvaluated); ok {
				for _, l := range ev.Logs {
					res.Logs = append(res.Logs, l.Level+": "+l.Message)
				}
				if ev.Error != "" {
					res.Logs = append(res.Logs, "error: "+ev.Error)
				}
			}
		}
		out = append(out, res)
		if !res.Passed {
			break
		}
	}
	return out, nil
}

// describeStep is a step in a line: "action a1 (slackpostmessage) by alice", "advance 1h".
func describeStep(st *Step) string {
	ref := func(r Ref) string {
		s := ""
		if r.Action != "" {
			s += " on " + r.Action
		}
		if r.Policy != "" {
			s += " (policy " + r.Policy + ")"
		}
		return s
	}
	switch st.Kind {
	case StepAction:
		a := st.Action
		s := "action"
		if a.ID != "" {
			s += " " + a.ID
		}
		s += " (" + a.Type + ")"
		if a.Initiator != "" {
			s += " by " + a.Initiator
		}
		return s
	case StepVote:
		v := st.Vote
		val := ""
		switch v.Kind {
		case domain.VoteBoolean:
			val = map[bool]string{true: "yes", false: "no"}[v.Boolean]
		case domain.VoteChoice:
			val = v.Choice
		case domain.VoteNumber:
			val = fmt.Sprint(v.Number)
		}
		return fmt.Sprintf("vote %s by %s%s", val, v.User, ref(v.Ref))
	case StepAnswer, StepEffectResult:
		return fmt.Sprintf("%s %s%s", st.Kind, st.Result.Method, ref(st.Result.Ref))
	case StepCloseVote:
		return "close_vote" + ref(*st.Close)
	case StepAdvance:
		return "advance " + formatDuration(st.Advance)
	case StepExpect:
		return "expect" + ref(st.Expect.Ref)
	}
	return st.Kind
}
