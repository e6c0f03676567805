package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/graph"
	"github.com/policykit-go/policykit/identity"
	"github.com/policykit-go/policykit/internal/pgtest"
	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/projections"
	"github.com/policykit-go/policykit/starterkits"
)

// statementCounter is a pgx tracer that counts the statements a pool runs.
type statementCounter struct{ n atomic.Int64 }

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// env is the API over a fresh database, with the real event store, engine (in-process policy
// runtime) and projections.
type env struct {
	pool       *pgxpool.Pool
	statements *statementCounter
	runner     *projections.Runner
	handler    http.Handler
	// client posts without credentials; mustQuery and mustFail add a member's token.
	client *client.Client
	// tokens are the API tokens of the accounts linked to garden's members alice, bob and
	// carol, by user id.
	tokens map[string]string
}

func newEnv(t testing.TB, db graph.DB) *env {
	t.Helper()
	return newEnvWith(t, db, nil)
}

// engineApp names the connections of the engine and the read models beside the API.
const engineApp = "policykit-test-engine"

// runEngine runs, until the test ends, what serves the API beside it: the engine on an
// in-process bus and the projection runner. The API itself only records commands and
// waits for their decisions and the read models.
func runEngine(t testing.TB, store eventstore.Store, pool *pgxpool.Pool, loop *evaluation.Loop, runner *projections.Runner) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := &engine.Service{Engine: engine.New(store, loop, nil, nil), Store: store, Bus: b,
		Checkpoints: engine.PostgresCheckpoints{Pool: pool}, Decided: engine.PostgresDecided{Pool: pool}}
	done := make(chan struct{}, 2)
	go func() { _ = svc.Run(ctx); done <- struct{}{} }()
	go func() { _ = runner.Run(ctx); done <- struct{}{} }()
	<-svc.Ready()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		_ = b.Close()
	})
}

