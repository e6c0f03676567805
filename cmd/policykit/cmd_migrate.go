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
			if err := cfg.Validate(); err != nil {
				return fmt.Errorf("configuration: %w", err)
			}
			pool, err := openPool(cmd.Context(), cfg.DatabaseURL, true)
			if err != nil {
				return err
			}
			defer pool.Close()
			if err := migrateAll(cmd.Context(), pool); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "database is up to date:", redact(cfg.DatabaseURL))
			return nil
		},
	}
}
