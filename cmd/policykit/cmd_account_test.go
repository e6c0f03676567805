package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// An operator makes an account with the CLI, links it to a member and issues a token; the
// token then works on the GraphQL API as that member.
func TestAccountCommandsGiveAWorkingToken(t *testing.T) {
	cfg := testConfig(t)
	cfg.GraphQL = true
	app, stop := startApp(t, cfg)
	defer stop()
	seedCommunity(t, app)
	db := []string{"--database-url", cfg.DatabaseURL}

	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader("a-long-secret\n"))
	root.SetArgs(append([]string{"account", "create", "alice"}, db...))
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("account create: %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`account (\S+) created`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("account create printed %q", out.String())
	}
	if _, _, err := runCLI(t, append([]string{"account", "link", "--account", m[1], "--community", "garden", "--user", "alice"}, db...)...); err != nil {
		t.Fatalf("account link: %v", err)
	}
	stdout, _, err := runCLI(t, append([]string{"account", "token", "--account", m[1], "--name", "script"}, db...)...)
	if err != nil {
		t.Fatalf("account token: %v", err)
	}
	tm := regexp.MustCompile(`: (\S+)\n`).FindStringSubmatch(stdout)
	if tm == nil {
		t.Fatalf("account token printed %q", stdout)
	}

	type meResult struct {
		Data struct {
			Me          struct{ Username string }
			Communities []struct{ ID string }
		}
		Errors []any
	}
	ask := func() meResult {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": `{ me { username } communities { id } }`})
		req, _ := http.NewRequest(http.MethodPost, "http://"+app.listener.Addr().String()+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tm[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got meResult
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || len(got.Errors) > 0 {
			t.Fatalf("me: %v %v", err, got.Errors)
		}
		return got
	}
	// The member's community and permissions come from the read models, which follow the
	// log a moment behind the seeding.
	var got meResult
	waitFor(t, "the community visible to the account", func() bool {
		got = ask()
		return len(got.Data.Communities) == 1
	})
	if got.Data.Me.Username != "alice" || len(got.Data.Communities) != 1 || got.Data.Communities[0].ID != "garden" {
		t.Fatalf("me = %+v", got.Data)
	}
}
