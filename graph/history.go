package graph

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/graph/model"
	"github.com/policykit-go/policykit/identity"
	"github.com/policykit-go/policykit/starterkits"
)

// History: the audit fields (Community.events, Proposal.verification), communities as of
// a time, and policy import, export and diff. They read the event log, not the read models
// (Community.events finds a community's events through the read models' index of them).

// eventPage returns, after the cursor, up to first of the community's events (by the
// decoded event's community id) that pass the filter, and whether more follow. An action or
// proposal stream's events are included only when views allows its stream. k, when not nil,
// leaves out the events after it.
//
// The events come from the index of the community's events (eventIndex) up to where the
// index covers the log, and from the log after that: the index is kept by the projections
// runner, which follows the log closely, so the log is read only for its latest events (all
// of it while the index is being built).
func (r *Resolver) eventPage(ctx context.Context, communityID string, f model.EventFilter, first int, cursor string, views func(stream string) bool, k *cut) ([]model.Event, bool, error) {
	pos := eventstore.Start
	if cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(cursor)
		if err == nil {
			pos, err = eventstore.ParsePosition(string(b))
		}
		if err != nil {
			return nil, false, domain.Invalid("cursor %q is not one this API gave out", cursor)
		}
	}
	out, more, covered, err := eventIndex{db: r.deps.DB, store: r.deps.Store}.page(ctx, communityID, f, first, pos, views, k)
	if err != nil || more {
		return out, more, err
	}
	if pos.Less(covered) {
		pos = covered
	}
	for ev, err := range eventstore.All(ctx, r.deps.Store, pos) {
		if err != nil {
			return nil, false, err
		}
		if k != nil && k.pos != nil && k.pos.Less(ev.Position) {
			break // the log goes on in position order: nothing after the cut is shown
		}
		if !eventMatches(ev, communityID, f, views, k) {
			continue
		}
		if len(out) == first {
			return out, true, nil
		}
		out = append(out, eventOf(ev))
	}
	return out, false, nil
}

func eventMatches(ev eventstore.RecordedEvent, communityID string, f model.EventFilter, views func(stream string) bool, k *cut) bool {
	if f.Stream != nil && ev.Stream != *f.Stream {
		return false
	}
	if f.Types != nil && !slices.Contains(f.Types, ev.Type) {
		return false
	}
	if f.From != nil && ev.RecordedAt.Before(*f.From) {
		return false
	}
	if f.To != nil && !ev.RecordedAt.Before(*f.To) {
		return false
	}
	if k != nil && k.excludes(ev, ev.RecordedAt) {
		return false
	}
	if ev.Stream != domain.CommunityStream(communityID) {
		if cat := domain.StreamCategory(ev.Stream); cat != domain.CategoryAction && cat != domain.CategoryProposal {
			return false
		}
		if !views(ev.Stream) {
			return false
		}
	}
	e, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
	return err == nil && e.Meta().CommunityID == communityID
}

func eventOf(ev eventstore.RecordedEvent) model.Event {
	env := bus.EnvelopeOf(ev)
	e := model.Event{
		ID: env.ID.String(), Position: env.Position, Stream: env.Stream, Version: int(env.Version), Type: env.Type,
		SchemaVersion: env.SchemaVersion, RecordedAt: env.RecordedAt, DataJSON: publicData(env.Type, env.Data),
	}
	if env.CausationID != nil {
		s := env.CausationID.String()
		e.CausationID = &s
	}
	if env.CorrelationID != nil {
		s := env.CorrelationID.String()
		e.CorrelationID = &s
	}
	return e
}

