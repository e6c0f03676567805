package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/policykit-go/policykit/eventstore"
)

// Subscribe delivers every event after position after to handle, in ReadAll order, in batches
// of at most the configured batch size: first the stored ones (catch-up), then new ones as
// they become final (live). Every event is delivered exactly once, with one exception: the
// batch whose handle call failed counts as not delivered.
//
// Live delivery waits on a connection of its own that LISTENs on NotifyChannel, taken from
// the pool (and hijacked, so the pool replaces it); when that connection is lost it is
// reopened with exponential backoff. Besides notifications, Subscribe reads the log every
// poll interval, and sooner while committed events are held back by an open transaction,
// because an event can become readable without a notification of its own (see the package
// documentation). Read errors are logged and retried with backoff.
//
// Subscribe returns ctx.Err() when ctx ends and handle's error, unwrapped, when handle fails.
// handle runs on the calling goroutine, one batch at a time, and gets ctx.
func (s *Store) Subscribe(ctx context.Context, after eventstore.Position, handle func(context.Context, []eventstore.RecordedEvent) error) error {
	// Listen before catching up, so nothing committed after the catch-up goes unnoticed.
	listenCtx, stopListening := context.WithCancel(ctx)
	wake := make(chan struct{}, 1)
	listening := make(chan struct{})
	go func() {
		defer close(listening)
		s.listen(listenCtx, wake)
	}()
	defer func() {
		stopListening()
		<-listening
	}()

	pos := after
	readDelay := time.Duration(0) // backoff after read errors
	heldDelay := time.Duration(0) // backoff while events are held back by open transactions
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, err := s.ReadAll(ctx, pos, s.batchSize)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			readDelay = backoff(readDelay, minRetryDelay, maxRetryDelay)
			s.logger.WarnContext(ctx, "eventstore: subscription read failed; retrying",
				"after", pos.String(), "error", err, "retry_in", readDelay)
			if err := sleep(ctx, timer, readDelay); err != nil {
				return err
			}
			continue
		}
		readDelay = 0
		if len(batch) > 0 {
			if err := handle(ctx, batch); err != nil {
				return err
			}
			pos = batch[len(batch)-1].Position
			heldDelay = 0
			if len(batch) == s.batchSize {
				continue // there may be more right away
			}
		}
		if s.afterDrain != nil {
			s.afterDrain(pos)
		}

		wait := s.pollInterval
		held, err := s.held(ctx, pos)
		switch {
		case err != nil:
			s.logger.DebugContext(ctx, "eventstore: subscription pending check failed", "error", err)
			heldDelay = 0
		case held:
			heldDelay = backoff(heldDelay, minHeldDelay, min(s.pollInterval, maxHeldDelay))
			wait = heldDelay
		default:
			heldDelay = 0
		}
		timer.Reset(wait) // since Go 1.23 Reset never leaves a stale fire behind
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-timer.C:
		}
	}
}

// HeldBack reports whether committed events after pos exist that ReadAll does not return
// yet, because a transaction that started before they committed is still open.
func (s *Store) HeldBack(ctx context.Context, pos eventstore.Position) (bool, error) {
	return s.held(ctx, pos)
}

// held reports whether committed events after pos exist that ReadAll does not return yet.
func (s *Store) held(ctx context.Context, pos eventstore.Position) (bool, error) {
	var held bool
	err := s.pool.QueryRow(ctx, pendingSQL, formatCommit(pos.Commit), pos.Seq).Scan(&held)
	return held, err
}

// listen signals wake, without blocking, whenever NotifyChannel is notified and whenever it
// (re)starts listening, until ctx ends.
func (s *Store) listen(ctx context.Context, wake chan<- struct{}) {
	delay := time.Duration(0)
	for {
		listened, err := s.listenOnce(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		if listened {
			delay = 0
		}
		delay = backoff(delay, 10*minRetryDelay, maxRetryDelay)
		s.logger.WarnContext(ctx, "eventstore: LISTEN connection lost; reconnecting",
			"error", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// listenOnce opens a connection, LISTENs and forwards notifications until the connection
// fails or ctx ends. listened tells whether LISTEN succeeded.
func (s *Store) listenOnce(ctx context.Context, wake chan<- struct{}) (listened bool, err error) {
	pc, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, err
	}
	conn := pc.Hijack()
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{NotifyChannel}.Sanitize()); err != nil {
		return false, err
	}
	signal(wake) // notifications may have been missed while not listening
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true, err
		}
		signal(wake)
	}
}

func signal(wake chan<- struct{}) {
	select {
	case wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// backoff doubles d within [lo, hi].
func backoff(d, lo, hi time.Duration) time.Duration {
	return min(max(2*d, lo), hi)
}

func sleep(ctx context.Context, t *time.Timer, d time.Duration) error {
	t.Reset(d)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
