package projections

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// All returns every projector of the read models, in a stable order. Each owns its tables
// alone and reads nothing but them, so that projectors may stand at different checkpoints
// (one added later catches up by itself).
func All() []Projector {
	return []Projector{
		communitiesProjector{},
		rolesProjector{},
		documentsProjector{},
		policiesProjector{},
		actionsProjector{},
		proposalsProjector{},
		votesProjector{},
		effectsProjector{},
		evaluationLogsProjector{},
		communityEventsProjector{},
	}
}

// The helpers below turn event values into SQL arguments. Every value a projector writes
// comes from the event or its envelope, never from the clock, so a replay writes the same.

// eventID is the envelope's event id as a uuid argument.
func eventID(ev Envelope) pgtype.UUID { return pgtype.UUID{Bytes: ev.ID, Valid: true} }

// jsonArg encodes v for a jsonb parameter; a nil map or slice is encoded as empty.
func jsonArg(v any, empty string) ([]byte, error) {
	if isNil(v) {
		return []byte(empty), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return b, nil
}

func isNil(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return x == nil
	case []string:
		return x == nil
	}
	return false
}

// textArray is s for a NOT NULL text[] parameter (nil would be SQL NULL).
func textArray(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// optTime is t, or SQL NULL when t is zero.
func optTime(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}