// publicData is an event's data as the API shows it: the secrets of a connection, sealed in
// the log, appear by name only (domain.RedactedSecret), as in the read models. They are in
// PlatformConnected and in the snapshot of an action that connects a platform (ActionProposed,
// ProposalOpened); every other event is shown as recorded.
func publicData(typ string, data []byte) string {
	switch typ {
	case domain.EventPlatformConnected, domain.EventActionProposed, domain.EventProposalOpened:
	default:
		return string(data)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // numbers stay as recorded
	if err := dec.Decode(&m); err != nil {
		return "{}" // never the raw data, which may hold a sealed secret
	}
	if typ == domain.EventPlatformConnected {
		redactSecrets(m)
	} else if a, ok := m["action"].(map[string]any); ok && a["action_type"] == domain.ActionAddIntegration {
		if f, ok := a["fields"].(map[string]any); ok {
			redactSecrets(f)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// redactSecrets replaces the value of each entry of m["secrets"] by domain.RedactedSecret.
func redactSecrets(m map[string]any) {
	secrets, ok := m["secrets"].(map[string]any)
	if !ok {
		if _, present := m["secrets"]; present {
			m["secrets"] = map[string]any{}
		}
		return
	}
	for k := range secrets {
		secrets[k] = domain.RedactedSecret
	}
}

// eventConnection is Community.events: the caller must view the community; the events of an
// action or proposal are included only when the caller may view the action's type (as the
// read models know it).
func (r *Resolver) eventConnection(ctx context.Context, c *model.Community, filter *model.EventFilter, first *int, after *string) (*model.EventConnection, error) {
	m, err := viewer(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	n, err := pageSize(first, 50)
	if err != nil {
		return nil, err
	}
	var f model.EventFilter
	if filter != nil {
		f = *filter
	}
	var cursor string
	if after != nil {
		cursor = *after
	}
	views, err := r.viewableStreams(ctx, c.ID, m)
	if err != nil {
		return nil, err
	}
	page, more, err := r.eventPage(ctx, c.ID, f, n, cursor, func(stream string) bool { return views[stream] }, cutOf(c))
	if err != nil {
		return nil, err
	}
	conn := &model.EventConnection{Edges: make([]model.EventEdge, len(page)), PageInfo: &model.PageInfo{HasNextPage: more}}
	for i := range page {
		conn.Edges[i] = model.EventEdge{Cursor: base64.RawURLEncoding.EncodeToString([]byte(page[i].Position)), Node: &page[i]}
	}
	if len(page) > 0 {
		conn.PageInfo.EndCursor = &conn.Edges[len(page)-1].Cursor
	}
	return conn, nil
}

// viewableStreams lists the action and proposal streams of the community whose action m may
// view (one statement).
func (r *Resolver) viewableStreams(ctx context.Context, communityID string, m identity.Membership) (map[string]bool, error) {
	rows, _ := r.deps.DB.Query(ctx, `SELECT a.id, a.type, a.kind, COALESCE(array_agg(p.id) FILTER (WHERE p.id IS NOT NULL), '{}')
		FROM actions a LEFT JOIN proposals p ON p.community_id = a.community_id AND p.action_id = a.id WHERE a.community_id = $1 GROUP BY a.id, a.type, a.kind`, communityID)
	out := map[string]bool{}
	var id, typ, kind string
	var proposals []string
	_, err := pgx.ForEachRow(rows, []any{&id, &typ, &kind, &proposals}, func() error {
		if m.Can(domain.VerbView, typ, domain.Kind(kind)) {
			out[domain.ActionStream(id)] = true
			for _, p := range proposals {
				out[domain.ProposalStream(p)] = true
			}
		}
		return nil
	})
	return out, err
}

// VerifyProposal re-runs the recorded decisions of one proposal: engine.VerifyStreams over
// the streams of the proposal, its action and its community, read by themselves, so that
// its cost does not grow with the rest of the log.
func VerifyProposal(ctx context.Context, store eventstore.Store, loop *evaluation.Loop, communityID, actionID, proposalID string) (engine.AuditReport, error) {
	return engine.VerifyStreams(ctx, store, loop,
		domain.CommunityStream(communityID), domain.ActionStream(actionID), domain.ProposalStream(proposalID))
}

// MaxVerifications bounds the Proposal.verification fields one request (or one response
// of a subscription) runs; the others are LIMIT_EXCEEDED.
const MaxVerifications = 5

// verification re-runs the proposal's decisions: at most MaxVerifications per request, and
// Deps.Verifications at once across requests, waiting for a turn only while the request
// lasts; a client that leaves stops it.
func (r *Resolver) verification(ctx context.Context, p *model.Proposal) (*model.Verification, error) {
	if r.deps.Loop == nil {
		return nil, errors.New("verification: no evaluation loop")
	}
	if n := r.loadersOf(ctx).verifications.Add(1); n > MaxVerifications {
		return nil, limitExceeded("a request may verify at most %d proposals", MaxVerifications)
	}
	select {
	case r.verifications <- struct{}{}:
		defer func() { <-r.verifications }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	rep, err := VerifyProposal(ctx, r.deps.Store, r.deps.Loop, p.CommunityID, p.ActionID, p.ID)
	if err != nil {
		return nil, err
	}
	v := &model.Verification{Ok: len(rep.Mismatches) == 0, Decisions: rep.Decisions, Mismatches: []string{}}
	for _, m := range rep.Mismatches {
		v.Mismatches = append(v.Mismatches, fmt.Sprintf("%s decision at %s: %s", m.Decision.Kind, m.Decision.At.UTC().Format(time.RFC3339Nano), m.Reason))
	}
	return v, nil
}

// communityThen is query community: the current community, or the one as of a time or a
// log position.
func (r *Resolver) communityThen(ctx context.Context, id string, asOf *time.Time, asOfPosition *string) (*model.Community, error) {
	if asOf != nil && asOfPosition != nil {
		return nil, domain.Invalid("give asOf or asOfPosition, not both")
	}
	if asOf == nil && asOfPosition == nil {
		return r.read.community(ctx, id)
	}
	then := &model.Community{ID: id}
	if asOf != nil {
		at := *asOf
		then.AsOf = &at
	} else {
		ev, err := r.eventAt(ctx, *asOfPosition)
		if err != nil {
			return nil, err
		}
		then.AsOf, then.AsOfPosition = &ev.RecordedAt, ev.Position.String()
	}
	c, err := r.communityAsOf(ctx, then)
	if err != nil {
		return nil, err
	}
	then.Name, then.CreatedAt = c.Name, c.CreatedAt
	return then, nil
}

// eventAt reads the event at a log position (the first after the position just before it:
// positions of one commit have consecutive sequence numbers).
func (r *Resolver) eventAt(ctx context.Context, position string) (eventstore.RecordedEvent, error) {
	pos, err := eventstore.ParsePosition(position)
	if err != nil || pos.Seq < 1 {
		return eventstore.RecordedEvent{}, domain.Invalid("asOfPosition %q is not a log position (commit:seq, as Event.position shows)", position)
	}
	evs, err := r.deps.Store.ReadAll(ctx, eventstore.Position{Commit: pos.Commit, Seq: pos.Seq - 1}, 1)
	if err != nil {
		return eventstore.RecordedEvent{}, err
	}
	if len(evs) == 0 || evs[0].Position != pos {
		return eventstore.RecordedEvent{}, domain.NotFound("event at log position %s", position)
	}
	return evs[0], nil
}

// cut is where a community as of then ends the log: right after the event at a position,
// or at a time.
type cut struct {
	at  time.Time
	pos *eventstore.Position
}

// cutOf is the cut of a community as of then; nil for the current community.
func cutOf(then *model.Community) *cut {
	if then == nil || then.AsOf == nil {
		return nil
	}
	c := &cut{at: *then.AsOf}
	if then.AsOfPosition != "" {
		if pos, err := eventstore.ParsePosition(then.AsOfPosition); err == nil {
			c.pos = &pos
		}
	}
	return c
}

// excludes tells whether an event that happened at at comes after the cut.
func (c *cut) excludes(ev eventstore.RecordedEvent, at time.Time) bool {
	if c.pos != nil {
		return c.pos.Less(ev.Position)
	}
	return at.After(c.at)
}

// eventTime is when an event happened: its own time when it carries one, as the events the
// aggregates decide do, else when the log recorded it.
func eventTime(ev eventstore.RecordedEvent, e domain.Event) time.Time {
	if e != nil && !e.Meta().At.IsZero() {
		return e.Meta().At
	}
	return ev.RecordedAt
}

// communityAsOf folds the community stream up to where then ends it, once per request: the
// fields of one community(asOf:) share the fold.
func (r *Resolver) communityAsOf(ctx context.Context, then *model.Community) (*domain.Community, error) {
	key := "community " + then.ID + " " + then.AsOf.Format(time.RFC3339Nano) + " " + then.AsOfPosition
	return memoize(r.loadersOf(ctx).folds, key, func() (*domain.Community, error) { return r.foldCommunity(ctx, then) })
}

func (r *Resolver) foldCommunity(ctx context.Context, then *model.Community) (*domain.Community, error) {
	k := cutOf(then)
	evs, err := engine.ReadStream(ctx, r.deps.Store, domain.CommunityStream(then.ID))
	if err != nil {
		return nil, err
	}
	var events []domain.Event
	for _, ev := range evs {
		e, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
		if err != nil {
			e = &domain.UnknownEvent{Type: ev.Type, SchemaVersion: ev.SchemaVersion, Data: ev.Data}
		}
		if k.excludes(ev, eventTime(ev, e)) {
			break
		}
		events = append(events, e)
	}
	c := domain.NewCommunityFromEvents(events)
	if !c.Created() {
		if then.AsOfPosition != "" {
			return nil, domain.NotFound("community %q at log position %s", then.ID, then.AsOfPosition)
		}
		return nil, domain.NotFound("community %q as of %s", then.ID, then.AsOf.UTC().Format(time.RFC3339))
	}
	return c, nil
}

func baseRoles(c *domain.Community) []string {
	var out []string
	for _, ro := range c.Roles {
		if ro.IsBase {
			out = append(out, ro.Name)
		}
	}
	return out
}

func membersOf(c *domain.Community) []model.Member {
	base := baseRoles(c)
	out := []model.Member{}
	for _, u := range c.Users {
		out = append(out, model.Member{ID: u.ID, Platform: u.Platform, Username: u.Username, ReadableName: u.ReadableName,
			IsAdmin: u.IsAdmin, Avatar: u.Avatar, JoinedAt: u.JoinedAt, Roles: uniqueSorted(append(append([]string{}, base...), u.Roles...))})
	}
	sort.Slice(out, func(i, j int) bool { return memberKeyOf(out[i]).less(memberKeyOf(out[j])) })
	return out
}

// rolesOf maps the roles; the event log keeps no creation time of a role, so createdAt is
// the community's.
func rolesOf(c *domain.Community) []model.Role {
	out := []model.Role{}
	for _, ro := range c.Roles {
		perms := []string{}
		for _, p := range ro.Permissions {
			perms = append(perms, p.String())
		}
		sort.Strings(perms)
		out = append(out, model.Role{Name: ro.Name, Description: ro.Description, IsBase: ro.IsBase, Permissions: perms, CreatedAt: c.CreatedAt})
	}
	sort.Slice(out, func(i, j int) bool { return roleKeyOf(out[i]).less(roleKeyOf(out[j])) })
	return out
}

func documentsOf(c *domain.Community) []model.Document {
	out := []model.Document{}
	for _, d := range c.Docs {
		out = append(out, model.Document{ID: d.ID, Name: d.Name, Text: d.Text, Active: d.Active, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt})
	}
	sort.Slice(out, func(i, j int) bool { return documentKeyOf(out[i]).less(documentKeyOf(out[j])) })
	return out
}

func policiesOf(c *domain.Community, asOf *time.Time) ([]model.Policy, error) {
	out := []model.Policy{}
	for _, p := range c.Policies {
		code, err := json.Marshal(p.Code)
		if err != nil {
			return nil, err
		}
		vars := []byte("[]")
		if len(p.Variables) > 0 {
			if vars, err = json.Marshal(p.Variables); err != nil {
				return nil, err
			}
		}
		types := p.ActionTypes
		if types == nil {
			types = []string{}
		}
		out = append(out, model.Policy{ID: p.ID, CommunityID: c.ID, Kind: string(p.Kind), Name: p.Name, Description: p.Description,
			ActionTypes: types, Priority: p.Priority, Active: p.Active, Hash: p.Hash, Version: p.Version,
			CodeJSON: string(code), VariablesJSON: string(vars), CreatedAt: p.CreatedAt, ModifiedAt: p.ModifiedAt, AsOf: asOf})
	}
	// In the order the read model pages them, so that as-of pages use the same cursors.
	sort.Slice(out, func(i, j int) bool { return policyKeyOf(out[i]).less(policyKeyOf(out[j])) })
	return out, nil
}

// createCommunity creates a community on the web platform with a starter kit; the caller's
// account becomes its admin member.
func (r *Resolver) createCommunity(ctx context.Context, in model.CreateCommunityInput) (*model.Community, error) {
	caller, err := CallerOf(ctx)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(in.Name) == "" {
		return nil, domain.Invalid("name is required")
	}
	kitName := "testing"
	if in.Kit != nil && *in.Kit != "" {
		kitName = *in.Kit
	}
	kit, err := starterkits.Load(kitName)
	if err != nil {
		return nil, domain.Invalid("starter kit %q: %v", kitName, err)
	}
	id, userID := r.deps.NewID(), r.deps.NewID()
	if _, err := engine.NewCommunity(ctx, r.deps.Store, domain.CreateCommunity{CommunityID: id, Name: in.Name, Platform: domain.PlatformWeb}, kit,
		domain.RegisterUser{UserID: userID, Platform: domain.PlatformWeb, Username: caller.Account.Username, ReadableName: caller.Account.Username, IsAdmin: true},
		r.deps.Now()); err != nil {
		return nil, err
	}
	if err := r.awaitReadModels(ctx, domain.CommunityStream(id)); err != nil {
		return nil, err
	}
	if err := r.accounts.LinkMember(ctx, caller.Account.ID, id, userID); err != nil {
		return nil, err
	}
	return r.read.community(ctx, id)
}

// importPolicy proposes a policy file as the constitution action that adds it.
func (r *Resolver) importPolicy(ctx context.Context, in model.ImportPolicyInput) (*model.ProposeActionPayload, error) {
	m, err := member(ctx, in.CommunityID)
	if err != nil {
		return nil, err
	}
	spec, err := domain.ParsePolicyFile([]byte(in.PolicyJSON))
	if err != nil {
		return nil, err
	}
	a, err := domain.NewConstitutionAction(r.deps.NewID(), in.CommunityID, m.UserID, domain.AddPolicyOf("", spec), r.deps.Now())
	if err != nil {
		return nil, err
	}
	return r.propose(ctx, a)
}

// viewablePolicy returns the community of a policy the caller may view. Policy ids are
// unique within a community only, so the policy is looked up among the caller's own
// communities: a policy of a community the caller is not a member of does not exist for it
// (NOT_FOUND), and an id that names a policy in several of them is INVALID (their policies
// are read through community(id:) then). A failure to read the policy is not hidden as
// NOT_FOUND.
func (r *Resolver) viewablePolicy(ctx context.Context, id string) (string, error) {
	caller, err := CallerOf(ctx)
	if err != nil {
		return "", err
	}
	mine := make([]string, 0, len(caller.Members))
	for communityID := range caller.Members {
		mine = append(mine, communityID)
	}
	var found []string
	if err := r.deps.DB.QueryRow(ctx, `SELECT array_agg(community_id ORDER BY community_id) FROM policies WHERE id = $1 AND community_id = ANY($2)`,
		id, mine).Scan(&found); err != nil {
		return "", fmt.Errorf("read policy %s: %w", id, err)
	}
	switch len(found) {
	case 0:
		return "", domain.NotFound("policy %q", id)
	case 1:
	default:
		return "", domain.Invalid("policy id %q names a policy in each of your communities %s; read it through community(id:)",
			id, strings.Join(found, ", "))
	}
	if _, err := viewer(ctx, found[0]); err != nil {
		return "", err
	}
	return found[0], nil
}

// policy reads a policy the caller may view.
func (r *Resolver) policy(ctx context.Context, id string) (*model.Policy, error) {
	communityID, err := r.viewablePolicy(ctx, id)
	if err != nil {
		return nil, err
	}
	return r.read.policy(ctx, communityID, id)
}

// exportPolicy returns a policy's current version as a PolicyKit policy file.
func (r *Resolver) exportPolicy(ctx context.Context, id string) (string, error) {
	communityID, err := r.viewablePolicy(ctx, id)
	if err != nil {
		return "", err
	}
	c, err := engine.LoadCommunity(ctx, r.deps.Store, communityID)
	if err != nil {
		return "", err
	}
	p, ok := c.Policies[id]
	if !ok {
		return "", domain.NotFound("policy %q", id)
	}
	b, err := json.MarshalIndent(domain.PolicyFileOf(p.PolicySpec), "", "  ")
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// policyDiff diffs the code of two versions of a policy.
func (r *Resolver) policyDiff(ctx context.Context, p *model.Policy, from, to int) (string, error) {
	if _, err := viewer(ctx, p.CommunityID); err != nil {
		return "", err
	}
	hashes, err := r.read.policyVersionHashes(ctx, p.CommunityID, p.ID, p.AsOf)
	if err != nil {
		return "", err
	}
	for _, n := range []int{from, to} {
		if _, ok := hashes[n]; !ok {
			return "", domain.Invalid("policy %q has no version %d", p.ID, n)
		}
	}
	c, err := engine.LoadCommunity(ctx, r.deps.Store, p.CommunityID)
	if err != nil {
		return "", err
	}
	a, ok1 := c.PolicyVersions[hashes[from]]
	b, ok2 := c.PolicyVersions[hashes[to]]
	if !ok1 || !ok2 {
		return "", fmt.Errorf("policy %s: a version's content is not in the community stream", p.ID)
	}
	return LineDiff(codeText(a.Code), codeText(b.Code)), nil
}

// codeText lays a policy's blocks out as text, one "# block" header each.
func codeText(c domain.PolicyCode) string {
	var b strings.Builder
	for _, blk := range []struct{ name, code string }{{"filter", c.Filter}, {"initialize", c.Initialize}, {"check", c.Check},
		{"notify", c.Notify}, {"success", c.Success}, {"fail", c.Fail}} {
		fmt.Fprintf(&b, "# %s\n%s", blk.name, blk.code)
		if !strings.HasSuffix(blk.code, "\n") {
			b.WriteString("\n")
		}
	}
	return b.String()
}

// LineDiff is a longest-common-subsequence line diff of a and b: each line of the result
// starts with "  " (in both), "- " (only in a) or "+ " (only in b).
func LineDiff(a, b string) string {
	x, y := splitLines(a), splitLines(b)
	n, m := len(x), len(y)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			out.WriteString("  " + x[i] + "\n")
			i, j = i+1, j+1
		case i < n && (j == m || lcs[i+1][j] >= lcs[i][j+1]):
			out.WriteString("- " + x[i] + "\n")
			i++
		default:
			out.WriteString("+ " + y[j] + "\n")
			j++
		}
	}
	return out.String()
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// platformsOf shows a community's platforms as folded from the log: the names of the
// connections' secrets, never their (sealed) values.
func platformsOf(c *domain.Community) ([]model.Platform, error) {
	out := []model.Platform{}
	for _, p := range c.Platforms {
		settings := p.Settings
		if settings == nil {
			settings = map[string]string{}
		}
		b, err := json.Marshal(settings)
		if err != nil {
			return nil, fmt.Errorf("settings of %s: %w", p.Platform, err)
		}
		names := slices.Sorted(maps.Keys(p.Secrets))
		if names == nil {
			names = []string{}
		}
		out = append(out, model.Platform{Name: p.Platform, ExternalID: p.ExternalID, DisplayName: p.Name, Active: p.Active, ConnectedAt: p.ConnectedAt,
			SettingsJSON: string(b), SecretNames: names})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// votesAsOf is each member's vote on a proposal as it stood at asOf, folded from the
// proposal's stream: the read models keep only the current votes, and a member who changed
// their vote later had another one then.
func (r *Resolver) votesAsOf(ctx context.Context, proposalID string, asOf time.Time) ([]model.Vote, error) {
	key := "votes " + proposalID + " " + asOf.Format(time.RFC3339Nano)
	return memoize(r.loadersOf(ctx).folds, key, func() ([]model.Vote, error) { return r.foldVotes(ctx, proposalID, asOf) })
}

func (r *Resolver) foldVotes(ctx context.Context, proposalID string, asOf time.Time) ([]model.Vote, error) {
	evs, err := engine.ReadStream(ctx, r.deps.Store, domain.ProposalStream(proposalID))
	if err != nil {
		return nil, err
	}
	p := &domain.Proposal{}
	for _, ev := range evs {
		e, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
		if err != nil {
			return nil, fmt.Errorf("read %s@%d: %w", ev.Stream, ev.Version, err)
		}
		if eventTime(ev, e).After(asOf) {
			break
		}
		p.Apply(e)
	}
	out := []model.Vote{}
	for _, v := range p.Votes {
		mv := model.Vote{UserID: v.UserID, Username: v.Username, Kind: v.Kind, CastAt: v.At}
		switch v.Kind {
		case domain.VoteBoolean:
			mv.Boolean = &v.Boolean
		case domain.VoteChoice:
			mv.Choice = &v.Choice
		case domain.VoteNumber:
			mv.Number = &v.Number
		}
		out = append(out, mv)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CastAt.Equal(out[j].CastAt) {
			return out[i].CastAt.Before(out[j].CastAt)
		}
		return out[i].UserID < out[j].UserID
	})
	return out, nil
}
