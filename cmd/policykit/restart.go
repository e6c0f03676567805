package main

import (
	"context"
	"log/slog"
	"time"
)

// Backoff of a component restarting after a failure: the first wait, the longest, and how
// long a run must last for the next failure to start again from the first wait.
const (
	restartFirstWait = 100 * time.Millisecond
	restartMaxWait   = 30 * time.Second
	restartHealthy   = time.Minute
)

// keepRunning runs fn until ctx ends, starting it again, with exponential backoff, each time
// it returns: a component (the projections, the engine) outlives an outage of the database or
// the broker of any length instead of leaving the process half alive. Each failure is logged
// as an error, so that an operator sees a component that keeps failing.
func keepRunning(ctx context.Context, log *slog.Logger, name string, fn func(context.Context) error) {
	wait := restartFirstWait
	for {
		started := time.Now()
		err := fn(ctx)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > restartHealthy {
			wait = restartFirstWait
		}
		log.Error(name+" stopped; starting it again", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(wait*2, restartMaxWait)
	}
}
