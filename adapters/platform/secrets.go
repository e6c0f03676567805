package platform

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNoSecret is returned (wrapped) by a Secrets store for a name it holds nothing under.
var ErrNoSecret = errors.New("no such secret")

// Secrets keeps one platform's secrets by name: bot and user tokens of each installation,
// webhook secrets of each connection. Implementations are safe for concurrent use; a
// missing secret is ErrNoSecret (wrapped). MemorySecrets and PostgresSecrets pass the same
// contract (secrets_test.go).
type Secrets interface {
	// Put stores (or replaces) the secret under name.
	Put(ctx context.Context, name, value string) error
	// Get returns the secret under name, or ErrNoSecret.
	Get(ctx context.Context, name string) (string, error)
	// Names lists the names that start with prefix, sorted.
	Names(ctx context.Context, prefix string) ([]string, error)
}

// DecodeKey decodes the base64 of a 32-byte AES-256 key, as settings carry it.
func DecodeKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	if len(k) != 32 {
		return nil, fmt.Errorf("key is %d bytes, want 32", len(k))
	}
	return k, nil
}

var _ Secrets = (*MemorySecrets)(nil)

// MemorySecrets is a Secrets store in memory (tests, demos); its zero value is empty.
type MemorySecrets struct {
	mu sync.RWMutex
	m  map[string]string
}

func (s *MemorySecrets) Put(_ context.Context, name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[name] = value
	return nil
}

func (s *MemorySecrets) Get(_ context.Context, name string) (string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.m[name]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrNoSecret, name)
	}
	return v, nil
}

func (s *MemorySecrets) Names(_ context.Context, prefix string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for n := range s.m {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}

var _ Secrets = (*PostgresSecrets)(nil)

// PostgresSecrets keeps one platform's secrets in platform_secrets, encrypted with
// AES-256-GCM under a random nonce each. The platform and the name are the additional data,
// so that a ciphertext copied to another row (another team's, another platform's) does not
// decrypt.
type PostgresSecrets struct {
	pool     *pgxpool.Pool
	platform string
	aead     cipher.AEAD
}

// NewPostgresSecrets returns platform's secret store over pool with the 32-byte key.
func NewPostgresSecrets(pool *pgxpool.Pool, platform string, key []byte) (*PostgresSecrets, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("%s secrets: %w", platform, err)
	}
	return &PostgresSecrets{pool: pool, platform: platform, aead: aead}, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func (s *PostgresSecrets) ad(name string) []byte { return []byte(s.platform + "\x00" + name) }

func (s *PostgresSecrets) Put(ctx context.Context, name, value string) error {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	sealed := s.aead.Seal(nil, nonce, []byte(value), s.ad(name))
	_, err := s.pool.Exec(ctx, `INSERT INTO platform_secrets (platform, name, nonce, ciphertext) VALUES ($1, $2, $3, $4)
		ON CONFLICT (platform, name) DO UPDATE SET nonce = excluded.nonce, ciphertext = excluded.ciphertext, updated_at = now()`,
		s.platform, name, nonce, sealed)
	if err != nil {
		return fmt.Errorf("save %s secret %s: %w", s.platform, name, err)
	}
	return nil
}

func (s *PostgresSecrets) Get(ctx context.Context, name string) (string, error) {
	var nonce, sealed []byte
	err := s.pool.QueryRow(ctx, `SELECT nonce, ciphertext FROM platform_secrets WHERE platform = $1 AND name = $2`,
		s.platform, name).Scan(&nonce, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("%w: %s %q", ErrNoSecret, s.platform, name)
	}
	if err != nil {
		return "", fmt.Errorf("load %s secret %s: %w", s.platform, name, err)
	}
	plain, err := s.aead.Open(nil, nonce, sealed, s.ad(name))
	if err != nil {
		return "", fmt.Errorf("decrypt %s secret %s: %w", s.platform, name, err)
	}
	return string(plain), nil
}

func (s *PostgresSecrets) Names(ctx context.Context, prefix string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT name FROM platform_secrets WHERE platform = $1 AND starts_with(name, $2) ORDER BY name`,
		s.platform, prefix)
	if err != nil {
		return nil, fmt.Errorf("list %s secrets: %w", s.platform, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list %s secrets: %w", s.platform, err)
	}
	return names, nil
}

// Sealed is a secret as it was encrypted before it moved into platform_secrets: with the
// same key, under its own additional data.
type Sealed struct {
	Name              string
	Nonce, Ciphertext []byte
	AD                []byte
}

// Import copies secrets sealed elsewhere (an adapter's own table, from before the kit) into
// the store, re-encrypted under the store's additional data. A name the store holds already
// is left alone, so that importing again is harmless and a newer secret is not overwritten.
// It returns how many were copied.
func (s *PostgresSecrets) Import(ctx context.Context, sealed []Sealed) (int, error) {
	n := 0
	for _, x := range sealed {
		plain, err := s.aead.Open(nil, x.Nonce, x.Ciphertext, x.AD)
		if err != nil {
			return n, fmt.Errorf("decrypt %s secret %s to import it: %w", s.platform, x.Name, err)
		}
		nonce := make([]byte, s.aead.NonceSize())
		if _, err := rand.Read(nonce); err != nil {
			return n, err
		}
		tag, err := s.pool.Exec(ctx, `INSERT INTO platform_secrets (platform, name, nonce, ciphertext) VALUES ($1, $2, $3, $4)
			ON CONFLICT (platform, name) DO NOTHING`, s.platform, x.Name, nonce, s.aead.Seal(nil, nonce, plain, s.ad(x.Name)))
		if err != nil {
			return n, fmt.Errorf("import %s secret %s: %w", s.platform, x.Name, err)
		}
		n += int(tag.RowsAffected())
	}
	return n, nil
}
