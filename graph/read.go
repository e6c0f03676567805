package graph

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/graph/model"
)

// DB is what the API needs from the read models' database: a *pgxpool.Pool satisfies it.
type DB interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// reader reads the read models (projections/migrations) and maps their rows to the API's
// types. Every method issues exactly one SQL statement, except where its comment says so.
// A row that is missing is a domain NotFound error.
type reader struct{ db DB }

// MaxPageSize bounds the first argument of connections; more is INVALID.
const MaxPageSize = 100

// communities reads the communities with the given ids, by name.
func (r reader) communities(ctx context.Context, ids []string) ([]model.Community, error) {
	if ids == nil {
		ids = []string{}
	}
	rows, _ := r.db.Query(ctx, `SELECT id, name, created_at FROM communities WHERE id = ANY($1) ORDER BY name, id`, ids)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (model.Community, error) {
		var c model.Community
		err := row.Scan(&c.ID, &c.Name, &c.CreatedAt)
		return c, err
	})
}

func (r reader) community(ctx context.Context, id string) (*model.Community, error) {
	var c model.Community
	err := r.db.QueryRow(ctx, `SELECT id, name, created_at FROM communities WHERE id = $1`, id).Scan(&c.ID, &c.Name, &c.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, domain.NotFound("community %q", id)
	}
	return &c, err
}

func (r reader) platforms(ctx context.Context, communityID string) ([]model.Platform, error) {
	rows, _ := r.db.Query(ctx, `SELECT platform, external_id, name, active, connected_at, settings::text, secret_names
		FROM community_platforms WHERE community_id = $1 ORDER BY platform`, communityID)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (model.Platform, error) {
		var p model.Platform
		err := row.Scan(&p.Name, &p.ExternalID, &p.DisplayName, &p.Active, &p.ConnectedAt, &p.SettingsJSON, &p.SecretNames)
		return p, err
	})
}

// keyset appends to where the condition that a row's sort columns (cols, as in
// "(platform, username, id)") come after the values, numbering the parameters on from args.
func keyset(where string, args []any, cols string, values ...any) (string, []any) {
	params := make([]string, len(values))
	for i := range values {
		params[i] = fmt.Sprintf("$%d", len(args)+i+1)
	}
	return where + " AND " + cols + " > (" + strings.Join(params, ", ") + ")", append(args, values...)
}

// limit is the LIMIT clause that reads one row more than n, numbered on from args.
func limit(args []any, n int) (string, []any) {
	args = append(args, n+1)
	return fmt.Sprintf(" LIMIT $%d", len(args)), args
}

// members reads a page of a community's users, by platform, username and id, with their
// roles: the roles given explicitly and the base roles every member holds (three
// statements), and whether more follow.
func (r reader) members(ctx context.Context, communityID string, p page[memberKey]) ([]model.Member, bool, error) {
	where, args := "community_id = $1", []any{communityID}
	if p.after != nil {
		where, args = keyset(where, args, "(platform, username, id)", p.after.Platform, p.after.Username, p.after.ID)
	}
	lim, args := limit(args, p.n)
	rows, _ := r.db.Query(ctx, `SELECT id, platform, username, readable_name, is_admin, avatar, joined_at
		FROM community_users WHERE `+where+` ORDER BY platform, username, id`+lim, args...)
	members, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (model.Member, error) {
		var m model.Member
		err := row.Scan(&m.ID, &m.Platform, &m.Username, &m.ReadableName, &m.IsAdmin, &m.Avatar, &m.JoinedAt)
		return m, err
	})
	if err != nil {
		return nil, false, err
	}
	members, more := firstN(members, p.n)
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	rows, _ = r.db.Query(ctx, `SELECT name FROM roles WHERE community_id = $1 AND is_base`, communityID)
	base, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, false, err
	}
	rows, _ = r.db.Query(ctx, `SELECT user_id, role FROM user_roles WHERE community_id = $1 AND user_id = ANY($2)`, communityID, ids)
	given := map[string][]string{}
	var user, role string
	if _, err := pgx.ForEachRow(rows, []any{&user, &role}, func() error {
		given[user] = append(given[user], role)
		return nil
	}); err != nil {
		return nil, false, err
	}
	for i := range members {
		members[i].Roles = uniqueSorted(append(append([]string{}, base...), given[members[i].ID]...))
	}
	return members, more, nil
}

