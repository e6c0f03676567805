package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/graph/model"
	"github.com/policykit-go/policykit/policytest"
)

// What the dashboard needs besides the read models: the catalogue of action types and
// permissions, checking policy code while it is typed, dry runs of a draft policy, the
// community's evaluation logs, and the addresses platforms are connected through.

// Bounds of the code and scenarios the dashboard sends.
const (
	// MaxBlockBytes bounds each block of policy code validatePolicyCode and dryRun accept.
	MaxBlockBytes = 64 << 10
	// MaxScenarioBytes bounds a dry run's scenario.
	MaxScenarioBytes = 64 << 10
	// MaxDryRunSteps bounds a dry run's steps.
	MaxDryRunSteps = 200
	// MaxDryRunChecks bounds the re-check rounds a dry run's advance steps may take: the
	// time advanced divided by the recheck interval.
	MaxDryRunChecks = 2000
	// DryRunTimeout bounds how long a dry run may take in all.
	DryRunTimeout = 30 * time.Second
	// ValidatePolicyCodeComplexity is what one validatePolicyCode costs against
	// MaxComplexity: it compiles six blocks in the policy sandbox.
	ValidatePolicyCodeComplexity = 100
	// DryRunComplexity is what one dryRun costs: it runs a whole scenario in the sandbox.
	DryRunComplexity = 1000
)

// InstallLink is an install flow this server serves (Deps.InstallLinks): a platform and
// the path of its install route, e.g. {"slack", "/auth/slack/install"}.
type InstallLink struct {
	Platform string
	Path     string
}

// Field types of ActionField.type.
const (
	fieldText        = "text"
	fieldLongText    = "longtext"
	fieldBoolean     = "boolean"
	fieldNumber      = "number"
	fieldList        = "list"
	fieldPermissions = "permissions"
	fieldMap         = "map"
	fieldCode        = "code"
	fieldUserIDs     = "userIds"
)

// payloads maps each constitution action type to its payload struct (see
// domain.DecodeConstitutionPayload), whose JSON fields are the form's fields.
func payloads() map[string]any {
	m := map[string]any{
		domain.ActionAddRole:             domain.AddRole{},
		domain.ActionEditRole:            domain.EditRole{},
		domain.ActionDeleteRole:          domain.DeleteRole{},
		domain.ActionAddUserRole:         domain.AddUserRole{},
		domain.ActionRemoveUserRole:      domain.RemoveUserRole{},
		domain.ActionAddCommunityDoc:     domain.AddDocument{},
		domain.ActionChangeCommunityDoc:  domain.ChangeDocument{},
		domain.ActionDeleteCommunityDoc:  domain.DeleteDocument{},
		domain.ActionRecoverCommunityDoc: domain.RecoverDocument{},
		domain.ActionAddIntegration:      domain.AddIntegration{},
		domain.ActionRemoveIntegration:   domain.RemoveIntegration{},
	}
	for _, k := range domain.Kinds() {
		m[domain.PolicyActionType("add", k)] = domain.AddPolicy{}
		m[domain.PolicyActionType("change", k)] = domain.ChangePolicy{}
		m[domain.PolicyActionType("remove", k)] = domain.RemovePolicy{}
		m[domain.PolicyActionType("recover", k)] = domain.RecoverPolicy{}
	}
	return m
}

// fieldNotes describes the payload fields whose name does not say enough.
var fieldNotes = map[string]string{
	"policy_id":    "The id of the policy.",
	"document_id":  "The id of the document.",
	"role":         "The role's name.",
	"user_ids":     "Member ids.",
	"permissions":  "verb:actiontype, e.g. propose:slackpostmessage (see permissionCatalog).",
	"action_types": "The action types the policy governs or is triggered by; none: every type of its kind.",
	"filter_lang":  "starlark (default) or expr",
	"check_lang":   "starlark (default) or expr",
	"variables":    "A JSON list of variables: [{name, label, prompt, type, default_value, value, required, is_list}].",
	"priority":     "Lower is tried first (default 0).",
	"is_base":      "Every member holds a base role.",
	"settings":     "The connection's settings, not secret.",
	"secrets":      "Given in the clear, sealed before they are recorded, never shown again.",
	"external_id":  "The platform's id of the community (team id, guild id, site URL).",
}

