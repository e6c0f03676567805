package platform_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
)

func randomKey(tb testing.TB) []byte {
	tb.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		tb.Fatal(err)
	}
	return k
}

// The Secrets contract, run against every implementation.
func TestSecretsContract(t *testing.T) {
	impls := map[string]func(t *testing.T) platform.Secrets{
		"memory": func(*testing.T) platform.Secrets { return &platform.MemorySecrets{} },
		"postgres": func(t *testing.T) platform.Secrets {
			s, err := platform.NewPostgresSecrets(mustMigratedPool(t), "test", randomKey(t))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for name, mk := range impls {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := mk(t)
			if _, err := s.Get(ctx, "bot/T1"); !errors.Is(err, platform.ErrNoSecret) {
				t.Fatalf("missing secret: %v, want ErrNoSecret", err)
			}
			for _, kv := range [][2]string{{"bot/T1", "xoxb-1"}, {"bot/T2", "xoxb-2"}, {"user/T1", "xoxp-1"}, {"bot/T1", "xoxb-1b"}} {
				if err := s.Put(ctx, kv[0], kv[1]); err != nil {
					t.Fatal(err)
				}
			}
			if v, err := s.Get(ctx, "bot/T1"); err != nil || v != "xoxb-1b" {
				t.Fatalf("bot/T1 = %q %v, want the replaced token", v, err)
			}
			if v, err := s.Get(ctx, "user/T1"); err != nil || v != "xoxp-1" {
				t.Fatalf("user/T1 = %q %v", v, err)
			}
			if names, err := s.Names(ctx, "bot/"); err != nil || !slices.Equal(names, []string{"bot/T1", "bot/T2"}) {
				t.Fatalf("names = %q %v", names, err)
			}
		})
	}
}

// Secrets are encrypted at rest: the table holds no plaintext; a ciphertext copied to
// another name or another platform does not decrypt; a wrong key opens nothing; a key of
// the wrong size is refused. Import copies secrets sealed under another additional data.
func TestPostgresSecretsEncryptAtRest(t *testing.T) {
	ctx := context.Background()
	pool := mustMigratedPool(t)
	key := randomKey(t)
	s, _ := platform.NewPostgresSecrets(pool, "slack", key)
	if err := s.Put(ctx, "bot/T1", "xoxb-very-secret"); err != nil {
		t.Fatal(err)
	}
	var sealed []byte
	if err := pool.QueryRow(ctx, `SELECT ciphertext FROM platform_secrets WHERE platform = 'slack' AND name = 'bot/T1'`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("xoxb-very-secret")) {
		t.Fatal("the token is stored in plaintext")
	}
	if _, err := pool.Exec(ctx, `INSERT INTO platform_secrets (platform, name, nonce, ciphertext)
		SELECT 'slack', 'bot/T2', nonce, ciphertext FROM platform_secrets WHERE name = 'bot/T1'
		UNION ALL SELECT 'other', 'bot/T1', nonce, ciphertext FROM platform_secrets WHERE name = 'bot/T1'`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "bot/T2"); err == nil {
		t.Fatal("a ciphertext moved to another name decrypted")
	}
	other, _ := platform.NewPostgresSecrets(pool, "other", key)
	if _, err := other.Get(ctx, "bot/T1"); err == nil {
		t.Fatal("a ciphertext moved to another platform decrypted")
	}
	wrong, _ := platform.NewPostgresSecrets(pool, "slack", randomKey(t))
	if _, err := wrong.Get(ctx, "bot/T1"); err == nil {
		t.Fatal("decrypted with the wrong key")
	}
	if _, err := platform.NewPostgresSecrets(pool, "slack", key[:16]); err == nil {
		t.Fatal("a 16-byte key accepted")
	}
}

