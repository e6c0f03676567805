package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Queue collects a projector's writes for one batch. Projectors only write: the statements
// are pipelined and run in the batch's transaction after every projector has seen the
// batch, so a projector cannot read its tables between two events (SQL can: a statement
// sees the writes of the statements queued before it). Write SQL that is correct when
// replayed in order: upserts, updates keyed by id, counters moved by increments computed in
// SQL.
//
// A projector's writes run in the order it queues them, except that rows of set-based
// statements (Row) with different keys may be reordered among themselves. Writes of
// different projectors never depend on each other (each owns its tables).
type Queue interface {
	// Queue adds one statement. It runs after every write the projector queued before it and
	// before every write it queues after it.
	Queue(sql string, args ...any)
	// Row adds one row to a set-based statement. Rows with the same key run in the order they
	// were queued; rows with different keys may run in one execution of s, or in any order.
	// Key "" orders the row with nothing (use it for plain inserts of unique rows). len(values)
	// must be s.Columns.
	Row(s *Statement, key string, values ...any)
	// Copy adds one row to an append-only table, written with COPY (the cheapest way to load
	// rows) after the batch's statements, in the same transaction. Use it only for rows that
	// nothing else of the projector reads or changes in the batch. There is no conflict
	// handling: a row whose key exists fails the batch, which can only mean that an event was
	// applied twice. len(values) must be len(t.Columns).
	Copy(t *CopyTarget, values ...any)
}

// CopyTarget is an append-only table and the columns that Queue.Copy rows fill.
type CopyTarget struct {
	Table   string
	Columns []string
}

// Statement is SQL that writes many rows in one execution: its parameters are arrays, $1
// holding every row's first value, $2 every row's second, and so on (typically read with
// unnest($1::text[], $2::timestamptz[], ...)). Executed with any set of rows whose keys
// differ, it must have the effect of executing it once per row, in any order.
//
// The runner groups rows into rounds: a row goes into round n when n rows with its key were
// queued before it in the batch (after the projector's last Queue). Each round executes each
// of its statements once, in the order of their first row, and rounds run in order. So a
// batch costs one execution per statement and round, instead of one per event.
type Statement struct {
	SQL     string
	Columns int
}

// projectorQueue is the Queue of one projector for one batch.
type projectorQueue struct {
	items  []queued
	copies map[*CopyTarget][][]any
	order  []*CopyTarget // of copies, by first row
	err    error
}

// queued is a plain statement (s == nil) or a row of s.
type queued struct {
	s    *Statement
	key  string
	sql  string
	args []any
}

func (q *projectorQueue) Queue(sql string, args ...any) {
	q.items = append(q.items, queued{sql: sql, args: args})
}

func (q *projectorQueue) Row(s *Statement, key string, values ...any) {
	if len(values) != s.Columns && q.err == nil {
		q.err = fmt.Errorf("row of %d values for a statement of %d columns: %.60s", len(values), s.Columns, s.SQL)
	}
	q.items = append(q.items, queued{s: s, key: key, args: values})
}

func (q *projectorQueue) Copy(t *CopyTarget, values ...any) {
	if len(values) != len(t.Columns) && q.err == nil {
		q.err = fmt.Errorf("row of %d values for %d columns of %s", len(values), len(t.Columns), t.Table)
	}
	if q.copies == nil {
		q.copies = map[*CopyTarget][][]any{}
	}
	if _, ok := q.copies[t]; !ok {
		q.order = append(q.order, t)
	}
	q.copies[t] = append(q.copies[t], values)
}

// copyTo writes the rows queued with Copy, one COPY per table.
func (q *projectorQueue) copyTo(ctx context.Context, tx pgx.Tx) error {
	for _, t := range q.order {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.Table}, t.Columns, pgx.CopyFromRows(q.copies[t])); err != nil {
			return fmt.Errorf("copy into %s: %w", t.Table, err)
		}
	}
	return nil
}

// writeTo appends the queued writes to b: plain statements as they are, and each run of rows
// between them as rounds of set-based executions.
func (q *projectorQueue) writeTo(b *pgx.Batch) error {
	if q.err != nil {
		return q.err
	}
	start := 0
	for i, it := range q.items {
		if it.s != nil {
			continue
		}
		writeRows(b, q.items[start:i])
		b.Queue(it.sql, it.args...)
		start = i + 1
	}
	writeRows(b, q.items[start:])
	return nil
}

// rowGroup collects the rows of one statement in one round, column by column.
type rowGroup struct {
	s    *Statement
	cols [][]any
}

func writeRows(b *pgx.Batch, rows []queued) {
	if len(rows) == 0 {
		return
	}
	var (
		next   = map[string]int{} // key -> round of its next row
		rounds [][]*rowGroup
		index  []map[*Statement]*rowGroup
	)
	for _, r := range rows {
		n := 0
		if r.key != "" {
			n = next[r.key]
			next[r.key] = n + 1
		}
		for len(rounds) <= n {
			rounds = append(rounds, nil)
			index = append(index, map[*Statement]*rowGroup{})
		}
		g := index[n][r.s]
		if g == nil {
			g = &rowGroup{s: r.s, cols: make([][]any, r.s.Columns)}
			index[n][r.s] = g
			rounds[n] = append(rounds[n], g)
		}
		for i, v := range r.args {
			g.cols[i] = append(g.cols[i], v)
		}
	}
	for _, round := range rounds {
		for _, g := range round {
			args := make([]any, len(g.cols))
			for i, c := range g.cols {
				args[i] = c
			}
			b.Queue(g.s.SQL, args...)
		}
	}
}
