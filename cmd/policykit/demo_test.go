package main

import (
	"bytes"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
)

// The README's demo: serve --demo, propose as alice, vote as bob and carol, explain.
func TestDemoFromProposalToDecision(t *testing.T) {
	cfg := testConfig(t)
	app, stop := startApp(t, cfg)
	defer stop()
	var out bytes.Buffer
	for range 2 { // creating the demo is done once; a second start finds it
		if err := setupDemo(t.Context(), app, &out); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(out.String(), "policykit propose --community demo --by alice") ||
		!strings.Contains(out.String(), "account link --account ACCOUNT --community demo --user alice") {
		t.Fatalf("demo instructions:\n%s", out.String())
	}
	c, err := engine.LoadCommunity(t.Context(), app.Store(), DemoCommunity)
	if err != nil || len(c.Users) != 3 || len(c.Policies) != 3 {
		t.Fatalf("demo community: %v users, %v policies (%v)", len(c.Users), len(c.Policies), err)
	}

	db := []string{"--database-url", cfg.DatabaseURL}
	stdout, _, err := runCLI(t, append([]string{"propose", "--community", "demo", "--by", "alice", "--type", "policykitaddcommunitydoc",
		"--fields", `{"name":"Charter","text":"Be kind."}`}, db...)...)
	if err != nil {
		t.Fatalf("propose: %v", err)
	}
	m := regexp.MustCompile(`action ([0-9a-f-]{36}) proposed`).FindStringSubmatch(stdout)
	if m == nil || !strings.Contains(stdout, "is PROPOSED") {
		t.Fatalf("propose printed:\n%s", stdout)
	}
	pid := evaluation.DeriveID("proposal", m[1], demoVote.PolicyID)
	if !strings.Contains(stdout, pid) {
		t.Fatalf("propose does not print the proposal id %s:\n%s", pid, stdout)
	}
	for _, who := range []string{"bob", "carol"} {
		if _, _, err := runCLI(t, append([]string{"vote", "--community", "demo", "--by", who, "--value", "yes", "--proposal", pid}, db...)...); err != nil {
			t.Fatalf("vote by %s: %v", who, err)
		}
	}
	waitFor(t, "the charter adopted", func() bool {
		c, err := engine.LoadCommunity(t.Context(), app.Store(), DemoCommunity)
		return err == nil && len(c.ActiveDocs()) == 1
	})
	p, _ := engine.LoadProposal(t.Context(), app.Store(), pid)
	if p.Status != domain.StatusPassed {
		t.Fatalf("proposal %s", p.Status)
	}
	stdout, _, err = runCLI(t, append([]string{"audit", "explain", pid}, db...)...)
	if err != nil || !strings.Contains(stdout, "check -> PASSED") {
		t.Fatalf("explain: %v\n%s", err, stdout)
	}
	// The log tells the story in order: both votes, then the decision they caused.
	stdout, _, err = runCLI(t, append([]string{"events", "tail"}, db...)...)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, line := range strings.Split(stdout, "\n") {
		if strings.Contains(line, "proposal-"+pid+"@") {
			for _, typ := range []string{domain.EventVoteCast, domain.EventProposalPassed} {
				if strings.Contains(line, "  "+typ+"  ") {
					order = append(order, typ)
				}
			}
		}
	}
	if want := []string{domain.EventVoteCast, domain.EventVoteCast, domain.EventProposalPassed}; strings.Join(order, ",") != strings.Join(want, ",") {
		t.Fatalf("events tail shows %v, want %v", order, want)
	}
}

// serve --demo names in its banner the address it really listens on (here a port the system
// chose), and prints it once that port is open.
func TestDemoBannerNamesTheOpenListenAddress(t *testing.T) {
	cfg := testConfig(t)
	srv := startProcess(t, []string{"serve", "--demo", "--database-url", cfg.DatabaseURL, "--http-addr", "127.0.0.1:0"},
		[]string{"POLICYKIT_BASE_URL=http://example.invalid:9999"})
	re := regexp.MustCompile(`GraphiQL at (http://[^ ]+)/graphql`)
	var base string
	waitFor(t, "the demo banner", func() bool {
		srv.mustRun(t)
		if m := re.FindStringSubmatch(srv.out.String()); m != nil {
			base = m[1]
			return true
		}
		return false
	})
	if !strings.HasPrefix(base, "http://127.0.0.1:") || strings.HasSuffix(base, ":0") {
		t.Fatalf("banner names %s, want the bound loopback port", base)
	}
	resp, err := http.Get(base + "/healthz") // no retry: the port is open when the banner shows
	if err != nil {
		t.Fatalf("the banner's address is not open yet: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz at the banner's address answered %d", resp.StatusCode)
	}
}

// serve --demo without POLICYKIT_SECRET_KEY seals connection secrets with a random key of its
// own, and says that they will not survive a restart; a key that is set stays.
func TestDemoMakesASecretKeyWhenNoneIsSet(t *testing.T) {
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	cfg := DefaultConfig()
	demoSecretKey(&cfg, log)
	box, err := cfg.secretBox()
	if err != nil || box == nil {
		t.Fatalf("the demo's key gives box %v, %v", box, err)
	}
	if !strings.Contains(logged.String(), "restart") {
		t.Errorf("the demo does not warn that the secrets will not survive a restart: %s", logged.String())
	}
	other := DefaultConfig()
	demoSecretKey(&other, log)
	if other.SecretKey == cfg.SecretKey {
		t.Error("two demo processes got the same key")
	}

	set := DefaultConfig()
	set.SecretKey = cfg.SecretKey
	logged.Reset()
	demoSecretKey(&set, log)
	if set.SecretKey != cfg.SecretKey || logged.Len() != 0 {
		t.Errorf("a key that is set was replaced (%v) or warned about: %s", set.SecretKey != cfg.SecretKey, logged.String())
	}
}
