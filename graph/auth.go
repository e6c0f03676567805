package graph

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/graph/model"
	"github.com/policykit-go/policykit/identity"
)

// Identity is what the API needs of accounts, sessions and API tokens; *identity.Store
// satisfies it.
type Identity interface {
	Register(ctx context.Context, username, password string) (identity.Account, error)
	Login(ctx context.Context, username, password string, ttl time.Duration) (identity.Account, string, error)
	Logout(ctx context.Context, sessionSecret string) (bool, error)
	CallerBySession(ctx context.Context, secret string) (*identity.Caller, error)
	CallerByToken(ctx context.Context, secret string) (*identity.Caller, error)
	CreateAPIToken(ctx context.Context, accountID, name string) (identity.APIToken, string, error)
	RevokeAPIToken(ctx context.Context, accountID, tokenID string) (identity.APIToken, error)
	APITokens(ctx context.Context, accountID string, after *identity.APIToken, limit int) ([]identity.APIToken, error)
	LinkMember(ctx context.Context, accountID, communityID, userID string) error
}

var _ Identity = (*identity.Store)(nil)

// ErrUnauthenticated is the error of every field but register, login, logout and
// introspection when the request has no valid API token or session (FORBIDDEN).
var ErrUnauthenticated = domain.Forbidden("authentication required: send an API token (Authorization: Bearer <token>) or log in")

// The request's authentication, as the handler's middleware finds it.

type exchangeKey struct{}

// exchange is what resolvers need of the HTTP request: who calls, the session secret it
// came with (for logout), and the response writer (for the session cookie).
type exchange struct {
	caller  *identity.Caller
	session string
	w       http.ResponseWriter
	secure  bool
	// remoteAddr is the client's address (the connection's: forwarding headers are not
	// trusted), which sign-in attempts are limited by.
	remoteAddr string
	// socket is the websocket connection's subscriptions (nil outside one).
	socket *socketSubscriptions
}

func exchangeOf(ctx context.Context) *exchange {
	if x, ok := ctx.Value(exchangeKey{}).(*exchange); ok {
		return x
	}
	return &exchange{}
}

// CallerOf returns the request's caller; ErrUnauthenticated when it has none.
func CallerOf(ctx context.Context) (*identity.Caller, error) {
	if c := exchangeOf(ctx).caller; c != nil {
		return c, nil
	}
	return nil, ErrUnauthenticated
}

// authenticate finds the caller of r: an API token in the Authorization header (Bearer)
// wins over the session cookie. A request without either, or with a token or session that
// is unknown, revoked or expired, has no caller (and may only log in).
func authenticate(ids Identity, w http.ResponseWriter, r *http.Request) (*exchange, error) {
	creds := identity.CredentialsOf(r)
	x := &exchange{w: w, secure: r.TLS != nil, remoteAddr: r.RemoteAddr, session: creds.Session}
	var err error
	if creds.Token != "" {
		x.caller, err = ids.CallerByToken(r.Context(), creds.Token)
	} else if x.session != "" {
		x.caller, err = ids.CallerBySession(r.Context(), x.session)
	}
	return x, err
}

// publicFields are the root fields a request without a caller may run (introspection's
// __schema, __type and __typename aside).
var publicFields = map[string]bool{"register": true, "login": true, "logout": true}

// requireCaller refuses every root field but the public ones to a request without a caller
// (FORBIDDEN), so that a field added later is protected unless made public on purpose.
func requireCaller(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	rc := graphql.GetRootFieldContext(ctx)
	if rc == nil || rc.Field.Field == nil || publicFields[rc.Field.Name] || strings.HasPrefix(rc.Field.Name, "__") ||
		exchangeOf(ctx).caller != nil {
		return next(ctx)
	}
	graphql.AddError(graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: rc.Field}), ErrUnauthenticated)
	return graphql.Null
}

var errSignInRateLimited = rateLimited("too many sign-in attempts; try again in a minute")

// errRegistrationOff is register's answer when self-registration is off.
var errRegistrationOff = domain.Forbidden("registration is turned off on this server: ask an operator for an account")

// register creates an account, within the sign-in limits, when registration is on.
func (r *Resolver) register(ctx context.Context, username, password string) (*model.Account, error) {
	if r.deps.DisableRegistration {
		return nil, errRegistrationOff
	}
	if !r.signIns.Allow(exchangeOf(ctx).remoteAddr, username) {
		return nil, errSignInRateLimited
	}
	a, err := r.accounts.Register(ctx, username, password)
	if err != nil {
		return nil, err
	}
	return &model.Account{ID: a.ID, Username: a.Username, CreatedAt: a.CreatedAt, Memberships: []model.Membership{}}, nil
}

// login starts a session and sets its cookie on the response, within the sign-in limits
// (checked before the password, so that a refused attempt costs no bcrypt either).
func (r *Resolver) login(ctx context.Context, username, password string) (*model.Account, error) {
	if !r.signIns.Allow(exchangeOf(ctx).remoteAddr, username) {
		return nil, errSignInRateLimited
	}
	acc, secret, err := r.accounts.Login(ctx, username, password, r.deps.SessionTTL)
	if err != nil {
		return nil, err
	}
	if x := exchangeOf(ctx); x.w != nil {
		identity.SetSessionCookie(x.w, secret, r.deps.SessionTTL, x.secure)
	}
	c, err := r.accounts.CallerBySession(ctx, secret)
	if err != nil {
		return nil, err
	}
	if c == nil { // the session ended meanwhile
		return &model.Account{ID: acc.ID, Username: acc.Username, CreatedAt: acc.CreatedAt, Memberships: []model.Membership{}}, nil
	}
	return account(c), nil
}

// logout ends the request's session, if any, and clears its cookie.
func (r *Resolver) logout(ctx context.Context) (bool, error) {
	x := exchangeOf(ctx)
	if x.w != nil {
		identity.ClearSessionCookie(x.w, x.secure)
	}
	if x.session == "" {
		return false, nil
	}
	return r.accounts.Logout(ctx, x.session)
}
