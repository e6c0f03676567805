package sealed_test

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/sealed"
)

func newBox(t *testing.T) *sealed.Box {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	b, err := sealed.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestASealedSecretOpensOnlyWhereItWasSealed(t *testing.T) {
	b := newBox(t)
	s, err := b.Seal("c1", "loomio", "api_key", "hunter2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s, domain.SealedPrefix) || strings.Contains(s, "hunter2") {
		t.Fatalf("sealed = %q", s)
	}
	if got, err := b.Open("c1", "loomio", "api_key", s); err != nil || got != "hunter2" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	again, _ := b.Seal("c1", "loomio", "api_key", "hunter2")
	if again == s {
		t.Fatal("two seals of one secret are equal: the nonce is not fresh")
	}
	for name, open := range map[string]func() (string, error){
		"another community": func() (string, error) { return b.Open("c2", "loomio", "api_key", s) },
		"another platform":  func() (string, error) { return b.Open("c1", "metagov", "api_key", s) },
		"another name":      func() (string, error) { return b.Open("c1", "loomio", "webhook_secret", s) },
		"another key":       func() (string, error) { return newBox(t).Open("c1", "loomio", "api_key", s) },
		"damaged":           func() (string, error) { return b.Open("c1", "loomio", "api_key", s[:len(s)-4]) },
		"not sealed":        func() (string, error) { return b.Open("c1", "loomio", "api_key", "hunter2") },
	} {
		if got, err := open(); err == nil {
			t.Errorf("%s: opened as %q", name, got)
		}
	}
	var none *sealed.Box
	if _, err := none.Seal("c1", "loomio", "api_key", "x"); !errors.Is(err, sealed.ErrNoKey) {
		t.Errorf("a nil box sealed: %v", err)
	}
}

func TestSealConnectionSealsTheSecretsOfAConnection(t *testing.T) {
	b := newBox(t)
	a, err := domain.NewConstitutionAction("a1", "c1", "alice", domain.AddIntegration{Platform: "loomio",
		Settings: map[string]string{"group": "g"}, Secrets: map[string]string{"api_key": "hunter2"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out, err := b.SealConnection(a)
	if err != nil {
		t.Fatal(err)
	}
	s := out.Fields["secrets"].(map[string]any)["api_key"].(string)
	if got, err := b.Open("c1", "loomio", "api_key", s); err != nil || got != "hunter2" {
		t.Fatalf("the sealed api_key opens as %q, %v", got, err)
	}
	if err := out.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SealConnection(out); err == nil {
		t.Fatal("a secret given sealed was sealed again")
	}
	doc := domain.Action{ID: "a2", Type: domain.ActionAddCommunityDoc, Fields: map[string]any{"secrets": "x"}}
	if got, err := b.SealConnection(doc); err != nil || got.Fields["secrets"] != "x" {
		t.Fatalf("another action changed: %v %v", got.Fields, err)
	}
}
