package graph

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/graph/model"
	"github.com/policykit-go/policykit/projections"
)

// eventIndex reads a community's events through the read models' index of them
// (community_events, kept by the projections runner) instead of scanning the log: a page
// costs the community's own index rows and the events it shows, whatever else the log holds.
//
// The index is kept asynchronously: it covers the log up to its projector's checkpoint, and
// page reports that position, after which the caller reads the log itself. The index rows
// and the checkpoint are committed together, and read in one statement, so the rows seen
// are exactly the index's events up to the checkpoint seen.
type eventIndex struct {
	db    DB
	store eventstore.Store
}

// indexRow is one indexed event: where it is in the log and in its stream.
type indexRow struct {
	pos     eventstore.Position
	stream  string
	version int64
}

// timeSlack widens the time filters of the index query: the index keeps recorded_at at the
// database's precision (microseconds), which may be coarser than the store's. The exact
// filter runs on the events read (eventMatches).
const timeSlack = time.Millisecond

const indexPageSQL = `WITH cp AS (SELECT commit_id, seq FROM projection_checkpoints WHERE name = $1)
SELECT cp.commit_id, cp.seq, e.commit_id, e.seq, e.stream, e.stream_version
FROM cp LEFT JOIN LATERAL (
	SELECT commit_id, seq, stream, stream_version FROM community_events
	WHERE community_id = $2 AND (commit_id, seq) > ($3, $4)
		AND (commit_id, seq) <= (cp.commit_id, cp.seq) AND (commit_id, seq) <= ($5, $6)
		AND ($7::text IS NULL OR stream = $7)
		AND ($8::text[] IS NULL OR event_type = ANY($8))
		AND ($9::timestamptz IS NULL OR recorded_at >= $9)
		AND ($10::timestamptz IS NULL OR recorded_at <= $10)
	ORDER BY commit_id, seq LIMIT $11) e ON true`

// page returns, after position after, the community's events that the index holds and
// that pass eventMatches: first of them and whether one more follows (more), or fewer when
// the index has no more. covered is the position up to which the index answered: the events
// after it (when not more) are for the caller to read from the log.
func (x eventIndex) page(ctx context.Context, communityID string, f model.EventFilter, first int, after eventstore.Position,
	views func(stream string) bool, k *cut) (out []model.Event, more bool, covered eventstore.Position, err error) {
	var lo, hi any // the widened time bounds, or NULL
	if f.From != nil {
		lo = f.From.Add(-timeSlack)
	}
	var upper []time.Time
	if f.To != nil {
		upper = append(upper, *f.To)
	}
	bound := eventstore.Position{Commit: math.MaxInt64, Seq: math.MaxInt64}
	if k != nil {
		if k.pos != nil {
			bound = *k.pos
		} else {
			upper = append(upper, k.at)
		}
	}
	if len(upper) > 0 {
		hi = slices.MinFunc(upper, time.Time.Compare).Add(timeSlack)
	}
	var stream, types any
	if f.Stream != nil {
		stream = *f.Stream
	}
	if f.Types != nil {
		types = f.Types
	}
	limit := first + 1
	var checkpoint *eventstore.Position // the checkpoint of the first read: later reads stop there too
	for {
		upTo := bound
		if checkpoint != nil && checkpoint.Less(upTo) {
			upTo = *checkpoint
		}
		rows, cp, ok, err := x.rows(ctx, communityID, after, upTo, stream, types, lo, hi, limit)
		if err != nil {
			return nil, false, eventstore.Start, err
		}
		if !ok {
			return out, false, after, nil // the index has not started (or was reset): the rest from the log
		}
		if checkpoint == nil || cp.Less(*checkpoint) {
			// Only a reset moves a checkpoint back; what the index no longer covers is read
			// from the log.
			checkpoint = &cp
		}
		var want []indexRow
		for _, row := range rows {
			after = row.pos
			if row.stream == domain.CommunityStream(communityID) || views(row.stream) {
				want = append(want, row)
			}
		}
		evs, err := x.events(ctx, want)
		if err != nil {
			return nil, false, eventstore.Start, err
		}
		for _, ev := range evs {
			if !eventMatches(ev, communityID, f, views, k) {
				continue
			}
			if len(out) == first {
				return out, true, ev.Position, nil
			}
			out = append(out, eventOf(ev))
		}
		if len(rows) < limit {
			if after.Less(*checkpoint) {
				after = *checkpoint
			}
			return out, false, after, nil
		}
		limit = min(2*limit, 1000)
	}
}

// rows reads up to limit index rows of the community after position after and up to upTo,
// with the index's checkpoint; ok is false when the index has none (it has not started).
func (x eventIndex) rows(ctx context.Context, communityID string, after, upTo eventstore.Position, stream, types, lo, hi any, limit int) ([]indexRow, eventstore.Position, bool, error) {
	rows, _ := x.db.Query(ctx, indexPageSQL, projections.CommunityEventsProjector, communityID, int64(after.Commit), after.Seq,
		int64(upTo.Commit), upTo.Seq, stream, types, lo, hi, limit)
	var (
		out            []indexRow
		cp             eventstore.Position
		found          bool
		cpCommit, cpSq int64
		commit, seq    *int64
		st             *string
		version        *int64
	)
	_, err := pgx.ForEachRow(rows, []any{&cpCommit, &cpSq, &commit, &seq, &st, &version}, func() error {
		found = true
		cp = eventstore.Position{Commit: uint64(cpCommit), Seq: cpSq}
		if commit != nil {
			out = append(out, indexRow{pos: eventstore.Position{Commit: uint64(*commit), Seq: *seq}, stream: *st, version: *version})
		}
		return nil
	})
	if err != nil {
		return nil, eventstore.Start, false, fmt.Errorf("read community events index: %w", err)
	}
	return out, cp, found, nil
}

// maxVersionGap is the largest run of a stream's events not wanted that events reads
// through rather than reading the stream again.
const maxVersionGap = 16

// events reads the indexed events from their streams, in the rows' order: one stream read
// per run of nearby versions.
func (x eventIndex) events(ctx context.Context, rows []indexRow) ([]eventstore.RecordedEvent, error) {
	versions := map[string][]int64{}
	for _, row := range rows {
		versions[row.stream] = append(versions[row.stream], row.version)
	}
	type key struct {
		stream  string
		version int64
	}
	found := make(map[key]eventstore.RecordedEvent, len(rows))
	for stream, vs := range versions {
		slices.Sort(vs)
		for i := 0; i < len(vs); {
			j := i + 1
			for j < len(vs) && vs[j]-vs[j-1] <= maxVersionGap {
				j++
			}
			evs, err := x.store.ReadStream(ctx, stream, eventstore.Forward, vs[i], int(vs[j-1]-vs[i]+1))
			if err != nil {
				return nil, fmt.Errorf("read %s: %w", stream, err)
			}
			for _, ev := range evs {
				found[key{ev.Stream, ev.Version}] = ev
			}
			i = j
		}
	}
	out := make([]eventstore.RecordedEvent, 0, len(rows))
	for _, row := range rows {
		ev, ok := found[key{row.stream, row.version}]
		if !ok || ev.Position != row.pos {
			return nil, fmt.Errorf("community events index: %s@%d at %s is not in the log", row.stream, row.version, row.pos)
		}
		out = append(out, ev)
	}
	return out, nil
}
