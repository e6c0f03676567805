package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newMigrateCommand(cfg *Config) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create the database if needed and apply every schema migration",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pool, err := openDatabase(cmd.Context(), cfg, true)
			if err != nil {
				return err
			}
			pool.Close()
			fmt.Fprintln(cmd.OutOrStdout(), "database is up to date:", redact(cfg.DatabaseURL))
			return nil
		},
	}
}
