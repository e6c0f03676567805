package main

import (
	"bufio"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/policykit-go/policykit/identity"
)

// newAccountCommand manages the accounts the GraphQL API authenticates: an operator creates
// one, links it to the community member it acts as, and issues API tokens for scripts.
func newAccountCommand(cfg *Config) *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Accounts of the GraphQL API: create, link to a member, issue API tokens"}
	create := &cobra.Command{
		Use:   "create USERNAME",
		Short: "Create an account; the password is read from standard input (one line)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && line == "" {
				return errors.New("give the password on standard input, e.g. `echo \"$PASSWORD\" | policykit account create alice`")
			}
			accounts, closeFn, err := openAccounts(cmd, cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			acc, err := accounts.Register(cmd.Context(), args[0], strings.TrimRight(line, "\r\n"))
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "account %s created for %s\n", acc.ID, acc.Username)
			return nil
		},
	}
	var account, community, user, name string
	link := &cobra.Command{
		Use:   "link",
		Short: "Let an account act as a member of a community (one member per community)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			accounts, closeFn, err := openAccounts(cmd, cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			if err := accounts.LinkMember(cmd.Context(), account, community, user); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "account %s acts as %s in community %s\n", account, user, community)
			return nil
		},
	}
	link.Flags().StringVar(&account, "account", "", "account id")
	link.Flags().StringVar(&community, "community", "", "community id")
	link.Flags().StringVar(&user, "user", "", "the member's user id in that community")
	token := &cobra.Command{
		Use:   "token",
		Short: "Issue an API token for an account (printed once; send it as Authorization: Bearer ...)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			accounts, closeFn, err := openAccounts(cmd, cfg)
			if err != nil {
				return err
			}
			defer closeFn()
			t, secret, err := accounts.CreateAPIToken(cmd.Context(), account, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "token %s (%s): %s\n", t.ID, t.Name, secret)
			return nil
		},
	}
	token.Flags().StringVar(&account, "account", "", "account id")
	token.Flags().StringVar(&name, "name", "cli", "a name to recognise the token by")
	for _, c := range []*cobra.Command{link, token} {
		_ = c.MarkFlagRequired("account")
	}
	_ = link.MarkFlagRequired("community")
	_ = link.MarkFlagRequired("user")
	cmd.AddCommand(create, link, token)
	return cmd
}

func openAccounts(cmd *cobra.Command, cfg *Config) (*identity.Store, func(), error) {
	pool, err := openDatabase(cmd.Context(), cfg, false)
	if err != nil {
		return nil, nil, err
	}
	return identity.New(pool, identity.Options{}), pool.Close, nil
}