// payloadFields lists the fields of a payload struct, by its JSON names: the ones a member
// gives (a policy's kind comes from the action type; an added policy or document takes the
// action's id).
func payloadFields(v any) []model.ActionField {
	var out []model.ActionField
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				walk(f.Type)
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" || name == "kind" {
				continue
			}
			omit := strings.Contains(opts, "omitempty")
			switch t.Name() {
			case "AddPolicy", "AddDocument":
				if name == "policy_id" || name == "document_id" {
					continue
				}
			}
			typ := fieldText
			switch {
			case t.Name() == "PolicyCode" && !strings.HasSuffix(name, "_lang"):
				typ = fieldCode
			case name == "user_ids":
				typ = fieldUserIDs
			case name == "variables":
				typ = fieldLongText
			case name == "text" || name == "description":
				typ = fieldLongText
			case f.Type == reflect.TypeFor[[]domain.Permission]():
				typ = fieldPermissions
			case f.Type.Kind() == reflect.Map:
				typ = fieldMap
			case f.Type.Kind() == reflect.Slice:
				typ = fieldList
			case f.Type.Kind() == reflect.Bool:
				typ = fieldBoolean
			case f.Type.Kind() == reflect.Int:
				typ = fieldNumber
			}
			required := !omit && name != "description" && !strings.HasSuffix(name, "_lang") && (typ == fieldText || typ == fieldLongText || typ == fieldUserIDs)
			field := model.ActionField{Name: name, Type: typ, Required: required}
			if note, ok := fieldNotes[name]; ok {
				field.Description = &note
			}
			out = append(out, field)
		}
	}
	walk(reflect.TypeOf(v))
	return out
}

// actionTypes is Query.actionTypes.
func actionTypes() []model.ActionType {
	pl := payloads()
	infos := domain.ActionTypes()
	out := make([]model.ActionType, 0, len(infos))
	for _, i := range infos {
		t := model.ActionType{
			Type: i.Type, Kind: string(i.Kind), Platform: i.Platform, Label: i.Label, Governable: i.Governable,
			Proposable:         i.Kind == domain.KindConstitution || (i.Kind == domain.KindPlatform && i.Governable),
			ExplicitPermission: i.Explicit, Fields: []model.ActionField{},
		}
		if p, ok := pl[i.Type]; ok {
			t.Fields = payloadFields(p)
		} else {
			for _, f := range i.Fields {
				t.Fields = append(t.Fields, model.ActionField{Name: f, Type: fieldText})
			}
		}
		out = append(out, t)
	}
	return out
}

// permissionCatalog is Query.permissionCatalog.
func permissionCatalog() *model.PermissionCatalog {
	c := &model.PermissionCatalog{
		Verbs:     []string{domain.VerbPropose, domain.VerbExecute, domain.VerbView, domain.VerbVote},
		Wildcards: []string{domain.AnyActionType, domain.AnyPlatformAction, domain.AnyConstitutionAction, domain.AnyTriggerAction},
	}
	for _, i := range domain.ActionTypes() {
		c.ActionTypes = append(c.ActionTypes, i.Type)
	}
	return c
}

// policyCode maps the input's blocks, each at most MaxBlockBytes.
func policyCode(in model.PolicyCodeInput) (domain.PolicyCode, error) {
	get := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	c := domain.PolicyCode{
		Filter: get(in.Filter), Initialize: get(in.Initialize), Check: get(in.Check), Notify: get(in.Notify),
		Success: get(in.Success), Fail: get(in.Fail), FilterLang: get(in.FilterLang), CheckLang: get(in.CheckLang),
	}
	for _, b := range []string{domain.BlockFilter, domain.BlockInitialize, domain.BlockCheck, domain.BlockNotify, domain.BlockSuccess, domain.BlockFail} {
		if n := len(c.Block(b)); n > MaxBlockBytes {
			return c, domain.Invalid("the %s block has %d bytes; at most %d are allowed", b, n, MaxBlockBytes)
		}
	}
	return c, nil
}

// columnOf finds the column a compiler's message names ("check:3:7: got ..."), if any.
var columnOf = regexp.MustCompile(`:(\d+):(\d+):`)