// newEnvWith is newEnv with the handler's dependencies adjusted by tweak (when not nil).
func newEnvWith(t testing.TB, db graph.DB, tweak func(*graph.Deps)) *env {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	counter := &statementCounter{}
	cfg.ConnConfig.Tracer = counter
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := postgres.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if err := projections.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if err := identity.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	store := postgres.New(pool)
	rt, err := policy.New(policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if db == nil {
		db = pool
	}
	if err := engine.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	// The engine and the read models run beside the API on a pool of their own, so that
	// what they do is not counted as the API's statements.
	bgCfg := cfg.Copy()
	bgCfg.ConnConfig.Tracer = nil
	bgCfg.ConnConfig.RuntimeParams["application_name"] = engineApp
	bgPool, err := pgxpool.NewWithConfig(ctx, bgCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bgPool.Close)
	loop := evaluation.New(rt, 0)
	decided := engine.PostgresDecided{Pool: bgPool}
	runner := projections.NewRunner(postgres.New(bgPool), bgPool, 0, nil, projections.All()...)
	runEngine(t, postgres.New(bgPool), bgPool, loop, runner)
	deps := graph.Deps{
		DB:          db,
		Store:       store,
		Decided:     decided,
		Projections: runner,
		Loop:        loop,
	}
	if tweak != nil {
		tweak(&deps)
	}
	h, err := graph.NewHandler(deps)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{pool: pool, statements: counter, runner: runner, handler: h, client: client.New(h), tokens: map[string]string{}}
	e.seed(t)
	for _, user := range []string{"alice", "bob", "carol"} {
		e.tokens[user] = e.mustAccount(t, user, "garden", user)
	}
	return e
}

// mustAccount registers an account, links it to the user of the community and returns an
// API token of it.
func (e *env) mustAccount(t testing.TB, username, communityID, userID string) string {
	t.Helper()
	ctx := context.Background()
	accounts := identity.New(e.pool, identity.Options{})
	acc, err := accounts.Register(ctx, username, username+"-secret")
	if err != nil {
		t.Fatal(err)
	}
	if err := accounts.LinkMember(ctx, acc.ID, communityID, userID); err != nil {
		t.Fatal(err)
	}
	_, secret, err := accounts.CreateAPIToken(ctx, acc.ID, "tests")
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// as authenticates a gqlgen client request with the token of the account linked to user.
func (e *env) as(user string) client.Option {
	return client.AddHeader("Authorization", "Bearer "+e.tokens[user])
}

// seed creates the community "garden" on Slack with the Testing kit (every action passes),
// members alice (admin), bob and carol, and a policy that puts channel renames to a vote:
// one yes passes, one no fails.
func (e *env) seed(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	store := postgres.New(e.pool)
	kit, err := starterkits.Load("testing")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := engine.NewCommunity(ctx, store, domain.CreateCommunity{CommunityID: "garden", Name: "Garden", Platform: domain.PlatformSlack},
		kit, domain.RegisterUser{UserID: "alice", Username: "UALICE", ReadableName: "Alice", IsAdmin: true}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.UpdateCommunity(ctx, store, "garden", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		return decideInTurn(c,
			func() ([]domain.Event, error) {
				return c.DecideRegisterUser(domain.RegisterUser{UserID: "bob", Platform: domain.PlatformSlack, Username: "UBOB", ReadableName: "Bob"}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideRegisterUser(domain.RegisterUser{UserID: "carol", Platform: domain.PlatformSlack, Username: "UCAROL", ReadableName: "Carol"}, now)
			},
			func() ([]domain.Event, error) {
				return c.DecideAddPolicy(domain.AddPolicy{PolicyID: "rename-vote", Kind: domain.KindPlatform, Name: "Vote on renames",
					ActionTypes: []string{"slackrenameconversation"}, PolicyCode: domain.PolicyCode{
						Filter: "return True\n", Initialize: "pass\n", Notify: "pass\n", Success: "pass\n", Fail: "pass\n",
						Check: "if proposal.get_yes_votes().count() >= 1:\n    return PASSED\nif proposal.get_no_votes().count() >= 1:\n    return FAILED\nreturn PROPOSED\n",
					}}, now)
			},
		)
	}); err != nil {
		t.Fatal(err)
	}
	e.mustCatchUp(t, domain.CommunityStream("garden"))
}

// decideInTurn runs decisions one after the other on c, each seeing the events of those
// before it applied, and returns all their events.
func decideInTurn(c *domain.Community, steps ...func() ([]domain.Event, error)) ([]domain.Event, error) {
	var all []domain.Event
	for _, step := range steps {
		evs, err := step()
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			c.Apply(ev)
		}
		all = append(all, evs...)
	}
	return all, nil
}

// mustCatchUp brings the read models up to the last event of stream. One CatchUp may stop
// short while another database's older transaction holds events back, so it tries again.
func (e *env) mustCatchUp(t testing.TB, stream string) {
	t.Helper()
	ctx := context.Background()
	last, err := postgres.New(e.pool).ReadStream(ctx, stream, eventstore.Backward, 0, 1)
	if err != nil || len(last) == 0 {
		t.Fatalf("last event of %s: %v", stream, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := e.runner.CatchUp(ctx, nil); err != nil {
			t.Fatal(err)
		}
		cp, err := e.runner.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !cp.Less(last[0].Position) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("read models at %s did not reach %s", cp, last[0].Position)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gqlError is one entry of a response's errors.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// conn is a connection as a test decodes it: its edges (cursor and node) and page info.
type conn[T any] struct {
	Edges []struct {
		Cursor string
		Node   T
	}
	PageInfo struct {
		HasNextPage bool
		EndCursor   *string
	}
}

// nodes are the connection's nodes, in order.
func (c conn[T]) nodes() []T {
	out := make([]T, len(c.Edges))
	for i, e := range c.Edges {
		out[i] = e.Node
	}
	return out
}

// mustQuery runs a document as alice that must succeed and decodes its data into out.
func (e *env) mustQuery(t *testing.T, out any, query string, opts ...client.Option) {
	t.Helper()
	e.mustQueryAs(t, "alice", out, query, opts...)
}

// mustQueryAs runs a document as the account linked to user that must succeed and decodes
// its data into out.
func (e *env) mustQueryAs(t *testing.T, user string, out any, query string, opts ...client.Option) {
	t.Helper()
	resp, err := e.client.RawPost(query, append([]client.Option{e.as(user)}, opts...)...)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	if len(resp.Errors) > 0 {
		t.Fatalf("query failed: %s\n%s", resp.Errors, query)
	}
	data, err := json.Marshal(resp.Data)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}

// mustFail runs a document as alice that must fail and returns its errors. It posts over
// plain HTTP, since gqlgen answers some refusals (validation) with a status other than 200.
func (e *env) mustFail(t *testing.T, query string, vars ...map[string]any) []gqlError {
	t.Helper()
	return e.mustFailAs(t, "Bearer "+e.tokens["alice"], query, vars...)
}

// mustFailAs is mustFail with the given Authorization header ("" for none).
func (e *env) mustFailAs(t *testing.T, authorization, query string, vars ...map[string]any) []gqlError {
	t.Helper()
	body := map[string]any{"query": query}
	if len(vars) > 0 {
		body["variables"] = vars[0]
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	var resp struct {
		Data   json.RawMessage
		Errors []gqlError
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("response %d %s: %v", rec.Code, rec.Body, err)
	}
	if len(resp.Errors) == 0 {
		t.Fatalf("no errors; data = %s\n%s", resp.Data, query)
	}
	return resp.Errors
}

func wantCode(t *testing.T, errs []gqlError, code string) {
	t.Helper()
	if errs[0].Extensions["code"] != code {
		t.Fatalf("error code = %v, want %s (errors: %+v)", errs[0].Extensions["code"], code, errs)
	}
}

const proposeRename = `mutation($name: String!) {
  proposeAction(input: {communityId: "garden", actionType: "slackrenameconversation", fieldsJSON: $name}) {
    action { id type status governingProposalId }
    proposal { id status policyId actionType tally { yes no total } }
  }
}`

type proposeResp struct {
	ProposeAction struct {
		Action struct {
			ID, Type, Status, GoverningProposalID string
		}
		Proposal *struct {
			ID, Status, PolicyID, ActionType string
			Tally                            struct{ Yes, No, Total int }
		}
	}
}

// mustPropose proposes a channel rename as the user by (it goes to the vote policy) and
// returns its proposal id.
func (e *env) mustPropose(t *testing.T, by, name string) string {
	t.Helper()
	var resp proposeResp
	e.mustQueryAs(t, by, &resp, proposeRename, client.Var("name", fmt.Sprintf(`{"channel":"C1","name":%q}`, name)))
	if resp.ProposeAction.Proposal == nil {
		t.Fatalf("no governing proposal: %+v", resp.ProposeAction)
	}
	return resp.ProposeAction.Proposal.ID
}

func TestConstitutionActionAddingARolePassesAndShows(t *testing.T) {
	e := newEnv(t, nil)
	var resp struct {
		ProposeConstitutionAction struct {
			Action   struct{ Type, Status, Kind, FieldsJSON string }
			Proposal *struct{ Status, PolicyKind string }
		}
	}
	e.mustQuery(t, &resp, `mutation($payload: String!) {
  proposeConstitutionAction(input: {communityId: "garden", type: "policykitaddrole", payloadJSON: $payload}) {
    action { type status kind fieldsJSON }
    proposal { status policyKind }
  }
}`, client.Var("payload", `{"name": "Gardener", "description": "Tends the beds", "permissions": ["propose:slackpostmessage"]}`))
	got := resp.ProposeConstitutionAction
	if got.Action.Type != domain.ActionAddRole || got.Action.Kind != "constitution" || got.Action.Status != "executed" {
		t.Errorf("action = %+v, want an executed policykitaddrole", got.Action)
	}
	if got.Proposal == nil || got.Proposal.Status != "PASSED" {
		t.Errorf("proposal = %+v, want PASSED", got.Proposal)
	}

	var c struct {
		Community struct {
			Name  string
			Roles conn[struct {
				Name        string
				IsBase      bool
				Permissions []string
			}]
			Members conn[struct {
				ID    string
				Roles []string
			}]
			Platforms []struct{ Name string }
			Policies  conn[struct {
				ID       string
				Kind     string
				Versions conn[struct {
					Version int
					Change  string
				}]
			}]
		}
	}
	e.mustQuery(t, &c, `{ community(id: "garden") { name roles { edges { node { name isBase permissions } } } members { edges { node { id roles } } }
  platforms { name } policies { edges { node { id kind versions { edges { node { version change } } } } } } } }`)
	var found bool
	for _, r := range c.Community.Roles.nodes() {
		if r.Name == "Gardener" {
			found = true
			if strings.Join(r.Permissions, ",") != "propose:slackpostmessage" {
				t.Errorf("Gardener permissions = %v", r.Permissions)
			}
		}
	}
	if !found {
		t.Errorf("roles = %+v, want Gardener among them", c.Community.Roles)
	}
	if members := c.Community.Members.nodes(); len(members) != 3 || len(members[0].Roles) == 0 {
		t.Errorf("members = %+v, want 3 with their base role", members)
	}
	if names := fmt.Sprint(c.Community.Platforms); !strings.Contains(names, domain.PlatformSlack) {
		t.Errorf("platforms = %+v", c.Community.Platforms)
	}
	for _, p := range c.Community.Policies.nodes() {
		if versions := p.Versions.nodes(); len(versions) == 0 || versions[0].Change != "added" {
			t.Errorf("policy %s versions = %+v, want its addition first", p.ID, versions)
		}
	}
	if len(c.Community.Policies.Edges) != 3 {
		t.Errorf("policies = %+v, want the kit's two and the vote policy", c.Community.Policies)
	}
}

func TestVotePolicyKeepsProposalOpenUntilVote(t *testing.T) {
	e := newEnv(t, nil)
	var resp proposeResp
	e.mustQuery(t, &resp, proposeRename, client.Var("name", `{"channel":"C1","name":"veggies"}`))
	p := resp.ProposeAction.Proposal
	if p == nil || p.Status != "PROPOSED" || p.PolicyID != "rename-vote" || p.Tally.Total != 0 {
		t.Fatalf("proposal = %+v, want PROPOSED under rename-vote with no votes", p)
	}
	if resp.ProposeAction.Action.GoverningProposalID != p.ID {
		t.Errorf("action = %+v, want it governed by %s", resp.ProposeAction.Action, p.ID)
	}

	var voted struct {
		CastVote struct {
			Proposal struct {
				ID, Status string
				Tally      struct{ Yes, No, Total int }
				Votes      []struct {
					UserID, Username, Kind string
					Boolean                *bool
				}
				Action         struct{ Status string }
				EvaluationLogs conn[struct{ Block string }]
				Trace          string
			}
		}
	}
	e.mustQueryAs(t, "bob", &voted, `mutation($p: ID!) {
  castVote(input: {communityId: "garden", proposalId: $p, value: "yes"}) {
    proposal { id status tally { yes no total } votes { userId username kind boolean } action { status } evaluationLogs { edges { node { block } } } trace }
  }
}`, client.Var("p", p.ID))
	got := voted.CastVote.Proposal
	if got.Status != "PASSED" || got.Tally.Yes != 1 || got.Tally.Total != 1 {
		t.Errorf("after bob's yes: %+v, want PASSED with one yes", got)
	}
	if len(got.Votes) != 1 || got.Votes[0].UserID != "bob" || got.Votes[0].Username != "UBOB" || got.Votes[0].Boolean == nil || !*got.Votes[0].Boolean {
		t.Errorf("votes = %+v, want bob's yes", got.Votes)
	}
	if got.Action.Status != "executed" {
		t.Errorf("action status = %q, want executed", got.Action.Status)
	}
	if len(got.EvaluationLogs.Edges) == 0 {
		t.Error("no evaluation logs")
	}
	if !strings.Contains(got.Trace, "proposal "+p.ID) || !strings.Contains(got.Trace, "PASSED") {
		t.Errorf("trace does not tell the decision:\n%s", got.Trace)
	}

	// A vote on a decided proposal is the domain's to refuse, with its code.
	errs := e.mustFailAs(t, "Bearer "+e.tokens["carol"], `mutation($p: ID!) { castVote(input: {communityId: "garden", proposalId: $p, value: "no"}) { proposal { status } } }`, map[string]any{"p": p.ID})
	if code := errs[0].Extensions["code"]; code != "CONFLICT" && code != "INVALID" {
		t.Errorf("vote on a decided proposal: %+v, want CONFLICT or INVALID", errs)
	}
}

func TestProposalsPageWithCursors(t *testing.T) {
	e := newEnv(t, nil)
	want := map[string]bool{}
	for i := range 5 {
		want[e.mustPropose(t, "alice", fmt.Sprintf("c%d", i))] = true
	}
	const page = `query($first: Int, $after: String) {
  community(id: "garden") { proposals(first: $first, after: $after, filter: {status: PROPOSED, actionType: "slackrenameconversation"}) {
    edges { cursor node { id status proposalTime } } pageInfo { hasNextPage endCursor } } }
}`
	type pageResp struct {
		Community struct {
			Proposals struct {
				Edges []struct {
					Cursor string
					Node   struct {
						ID, Status   string
						ProposalTime time.Time
					}
				}
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
			}
		}
	}
	seen := map[string]bool{}
	var after *string
	var last time.Time
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		var r pageResp
		e.mustQuery(t, &r, page, client.Var("first", 2), client.Var("after", after))
		for _, ed := range r.Community.Proposals.Edges {
			if seen[ed.Node.ID] || !want[ed.Node.ID] {
				t.Errorf("page %d: %s seen twice or unknown", pages, ed.Node.ID)
			}
			if !last.IsZero() && ed.Node.ProposalTime.After(last) {
				t.Errorf("page %d: not newest first", pages)
			}
			seen[ed.Node.ID], last = true, ed.Node.ProposalTime
		}
		pi := r.Community.Proposals.PageInfo
		if !pi.HasNextPage {
			if pages != 2 || len(r.Community.Proposals.Edges) != 1 {
				t.Errorf("last page %d has %d edges, want page 2 with 1", pages, len(r.Community.Proposals.Edges))
			}
			break
		}
		if len(r.Community.Proposals.Edges) != 2 || pi.EndCursor == nil || *pi.EndCursor != r.Community.Proposals.Edges[1].Cursor {
			t.Fatalf("page %d: %+v", pages, r.Community.Proposals)
		}
		after = pi.EndCursor
	}
	if len(seen) != 5 {
		t.Errorf("saw %d proposals, want 5", len(seen))
	}

	var passed pageResp
	e.mustQuery(t, &passed, `{ community(id: "garden") { proposals(filter: {status: PASSED}) { edges { cursor } pageInfo { hasNextPage endCursor } } } }`)
	if n := len(passed.Community.Proposals.Edges); n != 0 || passed.Community.Proposals.PageInfo.EndCursor != nil {
		t.Errorf("PASSED filter: %+v, want nothing", passed.Community.Proposals)
	}

	for name, filter := range map[string]string{
		"kind":      `kind: "constitution"`,
		"initiator": `initiatorId: "bob"`,
		"policy":    `policyId: "other"`,
		"from":      `from: "2999-01-01T00:00:00Z"`,
		"to":        `to: "2000-01-01T00:00:00Z"`,
	} {
		var r pageResp
		e.mustQuery(t, &r, `{ community(id: "garden") { proposals(filter: {`+filter+`}) { edges { cursor } pageInfo { hasNextPage } } } }`)
		if n := len(r.Community.Proposals.Edges); n != 0 {
			t.Errorf("filter %s: %d proposals, want none", name, n)
		}
	}
	var all pageResp
	e.mustQuery(t, &all, `{ community(id: "garden") { proposals(first: 100, filter: {kind: "platform", initiatorId: "alice", policyId: "rename-vote", from: "2000-01-01T00:00:00Z", to: "2999-01-01T00:00:00Z"}) { edges { cursor } pageInfo { hasNextPage } } } }`)
	if n := len(all.Community.Proposals.Edges); n != 5 || all.Community.Proposals.PageInfo.HasNextPage {
		t.Errorf("every filter matching: %d proposals (more: %v), want 5", n, all.Community.Proposals.PageInfo.HasNextPage)
	}

	wantCode(t, e.mustFail(t, page, map[string]any{"first": graph.MaxPageSize + 1}), "INVALID")
	wantCode(t, e.mustFail(t, page, map[string]any{"first": 0}), "INVALID")
	wantCode(t, e.mustFail(t, page, map[string]any{"first": 2, "after": "bm90IGEgY3Vyc29y"}), "INVALID")
}

func TestNotFound(t *testing.T) {
	e := newEnv(t, nil)
	for _, q := range []string{
		`{ proposal(id: "nope") { id } }`,
		`{ community(id: "nope") { id } }`,
		`{ action(id: "nope") { id } }`,
		`mutation { castVote(input: {communityId: "garden", proposalId: "nope", value: "yes"}) { proposal { id } } }`,
		`mutation { proposeAction(input: {communityId: "nope", actionType: "slackpostmessage"}) { action { id } } }`,
	} {
		errs := e.mustFail(t, q)
		wantCode(t, errs, "NOT_FOUND")
		if !strings.Contains(errs[0].Message, "nope") {
			t.Errorf("%s: message %q does not say what was not found", q, errs[0].Message)
		}
	}
}

func TestBadInputIsInvalid(t *testing.T) {
	e := newEnv(t, nil)
	for name, q := range map[string]string{
		"fields not JSON":      `mutation { proposeAction(input: {communityId: "garden", actionType: "slackpostmessage", fieldsJSON: "{not json"}) { action { id } } }`,
		"unknown action type":  `mutation { proposeAction(input: {communityId: "garden", actionType: "slackdance"}) { action { id } } }`,
		"not a constitution":   `mutation { proposeConstitutionAction(input: {communityId: "garden", type: "slackpostmessage", payloadJSON: "{}"}) { action { id } } }`,
		"unknown payload key":  `mutation { proposeConstitutionAction(input: {communityId: "garden", type: "policykitaddrole", payloadJSON: "{\"name\": \"X\", \"colour\": \"red\"}"}) { action { id } } }`,
		"payload not JSON":     `mutation { proposeConstitutionAction(input: {communityId: "garden", type: "policykitaddrole", payloadJSON: "[1]"}) { action { id } } }`,
		"empty vote":           `mutation { castVote(input: {communityId: "garden", proposalId: "p", value: " "}) { proposal { id } } }`,
		"bad status in filter": `{ community(id: "garden") { proposals(filter: {status: MAYBE}) { edges { cursor } } } }`,
	} {
		t.Run(name, func(t *testing.T) {
			errs := e.mustFail(t, q)
			if code := errs[0].Extensions["code"]; code != "INVALID" && code != "GRAPHQL_VALIDATION_FAILED" {
				t.Errorf("code = %v, want INVALID (or gqlgen's validation code): %+v", code, errs)
			}
		})
	}
	// Nothing was recorded: the community has no proposals and no actions but its own.
	var c struct {
		Community struct {
			Proposals struct{ Edges []struct{ Cursor string } }
		}
	}
	e.mustQuery(t, &c, `{ community(id: "garden") { proposals { edges { cursor } } } }`)
	if len(c.Community.Proposals.Edges) != 0 {
		t.Errorf("bad input left proposals: %+v", c.Community.Proposals.Edges)
	}
}

// failingDB fails every statement that reads the documents table, as a broken database
// would, with driver text that must not reach the client.
type failingDB struct{ graph.DB }

func (f failingDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if strings.Contains(sql, "FROM documents") {
		return nil, fmt.Errorf("ERROR: relation \"documents\" does not exist (SQLSTATE 42P01): %s", sql)
	}
	return f.DB.Query(ctx, sql, args...)
}

func TestInternalErrorsAreHidden(t *testing.T) {
	e := newEnv(t, nil)
	h, err := graph.NewHandler(graph.Deps{DB: failingDB{e.pool}, Decided: engine.PostgresDecided{Pool: e.pool}, Store: postgres.New(e.pool),
		Projections: e.runner})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.New(h).RawPost(`{ community(id: "garden") { name documents { edges { node { id } } } } }`, e.as("alice"))
	if err != nil {
		t.Fatal(err)
	}
	var errs []gqlError
	if err := json.Unmarshal(resp.Errors, &errs); err != nil || len(errs) != 1 {
		t.Fatalf("errors = %s", resp.Errors)
	}
	if errs[0].Extensions["code"] != graph.CodeInternal || errs[0].Message != "internal error" {
		t.Errorf("error = %+v, want INTERNAL without details", errs[0])
	}
	if strings.Contains(string(resp.Errors), "SQLSTATE") || strings.Contains(string(resp.Errors), "SELECT") {
		t.Errorf("internal details leaked: %s", resp.Errors)
	}
}

// brokenPolicyLookupDB fails the statement that finds a policy's community, as a database
// whose connection broke would; every other statement works.
type brokenPolicyLookupDB struct{ graph.DB }

func (b brokenPolicyLookupDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if strings.Contains(sql, "FROM policies WHERE id = $1") {
		return errRow{errors.New("conn closed: unexpected EOF")}
	}
	return b.DB.QueryRow(ctx, sql, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// A policy that cannot be read because the database fails is INTERNAL, not NOT_FOUND: only
// a missing row is.
func TestPolicyReadFailureIsNotNotFound(t *testing.T) {
	e := newEnvWith(t, nil, func(d *graph.Deps) { d.DB = brokenPolicyLookupDB{d.DB} })
	for _, q := range []string{
		`{ policy(id: "rename-vote") { id } }`,
		`{ exportPolicy(id: "rename-vote") }`,
		`{ policy(id: "nope") { id } }`,
	} {
		errs := e.mustFail(t, q)
		if errs[0].Extensions["code"] != graph.CodeInternal || errs[0].Message != "internal error" {
			t.Errorf("%s: %+v, want INTERNAL without details", q, errs)
		}
	}
}

func TestNewHandlerReportsEveryMissingDependency(t *testing.T) {
	_, err := graph.NewHandler(graph.Deps{})
	if err == nil {
		t.Fatal("no error")
	}
	for _, f := range []string{"DB", "Decided", "Store", "Projections"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not name %s", err, f)
		}
	}
}