// roles reads a page of a community's roles, by name, with their permissions (two
// statements), and whether more follow.
func (r reader) roles(ctx context.Context, communityID string, p page[nameKey]) ([]model.Role, bool, error) {
	where, args := "community_id = $1", []any{communityID}
	if p.after != nil {
		where, args = keyset(where, args, "name", p.after.Name)
	}
	lim, args := limit(args, p.n)
	rows, _ := r.db.Query(ctx, `SELECT name, description, is_base, created_at FROM roles
		WHERE `+where+` ORDER BY name`+lim, args...)
	roles, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (model.Role, error) {
		var ro model.Role
		err := row.Scan(&ro.Name, &ro.Description, &ro.IsBase, &ro.CreatedAt)
		return ro, err
	})
	if err != nil {
		return nil, false, err
	}
	roles, more := firstN(roles, p.n)
	names := make([]string, len(roles))
	for i, ro := range roles {
		names[i] = ro.Name
	}
	rows, _ = r.db.Query(ctx, `SELECT role, permission FROM role_permissions WHERE community_id = $1 AND role = ANY($2)
		ORDER BY role, permission`, communityID, names)
	perms := map[string][]string{}
	var role, perm string
	if _, err := pgx.ForEachRow(rows, []any{&role, &perm}, func() error {
		perms[role] = append(perms[role], perm)
		return nil
	}); err != nil {
		return nil, false, err
	}
	for i := range roles {
		roles[i].Permissions = perms[roles[i].Name]
		if roles[i].Permissions == nil {
			roles[i].Permissions = []string{}
		}
	}
	return roles, more, nil
}

// documents reads a page of a community's documents, oldest first, and whether more follow.
func (r reader) documents(ctx context.Context, communityID string, p page[timeKey]) ([]model.Document, bool, error) {
	where, args := "community_id = $1", []any{communityID}
	if p.after != nil {
		where, args = keyset(where, args, "(created_at, id)", p.after.At, p.after.ID)
	}
	lim, args := limit(args, p.n)
	rows, _ := r.db.Query(ctx, `SELECT id, name, text, active, created_at, updated_at
		FROM documents WHERE `+where+` ORDER BY created_at, id`+lim, args...)
	docs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (model.Document, error) {
		var d model.Document
		err := row.Scan(&d.ID, &d.Name, &d.Text, &d.Active, &d.CreatedAt, &d.UpdatedAt)
		return d, err
	})
	if err != nil {
		return nil, false, err
	}
	docs, more := firstN(docs, p.n)
	return docs, more, nil
}

// policies reads a page of a community's policies, by kind, priority, name and id, and
// whether more follow.
func (r reader) policies(ctx context.Context, communityID string, p page[policyKey]) ([]model.Policy, bool, error) {
	where, args := "community_id = $1", []any{communityID}
	if p.after != nil {
		where, args = keyset(where, args, "(kind, priority, name, id)", p.after.Kind, p.after.Priority, p.after.Name, p.after.ID)
	}
	lim, args := limit(args, p.n)
	ps, err := r.policyRows(ctx, where+` ORDER BY kind, priority, name, id`+lim, args...)
	if err != nil {
		return nil, false, err
	}
	ps, more := firstN(ps, p.n)
	return ps, more, nil
}

func (r reader) policy(ctx context.Context, communityID, id string) (*model.Policy, error) {
	ps, err := r.policyRows(ctx, `community_id = $1 AND id = $2`, communityID, id)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, domain.NotFound("policy %q", id)
	}
	return &ps[0], nil
}

// policyRows reads the policies the clause selects (a WHERE condition, with its ORDER BY and
// LIMIT if any).
func (r reader) policyRows(ctx context.Context, clause string, args ...any) ([]model.Policy, error) {
	rows, _ := r.db.Query(ctx, `SELECT id, community_id, kind, name, description, action_types, priority, active,
			hash, version, code::text, variables::text, created_at, modified_at
		FROM policies WHERE `+clause, args...)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (model.Policy, error) {
		var p model.Policy
		err := row.Scan(&p.ID, &p.CommunityID, &p.Kind, &p.Name, &p.Description, &p.ActionTypes, &p.Priority, &p.Active,
			&p.Hash, &p.Version, &p.CodeJSON, &p.VariablesJSON, &p.CreatedAt, &p.ModifiedAt)
		return p, err
	})
}