// validatePolicyCode is Query.validatePolicyCode: the problems the recorder would refuse a
// proposal of this code for (engine.CompilerOf, in the sandbox).
func (r *Resolver) validatePolicyCode(ctx context.Context, in model.PolicyCodeInput) ([]model.CodeProblem, error) {
	code, err := policyCode(in)
	if err != nil {
		return nil, err
	}
	var compiler engine.PolicyCompiler
	if r.deps.Loop != nil {
		compiler = engine.CompilerOf(r.deps.Loop.Evaluator())
	}
	if compiler == nil {
		return nil, domain.Invalid("this server cannot check policy code (no policy sandbox)")
	}
	problems, err := compiler.Compile(ctx, code)
	if err != nil {
		return nil, fmt.Errorf("check policy code: %w", err)
	}
	out := []model.CodeProblem{}
	for _, p := range problems {
		cp := model.CodeProblem{Block: string(p.Block), Line: p.Line, Message: p.Type + ": " + p.Detail}
		if m := columnOf.FindStringSubmatch(p.Detail); m != nil {
			line, _ := strconv.Atoi(m[1])
			if cp.Line == 0 || cp.Line == line {
				cp.Line = line
				cp.Column, _ = strconv.Atoi(m[2])
			}
		}
		out = append(out, cp)
	}
	return out, nil
}

// installLinks is Query.installLinks: the configured install flows, at the server's base URL.
func (r *Resolver) installLinks() []model.InstallLink {
	out := []model.InstallLink{}
	for _, l := range r.deps.InstallLinks {
		out = append(out, model.InstallLink{Platform: l.Platform, URL: strings.TrimSuffix(r.deps.BaseURL, "/") + l.Path})
	}
	return out
}

// withHookURLs fills in the generic hook's address of each connection of the community.
func (r *Resolver) withHookURLs(communityID string, ps []model.Platform) []model.Platform {
	if r.deps.BaseURL == "" {
		return ps
	}
	for i, p := range ps {
		if p.Name == domain.PlatformConstitution || p.Name == domain.PlatformWeb {
			continue
		}
		u := strings.TrimSuffix(r.deps.BaseURL, "/") + "/api/hooks/" + p.Name + "/" + communityID
		ps[i].HookURL = &u
	}
	return ps
}

// logLineKey is the sort key of a community's evaluation log lines, newest first.
type logLineKey struct {
	At       time.Time `json:"t"`
	Proposal string    `json:"p"`
	Seq      int64     `json:"s"`
	Line     int       `json:"l"`
}

// evaluationLogLines reads a page of the community's block log lines, newest first, of the
// proposals views covers (one statement; evaluation_logs_community_time serves it).
func (r reader) evaluationLogLines(ctx context.Context, communityID string, views viewFilter, level, policyID, proposalID *string, asOf *time.Time, p page[logLineKey]) ([]keyed[model.EvaluationLogLine, logLineKey], bool, error) {
	where := []string{"l.community_id = $1"}
	args := []any{communityID}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if !views.all {
		args = append(args, append([]string{}, views.kinds...), append([]string{}, views.types...))
		where = append(where, fmt.Sprintf("(pr.action_kind = ANY($%d) OR pr.action_type = ANY($%d))", len(args)-1, len(args)))
	}
	if level != nil {
		add("line.level = $%d", *level)
	}
	if policyID != nil {
		add("pr.policy_id = $%d", *policyID)
	}
	if proposalID != nil {
		add("l.proposal_id = $%d", *proposalID)
	}
	if asOf != nil {
		add("l.evaluated_at <= $%d", *asOf)
	}
	if a := p.after; a != nil {
		args = append(args, a.At, a.Proposal, a.Seq, a.Line)
		n := len(args)
		where = append(where, fmt.Sprintf("(l.evaluated_at, l.proposal_id, l.stream_version, line.ord) < ($%d, $%d, $%d, $%d)", n-3, n-2, n-1, n))
	}
	args = append(args, p.n+1)
	sql := `SELECT l.proposal_id, pr.policy_id, l.block, l.stream_version, line.ord, line.level, line.message, l.evaluated_at
		FROM evaluation_logs l
		JOIN proposals pr ON pr.id = l.proposal_id
		CROSS JOIN LATERAL (
			SELECT t.ord::int AS ord, coalesce(t.x->>'level', '') AS level, coalesce(t.x->>'message', '') AS message
				FROM jsonb_array_elements(l.logs) WITH ORDINALITY AS t(x, ord)
			UNION ALL
			SELECT jsonb_array_length(l.logs) + 1, 'error', l.error WHERE l.error <> ''
		) line
		WHERE ` + strings.Join(where, " AND ") + fmt.Sprintf(`
		ORDER BY l.evaluated_at DESC, l.proposal_id DESC, l.stream_version DESC, line.ord DESC LIMIT $%d`, len(args))
	rows, _ := r.db.Query(ctx, sql, args...)
	var out []keyed[model.EvaluationLogLine, logLineKey]
	var k logLineKey
	var l model.EvaluationLogLine
	if _, err := pgx.ForEachRow(rows, []any{&l.ProposalID, &l.PolicyID, &l.Block, &k.Seq, &k.Line, &l.Level, &l.Message, &l.EvaluatedAt}, func() error {
		k.At, k.Proposal = l.EvaluatedAt, l.ProposalID
		out = append(out, keyed[model.EvaluationLogLine, logLineKey]{key: k, node: l})
		return nil
	}); err != nil {
		return nil, false, err
	}
	out, more := firstN(out, p.n)
	return out, more, nil
}

