package platform_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
)

func TestVerifyHMACAndFresh(t *testing.T) {
	secret, body := []byte("shh"), []byte(`{"action":"opened"}`)
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	good := "sha256=" + hex.EncodeToString(m.Sum(nil))
	if err := platform.VerifyHMAC(secret, body, good, "sha256="); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	for name, c := range map[string]struct {
		secret    []byte
		body, sig string
	}{
		"another body":   {secret, `{"action":"closed"}`, good},
		"another secret": {[]byte("other"), string(body), good},
		"no prefix":      {secret, string(body), good[len("sha256="):]},
		"not hex":        {secret, string(body), "sha256=zz"},
		"no secret":      {nil, string(body), good},
	} {
		if err := platform.VerifyHMAC(c.secret, []byte(c.body), c.sig, "sha256="); !errors.Is(err, platform.ErrForged) {
			t.Errorf("%s: %v, want ErrForged", name, err)
		}
	}
	now := time.Unix(1_700_000_000, 0)
	if err := platform.Fresh(now.Add(-4*time.Minute), now, 5*time.Minute); err != nil {
		t.Fatalf("four minutes old: %v", err)
	}
	for _, at := range []time.Time{now.Add(-6 * time.Minute), now.Add(6 * time.Minute)} {
		if err := platform.Fresh(at, now, 5*time.Minute); !errors.Is(err, platform.ErrStale) {
			t.Errorf("signed at %s: %v, want ErrStale", at, err)
		}
	}
}
