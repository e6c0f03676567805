// Package sealed encrypts the secrets of a community's platform connections (API keys,
// webhook secrets) before they are proposed, so that the event log, the read models and every
// copy of them hold only ciphertext, and opens them where an adapter needs one.
//
// A sealed value is domain.SealedPrefix and the base64 of a random nonce and the AES-256-GCM
// ciphertext. The community, the platform and the secret's name are its additional data: a
// value copied into another community's connection, or under another name, does not open.
package sealed

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/policykit-go/policykit/domain"
)

// ErrNoKey is returned by a nil Box: the server was started without a secret key.
var ErrNoKey = errors.New("no secret key is configured (POLICYKIT_SECRET_KEY), so connection secrets cannot be kept")

// Box seals and opens connection secrets with one key. A nil *Box refuses both with ErrNoKey.
type Box struct {
	aead cipher.AEAD
}

// NewBox returns a Box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// ParseKey decodes the base64 of a 32-byte key, as settings carry it.
func ParseKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("secret key is not base64: %w", err)
	}
	if len(k) != 32 {
		return nil, fmt.Errorf("secret key is %d bytes, want 32", len(k))
	}
	return k, nil
}

func additionalData(communityID, platform, name string) []byte {
	return []byte(communityID + "\x00" + platform + "\x00" + name)
}

// Seal encrypts the secret name of communityID's connection to platform.
func (b *Box) Seal(communityID, platform, name, plain string) (string, error) {
	if b == nil {
		return "", ErrNoKey
	}
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := b.aead.Seal(nonce, nonce, []byte(plain), additionalData(communityID, platform, name))
	return domain.SealedPrefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts what Seal sealed for the same community, platform and name.
func (b *Box) Open(communityID, platform, name, value string) (string, error) {
	if b == nil {
		return "", ErrNoKey
	}
	raw, ok := strings.CutPrefix(value, domain.SealedPrefix)
	if !ok {
		return "", fmt.Errorf("secret %q of %s is not sealed", name, platform)
	}
	data, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return "", fmt.Errorf("secret %q of %s is damaged", name, platform)
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, data[:n], data[n:], additionalData(communityID, platform, name))
	if err != nil {
		return "", fmt.Errorf("secret %q of %s does not open with this key (another key, community or name)", name, platform)
	}
	return string(plain), nil
}

// SealConnection returns action a with the secrets of its payload sealed, when it connects a
// platform (domain.ActionAddIntegration); any other action is returned as it is. Entry points
// call it on what a member typed before they record the action. A secret already sealed is
// refused: one sealed for another connection would never open, and the member meant the
// value itself.
func (b *Box) SealConnection(a domain.Action) (domain.Action, error) {
	if a.Type != domain.ActionAddIntegration {
		return a, nil
	}
	p, err := domain.DecodeConstitutionPayload(a)
	if err != nil {
		return a, err
	}
	conn := p.(domain.AddIntegration)
	if len(conn.Secrets) == 0 {
		return a, nil
	}
	sealed := make(map[string]string, len(conn.Secrets))
	for name, v := range conn.Secrets {
		if strings.HasPrefix(v, domain.SealedPrefix) {
			return a, domain.Invalid("secret %q is given sealed: give its value, the server seals it", name)
		}
		if v == "" {
			return a, domain.Invalid("secret %q is empty", name)
		}
		if sealed[name], err = b.Seal(a.CommunityID, conn.Platform, name, v); err != nil {
			return a, err
		}
	}
	conn.Secrets = sealed
	with, err := domain.NewConstitutionAction(a.ID, a.CommunityID, a.InitiatorID, conn, a.ProposedAt)
	if err != nil {
		return a, err
	}
	a.Fields = with.Fields
	return a, nil
}
