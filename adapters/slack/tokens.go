package slack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/domain"
)

// ErrNoToken is returned (wrapped) by a TokenStore for a workspace it has no token of.
var ErrNoToken = errors.New("slack: no token for workspace")

// TokenStore keeps, for each Slack workspace (team id) the app is installed in, its bot
// token and the user token of the member who installed it. The user token is kept because
// a bot may not delete other members' messages and the installing admin may. Implementations
// are safe for concurrent use; a missing token is ErrNoToken (wrapped).
type TokenStore interface {
	BotToken(ctx context.Context, teamID string) (string, error)
	SaveBotToken(ctx context.Context, teamID, token string) error
	UserToken(ctx context.Context, teamID string) (string, error)
	SaveUserToken(ctx context.Context, teamID, token string) error
}

var (
	_ TokenStore = (*MemoryTokens)(nil)
	_ TokenStore = (*SecretTokens)(nil)
)

// MemoryTokens is a TokenStore in memory.
type MemoryTokens struct {
	mu    sync.RWMutex
	bots  map[string]string
	users map[string]string
}

// BotToken returns the team's bot token or ErrNoToken.
func (m *MemoryTokens) BotToken(_ context.Context, teamID string) (string, error) {
	return m.load(m.bots, "bot", teamID)
}

// SaveBotToken stores (or replaces) the team's bot token.
func (m *MemoryTokens) SaveBotToken(_ context.Context, teamID, token string) error {
	m.save(&m.bots, teamID, token)
	return nil
}

// UserToken returns the installing member's token of the team or ErrNoToken.
func (m *MemoryTokens) UserToken(_ context.Context, teamID string) (string, error) {
	return m.load(m.users, "user", teamID)
}

// SaveUserToken stores (or replaces) the installing member's token of the team.
func (m *MemoryTokens) SaveUserToken(_ context.Context, teamID, token string) error {
	m.save(&m.users, teamID, token)
	return nil
}

// Teams lists the workspaces with a bot token, in no order.
func (m *MemoryTokens) Teams(context.Context) ([]string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.bots))
	for t := range m.bots {
		out = append(out, t)
	}
	return out, nil
}

func (m *MemoryTokens) load(tokens map[string]string, kind, teamID string) (string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t, ok := tokens[teamID]
	if !ok {
		return "", fmt.Errorf("%s token: %w %q", kind, ErrNoToken, teamID)
	}
	return t, nil
}

func (m *MemoryTokens) save(tokens *map[string]string, teamID, token string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if *tokens == nil {
		*tokens = map[string]string{}
	}
	(*tokens)[teamID] = token
}

// SecretTokens keeps the tokens in a platform.Secrets store (encrypted at rest in
// Postgres: platform.PostgresSecrets), the bot token of team T under "bot/T" and the
// installing member's under "user/T".
type SecretTokens struct{ Secrets platform.Secrets }

// NewPostgresTokens returns the token store in platform_secrets with the 32-byte key. It
// first copies the tokens earlier versions kept in slack_tokens and slack_user_tokens
// (sealed with the same key), so that an upgrade keeps every installation.
func NewPostgresTokens(ctx context.Context, pool *pgxpool.Pool, key []byte) (*SecretTokens, error) {
	secrets, err := platform.NewPostgresSecrets(pool, domain.PlatformSlack, key)
	if err != nil {
		return nil, fmt.Errorf("slack tokens: %w", err)
	}
	var legacy []platform.Sealed
	for _, k := range []struct{ table, name, adPrefix string }{
		// The additional data these were sealed with: the bare team id for bot tokens (as
		// before user tokens were kept), "user:" and the team id for user tokens.
		{"slack_tokens", "bot/", ""}, {"slack_user_tokens", "user/", "user:"},
	} {
		rows, err := pool.Query(ctx, `SELECT team_id, nonce, ciphertext FROM `+k.table)
		if err != nil {
			return nil, fmt.Errorf("slack tokens: read %s: %w", k.table, err)
		}
		for rows.Next() {
			var team string
			var x platform.Sealed
			if err := rows.Scan(&team, &x.Nonce, &x.Ciphertext); err != nil {
				rows.Close()
				return nil, fmt.Errorf("slack tokens: read %s: %w", k.table, err)
			}
			x.Name, x.AD = k.name+team, []byte(k.adPrefix+team)
			legacy = append(legacy, x)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("slack tokens: read %s: %w", k.table, err)
		}
	}
	if _, err := secrets.Import(ctx, legacy); err != nil {
		return nil, fmt.Errorf("slack tokens: %w", err)
	}
	return &SecretTokens{Secrets: secrets}, nil
}

func (s *SecretTokens) BotToken(ctx context.Context, teamID string) (string, error) {
	return s.load(ctx, "bot", teamID)
}

func (s *SecretTokens) SaveBotToken(ctx context.Context, teamID, token string) error {
	return s.Secrets.Put(ctx, "bot/"+teamID, token)
}

func (s *SecretTokens) UserToken(ctx context.Context, teamID string) (string, error) {
	return s.load(ctx, "user", teamID)
}

func (s *SecretTokens) SaveUserToken(ctx context.Context, teamID, token string) error {
	return s.Secrets.Put(ctx, "user/"+teamID, token)
}

// Teams lists the workspaces with a bot token.
func (s *SecretTokens) Teams(ctx context.Context) ([]string, error) {
	names, err := s.Secrets.Names(ctx, "bot/")
	if err != nil {
		return nil, fmt.Errorf("list slack workspaces: %w", err)
	}
	for i, n := range names {
		names[i] = strings.TrimPrefix(n, "bot/")
	}
	return names, nil
}

func (s *SecretTokens) load(ctx context.Context, kind, teamID string) (string, error) {
	t, err := s.Secrets.Get(ctx, kind+"/"+teamID)
	if errors.Is(err, platform.ErrNoSecret) {
		return "", fmt.Errorf("%s token: %w %q", kind, ErrNoToken, teamID)
	}
	return t, err
}
