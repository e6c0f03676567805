// Package identity is who may call PolicyKit: local accounts (bcrypt password hashes), API
// tokens for scripts and adapters and sessions for the browser (both random 256-bit secrets
// stored as SHA-256 hashes), the links from accounts to the community users they act as, and
// sign-in through a platform (Sign in with Slack, ...) to the account linked to a member. The
// GraphQL API, the dashboard and every adapter's sign-in flow use it; it knows nothing of
// them.
//
// Its tables (auth_*) are plain tables, not events: who may call the API is not a governance
// decision. A caller's permissions are read, in the statement that authenticates it, from
// the read models' role tables (projections), which must exist in the same database.
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/internal/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationsTable is where Migrate records what it applied. The tables were the GraphQL
// package's before they were identity's; keeping its table (and the files' versions) means
// a database migrated then applies nothing again.
const migrationsTable = "auth_migrations"

// Migrate creates or updates the identity tables (auth_*), once each, as the other
// packages' Migrate do. Authenticating a caller also reads the read models' role tables
// (projections.Migrate).
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := migrate.Apply(ctx, pool, migrationsTable, migrations, "migrations")
	return err
}

// DB is what the store needs of its database: a *pgxpool.Pool satisfies it.
type DB interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store stores accounts, their API tokens, sessions and community links in Postgres. Its
// methods are safe for concurrent use; errors are domain errors (INVALID, CONFLICT,
// NOT_FOUND, FORBIDDEN) or internal ones.
type Store struct {
	db  DB
	now func() time.Time
	// cost is bcrypt's cost for new password hashes.
	cost int
}

// Options adjust a Store.
type Options struct {
	// Now is the clock of creation, session and revocation times. Default: time.Now.
	Now func() time.Time
}

// New returns the identities stored in db (whose auth_* tables Migrate created).
func New(db DB, opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{db: db, now: opts.Now, cost: bcrypt.DefaultCost}
}

// Account is a stored account.
type Account struct {
	ID        string
	Username  string
	CreatedAt time.Time
}

// APIToken is a stored API token (its secret is never stored).
type APIToken struct {
	ID        string
	AccountID string
	Name      string
	CreatedAt time.Time
	RevokedAt *time.Time
}

var usernamePattern = regexp.MustCompile(`^[a-z0-9._-]{3,64}$`)

// Register creates an account. The username is kept lower-case and must be 3 to 64 letters,
// digits, '.', '_' or '-'; the password 8 to 72 bytes (bcrypt's limit). A taken username is
// CONFLICT.
func (st *Store) Register(ctx context.Context, username, password string) (Account, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	if !usernamePattern.MatchString(username) {
		return Account{}, domain.Invalid("username must be 3 to 64 letters, digits, '.', '_' or '-'")
	}
	if len(password) < 8 || len(password) > 72 {
		return Account{}, domain.Invalid("password must be 8 to 72 bytes long")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), st.cost)
	if err != nil {
		return Account{}, fmt.Errorf("hash password: %w", err)
	}
	acc := Account{ID: uuid.NewString(), Username: username, CreatedAt: st.now().UTC()}
	err = exec(ctx, st.db, `INSERT INTO auth_accounts (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4)`,
		acc.ID, acc.Username, string(hash), acc.CreatedAt)
	if isUniqueViolation(err) {
		return Account{}, domain.Conflict("username %q is taken", username)
	}
	if err != nil {
		return Account{}, fmt.Errorf("insert account: %w", err)
	}
	return acc, nil
}

// dummyHash is compared against when the username is unknown, so that a login takes as long
// whether or not the account exists. It is made on first use, not at every program start.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("policykit-no-such-account"), bcrypt.DefaultCost)
	return h
})

// errBadLogin is the one answer to a wrong username or password.
var errBadLogin = domain.Forbidden("wrong username or password")

