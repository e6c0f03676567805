// Package graph is PolicyKit's GraphQL API (gqlgen): queries read the read models, mutations
// record commands in the log and return what the engine decided. The schema is schema.graphqls;
// generated.go and model/models_gen.go are generated from it (`go tool gqlgen generate`).
//
// Callers authenticate with an API token (Authorization: Bearer) or the session cookie
// login sets (see auth.go; the accounts, sessions and tokens are package identity's);
// subscriptions, over a websocket (graphql-transport-ws or graphql-ws), with an API token in
// connection_init's payload or else the upgrade request's session cookie (see
// subscriptions.go). Every root field but register, login,
// logout and introspection is FORBIDDEN without a caller. A community the caller is not a
// member of is NOT_FOUND to it; a member without the view permission gets FORBIDDEN (see
// authz.go).
//
// Clients may send a query's sha256 instead of its text (automatic persisted queries); with
// Deps.AllowList set, only the listed operations run (see persisted.go).
//
// Errors reach clients with extensions.code NOT_FOUND, FORBIDDEN, INVALID, CONFLICT (the
// domain's codes) or INTERNAL (anything else, logged, never shown). gqlgen's own request
// errors keep its codes (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED,
// COMPLEXITY_LIMIT_EXCEEDED); a query nested too deep is INVALID.
package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/99designs/gqlgen/graphql/playground"
	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/graph/model"
	"github.com/policykit-go/policykit/identity"
	"github.com/policykit-go/policykit/projections"
	"github.com/policykit-go/policykit/sealed"
)

// Projections is what the mutations need from the projection runner (*projections.Runner
// satisfies it): how far the read models are. The API never brings them up to date itself;
// the process's runner does (App.Run).
type Projections interface {
	Checkpoint(ctx context.Context) (eventstore.Position, error)
}

var _ Projections = (*projections.Runner)(nil)

// Limits that keep hostile queries cheap.
const (
	// MaxBodyBytes bounds a request body; a larger one is refused with 413.
	MaxBodyBytes = 1 << 20
	// MaxDepth bounds how deeply fields nest (introspection fields are not counted).
	MaxDepth = 10
	// MaxComplexity bounds an operation's complexity (one per field; a connection's
	// fields count once per node its page may hold: first, or the field's default;
	// introspection and verification at their own cost below).
	MaxComplexity = 2000
	// IntrospectionComplexity is what one introspection field (__schema, __type) costs
	// against MaxComplexity: its answer is the whole schema, tens of kilobytes.
	IntrospectionComplexity = 500
	// VerificationComplexity is what one Proposal.verification costs (besides its fields):
	// it reads the community's log and re-runs every recorded decision of the proposal in
	// the policy sandbox.
	VerificationComplexity = 200
	// MaxErrors bounds the errors of one response; the rest are summed up in one more.
	MaxErrors = 100
)

