package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/policykit-go/policykit/eventstore"
)

// behindSQL counts the committed events after a position and finds the oldest of them. It
// counts events that ReadAll still holds back too: they are appended, and a reader at pos
// has yet to read them.
const behindSQL = `SELECT count(*), min(recorded_at) FROM events
	WHERE (transaction_id, global_position) > ($1::text::xid8, $2::bigint)`

// Behind tells how far a reader at pos is behind the log: the events after pos and when the
// oldest of them was recorded (zero when none), for metrics of lag.
func (s *Store) Behind(ctx context.Context, pos eventstore.Position) (events int64, oldest time.Time, err error) {
	var first *time.Time
	if err := s.pool.QueryRow(ctx, behindSQL, formatCommit(pos.Commit), pos.Seq).Scan(&events, &first); err != nil {
		return 0, time.Time{}, fmt.Errorf("events after %s: %w", pos, classify(err))
	}
	if first != nil {
		oldest = *first
	}
	return events, oldest, nil
}
