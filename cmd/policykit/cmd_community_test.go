package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore/postgres"
)

var communityIDRe = regexp.MustCompile(`community ([0-9a-f-]{36})`)

func mustCreateCommunity(t *testing.T, dbURL, kit string) string {
	t.Helper()
	out, _, err := runCLI(t, "community", "create", "--name", "Garden", "--kit", kit, "--admin", "alice", "--database-url", dbURL)
	if err != nil {
		t.Fatalf("community create: %v", err)
	}
	m := communityIDRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no community id in %q", out)
	}
	return m[1]
}

func TestCommunityCreateAppliesTheStarterKit(t *testing.T) {
	cfg := testConfig(t)
	id := mustCreateCommunity(t, cfg.DatabaseURL, "dictator")

	out, _, err := runCLI(t, "community", "show", id, "--database-url", cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	var shown struct {
		Users    map[string]domain.User   `json:"users"`
		Roles    map[string]domain.Role   `json:"roles"`
		Policies map[string]domain.Policy `json:"policies"`
	}
	if err := json.Unmarshal([]byte(out), &shown); err != nil {
		t.Fatalf("show output: %v\n%s", err, out)
	}
	if _, ok := shown.Roles["Dictator"]; !ok || len(shown.Policies) != 2 {
		t.Fatalf("roles %v, %d policies", shown.Roles, len(shown.Policies))
	}
	var alice domain.User
	for _, u := range shown.Users {
		alice = u
	}
	if alice.Username != "alice" || !alice.IsAdmin || !alice.HasRole("Dictator") {
		t.Fatalf("creator = %+v, want alice, admin, with the Dictator role", alice)
	}

	if _, _, err := runCLI(t, "community", "create", "--name", "X", "--kit", "anarchy", "--database-url", cfg.DatabaseURL); err == nil || !strings.Contains(err.Error(), "known: democracy") {
		t.Fatalf("unknown kit: %v", err)
	}
	out, _, err = runCLI(t, "kit", "list")
	if err != nil || !strings.Contains(out, "jury") || !strings.Contains(out, "democracy") {
		t.Fatalf("kit list: %q %v", out, err)
	}
}

func TestPolicyExportThenImportRoundTrips(t *testing.T) {
	cfg := testConfig(t)
	from := mustCreateCommunity(t, cfg.DatabaseURL, "moderators")
	to := mustCreateCommunity(t, cfg.DatabaseURL, "testing")

	out, _, err := runCLI(t, "policy", "export", "--community", from, "--database-url", cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	var files []map[string]any
	if err := json.Unmarshal([]byte(out), &files); err != nil || len(files) != 2 {
		t.Fatalf("export: %v %s", err, out)
	}
	dir := t.TempDir()
	var paths []string
	for i, f := range files {
		for _, key := range []string{"name", "policy_kind", "filter", "initialize", "check", "notify", "success", "fail", "action_types"} {
			if _, ok := f[key]; !ok {
				t.Fatalf("exported policy lacks %q: %v", key, f)
			}
		}
		data, _ := json.Marshal(f)
		p := filepath.Join(dir, "p"+string(rune('a'+i))+".json")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	args := append([]string{"policy", "import", "--community", to, "--database-url", cfg.DatabaseURL}, paths...)
	if out, _, err := runCLI(t, args...); err != nil || strings.Count(out, "added ") != 2 {
		t.Fatalf("import: %q %v", out, err)
	}

	app, err := NewApp(context.Background(), cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	c, err := engine.LoadCommunity(context.Background(), postgres.New(app.Pool()), to)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range c.Policies {
		names = append(names, p.Name)
	}
	if len(c.Policies) != 4 || !strings.Contains(strings.Join(names, "|"), "Moderators: All Constitution Actions from Moderators Pass") {
		t.Fatalf("policies after import: %v", names)
	}

	// A bad file changes nothing.
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"name": "Broken", "policy_kind": "platform", "check": "return (", "filter": "", "initialize": "", "notify": "", "success": "", "fail": ""}`), 0o600)
	if _, _, err := runCLI(t, "policy", "import", "--community", to, "--database-url", cfg.DatabaseURL, paths[0], bad); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Fatalf("importing a policy that does not compile: %v", err)
	}
	c2, _ := engine.LoadCommunity(context.Background(), postgres.New(app.Pool()), to)
	if c2.Version != c.Version {
		t.Fatalf("a failed import wrote events (version %d -> %d)", c.Version, c2.Version)
	}
}

func TestPolicyTestCommandExitCodes(t *testing.T) {
	if _, _, err := runCLI(t, "policy", "test", "../../testdata/scenarios"); err != nil {
		t.Fatalf("the seed scenarios: %v", err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\nnot_a_key: 1\n"), 0o600)
	_, _, err := runCLI(t, "policy", "test", bad)
	var exit exitError
	if err == nil {
		t.Fatal("a malformed scenario passed")
	}
	if ok := asExit(err, &exit); !ok || exit != 2 {
		t.Fatalf("malformed scenario: %v, want exit status 2", err)
	}
}

func asExit(err error, target *exitError) bool { return errors.As(err, target) }

// A whole community's export is one file that import reads back; a malformed file is
// reported at its line and column.
func TestWholeCommunityExportImports(t *testing.T) {
	cfg := testConfig(t)
	from := mustCreateCommunity(t, cfg.DatabaseURL, "moderators")
	to := mustCreateCommunity(t, cfg.DatabaseURL, "testing")
	out, _, err := runCLI(t, "policy", "export", "--community", from, "--database-url", cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	export := filepath.Join(dir, "community.json")
	if err := os.WriteFile(export, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runCLI(t, "policy", "import", "--community", to, "--database-url", cfg.DatabaseURL, export); err != nil || strings.Count(out, "added ") != 2 {
		t.Fatalf("import of the export: %q %v", out, err)
	}
	again, _, err := runCLI(t, "policy", "export", "--community", to, "--database-url", cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	var exported []domain.PolicyFile
	if err := json.Unmarshal([]byte(again), &exported); err != nil || len(exported) != 4 {
		t.Fatalf("export after import: %v, %d policies", err, len(exported))
	}

	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{\n  \"name\": \"Broken\",\n  \"policy_kind\": platform\n}"), 0o600)
	_, _, err = runCLI(t, "policy", "import", "--community", to, "--database-url", cfg.DatabaseURL, bad)
	if err == nil || !strings.Contains(err.Error(), "line 3, column 18") {
		t.Fatalf("a malformed file: %v", err)
	}
}
