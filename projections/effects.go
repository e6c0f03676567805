package projections

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/policykit-go/policykit/domain"
)

// effectsProjector keeps every platform call asked for, by a proposal or (without a
// proposal) by an action: requested, then completed with its result or failed with its
// error. An effect is keyed by the stream that requested it and its id, as in the
// aggregates; proposal_id or action_id names the aggregate.
//
// An effect requested and finished in the same batch (the usual case) is inserted once, in
// its final state; a result for an effect of an earlier batch updates it. Rows are keyed by
// stream and effect id.
type effectsProjector struct{}

func (effectsProjector) Name() string { return "effects" }

func (effectsProjector) Tables() []string { return []string{"effects"} }

var insertEffects = &Statement{Columns: 15, SQL: `INSERT INTO effects (stream, id, proposal_id, action_id, community_id,
		idempotency_key, platform, method, purpose, args, status, result, error, requested_at, finished_at)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
		$9::text[], $10::jsonb[], $11::text[], $12::jsonb[], $13::text[], $14::timestamptz[], $15::timestamptz[])
	ON CONFLICT (stream, id) DO UPDATE SET proposal_id = EXCLUDED.proposal_id, action_id = EXCLUDED.action_id,
		community_id = EXCLUDED.community_id, idempotency_key = EXCLUDED.idempotency_key, platform = EXCLUDED.platform,
		method = EXCLUDED.method, purpose = EXCLUDED.purpose, args = EXCLUDED.args, status = EXCLUDED.status,
		result = EXCLUDED.result, error = EXCLUDED.error, requested_at = EXCLUDED.requested_at,
		finished_at = EXCLUDED.finished_at`}

// finishEffects records outcomes: completed with a result (error ”), or failed with an error
// (result NULL).
var finishEffects = &Statement{Columns: 6, SQL: `UPDATE effects f
	SET status = u.status, result = u.result, error = u.error, finished_at = u.at
	FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::text[], $6::timestamptz[])
		AS u(stream, id, status, result, error, at)
	WHERE f.stream = u.stream AND f.id = u.id`}

// effectRow is an effect requested in the batch, with its outcome if the batch has it.
type effectRow struct {
	stream, id, proposalID, actionID, communityID, key, platform, method, purpose string
	args, result                                                                  []byte
	status, error                                                                 string
	requestedAt                                                                   time.Time
	finishedAt                                                                    pgtype.Timestamptz
}

// outcome is an EffectCompleted or EffectFailed.
type outcome struct {
	status, error string
	result        []byte // nil when failed
	at            time.Time
}

func (ep effectsProjector) Project(q Queue, ev Envelope) error {
	return ep.ProjectBatch(q, []Envelope{ev})
}

func (effectsProjector) ProjectBatch(q Queue, evs []Envelope) error {
	requested := map[string]*effectRow{}
	var order []*effectRow
	finish := func(ev Envelope, effectID string, o outcome) {
		key := ev.Stream + "\x00" + effectID
		if r := requested[key]; r != nil {
			r.status, r.result, r.error, r.finishedAt = o.status, o.result, o.error, optTime(o.at)
			return
		}
		q.Row(finishEffects, key, ev.Stream, effectID, o.status, o.result, o.error, o.at)
	}
	for _, ev := range evs {
		switch e := ev.Event.(type) {
		case domain.EffectRequested:
			args, err := jsonArg(e.Args, "{}")
			if err != nil {
				return fmt.Errorf("%s: %w", ev.Position, err)
			}
			r := &effectRow{
				stream: ev.Stream, id: e.EffectID, proposalID: e.ProposalID, communityID: e.CommunityID, key: e.IdempotencyKey,
				platform: e.Platform, method: e.Method, purpose: e.Purpose, args: args, status: domain.EffectStatusRequested,
				requestedAt: e.At,
			}
			if domain.StreamCategory(ev.Stream) == domain.CategoryAction {
				r.actionID = domain.StreamID(ev.Stream)
			}
			k := ev.Stream + "\x00" + e.EffectID
			if requested[k] == nil {
				order = append(order, r)
			} else {
				*requested[k] = *r // requested again: the request replaces the row
				continue
			}
			requested[k] = r
		case domain.EffectCompleted:
			res, err := jsonArg(e.Result, "{}")
			if err != nil {
				return fmt.Errorf("%s: %w", ev.Position, err)
			}
			finish(ev, e.EffectID, outcome{status: domain.EffectStatusCompleted, result: res, at: e.At})
		case domain.EffectFailed:
			finish(ev, e.EffectID, outcome{status: domain.EffectStatusFailed, error: e.Error, at: e.At})
		}
	}
	for _, r := range order {
		q.Row(insertEffects, r.stream+"\x00"+r.id, r.stream, r.id, r.proposalID, r.actionID, r.communityID, r.key, r.platform,
			r.method, r.purpose, r.args, r.status, r.result, r.error, r.requestedAt, r.finishedAt)
	}
	return nil
}