// Login checks the password and starts a session that ends after ttl. It returns the
// session's secret (the cookie's value); only its hash is stored. A wrong username or
// password is FORBIDDEN, without telling which.
func (st *Store) Login(ctx context.Context, username, password string, ttl time.Duration) (Account, string, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	var acc Account
	var hash string
	err := st.db.QueryRow(ctx, `SELECT id, username, created_at, password_hash FROM auth_accounts WHERE username = $1`, username).
		Scan(&acc.ID, &acc.Username, &acc.CreatedAt, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return Account{}, "", errBadLogin
	}
	if err != nil {
		return Account{}, "", fmt.Errorf("read account: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return Account{}, "", errBadLogin
	}
	secret, err := st.startSession(ctx, acc.ID, ttl)
	if err != nil {
		return Account{}, "", err
	}
	return acc, secret, nil
}

// startSession stores a new session of the account ending after ttl and returns its secret.
func (st *Store) startSession(ctx context.Context, accountID string, ttl time.Duration) (string, error) {
	secret, err := newSecret("")
	if err != nil {
		return "", err
	}
	now := st.now().UTC()
	if err := exec(ctx, st.db, `INSERT INTO auth_sessions (id, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		hashSecret(secret), accountID, now, now.Add(ttl)); err != nil {
		return "", fmt.Errorf("insert session: %w", err)
	}
	return secret, nil
}

// PlatformMember is a community user as a platform's own sign-in vouched for them: the
// platform (domain.PlatformSlack, ...), the member's id there, and the community user the
// platform's adapter found for that member.
type PlatformMember struct {
	Platform    string
	ExternalID  string
	CommunityID string
	UserID      string
}

// SignInWithPlatform starts a session, ending after ttl, for the account linked to the
// member's community user, after the platform's own sign-in (Sign in with Slack) vouched
// that the caller is that member. A member no account is linked to gets a new one, linked to
// it and named after the platform and the member's id there (fitted to the username rules,
// with a random suffix when taken). Such an account has no usable password: its stored hash
// is "!" and random characters, which is no bcrypt hash, so that no password ever matches it
// and Login refuses it; the member signs in through the platform again. It returns the
// account and the session's secret (the cookie's value, see SetSessionCookie).
func (st *Store) SignInWithPlatform(ctx context.Context, m PlatformMember, ttl time.Duration) (Account, string, error) {
	if m.CommunityID == "" || m.UserID == "" {
		return Account{}, "", domain.Invalid("community id and user id are required")
	}
	if m.Platform == "" || m.ExternalID == "" {
		return Account{}, "", domain.Invalid("platform and the member's id on it are required")
	}
	acc, found, err := st.memberAccount(ctx, m.CommunityID, m.UserID)
	if err != nil {
		return Account{}, "", err
	}
	if !found {
		if acc, err = st.createMemberAccount(ctx, m.CommunityID, m.UserID, m.Platform+"-"+m.ExternalID); err != nil {
			return Account{}, "", err
		}
	}
	secret, err := st.startSession(ctx, acc.ID, ttl)
	if err != nil {
		return Account{}, "", err
	}
	return acc, secret, nil
}

// memberAccount returns the account linked to the community's user; false when none is.
func (st *Store) memberAccount(ctx context.Context, communityID, userID string) (Account, bool, error) {
	var acc Account
	err := st.db.QueryRow(ctx, `SELECT a.id, a.username, a.created_at FROM auth_account_members m
		JOIN auth_accounts a ON a.id = m.account_id WHERE m.community_id = $1 AND m.user_id = $2`, communityID, userID).
		Scan(&acc.ID, &acc.Username, &acc.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Account{}, false, nil
	}
	if err != nil {
		return Account{}, false, fmt.Errorf("read member's account: %w", err)
	}
	return acc, true, nil
}

// createMemberAccount creates an account without a usable password and links it to the
// community's user. When a concurrent sign-in of the same member linked its own account
// first, that account is the answer and ours is removed.
func (st *Store) createMemberAccount(ctx context.Context, communityID, userID, usernameHint string) (Account, error) {
	unusable, err := newSecret("!")
	if err != nil {
		return Account{}, err
	}
	base := usernameFrom(usernameHint)
	for attempt := 0; attempt < 5; attempt++ {
		username := base
		if attempt > 0 {
			username = base[:min(len(base), 64-9)] + "-" + strings.ToLower(rand.Text()[:8])
		}
		acc := Account{ID: uuid.NewString(), Username: username, CreatedAt: st.now().UTC()}
		err := exec(ctx, st.db, `INSERT INTO auth_accounts (id, username, password_hash, created_at) VALUES ($1, $2, $3, $4)`,
			acc.ID, acc.Username, unusable, acc.CreatedAt)
		if isUniqueViolation(err) {
			continue
		}
		if err != nil {
			return Account{}, fmt.Errorf("insert account: %w", err)
		}
		err = st.LinkMember(ctx, acc.ID, communityID, userID)
		if errors.Is(err, domain.ErrConflict) {
			if err := exec(ctx, st.db, `DELETE FROM auth_accounts WHERE id = $1`, acc.ID); err != nil {
				return Account{}, fmt.Errorf("remove unlinked account: %w", err)
			}
			other, found, err := st.memberAccount(ctx, communityID, userID)
			if err == nil && !found {
				err = fmt.Errorf("user %q of community %q: linked account vanished", userID, communityID)
			}
			return other, err
		}
		if err != nil {
			return Account{}, err
		}
		return acc, nil
	}
	return Account{}, domain.Conflict("no free username for %q", base)
}

// usernameFrom fits a hint to the username rules: lower case, other characters than
// letters, digits, '.', '_' and '-' replaced by '-', at most 64 bytes, "member" when too
// short.
func usernameFrom(hint string) string {
	name := []byte(strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			return c
		}
		return '-'
	}, strings.ToLower(strings.TrimSpace(hint))))
	if len(name) > 64 {
		name = name[:64]
	}
	if len(name) < 3 {
		return "member"
	}
	return string(name)
}

// Logout ends the session whose secret is given; false when there was none.
func (st *Store) Logout(ctx context.Context, sessionSecret string) (bool, error) {
	rows, _ := st.db.Query(ctx, `DELETE FROM auth_sessions WHERE id = $1 RETURNING id`, hashSecret(sessionSecret))
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return false, fmt.Errorf("delete session: %w", err)
	}
	return len(ids) > 0, nil
}

// CreateAPIToken creates a token for the account and returns it with its secret, which is
// not stored (only its SHA-256 hash is) and cannot be shown again.
func (st *Store) CreateAPIToken(ctx context.Context, accountID, name string) (APIToken, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		return APIToken{}, "", domain.Invalid("token name must be 1 to 200 characters")
	}
	secret, err := newSecret("pk_")
	if err != nil {
		return APIToken{}, "", err
	}
	t := APIToken{ID: uuid.NewString(), AccountID: accountID, Name: name, CreatedAt: st.now().UTC()}
	if err := exec(ctx, st.db, `INSERT INTO auth_api_tokens (id, account_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
		t.ID, t.AccountID, t.Name, hashSecret(secret), t.CreatedAt); err != nil {
		return APIToken{}, "", fmt.Errorf("insert API token: %w", err)
	}
	return t, secret, nil
}

// RevokeAPIToken revokes one of the account's tokens from now on (a token revoked already
// keeps its revocation time). Another account's token, or none, is NOT_FOUND.
func (st *Store) RevokeAPIToken(ctx context.Context, accountID, tokenID string) (APIToken, error) {
	t := APIToken{AccountID: accountID}
	err := st.db.QueryRow(ctx, `UPDATE auth_api_tokens SET revoked_at = coalesce(revoked_at, $3)
		WHERE id = $1 AND account_id = $2 RETURNING id, name, created_at, revoked_at`, tokenID, accountID, st.now().UTC()).
		Scan(&t.ID, &t.Name, &t.CreatedAt, &t.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return APIToken{}, domain.NotFound("API token %q", tokenID)
	}
	if err != nil {
		return APIToken{}, fmt.Errorf("revoke API token: %w", err)
	}
	return t, nil
}

// APITokens lists up to limit of the account's tokens, revoked ones included, oldest first
// (by creation time, then id): from the first, or those after the token after when it is
// not nil (only its CreatedAt and ID count).
func (st *Store) APITokens(ctx context.Context, accountID string, after *APIToken, limit int) ([]APIToken, error) {
	var afterAt *time.Time
	var afterID string
	if after != nil {
		afterAt, afterID = &after.CreatedAt, after.ID
	}
	rows, _ := st.db.Query(ctx, `SELECT id, account_id, name, created_at, revoked_at FROM auth_api_tokens
		WHERE account_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3))
		ORDER BY created_at, id LIMIT $4`, accountID, afterAt, afterID, limit)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (APIToken, error) {
		var t APIToken
		err := row.Scan(&t.ID, &t.AccountID, &t.Name, &t.CreatedAt, &t.RevokedAt)
		return t, err
	})
}

// LinkMember lets the account act as the user userID of the community. An account acts as
// one user per community (linking again replaces the link) and a user is acted as by one
// account (a user linked to another account is CONFLICT); an unknown account is NOT_FOUND.
// The user is not checked against the community here: a user the community does not know
// holds no permission, and the engine refuses its commands.
func (st *Store) LinkMember(ctx context.Context, accountID, communityID, userID string) error {
	if communityID == "" || userID == "" {
		return domain.Invalid("community id and user id are required")
	}
	err := exec(ctx, st.db, `INSERT INTO auth_account_members (account_id, community_id, user_id, linked_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id, community_id) DO UPDATE SET user_id = EXCLUDED.user_id, linked_at = EXCLUDED.linked_at`,
		accountID, communityID, userID, st.now().UTC())
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == "23503":
		return domain.NotFound("account %q", accountID)
	case isUniqueViolation(err):
		return domain.Conflict("user %q of community %q is linked to another account", userID, communityID)
	case err != nil:
		return fmt.Errorf("link account %s: %w", accountID, err)
	}
	return nil
}

