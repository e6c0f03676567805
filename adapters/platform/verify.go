package platform

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of the ingress checks (wrapped): answer both with 401 and publish nothing.
var (
	ErrForged = errors.New("request signature does not match")
	ErrStale  = errors.New("request too old or from the future")
)

// VerifyHMAC checks that signature is prefix followed by the hex of HMAC-SHA256(secret,
// message), as most platforms sign their webhooks (GitHub: prefix "sha256=" over the body;
// Slack: "v0=" over "v0:<timestamp>:<body>"). The comparison takes constant time.
func VerifyHMAC(secret, message []byte, signature, prefix string) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: no secret to check it with", ErrForged)
	}
	hexSig, ok := strings.CutPrefix(signature, prefix)
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil {
		return fmt.Errorf("%w: malformed signature", ErrForged)
	}
	m := hmac.New(sha256.New, secret)
	m.Write(message)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrForged
	}
	return nil
}

// Fresh checks a signed request's timestamp against replays: at most maxAge from now, either
// way (Slack: five minutes).
func Fresh(at, now time.Time, maxAge time.Duration) error {
	if d := now.Sub(at); d > maxAge || d < -maxAge {
		return fmt.Errorf("%w: signed at %s, %s from now", ErrStale, at.UTC().Format(time.RFC3339), d.Round(time.Second))
	}
	return nil
}
