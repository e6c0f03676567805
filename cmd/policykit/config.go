package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config is everything the binary needs to start. Defaults come first (DefaultConfig), then
// the environment, then flags; Validate reports every problem at once.
type Config struct {
	DatabaseURL     string        // POLICYKIT_DATABASE_URL
	HTTPAddr        string        // POLICYKIT_HTTP_ADDR
	LogLevel        string        // POLICYKIT_LOG_LEVEL: debug, info, warn, error
	ShutdownTimeout time.Duration // how long serve waits for in-flight work on SIGTERM
	ProjectionBatch int           // events per projection transaction
	AutoMigrate     bool          // serve applies migrations before starting
}

// DefaultConfig returns the configuration a newcomer gets with nothing set.
func DefaultConfig() Config {
	return Config{
		DatabaseURL:     "postgres://localhost:5432/policykit?sslmode=disable",
		HTTPAddr:        "127.0.0.1:8080",
		LogLevel:        "info",
		ShutdownTimeout: 10 * time.Second,
		ProjectionBatch: 500,
		AutoMigrate:     true,
	}
}

// FromEnv overlays the POLICYKIT_* environment variables that are set.
func (c Config) FromEnv(getenv func(string) string) Config {
	if v := getenv("POLICYKIT_DATABASE_URL"); v != "" {
		c.DatabaseURL = v
	}
	if v := getenv("POLICYKIT_HTTP_ADDR"); v != "" {
		c.HTTPAddr = v
	}
	if v := getenv("POLICYKIT_LOG_LEVEL"); v != "" {
		c.LogLevel = v
	}
	return c
}

// Validate checks every field and returns all problems joined, each naming its field.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		errs = append(errs, fmt.Errorf("database URL %q: want postgres://user@host:port/db", redact(c.DatabaseURL)))
	}
	if c.HTTPAddr == "" || !strings.Contains(c.HTTPAddr, ":") {
		errs = append(errs, fmt.Errorf("http addr %q: want host:port", c.HTTPAddr))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("log level: %w", err))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown timeout %s: must be positive", c.ShutdownTimeout))
	}
	if c.ProjectionBatch <= 0 || c.ProjectionBatch > 10000 {
		errs = append(errs, fmt.Errorf("projection batch %d: must be 1..10000", c.ProjectionBatch))
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%q is not one of debug, info, warn, error", s)
	}
	return l, nil
}

func newLogger(level string) *slog.Logger {
	l, err := parseLevel(level)
	if err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// redact hides a password in a database URL before it is printed.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
