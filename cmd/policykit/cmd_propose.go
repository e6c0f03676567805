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
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/policysandbox"
)

// The propose and vote commands talk to a running server through the database it serves:
// they record the action or the vote in the log with the recorder every entry point uses,
// and report what the server's engine decides when the recorded event reaches it. They run
// no engine and no policy code of their own (the sandbox starts only to check the code of a
// proposed policy, as the server's recorder does).

func newProposeCommand(cfg *Config) *cobra.Command {
	var community, by, typ, platform, fields, fieldsFile string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "propose",
		Short: "Propose an action as a member (a constitution action, or a platform action proposed from the web)",
		Example: `  policykit propose --community ID --by alice --type policykitaddrole --fields '{"name":"Gardener"}'
  policykit propose --community ID --by alice --type policykitaddcommunitydoc --fields '{"name":"Charter","text":"Be kind."}'
  POLICYKIT_SECRET_KEY=... policykit propose --community ID --by alice --type policykitaddintegration \
    --fields '{"platform":"opencollective","external_id":"coop","settings":{"collective":"coop"},"secrets":{"webhook_secret":"..."}}'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			f, err := readFields(cmd.InOrStdin(), fields, fieldsFile)
			if err != nil {
				return err
			}
			pool, err := openDatabase(ctx, cfg, false)
			if err != nil {
				return err
			}
			defer pool.Close()
			store, closeStore, err := newEventStore(ctx, cfg, pool, nil)
			if err != nil {
				return err
			}
			defer closeStore()
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
			// A connection's secrets are given in the clear and sealed here, with the server's
			// key, before anything is recorded: the log only ever holds their ciphertext.
			box, err := cfg.secretBox()
			if err != nil {
				return fmt.Errorf("POLICYKIT_SECRET_KEY: %w", err)
			}
			if a, err = box.SealConnection(a); err != nil {
				return err
			}
			compiler := &sandboxCompiler{cfg: cfg}
			defer compiler.close()
			rec, err := (&engine.Recorder{Store: store, Compiler: compiler}).ProposeAction(ctx, bus.ProposeAction{Action: a}, engine.NewMeta())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "action %s proposed: %s\n", a.ID, a.Describe())
			if wait <= 0 {
				return nil
			}
			return reportAction(ctx, cmd, store, engine.PostgresDecided{Pool: pool}, rec, a.ID, wait)
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
	var wait time.Duration
	cmd := &cobra.Command{
		Use:     "vote",
		Short:   "Vote on a proposal as a member: yes, no, a choice, or a number",
		Example: `  policykit vote --community ID --proposal PROPOSAL --by bob --value yes`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			pool, err := openDatabase(ctx, cfg, false)
			if err != nil {
				return err
			}
			defer pool.Close()
			store, closeStore, err := newEventStore(ctx, cfg, pool, nil)
			if err != nil {
				return err
			}
			defer closeStore()
			c, user, err := loadMember(ctx, store, community, by)
			if err != nil {
				return err
			}
			v, err := domain.ParseVote(user.ID, value)
			if err != nil {
				return err
			}
			v.Username = user.Username
			rec, err := (&engine.Recorder{Store: store}).CastVote(ctx, bus.CastVote{CommunityID: c.ID, ProposalID: proposal, Vote: v}, engine.NewMeta())
			if err != nil {
				return err
			}
			decided, err := awaitDecided(ctx, engine.PostgresDecided{Pool: pool}, rec, wait)
			if err != nil {
				return err
			}
			p, err := engine.LoadProposal(ctx, store, proposal)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "vote recorded; proposal %s is %s (%d yes, %d no)\n", p.ID, p.Status, len(p.YesVotes()), len(p.NoVotes()))
			if !decided {
				fmt.Fprintln(cmd.OutOrStdout(), "the engine has not checked the proposal yet (is `policykit serve` running?)")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&community, "community", "", "community id")
	cmd.Flags().StringVar(&by, "by", "", "the voting member's username (or user id)")
	cmd.Flags().StringVar(&proposal, "proposal", "", "proposal id")
	cmd.Flags().StringVar(&value, "value", "", "yes, no, a choice, or a number")
	cmd.Flags().DurationVar(&wait, "wait", 10*time.Second, "how long to wait for the running server's check of the proposal (0: don't wait)")
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

// awaitDecided waits up to wait for the running engine to decide on what rec recorded, and
// tells whether it did.
func awaitDecided(ctx context.Context, decided engine.Decided, rec engine.Recorded, wait time.Duration) (bool, error) {
	if !rec.Changed {
		return true, nil // recorded before: decided on then
	}
	if wait <= 0 {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		v, err := decided.DecidedThrough(ctx, rec.Stream)
		if ctx.Err() != nil {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if v >= rec.Version {
			return true, nil
		}
		select {
		case <-ctx.Done():
			return false, nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// reportAction reports what the running server decided about an action, if it does within
// wait.
func reportAction(ctx context.Context, cmd *cobra.Command, store eventstore.Store, decided engine.Decided, rec engine.Recorded, actionID string, wait time.Duration) error {
	ok, err := awaitDecided(ctx, decided, rec, wait)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if !ok {
		fmt.Fprintln(out, "no decision yet (is `policykit serve` running?)")
		return nil
	}
	a, err := engine.LoadAction(ctx, store, actionID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "action %s: %s", actionID, a.Status)
	if a.GoverningProposalID != "" {
		p, err := engine.LoadProposal(ctx, store, a.GoverningProposalID)
		if err == nil {
			fmt.Fprintf(out, "; proposal %s is %s (policy %q)", p.ID, p.Status, p.PolicyName)
		}
	}
	fmt.Fprintln(out)
	return nil
}

// sandboxCompiler checks proposed policy code in the policy sandbox, as the server's
// recorder does, starting the sandbox only when there is code to check.
type sandboxCompiler struct {
	cfg *Config
	ev  *policysandbox.Evaluator
}

func (c *sandboxCompiler) Compile(ctx context.Context, code domain.PolicyCode) ([]*policy.EvalError, error) {
	if c.ev == nil {
		ev, err := policysandbox.New(ctx, policysandbox.Options{
			Workers: 1, MemoryLimit: c.cfg.SandboxMemory, Deadline: c.cfg.SandboxDeadline,
			Command: c.cfg.sandboxCommand, Args: c.cfg.sandboxArgs,
		}, newLogger(c.cfg.LogLevel))
		if err != nil {
			return nil, err
		}
		c.ev = ev
	}
	return c.ev.Compile(ctx, code)
}

func (c *sandboxCompiler) close() {
	if c.ev != nil {
		_ = c.ev.Close()
	}
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
