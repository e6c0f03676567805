package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/sealed"
)

// Fields too large for a command line (a 200 KB document) are read from --fields-file.
func TestProposeReadsFieldsFromAFile(t *testing.T) {
	cfg := testConfig(t)
	app, err := NewApp(context.Background(), cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if err := setupDemo(t.Context(), app, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("Be kind. ", 200<<10/9)
	path := filepath.Join(t.TempDir(), "fields.json")
	if err := os.WriteFile(path, mustJSONBytes(t, map[string]any{"name": "Charter", "text": text}), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := runCLI(t, "propose", "--community", "demo", "--by", "alice", "--type", "policykitaddcommunitydoc",
		"--fields-file", path, "--wait", "0", "--database-url", cfg.DatabaseURL)
	if err != nil {
		t.Fatalf("propose: %v", err)
	}
	m := regexp.MustCompile(`action ([0-9a-f-]{36}) proposed`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("propose printed:\n%s", stdout)
	}
	a, err := engine.LoadAction(t.Context(), app.Store(), m[1])
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := a.Action.Fields["text"].(string); got != text {
		t.Fatalf("the proposed document has %d bytes of text, want %d", len(got), len(text))
	}
}

func TestReadFields(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	big := write("big.json", `{"text":"`+strings.Repeat("x", domain.MaxActionFieldsBytes)+`"}`)
	cases := []struct {
		name, inline, path, stdin string
		want                      map[string]any
		invalid                   bool
	}{
		{name: "none"},
		{name: "inline", inline: `{"name":"a"}`, want: map[string]any{"name": "a"}},
		{name: "file", path: write("ok.json", `{"name":"b"}`), want: map[string]any{"name": "b"}},
		{name: "standard input", path: "-", stdin: `{"name":"c"}`, want: map[string]any{"name": "c"}},
		{name: "not an object", inline: `[1]`, invalid: true},
		{name: "malformed file", path: write("bad.json", `{"name":`), invalid: true},
		{name: "over the size of an action's fields", path: big, invalid: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := readFields(strings.NewReader(c.stdin), c.inline, c.path)
			if c.invalid {
				if !errors.Is(err, domain.ErrInvalid) {
					t.Fatalf("got %v, %v; want an Invalid error", got, err)
				}
				return
			}
			if err != nil || len(got) != len(c.want) || (c.want != nil && got["name"] != c.want["name"]) {
				t.Fatalf("got %v, %v; want %v", got, err, c.want)
			}
		})
	}
	if _, err := readFields(nil, "", filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("a missing file is not an error")
	}
}

func mustJSONBytes(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// policykit propose seals a connection's secrets with POLICYKIT_SECRET_KEY before it records
// the action: the log holds only the ciphertext, which the same key opens. Without a key,
// the secret is refused and nothing is recorded.
func TestProposeSealsAConnectionsSecrets(t *testing.T) {
	cfg := testConfig(t)
	app, err := NewApp(context.Background(), cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if err := setupDemo(t.Context(), app, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	fields := `{"platform":"opencollective","external_id":"coop","settings":{"collective":"coop"},"secrets":{"webhook_secret":"s3cret-value"}}`
	propose := func() (string, error) {
		stdout, _, err := runCLI(t, "propose", "--community", "demo", "--by", "alice", "--type", domain.ActionAddIntegration,
			"--fields", fields, "--wait", "0", "--database-url", cfg.DatabaseURL)
		return stdout, err
	}
	countEvents := func() int {
		var n int
		if err := app.pool.QueryRow(t.Context(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	before := countEvents()
	t.Setenv("POLICYKIT_SECRET_KEY", "")
	if _, err := propose(); !errors.Is(err, sealed.ErrNoKey) {
		t.Fatalf("propose without a key: %v, want %v", err, sealed.ErrNoKey)
	}
	if n := countEvents(); n != before {
		t.Fatalf("propose without a key recorded %d events", n-before)
	}

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	t.Setenv("POLICYKIT_SECRET_KEY", base64.StdEncoding.EncodeToString(key))
	stdout, err := propose()
	if err != nil {
		t.Fatalf("propose: %v", err)
	}
	m := regexp.MustCompile(`action ([0-9a-f-]{36}) proposed`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("propose printed:\n%s", stdout)
	}
	a, err := engine.LoadAction(t.Context(), app.Store(), m[1])
	if err != nil {
		t.Fatal(err)
	}
	secret, _ := a.Action.Fields["secrets"].(map[string]any)["webhook_secret"].(string)
	if !strings.HasPrefix(secret, domain.SealedPrefix) {
		t.Fatalf("the recorded secret is %q, want it sealed", secret)
	}
	box, err := sealed.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := box.Open("demo", domain.PlatformOpenCollective, "webhook_secret", secret); err != nil || plain != "s3cret-value" {
		t.Fatalf("the recorded secret opens to %q, %v", plain, err)
	}
}