// ownerPage is one statement that reads a page of several owners' lists: the columns of
// the rows of table whose owner columns (one, or several separated by commas) hold one of
// owners' values, after the keyset values after() (when args.from is set) and not later
// than args.asOf (by the column at, when it is not zero), up to n+1 per owner in the order
// of cols. owners has one array per owner column, the i-th owner's values at index i. It
// returns the statement and its arguments.
func ownerPage[K comparable](columns, table, owner, cols, at string, owners [][]string, args pageArgs[K], after func() []any) (string, []any) {
	ownerCols := strings.Split(owner, ", ")
	params := make([]string, len(ownerCols))
	sqlArgs := make([]any, len(ownerCols))
	for i := range ownerCols {
		params[i] = fmt.Sprintf("$%d::text[]", i+1)
		sqlArgs[i] = owners[i]
	}
	where := owner + " = ANY($1)"
	if len(ownerCols) > 1 {
		where = "(" + owner + ") IN (SELECT * FROM unnest(" + strings.Join(params, ", ") + "))"
	}
	if args.from {
		where, sqlArgs = keyset(where, sqlArgs, "("+cols+")", after()...)
	}
	if !args.asOf.IsZero() {
		sqlArgs = append(sqlArgs, args.asOf)
		where += fmt.Sprintf(" AND %s <= $%d", at, len(sqlArgs))
	}
	sqlArgs = append(sqlArgs, args.n+1)
	return fmt.Sprintf(`SELECT %s FROM (SELECT *, row_number() OVER (PARTITION BY %s ORDER BY %s) AS page_row FROM %s WHERE %s) t
		WHERE page_row <= $%d ORDER BY %s, %s`, columns, owner, cols, table, where, len(sqlArgs), owner, cols), sqlArgs
}

// policyOwner is the key of a policy's versions in the request's loaders: policy ids are
// unique only within a community.
func policyOwner(communityID, policyID string) string { return communityID + "\x00" + policyID }

// policyVersions reads a page of the histories of several policies (keys of policyOwner),
// oldest change first.
func (r reader) policyVersions(ctx context.Context, owners []string, args pageArgs[seqKey]) (map[string][]keyed[model.PolicyVersion, seqKey], error) {
	communities, policies := make([]string, len(owners)), make([]string, len(owners))
	for i, o := range owners {
		communities[i], policies[i], _ = strings.Cut(o, "\x00")
	}
	sql, sqlArgs := ownerPage(`community_id, policy_id, stream_version, version, change, active, hash, content::text, changed_at, action_id`,
		"policy_versions", "community_id, policy_id", "stream_version", "changed_at", [][]string{communities, policies}, args,
		func() []any { return []any{args.after.Seq} })
	rows, _ := r.db.Query(ctx, sql, sqlArgs...)
	out := map[string][]keyed[model.PolicyVersion, seqKey]{}
	var communityID, id string
	var k seqKey
	var v model.PolicyVersion
	_, err := pgx.ForEachRow(rows, []any{&communityID, &id, &k.Seq, &v.Version, &v.Change, &v.Active, &v.Hash, &v.ContentJSON, &v.ChangedAt, &v.ActionID}, func() error {
		owner := policyOwner(communityID, id)
		out[owner] = append(out[owner], keyed[model.PolicyVersion, seqKey]{key: k, node: v})
		return nil
	})
	return out, err
}

// policyVersionHashes reads the content hash of each version of a policy (of those made by
// asOf, when set).
func (r reader) policyVersionHashes(ctx context.Context, communityID, policyID string, asOf *time.Time) (map[int]string, error) {
	rows, _ := r.db.Query(ctx, `SELECT version, hash FROM policy_versions
		WHERE community_id = $1 AND policy_id = $2 AND ($3::timestamptz IS NULL OR changed_at <= $3)
		ORDER BY stream_version`, communityID, policyID, asOf)
	out := map[int]string{}
	var version int
	var hash string
	_, err := pgx.ForEachRow(rows, []any{&version, &hash}, func() error {
		out[version] = hash
		return nil
	})
	return out, err
}

const proposalColumns = `id, community_id, action_id, action_type, action_kind, initiator_id, policy_id, policy_name,
	policy_kind, policy_version, status, reason, proposal_time, decided_at, vote_post_id, vote_url`

func scanProposal(row pgx.Row) (model.Proposal, error) {
	var p model.Proposal
	var status string
	err := row.Scan(&p.ID, &p.CommunityID, &p.ActionID, &p.ActionType, &p.ActionKind, &p.InitiatorID, &p.PolicyID, &p.PolicyName,
		&p.PolicyKind, &p.PolicyVersion, &status, &p.Reason, &p.ProposalTime, &p.DecidedAt, &p.VotePostID, &p.VoteURL)
	p.Status = model.ProposalStatus(status)
	return p, err
}

