package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/starterkits"
)

func newCommunityCommand(cfg *Config) *cobra.Command {
	cmd := &cobra.Command{Use: "community", Short: "Create and inspect communities"}
	var name, platform, externalID, kitName, admin, adminName, id string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a community with a starter kit (and its first, admin member)",
		Example: `  policykit community create --name "Garden club" --kit testing --admin alice
  policykit community create --name Acme --platform slack --external-id T0123ABCD --kit moderators --admin U0123ADMIN`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			kit, err := starterkits.Load(kitName)
			if err != nil {
				return err
			}
			store, closeFn, err := openStore(ctx, cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			creator := domain.RegisterUser{Username: admin, ReadableName: adminName, IsAdmin: true}
			c, err := engine.NewCommunity(ctx, store, domain.CreateCommunity{CommunityID: id, Name: name, Platform: platform, ExternalID: externalID}, kit, creator, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "community %s (%q) created on %s with the %s starter kit\n", c.ID, c.Name, platform, kit.Name)
			return nil
		},
	}
	create.Flags().StringVar(&id, "id", "", "community id (default: a new UUID)")
	create.Flags().StringVar(&name, "name", "", "community name")
	create.Flags().StringVar(&platform, "platform", domain.PlatformWeb, "initial platform ("+strings.Join(domain.KnownPlatforms(), ", ")+")")
	create.Flags().StringVar(&externalID, "external-id", "", "the community's id on its platform (a Slack team id, a Discord guild id)")
	create.Flags().StringVar(&kitName, "kit", "testing", "starter kit ("+strings.Join(starterkits.Names(), ", ")+")")
	create.Flags().StringVar(&admin, "admin", "", "username of the first member, an admin who gets the kit's creator roles")
	create.Flags().StringVar(&adminName, "admin-name", "", "readable name of the first member")
	_ = create.MarkFlagRequired("name")

	show := &cobra.Command{
		Use:   "show COMMUNITY",
		Short: "Print a community's current state (platforms, members, roles, policies) as JSON, folded from its events",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			store, closeFn, err := openStore(ctx, cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			c, err := engine.LoadCommunity(ctx, store, args[0])
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(map[string]any{
				"id": c.ID, "name": c.Name, "created_at": c.CreatedAt, "version": c.Version,
				"platforms": c.Platforms, "users": c.Users, "roles": c.Roles, "documents": c.Docs, "policies": c.Policies,
			})
		},
	}
	cmd.AddCommand(create, show)
	return cmd
}

func newKitCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "kit", Short: "Starter kits: the governance a community starts with"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the starter kits",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tROLES\tPOLICIES\tDESCRIPTION")
			for _, n := range starterkits.Names() {
				k, err := starterkits.Load(n)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%s\t%d\t%d\t%s\n", n, len(k.Roles), k.PolicyCount(), k.Description)
			}
			return w.Flush()
		},
	})
	return cmd
}
