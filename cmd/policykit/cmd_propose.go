package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/policysandbox"
)

// The propose and vote commands talk to a running server through the database it serves:
// propose records the action in the log, where the server's engine picks it up and decides;
// vote records the vote and re-checks the proposal at once, deciding exactly as the engine
// would (optimistic concurrency keeps a decision single if the server decides meanwhile).

func newProposeCommand(cfg *Config) *cobra.Command {
	var community, by, typ, platform, fields, fieldsFile string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "propose",
		Short: "Propose an action as a member (a constitution action, or a platform action proposed from the web)",
		Example: `  policykit propose --community ID --by alice --type policykitaddrole --fields '{"name":"Gardener"}'
  policykit propose --community ID --by alice --type policykitaddcommunitydoc --fields '{"name":"Charter","text":"Be kind."}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			f, err := readFields(cmd.InOrStdin(), fields, fieldsFile)
			if err != nil {
				return err
			}
			store, closeFn, err := openStore(ctx, cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			c, user, err := loadMember(ctx, store, community, by)
			if err != nil {
				return err
			}
			info, ok := domain.LookupActionType(typ)
			if !ok {
				return domain.Invalid("unknown action type %q", typ)
			}
			if platform == "" {
				platform = info.Platform
			}
			a := domain.Action{ID: uuid.NewString(), CommunityID: c.ID, Kind: info.Kind, Type: typ, Platform: platform, InitiatorID: user.ID, Fields: f, ProposedAt: time.Now()}
			// The engine checks proposed policy code in the sandbox, as the server does.
			ev, closeEv, err := newEvaluator(ctx, cfg)
			if err != nil {
				return err
			}
			defer closeEv()
			e := engine.New(store, evaluation.New(ev, cfg.RecheckInterval), nil, nil)
			if err := e.ProposeAction(ctx, bus.ProposeAction{Action: a}, engine.NewMeta()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "action %s proposed: %s\n", a.ID, a.Describe())
			return waitForDecision(ctx, cmd, store, a.ID, wait)
		},
	}
	cmd.Flags().StringVar(&community, "community", "", "community id")
	cmd.Flags().StringVar(&by, "by", "", "the proposing member's username (or user id)")
	cmd.Flags().StringVar(&typ, "type", "", "action type (e.g. policykitaddrole, policykitaddcommunitydoc)")
	cmd.Flags().StringVar(&platform, "platform", "", "platform of the action (default: the action type's)")
	cmd.Flags().StringVar(&fields, "fields", "", "the action's fields as a JSON object")
	cmd.Flags().StringVar(&fieldsFile, "fields-file", "", "read the action's fields (a JSON object) from this file, - for standard input")
	cmd.MarkFlagsMutuallyExclusive("fields", "fields-file")
	cmd.Flags().DurationVar(&wait, "wait", 10*time.Second, "how long to wait for the running server's decision (0: don't wait)")
	for _, f := range []string{"community", "by", "type"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

// readFields decodes an action's fields from --fields or, for fields too large for a command
// line, from --fields-file (- is standard input). Neither gives no fields.
func readFields(stdin io.Reader, inline, path string) (map[string]any, error) {
	src, what := []byte(inline), "--fields"
	if path != "" {
		what = "--fields-file " + path
		r := stdin
		if path != "-" {
			fh, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("--fields-file: %w", err)
			}
			defer fh.Close()
			r = fh
		}
		b, err := io.ReadAll(io.LimitReader(r, domain.MaxActionFieldsBytes+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if len(b) > domain.MaxActionFieldsBytes {
			return nil, domain.Invalid("%s: fields are larger than %d bytes", what, domain.MaxActionFieldsBytes)
		}
		src = b
	}
	if len(bytes.TrimSpace(src)) == 0 {
		return nil, nil
	}
	var f map[string]any
	if err := domain.DecodeJSON(src, &f); err != nil {
		return nil, domain.Invalid("%s is not a JSON object: %v", what, err)
	}
	return f, nil
}

func newVoteCommand(cfg *Config) *cobra.Command {
	var community, by, proposal, value string
	cmd := &cobra.Command{
		Use:     "vote",
		Short:   "Vote on a proposal as a member: yes, no, a choice, or a number",
		Example: `  policykit vote --community ID --proposal PROPOSAL --by bob --value yes`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			store, closeFn, err := openStore(ctx, cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			c, user, err := loadMember(ctx, store, community, by)
			if err != nil {
				return err
			}
			v, err := domain.ParseVote(user.ID, value)
			if err != nil {
				return err
			}
			v.Username = user.Username
			ev, closeEval, err := newEvaluator(ctx, cfg)
			if err != nil {
				return err
			}
			defer closeEval()
			e := engine.New(store, evaluation.New(ev, cfg.RecheckInterval), nil, nil)
			if _, err := e.CastVote(ctx, bus.CastVote{CommunityID: c.ID, ProposalID: proposal, Vote: v}, engine.NewMeta()); err != nil {
				return err
			}
			p, err := engine.LoadProposal(ctx, store, proposal)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "vote recorded; proposal %s is %s (%d yes, %d no)\n", p.ID, p.Status, len(p.YesVotes()), len(p.NoVotes()))
			return nil
		},
	}
	cmd.Flags().StringVar(&community, "community", "", "community id")
	cmd.Flags().StringVar(&by, "by", "", "the voting member's username (or user id)")
	cmd.Flags().StringVar(&proposal, "proposal", "", "proposal id")
	cmd.Flags().StringVar(&value, "value", "", "yes, no, a choice, or a number")
	for _, f := range []string{"community", "by", "proposal", "value"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

// loadMember loads a community and finds a member by username or user id.
func loadMember(ctx context.Context, store eventstore.Store, communityID, name string) (*domain.Community, domain.User, error) {
	c, err := engine.LoadCommunity(ctx, store, communityID)
	if err != nil {
		return nil, domain.User{}, err
	}
	if u, ok := c.Users[name]; ok {
		return c, u, nil
	}
	for _, u := range c.Users {
		if u.Username == name {
			return c, u, nil
		}
	}
	return nil, domain.User{}, domain.NotFound("member %q of community %s", name, c.ID)
}

// waitForDecision reports what the running server decided about an action, if it does
// within wait.
func waitForDecision(ctx context.Context, cmd *cobra.Command, store eventstore.Store, actionID string, wait time.Duration) error {
	if wait <= 0 {
		return nil
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		rec, err := engine.LoadAction(ctx, store, actionID)
		if err != nil {
			return err
		}
		if rec.Status != domain.ActionStatusProposed || rec.GoverningProposalID != "" {
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "action %s: %s", actionID, rec.Status)
			if rec.GoverningProposalID != "" {
				p, err := engine.LoadProposal(ctx, store, rec.GoverningProposalID)
				if err == nil {
					fmt.Fprintf(out, "; proposal %s is %s (policy %q)", p.ID, p.Status, p.PolicyName)
				}
			}
			fmt.Fprintln(out)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	fmt.Fprintln(cmd.OutOrStdout(), "no decision yet (is `policykit serve` running?)")
	return nil
}

// newEvaluator starts the policy sandbox as the server does.
func newEvaluator(ctx context.Context, cfg *Config) (*policysandbox.Evaluator, func(), error) {
	ev, err := policysandbox.New(ctx, policysandbox.Options{
		Workers: cfg.SandboxWorkers, MemoryLimit: cfg.SandboxMemory, Deadline: cfg.SandboxDeadline,
		Command: cfg.sandboxCommand, Args: cfg.sandboxArgs,
	}, newLogger(cfg.LogLevel))
	if err != nil {
		return nil, nil, err
	}
	return ev, func() { ev.Close() }, nil
}