// communityEvaluationLogs is Community.evaluationLogs.
func (r *Resolver) communityEvaluationLogs(ctx context.Context, c *model.Community, level, policyID, proposalID *string, first *int, after *string) (*model.EvaluationLogLineConnection, error) {
	m, err := viewer(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	p, err := pageOf[logLineKey](first, 50, after)
	if err != nil {
		return nil, err
	}
	items, more, err := r.read.evaluationLogLines(ctx, c.ID, viewFilterOf(m), level, policyID, proposalID, c.AsOf, p)
	if err != nil {
		return nil, err
	}
	conn := &model.EvaluationLogLineConnection{Edges: make([]model.EvaluationLogLineEdge, len(items)), PageInfo: &model.PageInfo{HasNextPage: more}}
	for i := range items {
		cursor := encodeKey(items[i].key)
		conn.Edges[i] = model.EvaluationLogLineEdge{Cursor: cursor, Node: &items[i].node}
		conn.PageInfo.EndCursor = &cursor
	}
	return conn, nil
}

// draftPolicyID is the id a new draft policy has in a dry run's scenario.
const draftPolicyID = "draft"

// dryRun is Mutation.dryRun: the scenario, played on a copy of the community as it is now
// (folded from the log) with the draft in it, on an in-memory log and a virtual clock; the
// blocks run in the Loop's evaluator, the policy sandbox.
func (r *Resolver) dryRun(ctx context.Context, in model.DryRunInput) (*model.DryRunResult, error) {
	if _, err := viewer(ctx, in.CommunityID); err != nil {
		return nil, err
	}
	if r.deps.Loop == nil {
		return nil, domain.Invalid("this server cannot run policy code (no policy sandbox)")
	}
	if n := len(in.Scenario); n > MaxScenarioBytes {
		return nil, domain.Invalid("the scenario has %d bytes; at most %d are allowed", n, MaxScenarioBytes)
	}
	draft, err := draftSpec(*in.Policy)
	if err != nil {
		return nil, err
	}
	c, err := engine.LoadCommunity(ctx, r.deps.Store, in.CommunityID)
	if err != nil {
		return nil, err
	}
	base, policies := scenarioCommunity(c)
	id := draftPolicyID
	if in.Policy.PolicyID != nil && *in.Policy.PolicyID != "" {
		id = *in.Policy.PolicyID
		if _, ok := c.Policies[id]; !ok {
			return nil, domain.NotFound("policy %q", id)
		}
	}
	policies = slices.DeleteFunc(policies, func(p policytest.PolicySpec) bool { return p.ID == id })
	policies = append(policies, policytest.PolicySpec{ID: id, Priority: draft.Priority, Spec: draft})
	f, err := policytest.ParseOn("scenario", []byte(in.Scenario), base, policies)
	var me *policytest.MalformedError
	if errors.As(err, &me) {
		return nil, domain.Invalid("the scenario cannot run:\n%s", strings.Join(me.Problems, "\n"))
	}
	if err != nil {
		return nil, err
	}
	if len(f.Cases) != 1 {
		return nil, domain.Invalid("a dry run plays one case: give `steps`, or `cases` with one case")
	}
	cs := f.Cases[0]
	if len(cs.Steps) > MaxDryRunSteps {
		return nil, domain.Invalid("the scenario has %d steps; at most %d are allowed", len(cs.Steps), MaxDryRunSteps)
	}
	interval := f.RecheckInterval
	if cs.RecheckInterval > 0 {
		interval = cs.RecheckInterval
	}
	var advanced time.Duration
	for _, st := range cs.Steps {
		advanced += st.Advance
	}
	if rounds := int64(advanced / interval); rounds > MaxDryRunChecks {
		return nil, domain.Invalid("the scenario advances the clock %d recheck intervals; at most %d are allowed (set a longer recheck_interval)", rounds, MaxDryRunChecks)
	}
	// Dry runs and verifications share the sandbox's spare capacity.
	select {
	case r.verifications <- struct{}{}:
		defer func() { <-r.verifications }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	ctx, cancel := context.WithTimeout(ctx, DryRunTimeout)
	defer cancel()
	steps, err := f.RunSteps(ctx, policytest.Options{Evaluator: r.deps.Loop.Evaluator()})
	if errors.Is(err, context.DeadlineExceeded) {
		return nil, limitExceeded("the dry run took longer than %s", DryRunTimeout)
	}
	if err != nil {
		return nil, domain.Invalid("the scenario cannot run: %v", err)
	}
	res := &model.DryRunResult{Ok: len(steps) == len(cs.Steps), Steps: []model.DryRunStep{}}
	for _, s := range steps {
		st := model.DryRunStep{Line: s.Line, Kind: s.Kind, Description: s.Description, At: s.At, Passed: s.Passed, Events: s.Events, Logs: s.Logs}
		if s.Status != "" {
			status := model.ProposalStatus(s.Status)
			st.Status = &status
		}
		if s.Error != "" {
			msg := s.Error
			st.Error = &msg
		}
		res.Ok = res.Ok && s.Passed
		res.Steps = append(res.Steps, st)
	}
	return res, nil
}

// draftSpec maps the editor's draft to a policy's content.
func draftSpec(in model.PolicyDraftInput) (domain.PolicySpec, error) {
	code, err := policyCode(*in.Code)
	if err != nil {
		return domain.PolicySpec{}, err
	}
	kind, err := domain.ParseKind(in.Kind)
	if err != nil {
		return domain.PolicySpec{}, err
	}
	spec := domain.PolicySpec{Kind: kind, Name: in.Name, ActionTypes: in.ActionTypes, Code: code}
	if in.Description != nil {
		spec.Description = *in.Description
	}
	if in.Priority != nil {
		spec.Priority = *in.Priority
	}
	if in.VariablesJSON != nil && strings.TrimSpace(*in.VariablesJSON) != "" {
		if err := json.Unmarshal([]byte(*in.VariablesJSON), &spec.Variables); err != nil {
			return domain.PolicySpec{}, domain.Invalid("variablesJSON is not a JSON list of variables: %v", err)
		}
	}
	return spec, nil
}

// scenarioCommunity is the set-up of a scenario that plays on c: its active platforms (the
// web platform first, as communities made on the site start with it), its members by id
// with the roles given them, its roles, and its active policies by id.
func scenarioCommunity(c *domain.Community) (policytest.CommunitySpec, []policytest.PolicySpec) {
	cs := policytest.CommunitySpec{ID: c.ID, Name: c.Name}
	var others []string
	web := false
	for name, p := range c.Platforms {
		switch {
		case !p.Active || name == domain.PlatformConstitution:
		case name == domain.PlatformWeb:
			web = true
		default:
			others = append(others, name)
		}
	}
	sort.Strings(others)
	if web || len(others) == 0 {
		cs.Platforms = append(cs.Platforms, domain.PlatformWeb)
	}
	cs.Platforms = append(cs.Platforms, others...)
	for _, u := range c.Users {
		if u.Platform != domain.PlatformWeb && !slices.Contains(cs.Platforms, u.Platform) {
			continue // a member of a platform since disconnected
		}
		cs.Users = append(cs.Users, policytest.UserSpec{ID: u.ID, Username: u.Username, Name: u.ReadableName, Admin: u.IsAdmin, Platform: u.Platform, Roles: u.Roles})
	}
	sort.Slice(cs.Users, func(i, j int) bool { return cs.Users[i].ID < cs.Users[j].ID })
	for _, ro := range c.Roles {
		cs.Roles = append(cs.Roles, policytest.RoleSpec{Name: ro.Name, Description: ro.Description, Base: ro.IsBase, Permissions: ro.Permissions})
	}
	sort.Slice(cs.Roles, func(i, j int) bool { return cs.Roles[i].Name < cs.Roles[j].Name })
	var policies []policytest.PolicySpec
	for _, p := range c.Policies {
		if p.Active {
			policies = append(policies, policytest.PolicySpec{ID: p.ID, Priority: p.Priority, Spec: p.PolicySpec})
		}
	}
	sort.Slice(policies, func(i, j int) bool { return policies[i].ID < policies[j].ID })
	return cs, policies
}
