package projections

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/policykit-go/policykit/domain"
)

// proposalsProjector keeps one row per proposal: the action and policy version it
// evaluates, its status (PROPOSED, PASSED, FAILED) and reason, the vote post, its variables,
// data store, governance process and recorded answers, the next re-check, and the counts of
// current votes (yes and no among boolean votes, and all votes).
//
// It folds each proposal's events of a batch into one patch, so that a proposal's row is
// written once per batch (plus its insert when opened): a busy proposal's dozens of events
// would otherwise leave dozens of row versions in one transaction.
//
// The counts are kept by increments: for each user who voted in the batch, the patch holds
// their last vote, and the statement adds it and takes away the user's vote from before the
// batch, read from the projector's own proposal_ballots (one row per user and proposal). It
// never reads the votes projector's tables, so its counts are right whatever that
// projector's checkpoint.
type proposalsProjector struct{}

func (proposalsProjector) Name() string { return "proposals" }

func (proposalsProjector) Tables() []string { return []string{"proposals", "proposal_ballots"} }

var openProposals = &Statement{Columns: 13, SQL: `INSERT INTO proposals (id, community_id, action_id, action_type, action_kind,
		initiator_id, policy_id, policy_hash, policy_version, policy_kind, policy_name, status, proposal_time, updated_at)
	SELECT u.*, u.proposal_time FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
		$7::text[], $8::text[], $9::int[], $10::text[], $11::text[], $12::text[], $13::timestamptz[])
		AS u(id, community_id, action_id, action_type, action_kind, initiator_id, policy_id, policy_hash, policy_version,
			policy_kind, policy_name, status, proposal_time)
	ON CONFLICT (id) DO UPDATE SET community_id = EXCLUDED.community_id, action_id = EXCLUDED.action_id,
		action_type = EXCLUDED.action_type, action_kind = EXCLUDED.action_kind, initiator_id = EXCLUDED.initiator_id,
		policy_id = EXCLUDED.policy_id, policy_hash = EXCLUDED.policy_hash, policy_version = EXCLUDED.policy_version,
		policy_kind = EXCLUDED.policy_kind, policy_name = EXCLUDED.policy_name, status = EXCLUDED.status,
		proposal_time = EXCLUDED.proposal_time, updated_at = EXCLUDED.updated_at`}

// patchProposals applies one folded patch per proposal ($1 to $16, one array element per
// proposal, each proposal once); a NULL leaves its column as it is. Data changes are the
// keys to remove (a JSON array) and the keys to set (an object), see netDataOps; answers
// are merged. $17 to $19 are the ballots: for each user who voted in the batch on one of
// the proposals, their last vote (true, false, or NULL for a choice or number vote). They
// are arrays of their own rather than a JSON object per proposal, which would cost a
// jsonb_each call per proposal.
//
// Every part of the statement sees the tables as they were before it: prev is each voter's
// ballot from before the batch (looked up by key, one row each), counts the change of the
// counts it makes, and the ballots are written in the same statement.
const patchProposals = `WITH u AS (
		SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::jsonb[], $4::jsonb[], $5::jsonb[], $6::jsonb[], $7::jsonb[],
			$8::text[], $9::text[], $10::bool[], $11::bool[], $12::bool[], $13::timestamptz[], $14::text[], $15::text[],
			$16::timestamptz[])
			AS u(id, at, variables, data_removed, data_set, answers, process, post_id, vote_url, vote_closed, notified,
				set_next_check, next_check_at, status, reason, decided_at)
	), cast_votes AS (
		SELECT * FROM unnest($17::text[], $18::text[], $19::bool[]) AS c(proposal_id, user_id, yes)
	), counts AS (
		SELECT c.proposal_id,
			sum((c.yes IS TRUE)::int - (prev.yes IS TRUE)::int) AS yes,
			sum((c.yes IS FALSE)::int - (prev.yes IS FALSE)::int) AS no,
			sum((prev.found IS NULL)::int) AS total
		FROM cast_votes c LEFT JOIN LATERAL (
			SELECT true AS found, b.yes FROM proposal_ballots b WHERE b.proposal_id = c.proposal_id AND b.user_id = c.user_id LIMIT 1
		) prev ON true
		GROUP BY c.proposal_id
	), ballots AS (
		INSERT INTO proposal_ballots (proposal_id, user_id, yes) SELECT proposal_id, user_id, yes FROM cast_votes
		ON CONFLICT (proposal_id, user_id) DO UPDATE SET yes = EXCLUDED.yes
	)
	UPDATE proposals p SET
		variables = coalesce(u.variables, p.variables),
		data = CASE WHEN u.data_set IS NULL THEN p.data
			ELSE (p.data - ARRAY(SELECT jsonb_array_elements_text(u.data_removed))) || u.data_set END,
		answers = CASE WHEN u.answers IS NULL THEN p.answers ELSE p.answers || u.answers END,
		governance_process = coalesce(u.process, p.governance_process),
		vote_post_id = coalesce(u.post_id, p.vote_post_id),
		vote_url = coalesce(u.vote_url, p.vote_url),
		vote_closed = p.vote_closed OR u.vote_closed,
		notified = p.notified OR u.notified,
		next_check_at = CASE WHEN u.set_next_check THEN u.next_check_at ELSE p.next_check_at END,
		status = coalesce(u.status, p.status),
		reason = coalesce(u.reason, p.reason),
		decided_at = coalesce(u.decided_at, p.decided_at),
		yes_votes = p.yes_votes + coalesce(c.yes, 0),
		no_votes = p.no_votes + coalesce(c.no, 0),
		vote_count = p.vote_count + coalesce(c.total, 0),
		updated_at = u.at
	FROM u LEFT JOIN counts c ON c.proposal_id = u.id
	WHERE p.id = u.id`