// Deps are what the API is built from.
type Deps struct {
	// DB reads the read models (the App's pool).
	DB DB
	// Identity authenticates callers and keeps their accounts, sessions and API tokens.
	// Default: the identity store in DB (identity.New), on the clock Now.
	Identity Identity
	// Store is the event log: mutations record their commands in it (engine.Recorder), and
	// a proposal's decision trace is read from it (engine.Explain).
	Store eventstore.Store
	// Decided tells how far the engine, running in this process or another one on the
	// same database, has decided each action and proposal: a mutation waits for the
	// decision on what it recorded (see ReadModelTimeout).
	Decided engine.Decided
	// Projections are the read models' runner (*projections.Runner), which runs in this
	// process: a mutation waits for it to reach the engine's decision, so that what it
	// returns includes the decision.
	Projections Projections
	// Loop is the evaluation loop whose evaluator (the policy sandbox) checks the code of a
	// proposed policy and re-runs recorded decisions (Proposal.verification). It never
	// decides in a request. Without it, proposals to add or change a policy and
	// verifications are refused.
	Loop *evaluation.Loop
	// ReadModelTimeout bounds how long a mutation waits for the engine's decision on its
	// command and for the read models to include it. Default: 10s.
	ReadModelTimeout time.Duration
	// Log receives internal errors (their details never reach clients). Default: discard.
	Log *slog.Logger
	// Now is the clock actions are proposed at. Default: time.Now.
	Now func() time.Time
	// NewID makes action ids. Default: random UUIDs.
	NewID func() string
	// SessionTTL is how long a browser session lasts after login. Default: 7 days.
	SessionTTL time.Duration
	// KeepAlive is how often a websocket connection is pinged (subscriptions); a
	// graphql-transport-ws client that does not answer within twice as long is disconnected.
	// Default: 15s.
	KeepAlive time.Duration
	// AllowList, when not nil, is the only operations the API runs (LoadAllowList): a
	// request names one by its sha256 (Apollo's persistedQuery extension) or sends its
	// exact text; anything else, introspection included, is FORBIDDEN before it is parsed,
	// and clients cannot register new persisted queries. GraphiQL does not work then.
	// Default: nil, every operation runs, and clients may persist theirs automatically.
	AllowList AllowList
	// DisableRegistration refuses the register mutation (FORBIDDEN): accounts are then
	// made by an operator (policykit account). Default: false, anyone may register.
	DisableRegistration bool
	// DisableAnonymousIntrospection refuses introspection (FORBIDDEN) to requests without
	// a caller. Default: false, introspection answers anyone.
	DisableAnonymousIntrospection bool
	// SignInPerAddress and SignInPerAccount bound the sign-in attempts (login and register)
	// from one remote address and for one username; an attempt over either is
	// RATE_LIMITED. Defaults: identity.DefaultSignInPerAddress, DefaultSignInPerAccount.
	SignInPerAddress, SignInPerAccount identity.RateLimit
	// MaxSubscriptionsPerSocket and MaxSubscriptionsPerAccount bound the live
	// subscriptions of one websocket connection and of one account; one more is
	// LIMIT_EXCEEDED. Defaults: 10 and 50.
	MaxSubscriptionsPerSocket, MaxSubscriptionsPerAccount int
	// Secrets seals the secrets a member gives when proposing to connect a platform
	// (policykitaddintegration) before the action is recorded, so that the log holds only
	// ciphertext. Default: nil, and a connection with secrets is refused (INVALID); one
	// without secrets is still proposed.
	Secrets *sealed.Box
	// Verifications bounds how many Proposal.verification and dryRun run at once across all
	// requests (others wait, as long as their request does), so that audits and dry runs
	// leave the policy sandbox to the engine's decisions. Default: 1.
	Verifications int
	// BaseURL is the server's public base URL (POLICYKIT_BASE_URL): Platform.hookURL and
	// Query.installLinks are addresses under it. Default: "", and hookURL is null.
	BaseURL string
	// InstallLinks are the install flows this server serves (Query.installLinks), each with
	// its path under BaseURL.
	InstallLinks []InstallLink
	// Extensions are added to the server after its own (metrics: telemetry's
	// GraphQLExtension); nil ones are passed over.
	Extensions []graphql.HandlerExtension
}

// Validate reports every missing dependency at once.
func (d Deps) Validate() error {
	var errs []error
	if d.DB == nil {
		errs = append(errs, errors.New("graph: DB is required"))
	}
	if d.Decided == nil {
		errs = append(errs, errors.New("graph: Decided is required"))
	}
	if d.Store == nil {
		errs = append(errs, errors.New("graph: Store is required"))
	}
	if d.Projections == nil {
		errs = append(errs, errors.New("graph: Projections is required"))
	}
	return errors.Join(errs...)
}

func (d Deps) withDefaults() Deps {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.NewID == nil {
		d.NewID = uuid.NewString
	}
	if d.ReadModelTimeout <= 0 {
		d.ReadModelTimeout = 10 * time.Second
	}
	if d.KeepAlive <= 0 {
		d.KeepAlive = 15 * time.Second
	}
	if d.SessionTTL <= 0 {
		d.SessionTTL = identity.DefaultSessionTTL
	}
	if d.Identity == nil {
		d.Identity = identity.New(d.DB, identity.Options{Now: d.Now})
	}
	if d.MaxSubscriptionsPerSocket <= 0 {
		d.MaxSubscriptionsPerSocket = 10
	}
	if d.MaxSubscriptionsPerAccount <= 0 {
		d.MaxSubscriptionsPerAccount = 50
	}
	if d.Verifications <= 0 {
		d.Verifications = 1
	}
	return d
}

