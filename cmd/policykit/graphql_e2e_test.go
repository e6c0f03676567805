package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/identity"
)

// The App serves the GraphQL API when asked, to authenticated callers only: a member's
// proposal through a mutation comes back decided, and the dashboard query pages through
// proposals.
func TestAppServesGraphQL(t *testing.T) {
	cfg := testConfig(t)
	cfg.GraphQL = true
	app, stop := startApp(t, cfg)
	defer stop()
	seedCommunity(t, app)
	base := "http://" + app.listener.Addr().String()
	token := mustAPIToken(t, app, "alice", "garden", "alice")

	send := func(authorization, query string, vars map[string]any) map[string]any {
		t.Helper()
		raw := postGraphQL(t, app, authorization, map[string]any{"query": query, "variables": vars})
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("response %s: %v", raw, err)
		}
		return out
	}
	post := func(query string, vars map[string]any) map[string]any {
		t.Helper()
		out := send("Bearer "+token, query, vars)
		if errs, ok := out["errors"]; ok {
			t.Fatalf("errors: %v", errs)
		}
		return out["data"].(map[string]any)
	}
	if out := send("", `{ communities { id } }`, nil); !strings.Contains(fmt.Sprint(out["errors"]), "FORBIDDEN") {
		t.Fatalf("without a token: %v, want FORBIDDEN", out)
	}
	for i := range 3 {
		data := post(`mutation($in: ProposeActionInput!) { proposeAction(input: $in) { proposal { status } } }`, map[string]any{"in": map[string]any{
			"communityId": "garden", "actionType": "slackrenameconversation", "platform": "slack",
			"fieldsJSON": `{"channel":"C0GENERAL","name":"room-` + string(rune('a'+i)) + `"}`,
		}})
		if got := data["proposeAction"].(map[string]any)["proposal"].(map[string]any)["status"]; got != "PROPOSED" {
			t.Fatalf("proposal status %v", got)
		}
	}
	data := post(`{ community(id: "garden") { proposals(first: 2) { edges { node { id status } } pageInfo { hasNextPage } } } }`, nil)
	conn := data["community"].(map[string]any)["proposals"].(map[string]any)
	if len(conn["edges"].([]any)) != 2 || conn["pageInfo"].(map[string]any)["hasNextPage"] != true {
		t.Fatalf("proposals page: %v", conn)
	}
	for _, path := range []string{"/graphiql", "/graphql"} { // a browser opening /graphql gets GraphiQL
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(strings.ToLower(string(page)), "graphiql") {
			t.Fatalf("GET %s as a browser: %d", path, resp.StatusCode)
		}
		mustServeEveryAsset(t, base, string(page))
	}

}

// The API is on unless turned off, and a setting that is not a boolean stops start-up.
func TestGraphQLIsOnByDefault(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "POLICYKIT_GRAPHQL" {
				return v
			}
			return ""
		}
	}
	if cfg := DefaultConfig().FromEnv(env("")); !cfg.GraphQL {
		t.Error("the GraphQL API is off by default")
	}
	if cfg := DefaultConfig().FromEnv(env("false")); cfg.GraphQL {
		t.Error("POLICYKIT_GRAPHQL=false left the API on")
	}
	err := DefaultConfig().FromEnv(env("sometimes")).Validate()
	if err == nil || !strings.Contains(err.Error(), "graphql") {
		t.Errorf("POLICYKIT_GRAPHQL=sometimes: Validate = %v, want an error naming graphql", err)
	}
}

// mustAPIToken registers an account (password username+"-secret"), links it to the user of
// the community and returns an API token of it.
func mustAPIToken(t testing.TB, app *App, username, communityID, userID string) string {
	t.Helper()
	ctx := context.Background()
	accounts := identity.New(app.Pool(), identity.Options{})
	acc, err := accounts.Register(ctx, username, username+"-secret")
	if err != nil {
		t.Fatal(err)
	}
	if err := accounts.LinkMember(ctx, acc.ID, communityID, userID); err != nil {
		t.Fatal(err)
	}
	_, token, err := accounts.CreateAPIToken(ctx, acc.ID, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// postGraphQL posts a request body (JSON-encoded) to the App's /graphql with the
// Authorization header ("" for none) and returns the response body.
func postGraphQL(t testing.TB, app *App, authorization string, body any) []byte {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+app.listener.Addr().String()+"/graphql", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// mustServeEveryAsset checks that a page loads its scripts and stylesheets from this server
// alone (it works offline), each with the integrity the page names.
func mustServeEveryAsset(t *testing.T, base, page string) {
	t.Helper()
	if strings.Contains(page, "https://") || strings.Contains(page, "http://") {
		t.Fatalf("the page loads something from another site:\n%s", page)
	}
	re := regexp.MustCompile(`(?:src|href)="(/[^"]+)"\s+integrity="sha256-([^"]+)"`)
	assets := re.FindAllStringSubmatch(page, -1)
	if len(assets) < 4 {
		t.Fatalf("the page names %d assets with their integrity:\n%s", len(assets), page)
	}
	for _, a := range assets {
		resp, err := http.Get(base + a[1])
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		sum := sha256.Sum256(body)
		if resp.StatusCode != 200 || base64.StdEncoding.EncodeToString(sum[:]) != html.UnescapeString(a[2]) {
			t.Fatalf("%s: %d, %d bytes not matching the page's integrity", a[1], resp.StatusCode, len(body))
		}
	}
}
