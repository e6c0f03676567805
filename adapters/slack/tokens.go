package slack

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
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
	_ TokenStore = (*PostgresTokens)(nil)
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

// PostgresTokens keeps bot tokens in the slack_tokens table and user tokens in
// slack_user_tokens, encrypted with AES-256-GCM (a random nonce per token). The additional
// data names the team and the kind of token, so that a ciphertext moved to another team's
// row, or from one table to the other, does not decrypt.
type PostgresTokens struct {
	pool *pgxpool.Pool
	aead cipher.AEAD
}

// NewPostgresTokens returns a token store over pool with the 32-byte key.
func NewPostgresTokens(pool *pgxpool.Pool, key []byte) (*PostgresTokens, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("slack tokens: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("slack tokens: key is %d bytes, want 32", len(key))
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("slack tokens: %w", err)
	}
	return &PostgresTokens{pool: pool, aead: aead}, nil
}

// The two kinds of token: their table and additional data. The bot token's additional data
// is the bare team id, as it was before user tokens were kept, so stored tokens still open.
var (
	botTokens  = tokenKind{name: "bot", table: "slack_tokens"}
	userTokens = tokenKind{name: "user", table: "slack_user_tokens", adPrefix: "user:"}
)

type tokenKind struct{ name, table, adPrefix string }

// SaveBotToken encrypts and stores (or replaces) the team's bot token.
func (p *PostgresTokens) SaveBotToken(ctx context.Context, teamID, token string) error {
	return p.save(ctx, botTokens, teamID, token)
}

// BotToken decrypts the team's bot token; ErrNoToken when there is none.
func (p *PostgresTokens) BotToken(ctx context.Context, teamID string) (string, error) {
	return p.load(ctx, botTokens, teamID)
}

// SaveUserToken encrypts and stores (or replaces) the installing member's token of the team.
func (p *PostgresTokens) SaveUserToken(ctx context.Context, teamID, token string) error {
	return p.save(ctx, userTokens, teamID, token)
}

// UserToken decrypts the installing member's token of the team; ErrNoToken when there is none.
func (p *PostgresTokens) UserToken(ctx context.Context, teamID string) (string, error) {
	return p.load(ctx, userTokens, teamID)
}

// Teams lists the workspaces with a bot token, in no order.
func (p *PostgresTokens) Teams(ctx context.Context) ([]string, error) {
	rows, err := p.pool.Query(ctx, `SELECT team_id FROM slack_tokens`)
	if err != nil {
		return nil, fmt.Errorf("list slack workspaces: %w", err)
	}
	teams, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list slack workspaces: %w", err)
	}
	return teams, nil
}

func (p *PostgresTokens) save(ctx context.Context, k tokenKind, teamID, token string) error {
	nonce := make([]byte, p.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := p.aead.Seal(nil, nonce, []byte(token), []byte(k.adPrefix+teamID))
	_, err := p.pool.Exec(ctx, `INSERT INTO `+k.table+` (team_id, nonce, ciphertext) VALUES ($1, $2, $3)
		ON CONFLICT (team_id) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext, updated_at = now()`,
		teamID, nonce, sealed)
	if err != nil {
		return fmt.Errorf("save slack %s token %s: %w", k.name, teamID, err)
	}
	return nil
}

func (p *PostgresTokens) load(ctx context.Context, k tokenKind, teamID string) (string, error) {
	var nonce, sealed []byte
	err := p.pool.QueryRow(ctx, `SELECT nonce, ciphertext FROM `+k.table+` WHERE team_id = $1`, teamID).Scan(&nonce, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%s token: %w %q", k.name, ErrNoToken, teamID)
	}
	if err != nil {
		return "", fmt.Errorf("load slack %s token %s: %w", k.name, teamID, err)
	}
	plain, err := p.aead.Open(nil, nonce, sealed, []byte(k.adPrefix+teamID))
	if err != nil {
		return "", fmt.Errorf("decrypt slack %s token %s: %w", k.name, teamID, err)
	}
	return string(plain), nil
}
