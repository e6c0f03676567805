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
var ErrNoToken = errors.New("slack: no bot token for workspace")

// TokenStore keeps the bot token of each Slack workspace (team id) the app is installed in.
// Implementations are safe for concurrent use.
type TokenStore interface {
	BotToken(ctx context.Context, teamID string) (string, error)
	SaveBotToken(ctx context.Context, teamID, token string) error
}

var (
	_ TokenStore = (*MemoryTokens)(nil)
	_ TokenStore = (*PostgresTokens)(nil)
)

// MemoryTokens is a TokenStore in memory.
type MemoryTokens struct {
	mu     sync.RWMutex
	tokens map[string]string
}

// BotToken returns the team's token or ErrNoToken.
func (m *MemoryTokens) BotToken(_ context.Context, teamID string) (string, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t, ok := m.tokens[teamID]
	if !ok {
		return "", fmt.Errorf("%w %q", ErrNoToken, teamID)
	}
	return t, nil
}

// SaveBotToken stores (or replaces) the team's token.
func (m *MemoryTokens) SaveBotToken(_ context.Context, teamID, token string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tokens == nil {
		m.tokens = map[string]string{}
	}
	m.tokens[teamID] = token
	return nil
}

// PostgresTokens keeps bot tokens in the slack_tokens table, encrypted with AES-256-GCM
// (a random nonce per token; the team id is the additional data, so a ciphertext moved to
// another team's row does not decrypt).
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

// SaveBotToken encrypts and stores (or replaces) the team's token.
func (p *PostgresTokens) SaveBotToken(ctx context.Context, teamID, token string) error {
	nonce := make([]byte, p.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := p.aead.Seal(nil, nonce, []byte(token), []byte(teamID))
	_, err := p.pool.Exec(ctx, `INSERT INTO slack_tokens (team_id, nonce, ciphertext) VALUES ($1, $2, $3)
		ON CONFLICT (team_id) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext, updated_at = now()`,
		teamID, nonce, sealed)
	if err != nil {
		return fmt.Errorf("save slack token %s: %w", teamID, err)
	}
	return nil
}

// BotToken decrypts the team's token; ErrNoToken when there is none.
func (p *PostgresTokens) BotToken(ctx context.Context, teamID string) (string, error) {
	var nonce, sealed []byte
	err := p.pool.QueryRow(ctx, `SELECT nonce, ciphertext FROM slack_tokens WHERE team_id = $1`, teamID).Scan(&nonce, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%w %q", ErrNoToken, teamID)
	}
	if err != nil {
		return "", fmt.Errorf("load slack token %s: %w", teamID, err)
	}
	plain, err := p.aead.Open(nil, nonce, sealed, []byte(teamID))
	if err != nil {
		return "", fmt.Errorf("decrypt slack token %s: %w", teamID, err)
	}
	return string(plain), nil
}