// Caller is who makes a request: an account and the community users it acts as.
type Caller struct {
	Account Account
	// Members are the account's memberships, by community id.
	Members map[string]Membership
}

// Membership is the community user an account acts as, with the permissions the user's
// roles grant (base roles included), as the read models know them.
type Membership struct {
	CommunityID string
	UserID      string
	IsAdmin     bool
	Permissions []domain.Permission
}

// Can reports whether the membership's permissions allow verb on an action of the type and
// kind (see domain.Permission.Allows).
func (m Membership) Can(verb, actionType string, kind domain.Kind) bool {
	for _, p := range m.Permissions {
		if p.Allows(verb, actionType, kind) {
			return true
		}
	}
	return false
}

// ViewsAnything reports whether the membership holds any view permission: what reading a
// community's own data (members, roles, documents, policies, proposal lists) needs.
func (m Membership) ViewsAnything() bool {
	for _, p := range m.Permissions {
		if p.Verb == domain.VerbView {
			return true
		}
	}
	return false
}

// callerSQL reads an account (chosen by the statement in %s, which selects id, username
// and created_at) with its memberships and each member's permissions, in one statement.
const callerSQL = `WITH acct AS (%s)
SELECT acct.id, acct.username, acct.created_at, m.community_id, m.user_id, coalesce(u.is_admin, false),
	ARRAY(SELECT DISTINCT rp.permission FROM roles r
		JOIN role_permissions rp ON rp.community_id = r.community_id AND rp.role = r.name
		WHERE u.id IS NOT NULL AND r.community_id = m.community_id
			AND (r.is_base OR r.name IN (SELECT ur.role FROM user_roles ur WHERE ur.community_id = m.community_id AND ur.user_id = m.user_id))
		ORDER BY rp.permission)
FROM acct
LEFT JOIN auth_account_members m ON m.account_id = acct.id
LEFT JOIN community_users u ON u.id = m.user_id AND u.community_id = m.community_id
ORDER BY m.community_id`

