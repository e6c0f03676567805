package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Decided keeps, for each action and proposal stream, the version of the last recorded event
// (ActionProposed, VoteCast, AnswerRecorded) that the engine has decided on: its decision is
// in the log by then. A decision that changes nothing appends nothing, so whoever recorded
// a command (the GraphQL API, the CLI) learns from this, and not from the log, that the
// engine has dealt with it.
type Decided interface {
	// MarkDecided notes that the events of stream up to version are decided; it never
	// lowers what is noted.
	MarkDecided(ctx context.Context, stream string, version int64) error
	// DecidedThrough is the version noted for stream (0 when none).
	DecidedThrough(ctx context.Context, stream string) (int64, error)
}

// PostgresDecided keeps Decided in the engine's table, shared by every process on the
// database.
type PostgresDecided struct{ Pool *pgxpool.Pool }

// MarkDecided does not wait for the note to reach the disk: a note lost in a crash of the
// database only makes a waiter wait in vain, and every decision would otherwise cost a
// second flush of the write-ahead log.
func (p PostgresDecided) MarkDecided(ctx context.Context, stream string, version int64) error {
	err := pgx.BeginFunc(ctx, p.Pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`SET LOCAL synchronous_commit TO OFF`)
		b.Queue(`INSERT INTO engine_decided (stream, version) VALUES ($1, $2)
		ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version, updated_at = now()
		WHERE engine_decided.version < EXCLUDED.version`, stream, version)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("mark %s decided: %w", stream, err)
	}
	return nil
}

func (p PostgresDecided) DecidedThrough(ctx context.Context, stream string) (int64, error) {
	var v int64
	err := p.Pool.QueryRow(ctx, `SELECT version FROM engine_decided WHERE stream = $1`, stream).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read how far %s is decided: %w", stream, err)
	}
	return v, nil
}

// MemoryDecided keeps Decided in memory, for an engine and its API in one process.
type MemoryDecided struct {
	mu sync.Mutex
	m  map[string]int64
}

func (d *MemoryDecided) MarkDecided(_ context.Context, stream string, version int64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]int64{}
	}
	d.m[stream] = max(d.m[stream], version)
	return nil
}

func (d *MemoryDecided) DecidedThrough(_ context.Context, stream string) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[stream], nil
}

// maxRecent bounds what remember keeps: it forgets everything when full (what it forgot is
// asked of the shared Decided).
const maxRecent = 10000

// remember is MarkDecided for a bounded cache.
func (d *MemoryDecided) remember(stream string, version int64) {
	d.mu.Lock()
	if len(d.m) >= maxRecent {
		clear(d.m)
	}
	d.mu.Unlock()
	_ = d.MarkDecided(context.Background(), stream, version)
}

// decidedMany is a Decided that notes many streams in one write.
type decidedMany interface {
	MarkDecidedMany(ctx context.Context, notes map[string]int64) error
}

// MarkDecidedMany notes several streams in one statement (see MarkDecided).
func (p PostgresDecided) MarkDecidedMany(ctx context.Context, notes map[string]int64) error {
	streams := make([]string, 0, len(notes))
	versions := make([]int64, 0, len(notes))
	for s, v := range notes {
		streams = append(streams, s)
		versions = append(versions, v)
	}
	err := pgx.BeginFunc(ctx, p.Pool, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`SET LOCAL synchronous_commit TO OFF`)
		b.Queue(`INSERT INTO engine_decided (stream, version) SELECT * FROM unnest($1::text[], $2::bigint[])
		ON CONFLICT (stream) DO UPDATE SET version = EXCLUDED.version, updated_at = now()
		WHERE engine_decided.version < EXCLUDED.version`, streams, versions)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("mark %d streams decided: %w", len(notes), err)
	}
	return nil
}

// decidedNotes writes the engine's notes of decisions in the background, those made while a
// write is under way together in the next one: a note is for whoever waits on a decision
// the engine has made already, and a decision must not wait for its note.
type decidedNotes struct {
	to  Decided
	log *slog.Logger

	mu      sync.Mutex
	pending map[string]int64
	busy    bool
	wg      sync.WaitGroup
}

// mark queues a note and returns at once.
func (n *decidedNotes) mark(ctx context.Context, stream string, version int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pending == nil {
		n.pending = map[string]int64{}
	}
	n.pending[stream] = max(n.pending[stream], version)
	if n.busy {
		return
	}
	n.busy = true
	n.wg.Add(1)
	go n.flush(context.WithoutCancel(ctx))
}

func (n *decidedNotes) flush(ctx context.Context) {
	defer n.wg.Done()
	for {
		n.mu.Lock()
		notes := n.pending
		n.pending = nil
		if len(notes) == 0 {
			n.busy = false
			n.mu.Unlock()
			return
		}
		n.mu.Unlock()
		if err := n.write(ctx, notes); err != nil {
			n.log.Warn("note decisions", "streams", len(notes), "err", err)
		}
	}
}

func (n *decidedNotes) write(ctx context.Context, notes map[string]int64) error {
	if many, ok := n.to.(decidedMany); ok && len(notes) > 1 {
		return many.MarkDecidedMany(ctx, notes)
	}
	for s, v := range notes {
		if err := n.to.MarkDecided(ctx, s, v); err != nil {
			return err
		}
	}
	return nil
}

// wait blocks until the queued notes are written.
func (n *decidedNotes) wait() { n.wg.Wait() }