// NewHandler returns the GraphQL endpoint (POST, GET and websockets for subscriptions;
// introspection on unless deps.AllowList leaves it out; automatic persisted queries), with
// the body, depth and complexity limits above. It authenticates every request (one
// statement when it carries a token or session) and needs the auth_* tables
// (identity.Migrate).
func NewHandler(deps Deps) (http.Handler, error) {
	if err := deps.Validate(); err != nil {
		return nil, err
	}
	deps = deps.withDefaults()
	res := &Resolver{
		deps: deps, read: reader{db: deps.DB}, accounts: deps.Identity,
		signIns:       identity.NewSignInLimits(deps.SignInPerAddress, deps.SignInPerAccount, deps.Now),
		subscriptions: newSubscriptionLimits(deps.MaxSubscriptionsPerSocket, deps.MaxSubscriptionsPerAccount),
		verifications: make(chan struct{}, deps.Verifications),
	}
	res.tail = newTail(deps.Store, res.logEnd, deps.Log)
	cfg := Config{Resolvers: res}
	// A connection costs its nodes once per item its page may hold (see pageComplexity), with
	// the defaults of the schema.
	page := func(def int) func(child int, first *int, _ *string) int {
		return func(child int, first *int, _ *string) int { return pageComplexity(def, child, first) }
	}
	cfg.Complexity.Community.Proposals = func(child int, _ *model.ProposalFilter, first *int, after *string) int {
		return page(20)(child, first, after)
	}
	cfg.Complexity.Community.Events = func(child int, _ *model.EventFilter, first *int, after *string) int {
		return page(50)(child, first, after)
	}
	cfg.Complexity.Community.Members = page(listPage)
	cfg.Complexity.Community.Roles = page(listPage)
	cfg.Complexity.Community.Documents = page(listPage)
	cfg.Complexity.Community.Policies = page(listPage)
	cfg.Complexity.Account.APITokens = page(listPage)
	cfg.Complexity.Policy.Versions = page(nestedPage)
	cfg.Complexity.Proposal.Effects = page(nestedPage)
	cfg.Complexity.Proposal.EvaluationLogs = page(nestedPage)
	cfg.Complexity.Proposal.Trace = func(int) int { return 10 }
	cfg.Complexity.Proposal.Verification = func(child int) int { return VerificationComplexity + child }
	cfg.Complexity.Query.ValidatePolicyCode = func(child int, _ model.PolicyCodeInput) int { return ValidatePolicyCodeComplexity + child }
	cfg.Complexity.Mutation.DryRun = func(child int, _ model.DryRunInput) int { return DryRunComplexity + child }
	cfg.Complexity.Community.EvaluationLogs = func(child int, _, _, _ *string, first *int, after *string) int {
		return page(50)(child, first, after)
	}
	srv := handler.New(NewExecutableSchema(cfg))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.AddTransport(websocket(deps.Identity, deps.Log.Error, deps.KeepAlive))
	validated := lru.New[*ast.QueryDocument](1000)
	srv.SetQueryCache(validated)
	// The bounds' lexer stops at MaxTokens; gqlgen's parser must not read further either.
	srv.SetParserTokenLimit(MaxTokens)
	if deps.AllowList != nil {
		srv.Use(allowListOnly{list: deps.AllowList})
	} else {
		srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](MaxPersistedQueries)})
	}
	// After the persisted queries, which may fill the text in; before parsing.
	srv.Use(queryBounds{validated: validated})
	srv.Use(introspectionGate{anonymous: !deps.DisableAnonymousIntrospection})
	srv.Use(depthLimit{max: MaxDepth})
	srv.Use(&complexityLimit{max: MaxComplexity})
	for _, e := range deps.Extensions {
		if e != nil {
			srv.Use(e)
		}
	}
	srv.AroundRootFields(requireCaller)
	srv.AroundResponses(freshLoaders(res.read))
	srv.AroundResponses(boundErrors)
	srv.SetErrorPresenter(presenter(deps.Log))
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		deps.Log.Error("graphql: panic", "panic", fmt.Sprint(v), "path", graphql.GetPath(ctx).String())
		return errPanic // presented as INTERNAL
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes), "INVALID")
			return
		}
		if r.Method == http.MethodPost {
			if !readBody(w, r) {
				return
			}
		}
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			// The server's read deadline is for reading a request; a websocket lives on, with
			// its own keep-alive and init timeout.
			_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		}
		x, err := authenticate(deps.Identity, w, r)
		if err != nil {
			deps.Log.Error("graphql: authenticate", "err", err)
			writeError(w, http.StatusInternalServerError, "internal error", CodeInternal)
			return
		}
		ctx := context.WithValue(r.Context(), exchangeKey{}, x)
		srv.ServeHTTP(w, r.WithContext(withLoaders(ctx, newLoaders(res.read))))
	}), nil
}