func (r reader) proposal(ctx context.Context, id string) (*model.Proposal, error) {
	p, err := scanProposal(r.db.QueryRow(ctx, `SELECT `+proposalColumns+` FROM proposals WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, domain.NotFound("proposal %q", id)
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// proposalPage reads one page of a community's proposals, newest first (keyset paging on
// proposal_time, id, which the proposals_community_time index serves), and whether more
// follow, leaving out the proposals whose action views does not cover. first must be in
// 1..MaxPageSize; after is a cursor from a previous page.
func (r reader) proposalPage(ctx context.Context, communityID string, views viewFilter, f model.ProposalFilter, first int, after string, asOf *time.Time) ([]model.Proposal, bool, error) {
	where := []string{"community_id = $1"}
	args := []any{communityID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if !views.all {
		args = append(args, append([]string{}, views.kinds...), append([]string{}, views.types...))
		where = append(where, fmt.Sprintf("(action_kind = ANY($%d) OR action_type = ANY($%d))", len(args)-1, len(args)))
	}
	switch {
	case f.Status != nil && asOf != nil:
		// The status it had then: decided later means still proposed then.
		args = append(args, *asOf)
		add(fmt.Sprintf("(CASE WHEN decided_at IS NOT NULL AND decided_at <= $%d THEN status ELSE 'PROPOSED' END) = $%%d", len(args)), string(*f.Status))
	case f.Status != nil:
		add("status = $%d", string(*f.Status))
	}
	if f.Kind != nil {
		add("action_kind = $%d", *f.Kind)
	}
	if f.ActionType != nil {
		add("action_type = $%d", *f.ActionType)
	}
	if f.PolicyID != nil {
		add("policy_id = $%d", *f.PolicyID)
	}
	if f.InitiatorID != nil {
		add("initiator_id = $%d", *f.InitiatorID)
	}
	if f.From != nil {
		add("proposal_time >= $%d", *f.From)
	}
	if f.To != nil {
		add("proposal_time < $%d", *f.To)
	}
	if after != "" {
		at, id, err := decodeCursor(after)
		if err != nil {
			return nil, false, err
		}
		args = append(args, at, id)
		where = append(where, fmt.Sprintf("(proposal_time, id) < ($%d, $%d)", len(args)-1, len(args)))
	}
	args = append(args, first+1)
	sql := `SELECT ` + proposalColumns + ` FROM proposals WHERE ` + strings.Join(where, " AND ") +
		fmt.Sprintf(` ORDER BY proposal_time DESC, id DESC LIMIT $%d`, len(args))
	rows, _ := r.db.Query(ctx, sql, args...)
	page, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (model.Proposal, error) { return scanProposal(row) })
	if err != nil {
		return nil, false, err
	}
	if len(page) > first {
		return page[:first], true, nil
	}
	return page, false, nil
}

// A cursor is opaque to clients: the base64 of a proposal's time and id.
func encodeCursor(p model.Proposal) string {
	return base64.RawURLEncoding.EncodeToString([]byte(p.ProposalTime.UTC().Format(time.RFC3339Nano) + "|" + p.ID))
}

func decodeCursor(s string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		if at, id, ok := strings.Cut(string(b), "|"); ok {
			t, err := time.Parse(time.RFC3339Nano, at)
			if err == nil && id != "" {
				return t, id, nil
			}
		}
	}
	return time.Time{}, "", domain.Invalid("cursor %q is not one this API gave out", s)
}

// votes reads the current votes on several proposals.
func (r reader) votes(ctx context.Context, proposalIDs []string) (map[string][]model.Vote, error) {
	rows, _ := r.db.Query(ctx, `SELECT proposal_id, user_id, username, kind, boolean_value, choice, number_value, cast_at
		FROM votes WHERE proposal_id = ANY($1) ORDER BY proposal_id, cast_at, user_id`, proposalIDs)
	out := map[string][]model.Vote{}
	var id string
	var v model.Vote
	var number *int64
	_, err := pgx.ForEachRow(rows, []any{&id, &v.UserID, &v.Username, &v.Kind, &v.Boolean, &v.Choice, &number, &v.CastAt}, func() error {
		vote := v
		if number != nil {
			n := int(*number)
			vote.Number = &n
		}
		out[id] = append(out[id], vote)
		return nil
	})
	return out, err
}

// effects reads a page of the effects each of several proposals requested, in the order
// they were requested.
func (r reader) effects(ctx context.Context, proposalIDs []string, args pageArgs[timeKey]) (map[string][]keyed[model.Effect, timeKey], error) {
	sql, sqlArgs := ownerPage(`proposal_id, id, platform, method, purpose, args::text, status, result::text, error, requested_at, finished_at`,
		"effects", "proposal_id", "requested_at, id", "requested_at", [][]string{proposalIDs}, args, func() []any { return []any{args.after.At, args.after.ID} })
	rows, _ := r.db.Query(ctx, sql, sqlArgs...)
	out := map[string][]keyed[model.Effect, timeKey]{}
	var id string
	var e model.Effect
	_, err := pgx.ForEachRow(rows, []any{&id, &e.ID, &e.Platform, &e.Method, &e.Purpose, &e.ArgsJSON, &e.Status, &e.ResultJSON, &e.Error,
		&e.RequestedAt, &e.FinishedAt}, func() error {
		out[id] = append(out[id], keyed[model.Effect, timeKey]{key: timeKey{e.RequestedAt, e.ID}, node: e})
		return nil
	})
	return out, err
}

// evaluationLogs reads a page of the recorded block runs of each of several proposals, in
// stream order.
func (r reader) evaluationLogs(ctx context.Context, proposalIDs []string, args pageArgs[seqKey]) (map[string][]keyed[model.EvaluationLog, seqKey], error) {
	sql, sqlArgs := ownerPage(`proposal_id, stream_version, block, result, error, logs::text, evaluated_at`,
		"evaluation_logs", "proposal_id", "stream_version", "evaluated_at", [][]string{proposalIDs}, args, func() []any { return []any{args.after.Seq} })
	rows, _ := r.db.Query(ctx, sql, sqlArgs...)
	out := map[string][]keyed[model.EvaluationLog, seqKey]{}
	var id string
	var k seqKey
	var l model.EvaluationLog
	_, err := pgx.ForEachRow(rows, []any{&id, &k.Seq, &l.Block, &l.Result, &l.Error, &l.LogsJSON, &l.EvaluatedAt}, func() error {
		out[id] = append(out[id], keyed[model.EvaluationLog, seqKey]{key: k, node: l})
		return nil
	})
	return out, err
}

const actionColumns = `id, community_id, kind, type, platform, initiator_id, fields::text, reversible, status, reason,
	proposed_at, decided_at, governing_proposal_id`

func scanAction(row pgx.Row) (model.Action, error) {
	var a model.Action
	err := row.Scan(&a.ID, &a.CommunityID, &a.Kind, &a.Type, &a.Platform, &a.InitiatorID, &a.FieldsJSON, &a.Reversible, &a.Status, &a.Reason,
		&a.ProposedAt, &a.DecidedAt, &a.GoverningProposalID)
	return a, err
}

// actions reads several actions by id.
func (r reader) actions(ctx context.Context, ids []string) (map[string][]model.Action, error) {
	rows, _ := r.db.Query(ctx, `SELECT `+actionColumns+` FROM actions WHERE id = ANY($1)`, ids)
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (model.Action, error) { return scanAction(row) })
	out := map[string][]model.Action{}
	for _, a := range list {
		out[a.ID] = []model.Action{a}
	}
	return out, err
}

func (r reader) action(ctx context.Context, id string) (*model.Action, error) {
	a, err := scanAction(r.db.QueryRow(ctx, `SELECT `+actionColumns+` FROM actions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, domain.NotFound("action %q", id)
	}
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// tally counts current votes: boolean yes and no, every vote, and choice votes per choice.
func tally(votes []model.Vote) *model.Tally {
	t := &model.Tally{Total: len(votes), Choices: []model.ChoiceCount{}}
	counts := map[string]int{}
	for _, v := range votes {
		switch {
		case v.Kind == domain.VoteBoolean && v.Boolean != nil && *v.Boolean:
			t.Yes++
		case v.Kind == domain.VoteBoolean:
			t.No++
		case v.Kind == domain.VoteChoice && v.Choice != nil:
			counts[*v.Choice]++
		}
	}
	for c, n := range counts {
		t.Choices = append(t.Choices, model.ChoiceCount{Choice: c, Count: n})
	}
	sort.Slice(t.Choices, func(i, j int) bool { return t.Choices[i].Choice < t.Choices[j].Choice })
	return t
}

func uniqueSorted(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
