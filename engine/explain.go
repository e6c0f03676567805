package engine

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

// Explain writes the decision trace of a proposal: how it was opened, each evaluation with
// the votes counted at that moment and the status returned, the data it kept, the effects it
// asked for and what the platforms answered, and how it ended.
func Explain(ctx context.Context, store eventstore.Store, proposalID string, w io.Writer) error {
	evs, err := ReadStream(ctx, store, domain.ProposalStream(proposalID))
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		return domain.NotFound("proposal %q", proposalID)
	}
	p := &domain.Proposal{}
	var start time.Time
	pf := func(at time.Time, format string, args ...any) {
		fmt.Fprintf(w, "%10s  %s\n", "+"+at.Sub(start).Round(time.Second).String(), fmt.Sprintf(format, args...))
	}
	for _, ev := range evs {
		e, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
		if err != nil {
			return err
		}
		p.Apply(e)
		switch e := e.(type) {
		case domain.ProposalOpened:
			start = e.At
			fmt.Fprintf(w, "proposal %s\n", e.ProposalID)
			fmt.Fprintf(w, "  action:  %s (%s, %s on %s)\n", e.Action.Describe(), e.Action.ID, e.Action.Type, e.Action.Platform)
			if e.Action.InitiatorID != "" {
				fmt.Fprintf(w, "  by:      %s\n", e.Action.InitiatorID)
			}
			fmt.Fprintf(w, "  policy:  %q (%s, version %d, %s)\n", e.PolicyName, e.PolicyKind, e.PolicyVersion, short(e.PolicyHash))
			fmt.Fprintf(w, "  opened:  %s\n\n", e.At.UTC().Format(time.RFC3339))
		case domain.ProposalVariablesInitialized:
			pf(e.At, "variables %s", kv(e.Variables))
		case domain.ProposalEvaluated:
			line := e.Block
			if e.Result != "" {
				line += " -> " + e.Result
			}
			if e.Block == domain.BlockCheck {
				line += fmt.Sprintf("   (votes: %d yes, %d no, %d in all)", len(p.YesVotes()), len(p.NoVotes()), len(p.CurrentVotes()))
			}
			if e.Error != "" {
				line += "   ERROR " + e.Error
			}
			pf(e.At, "%s", line)
			for _, l := range e.Logs {
				pf(e.At, "    %s: %s", l.Level, l.Message)
			}
		case domain.ProposalDataChanged:
			for _, op := range e.Ops {
				pf(e.At, "data %s %s %v", op.Op, op.Key, op.Value)
			}
		case domain.VoteCast:
			pf(e.At, "vote by %s: %s", nonEmpty(e.Vote.Username, e.Vote.UserID), voteValue(e.Vote))
		case domain.VotePostRecorded:
			pf(e.At, "vote posted: %s %s", e.PostID, e.URL)
		case domain.ProposalNotified:
			pf(e.At, "notified")
		case domain.EffectRequested:
			pf(e.At, "asks %s.%s (%s) %s  [effect %s]", e.Platform, e.Method, e.Purpose, kv(e.Args), short(e.EffectID))
		case domain.EffectCompleted:
			pf(e.At, "effect %s done %s", short(e.EffectID), kv(e.Result))
		case domain.EffectFailed:
			pf(e.At, "effect %s FAILED: %s", short(e.EffectID), e.Error)
		case domain.AnswerRecorded:
			pf(e.At, "answer recorded %s = %v", short(e.Key), e.Value)
		case domain.ProposalPassed:
			pf(e.At, "PASSED %s", e.Reason)
		case domain.ProposalFailed:
			pf(e.At, "FAILED %s", e.Reason)
		}
	}
	fmt.Fprintf(w, "\nstatus: %s after %d evaluations; %d votes (%d yes, %d no); %d effects\n",
		p.Status, p.Evaluations, len(p.CurrentVotes()), len(p.YesVotes()), len(p.NoVotes()), len(p.Effects))
	return nil
}

func short(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

func nonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func voteValue(v domain.Vote) string {
	switch v.Kind {
	case domain.VoteBoolean:
		if v.Boolean {
			return "yes"
		}
		return "no"
	case domain.VoteNumber:
		return fmt.Sprint(v.Number)
	}
	return v.Choice
}

func kv(m map[string]any) string {
	if len(m) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