// A signed state round-trips its data; a tampered, expired, other-flow or reused one is
// refused with its error; without a key nothing is signed.
func TestStateSigner(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	ss := platform.StateSigner{Key: platform.DeriveKey("test oauth state", "secret"), TTL: time.Minute, Now: clock, Used: &platform.MemoryNonces{Now: clock}}
	state, signed, err := ss.Sign(platform.OAuthState{Flow: "install", Data: map[string]string{"kit": "testing"}})
	if err != nil {
		t.Fatal(err)
	}
	if signed.Nonce == "" || signed.Exp != now.Add(time.Minute).Unix() {
		t.Fatalf("signed %+v", signed)
	}
	if _, err := ss.Verify(ctx, state, "signin"); !errors.Is(err, platform.ErrStateInvalid) {
		t.Fatalf("another flow's state: %v", err)
	}
	tampered := "x" + state
	if _, err := ss.Verify(ctx, tampered, "install"); !errors.Is(err, platform.ErrStateInvalid) {
		t.Fatalf("tampered state: %v", err)
	}
	otherKey := ss
	otherKey.Key = platform.DeriveKey("test oauth state", "other")
	if _, err := otherKey.Verify(ctx, state, "install"); !errors.Is(err, platform.ErrStateInvalid) {
		t.Fatalf("state of another key: %v", err)
	}
	got, err := ss.Verify(ctx, state, "install")
	if err != nil || got.Data["kit"] != "testing" {
		t.Fatalf("verify = %+v %v", got, err)
	}
	if _, err := ss.Verify(ctx, state, "install"); !errors.Is(err, platform.ErrStateUsed) {
		t.Fatalf("a second use: %v", err)
	}
	late, _, _ := ss.Sign(platform.OAuthState{Flow: "install"})
	now = now.Add(2 * time.Minute)
	if _, err := ss.Verify(ctx, late, "install"); !errors.Is(err, platform.ErrStateExpired) {
		t.Fatalf("expired state: %v", err)
	}
	if _, _, err := (platform.StateSigner{}).Sign(platform.OAuthState{Flow: "install"}); err == nil {
		t.Fatal("signed without a key")
	}
}

// Single use holds across processes with PostgresNonces: of many callbacks with one state,
// exactly one gets through.
func TestPostgresNoncesOneUse(t *testing.T) {
	ctx := context.Background()
	ss := platform.StateSigner{Key: []byte("k"), Used: platform.PostgresNonces{Pool: mustMigratedPool(t)}}
	state, _, _ := ss.Sign(platform.OAuthState{Flow: "signin"})
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ss.Verify(ctx, state, "signin"); err == nil {
				ok.Add(1)
			} else if !errors.Is(err, platform.ErrStateUsed) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 {
		t.Fatalf("%d callbacks accepted one state", ok.Load())
	}
}

// The Seen contract: of many deliveries of one event at once exactly one is first; scopes
// are apart.
func TestSeenContract(t *testing.T) {
	impls := map[string]func(t *testing.T) platform.Seen{
		"memory": func(*testing.T) platform.Seen { return &platform.MemorySeen{} },
		"postgres": func(t *testing.T) platform.Seen {
			return platform.PostgresSeen{Pool: mustMigratedPool(t), Platform: "test"}
		},
	}
	for name, mk := range impls {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := mk(t)
			if seen, err := s.Seen(ctx, "T1", "Ev1"); err != nil || seen {
				t.Fatalf("an event not recorded is seen (%v)", err)
			}
			var wins atomic.Int32
			var wg sync.WaitGroup
			for range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					first, err := s.First(ctx, "T1", "Ev1")
					if err != nil {
						t.Error(err)
					}
					if first {
						wins.Add(1)
					}
				}()
			}
			wg.Wait()
			if wins.Load() != 1 {
				t.Fatalf("%d deliveries were first", wins.Load())
			}
			if seen, _ := s.Seen(ctx, "T1", "Ev1"); !seen {
				t.Fatal("a recorded event is not seen")
			}
			if first, _ := s.First(ctx, "T2", "Ev1"); !first {
				t.Fatal("another scope's event taken as seen")
			}
		})
	}
}