// patchColumns is the number of per-proposal arrays of patchProposals.
const patchColumns = 16

// proposalPatch folds the events of one proposal in a batch; zero fields leave their
// columns unchanged.
type proposalPatch struct {
	id                   string
	at                   time.Time // of the last event folded
	variables, process   []byte    // JSON; nil: unchanged
	dataOps              []domain.DataOp
	answers              map[string]any
	postID, voteURL      pgtype.Text
	voteClosed, notified bool // true sets the flag
	setNextCheck         bool // next_check_at = nextCheck (NULL when not valid)
	nextCheck            pgtype.Timestamptz
	status, reason       pgtype.Text
	decidedAt            pgtype.Timestamptz
	ballots              map[string]pgtype.Bool // user -> last vote: true, false or NULL
}

func text(s string) pgtype.Text { return pgtype.Text{String: s, Valid: true} }

// fold applies one event to the patch; it reports false for events the projector ignores.
func (p *proposalPatch) fold(ev domain.Event) (bool, error) {
	var err error
	switch e := ev.(type) {
	case domain.VoteCast:
		if p.ballots == nil {
			p.ballots = map[string]pgtype.Bool{}
		}
		p.ballots[e.Vote.UserID] = pgtype.Bool{Bool: e.Vote.Boolean, Valid: e.Vote.Kind == domain.VoteBoolean}
	case domain.ProposalVariablesInitialized:
		p.variables, err = jsonArg(e.Variables, "{}")
	case domain.ProposalDataChanged:
		p.dataOps = append(p.dataOps, e.Ops...)
	case domain.VotePostRecorded:
		p.postID, p.voteURL = text(e.PostID), text(e.URL)
	case domain.VoteClosed:
		p.voteClosed = true
	case domain.GovernanceProcessUpdated:
		p.process, err = jsonArg(e.Process, "{}")
	case domain.ProposalNotified:
		p.notified = true
	case domain.AnswerRecorded:
		if p.answers == nil {
			p.answers = map[string]any{}
		}
		p.answers[e.Key] = e.Value
	case domain.RecheckScheduled:
		p.setNextCheck, p.nextCheck = true, optTime(e.DueAt)
	case domain.ProposalPassed:
		p.status, p.reason, p.decidedAt = text(domain.StatusPassed), text(e.Reason), optTime(e.At)
		p.setNextCheck, p.nextCheck = true, pgtype.Timestamptz{}
	case domain.ProposalFailed:
		p.status, p.reason, p.decidedAt = text(domain.StatusFailed), text(e.Reason), optTime(e.At)
		p.setNextCheck, p.nextCheck = true, pgtype.Timestamptz{}
	default:
		return false, nil
	}
	p.at = ev.Meta().At
	return true, err
}