// readBody reads a POST's body whole, at most MaxBodyBytes of it whatever its framing
// (a chunked body has no Content-Length to refuse early), and checks that a JSON body is a
// GraphQL request, so that gqlgen, which quotes a body it cannot decode in its error, never
// sees one. It answers the request itself (413 or 400, false) when the body will not do.
func readBody(w http.ResponseWriter, r *http.Request) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes), "INVALID")
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "could not read the request body", "INVALID")
		return false
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		var p struct {
			Query         string         `json:"query"`
			OperationName string         `json:"operationName"`
			Variables     map[string]any `json:"variables"`
			Extensions    map[string]any `json:"extensions"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			writeError(w, http.StatusBadRequest, "request body is not a GraphQL request: want a JSON object with query, operationName, variables and extensions", "INVALID")
			return false
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return true
}

// boundErrors keeps the first MaxErrors errors of a response and sums up the rest in one.
func boundErrors(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp != nil && len(resp.Errors) > MaxErrors {
		more := len(resp.Errors) - MaxErrors
		resp.Errors = append(resp.Errors[:MaxErrors:MaxErrors], &gqlerror.Error{
			Message:    fmt.Sprintf("%d more errors left out", more),
			Extensions: map[string]any{"code": CodeLimitExceeded},
		})
	}
	return resp
}

// Playground returns a GraphiQL page that talks to endpoint (e.g. "/graphql").
func Playground(endpoint string) http.Handler {
	return playground.Handler("PolicyKit GraphQL", endpoint, graphiqlAssetOptions()...)
}

func writeError(w http.ResponseWriter, status int, msg, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []any{map[string]any{"message": msg, "extensions": map[string]any{"code": code}}},
	})
}

// codes is the one table from domain error codes to the API's extensions.code.
var codes = map[domain.Code]string{
	domain.CodeNotFound:  "NOT_FOUND",
	domain.CodeForbidden: "FORBIDDEN",
	domain.CodeInvalid:   "INVALID",
	domain.CodeConflict:  "CONFLICT",
}

// CodeInternal is the code of every error that is not the client's: its details are logged,
// and the client sees only "internal error".
const CodeInternal = "INTERNAL"

// presenter translates resolver errors once: domain errors keep their message and get their
// code (a version race the engine gave up on is CONFLICT); errors gqlgen raised about the request itself (an argument that does not coerce)
// are INVALID unless gqlgen coded them; anything else is INTERNAL.
func presenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		path := graphql.GetPath(ctx)
		var de *domain.Error
		if errors.As(err, &de) {
			msg := de.Msg
			if msg == "" {
				msg = de.Error()
			}
			return &gqlerror.Error{Message: msg, Path: path, Extensions: map[string]any{"code": codes[de.Code]}}
		}
		if le, ok := asLimitError(err); ok {
			return &gqlerror.Error{Message: le.msg, Path: path, Extensions: map[string]any{"code": le.code}}
		}
		if errors.Is(err, eventstore.ErrConcurrency) {
			// The engine lost every version race it retried: the caller may try again.
			return &gqlerror.Error{Message: "the community changed too often meanwhile; try again", Path: path, Extensions: map[string]any{"code": codes[domain.CodeConflict]}}
		}
		var ge *gqlerror.Error
		if errors.As(err, &ge) && ge.Err == nil {
			if ge.Extensions == nil {
				ge.Extensions = map[string]any{}
			}
			if _, ok := ge.Extensions["code"]; !ok {
				ge.Extensions["code"] = codes[domain.CodeInvalid]
			}
			if ge.Path == nil {
				ge.Path = path
			}
			return ge
		}
		log.Error("graphql: internal error", "err", err, "path", path.String())
		return &gqlerror.Error{Message: "internal error", Path: path, Extensions: map[string]any{"code": CodeInternal}}
	}
}

var errPanic = errors.New("panic in resolver")

// depthLimit refuses operations whose fields nest deeper than max, following fragments.
// Introspection fields (__schema, __type) are not counted: standard clients' introspection
// query nests type references deeply, and introspection is bounded by the schema.
type depthLimit struct{ max int }

var _ interface {
	graphql.OperationContextMutator
	graphql.HandlerExtension
} = depthLimit{}

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }
func (d depthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	op := oc.Doc.Operations.ForName(oc.OperationName)
	if op == nil {
		return nil
	}
	if n := depth(op.SelectionSet, 0); n > d.max {
		return &gqlerror.Error{
			Message:    fmt.Sprintf("query is nested %d levels deep; at most %d are allowed", n, d.max),
			Extensions: map[string]any{"code": codes[domain.CodeInvalid]},
		}
	}
	return nil
}

// depth returns the deepest field nesting of set (a fragment's fields count at the level it
// is spread). Validation has refused fragment cycles already; the level bound is a guard.
func depth(set ast.SelectionSet, level int) int {
	deepest := level
	for _, s := range set {
		var n int
		switch s := s.(type) {
		case *ast.Field:
			if strings.HasPrefix(s.Name, "__") {
				continue
			}
			n = depth(s.SelectionSet, level+1)
		case *ast.InlineFragment:
			n = depth(s.SelectionSet, level)
		case *ast.FragmentSpread:
			if s.Definition != nil && level < 100 {
				n = depth(s.Definition.SelectionSet, level)
			}
		}
		deepest = max(deepest, n)
	}
	return deepest
}