// bySession and byToken choose the account of a live session and of an unrevoked token.
const (
	bySession = `SELECT a.id, a.username, a.created_at FROM auth_sessions s JOIN auth_accounts a ON a.id = s.account_id
		WHERE s.id = $1 AND s.expires_at > $2`
	byToken = `SELECT a.id, a.username, a.created_at FROM auth_api_tokens t JOIN auth_accounts a ON a.id = t.account_id
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL`
)

// CallerBySession returns the caller of a live session; nil when the secret is no live
// session's.
func (st *Store) CallerBySession(ctx context.Context, secret string) (*Caller, error) {
	return st.caller(ctx, fmt.Sprintf(callerSQL, bySession), hashSecret(secret), st.now())
}

// CallerByToken returns the caller of an unrevoked API token; nil when the secret is no
// such token's.
func (st *Store) CallerByToken(ctx context.Context, secret string) (*Caller, error) {
	return st.caller(ctx, fmt.Sprintf(callerSQL, byToken), hashSecret(secret))
}

func (st *Store) caller(ctx context.Context, sql string, args ...any) (*Caller, error) {
	rows, _ := st.db.Query(ctx, sql, args...)
	var c *Caller
	var acc Account
	var communityID, userID *string
	var isAdmin bool
	var perms []string
	_, err := pgx.ForEachRow(rows, []any{&acc.ID, &acc.Username, &acc.CreatedAt, &communityID, &userID, &isAdmin, &perms}, func() error {
		if c == nil {
			c = &Caller{Account: acc, Members: map[string]Membership{}}
		}
		if communityID == nil || userID == nil {
			return nil
		}
		m := Membership{CommunityID: *communityID, UserID: *userID, IsAdmin: isAdmin}
		for _, s := range perms {
			// A permission the read model holds but this version does not know grants nothing.
			if p, err := domain.ParsePermission(s); err == nil {
				m.Permissions = append(m.Permissions, p)
			}
		}
		c.Members[m.CommunityID] = m
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	return c, nil
}

// newSecret returns prefix and 256 random bits, base64url-encoded.
func newSecret(prefix string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random secret: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// hashSecret is what is stored of a token or session secret: random 256-bit secrets need no
// slow hash.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// exec runs a statement that returns no rows through DB (which has no Exec).
func exec(ctx context.Context, db DB, sql string, args ...any) error {
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}