// patchArgs collects the patches of a batch as the arguments of patchProposals.
type patchArgs struct {
	cols            [patchColumns][]any
	voters, voterOf []string
	votes           []pgtype.Bool
}

func (ps *patchArgs) add(p *proposalPatch) error {
	var dataRemoved, dataSet, answers []byte
	var err error
	if len(p.dataOps) > 0 {
		removed, set := netDataOps(p.dataOps)
		if dataRemoved, err = jsonArg(removed, "[]"); err != nil {
			return err
		}
		if dataSet, err = jsonArg(set, "{}"); err != nil {
			return err
		}
	}
	if p.answers != nil {
		if answers, err = jsonArg(p.answers, "{}"); err != nil {
			return err
		}
	}
	for i, v := range []any{p.id, p.at, p.variables, dataRemoved, dataSet, answers, p.process, p.postID, p.voteURL,
		p.voteClosed, p.notified, p.setNextCheck, p.nextCheck, p.status, p.reason, p.decidedAt} {
		ps.cols[i] = append(ps.cols[i], v)
	}
	for _, user := range slices.Sorted(maps.Keys(p.ballots)) { // a stable order of arguments
		ps.voterOf = append(ps.voterOf, p.id)
		ps.voters = append(ps.voters, user)
		ps.votes = append(ps.votes, p.ballots[user])
	}
	return nil
}

func (ps *patchArgs) queue(q Queue) {
	args := make([]any, 0, patchColumns+3)
	for _, c := range ps.cols {
		args = append(args, c)
	}
	q.Queue(patchProposals, append(args, ps.voterOf, ps.voters, ps.votes)...)
}

func (pp proposalsProjector) Project(q Queue, ev Envelope) error {
	return pp.ProjectBatch(q, []Envelope{ev})
}

// ProjectBatch inserts the proposals opened in the batch (rows keyed by proposal id), then
// patches every proposal the batch changes in one statement, one patch each: the statement
// is queued after the rows, so it runs after every insert.
func (proposalsProjector) ProjectBatch(q Queue, evs []Envelope) error {
	patches := map[string]*proposalPatch{}
	var order []*proposalPatch
	for _, ev := range evs {
		if e, ok := ev.Event.(domain.ProposalOpened); ok {
			q.Row(openProposals, e.ProposalID, e.ProposalID, e.CommunityID, e.ActionID, e.Action.Type, string(e.Action.Kind),
				e.Action.InitiatorID, e.PolicyID, e.PolicyHash, e.PolicyVersion, string(e.PolicyKind), e.PolicyName,
				domain.StatusProposed, e.At)
			continue
		}
		if _, unknown := ev.Event.(*domain.UnknownEvent); unknown {
			continue // and its Meta would parse its JSON
		}
		id := ev.Event.Meta().ProposalID
		p := patches[id]
		if p == nil {
			p = &proposalPatch{id: id}
		}
		folded, err := p.fold(ev.Event)
		if err != nil {
			return fmt.Errorf("%s (%s): %w", ev.Position, ev.Type, err)
		}
		if folded && patches[id] == nil {
			patches[id] = p
			order = append(order, p)
		}
	}
	if len(order) == 0 {
		return nil
	}
	var ps patchArgs
	for _, p := range order {
		if err := ps.add(p); err != nil {
			return fmt.Errorf("proposal %s: %w", p.id, err)
		}
	}
	ps.queue(q)
	return nil
}

// netDataOps reduces data operations applied in order to their net effect: the keys to
// remove and the keys to set. A key is in at most one of the two, so removing then setting
// gives the same data as applying the operations one by one.
func netDataOps(ops []domain.DataOp) (removed []string, set map[string]any) {
	set = map[string]any{}
	gone := map[string]bool{}
	for _, op := range ops {
		switch op.Op {
		case domain.DataSet:
			set[op.Key] = op.Value
			delete(gone, op.Key)
		case domain.DataRemove:
			delete(set, op.Key)
			gone[op.Key] = true
		}
	}
	removed = []string{}
	for _, op := range ops { // in first-seen order, for stable arguments
		if gone[op.Key] {
			removed = append(removed, op.Key)
			delete(gone, op.Key)
		}
	}
	return removed, set
}
