package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/policy"
)

// addPolicyIOCommands adds import and export of PolicyKit's policy JSON to the policy command.
func addPolicyIOCommands(parent *cobra.Command, cfg *Config) {
	var community string
	imp := &cobra.Command{
		Use:   "import FILE...",
		Short: "Add policies from PolicyKit JSON files to a community (an operator action, recorded in its log)",
		Long: `Read each file in PolicyKit's downloadable policy form (name, description, kind, filter,
initialize, check, notify, success, fail, action_types, variables), or a JSON list of such
policies as "policy export" writes for a whole community, check that every block compiles,
and add the policies to the community. Nothing is added when any file is invalid; a
malformed file is reported with the line and column of the fault.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			// Policy files may come from anywhere: their code is compiled in the sandbox.
			ev, closeEv, err := newEvaluator(ctx, cfg)
			if err != nil {
				return err
			}
			defer closeEv()
			var specs []domain.PolicySpec
			var from []string // the file each spec came from, for messages
			for _, path := range args {
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				parsed, err := domain.ParsePolicyFiles(data)
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				for _, spec := range parsed {
					problems, err := ev.Compile(ctx, spec.Code)
					if err != nil {
						return fmt.Errorf("%s: policy %q: %w", path, spec.Name, err)
					}
					if len(problems) > 0 {
						return fmt.Errorf("%s: policy %q: %w", path, spec.Name, compileProblems(problems))
					}
					specs = append(specs, spec)
					from = append(from, path)
				}
			}
			store, closeFn, err := openStore(ctx, cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			ids := make([]string, len(specs))
			for i := range ids {
				ids[i] = uuid.NewString()
			}
			now := time.Now()
			_, err = engine.UpdateCommunity(ctx, store, community, engine.Meta{CausationID: uuid.New()}, func(c *domain.Community) ([]domain.Event, error) {
				if !c.Created() {
					return nil, domain.NotFound("community %q", community)
				}
				var all []domain.Event
				for i, spec := range specs {
					evs, err := c.DecideAddPolicy(domain.AddPolicyOf(ids[i], spec), now)
					if err != nil {
						return nil, fmt.Errorf("%s: policy %q: %w", from[i], spec.Name, err)
					}
					for _, e := range evs {
						c.Apply(e)
					}
					all = append(all, evs...)
				}
				return all, nil
			})
			if err != nil {
				return err
			}
			for i, spec := range specs {
				fmt.Fprintf(cmd.OutOrStdout(), "added %s policy %q as %s\n", spec.Kind, spec.Name, ids[i])
			}
			return nil
		},
	}
	imp.Flags().StringVar(&community, "community", "", "community id")
	_ = imp.MarkFlagRequired("community")

	var exportCommunity, policyID string
	exp := &cobra.Command{
		Use:   "export",
		Short: "Write a community's active policies (or one policy) as PolicyKit JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			store, closeFn, err := openStore(ctx, cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			c, err := engine.LoadCommunity(ctx, store, exportCommunity)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "    ")
			if policyID != "" {
				p, ok := c.Policies[policyID]
				if !ok {
					return domain.NotFound("policy %q in community %s", policyID, c.ID)
				}
				return enc.Encode(domain.PolicyFileOf(p.PolicySpec))
			}
			var files []domain.PolicyFile
			ids := make([]string, 0, len(c.Policies))
			for id, p := range c.Policies {
				if p.Active {
					ids = append(ids, id)
				}
			}
			sort.Strings(ids)
			for _, id := range ids {
				files = append(files, domain.PolicyFileOf(c.Policies[id].PolicySpec))
			}
			return enc.Encode(files)
		},
	}
	exp.Flags().StringVar(&exportCommunity, "community", "", "community id")
	exp.Flags().StringVar(&policyID, "policy", "", "one policy id (default: every active policy, as a JSON list)")
	_ = exp.MarkFlagRequired("community")
	parent.AddCommand(imp, exp)
}

// compileProblems is one error of a policy's compile problems, each with its block and line;
// a sandbox limit concerns the code as a whole.
func compileProblems(problems []*policy.EvalError) error {
	errs := make([]error, len(problems))
	for i, p := range problems {
		if p.Block == "" {
			errs[i] = fmt.Errorf("%s: %s", p.Type, p.Detail)
		} else {
			errs[i] = p
		}
	}
	return errors.Join(errs...)
}

// newPolicyCommandWithIO is the policy command with its import and export subcommands.
func newPolicyCommandWithIO(cfg *Config) *cobra.Command {
	cmd := newPolicyCommand(cfg)
	addPolicyIOCommands(cmd, cfg)
	return cmd
}
