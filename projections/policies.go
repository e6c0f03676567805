package projections

import "github.com/policykit-go/policykit/domain"

// Policy changes as recorded in policy_versions.change.
const (
	policyAdded     = "added"
	policyChanged   = "changed"
	policyRemoved   = "removed"
	policyRecovered = "recovered"
)

// policiesProjector keeps each policy's current version in policies (removed policies stay,
// with active = false; rows are keyed by community and policy id, as policy ids are unique
// only within a community) and its whole history in policy_versions: one row per policy event,
// with the content that was current after it (domain.PolicySpec as JSON), its hash and
// content version, and the kind of change.
type policiesProjector struct{}

func (policiesProjector) Name() string { return "policies" }

func (policiesProjector) Tables() []string { return []string{"policies", "policy_versions"} }

const insertPolicyVersionSQL = `INSERT INTO policy_versions
	(event_id, policy_id, community_id, stream_version, version, change, active, hash, content, changed_at, action_id)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
	ON CONFLICT (event_id) DO NOTHING`

// copyPolicyVersionSQL records a removal or recovery: the latest content of the policy (from
// this projector's own history) under the new activity.
const copyPolicyVersionSQL = `INSERT INTO policy_versions
	(event_id, policy_id, community_id, stream_version, version, change, active, hash, content, changed_at, action_id)
	SELECT $1, v.policy_id, v.community_id, $3, v.version, $4, $5, v.hash, v.content, $6, $7
	FROM policy_versions v WHERE v.community_id = $8 AND v.policy_id = $2 ORDER BY v.stream_version DESC LIMIT 1
	ON CONFLICT (event_id) DO NOTHING`

func (policiesProjector) Project(q Queue, ev Envelope) error {
	switch e := ev.Event.(type) {
	case domain.PolicyAdded:
		args, content, err := policyArgs(e.PolicySpec)
		if err != nil {
			return err
		}
		q.Queue(`INSERT INTO policies (id, community_id, kind, name, description, action_types, code, variables, priority,
				active, hash, version, created_at, modified_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true, $10, $11, $12, $12)
			ON CONFLICT (community_id, id) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name,
				description = EXCLUDED.description, action_types = EXCLUDED.action_types, code = EXCLUDED.code,
				variables = EXCLUDED.variables, priority = EXCLUDED.priority, active = true, hash = EXCLUDED.hash,
				version = EXCLUDED.version, created_at = EXCLUDED.created_at, modified_at = EXCLUDED.modified_at`,
			e.PolicyID, e.CommunityID, args.kind, args.name, args.description, args.actionTypes, args.code, args.variables,
			args.priority, e.Hash, e.Version, e.At)
		q.Queue(insertPolicyVersionSQL, eventID(ev), e.PolicyID, e.CommunityID, ev.Version, e.Version, policyAdded, true,
			e.Hash, content, e.At, e.ActionID)
	case domain.PolicyChanged:
		args, content, err := policyArgs(e.PolicySpec)
		if err != nil {
			return err
		}
		q.Queue(`UPDATE policies SET name = $2, description = $3, action_types = $4, code = $5, variables = $6, priority = $7,
				hash = $8, version = $9, modified_at = $10
			WHERE community_id = $11 AND id = $1`,
			e.PolicyID, args.name, args.description, args.actionTypes, args.code, args.variables, args.priority,
			e.Hash, e.Version, e.At, e.CommunityID)
		// The activity of a changed policy stays what it was: read it back from the row the
		// statement above just updated (statements of a batch run in order).
		q.Queue(`INSERT INTO policy_versions
				(event_id, policy_id, community_id, stream_version, version, change, active, hash, content, changed_at, action_id)
			SELECT $1, p.id, $3, $4, $5, $6, p.active, $7, $8, $9, $10 FROM policies p WHERE p.community_id = $3 AND p.id = $2
			ON CONFLICT (event_id) DO NOTHING`,
			eventID(ev), e.PolicyID, e.CommunityID, ev.Version, e.Version, policyChanged, e.Hash, content, e.At, e.ActionID)
	case domain.PolicyRemoved:
		q.Queue(`UPDATE policies SET active = false, modified_at = $2 WHERE community_id = $3 AND id = $1`, e.PolicyID, e.At, e.CommunityID)
		q.Queue(copyPolicyVersionSQL, eventID(ev), e.PolicyID, ev.Version, policyRemoved, false, e.At, e.ActionID, e.CommunityID)
	case domain.PolicyRecovered:
		q.Queue(`UPDATE policies SET active = true, modified_at = $2 WHERE community_id = $3 AND id = $1`, e.PolicyID, e.At, e.CommunityID)
		q.Queue(copyPolicyVersionSQL, eventID(ev), e.PolicyID, ev.Version, policyRecovered, true, e.At, e.ActionID, e.CommunityID)
	}
	return nil
}

type policyColumns struct {
	kind, name, description string
	actionTypes             []string
	code, variables         []byte
	priority                int
}

// policyArgs returns the column values of a policy's content and the content as JSON.
func policyArgs(s domain.PolicySpec) (policyColumns, []byte, error) {
	code, err := jsonArg(s.Code, "{}")
	if err != nil {
		return policyColumns{}, nil, err
	}
	vars := []byte("[]")
	if len(s.Variables) > 0 {
		if vars, err = jsonArg(s.Variables, "[]"); err != nil {
			return policyColumns{}, nil, err
		}
	}
	content, err := jsonArg(s, "{}")
	if err != nil {
		return policyColumns{}, nil, err
	}
	return policyColumns{
		kind: string(s.Kind), name: s.Name, description: s.Description, actionTypes: textArray(s.ActionTypes),
		code: code, variables: vars, priority: s.Priority,
	}, content, nil
}
