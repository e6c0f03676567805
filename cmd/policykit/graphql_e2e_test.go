package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// The App serves the GraphQL API when asked: a member's proposal through a mutation comes
// back decided, and the dashboard query pages through proposals.
func TestAppServesGraphQL(t *testing.T) {
	cfg := testConfig(t)
	cfg.GraphQL = true
	app, stop := startApp(t, cfg)
	defer stop()
	seedCommunity(t, app)
	base := "http://" + app.listener.Addr().String()

	post := func(query string, vars map[string]any) map[string]any {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		resp, err := http.Post(base+"/graphql", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("response %s: %v", raw, err)
		}
		if errs, ok := out["errors"]; ok {
			t.Fatalf("errors: %v", errs)
		}
		return out["data"].(map[string]any)
	}
	for i := range 3 {
		data := post(`mutation($in: ProposeActionInput!) { proposeAction(input: $in) { proposal { status } } }`, map[string]any{"in": map[string]any{
			"communityId": "garden", "initiatorId": "alice", "actionType": "slackrenameconversation", "platform": "slack",
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
	resp, err := http.Get(base + "/graphiql")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("graphiql: %v %v", resp, err)
	}
	resp.Body.Close()

	// Off by default: it does not authenticate callers yet.
	if DefaultConfig().GraphQL {
		t.Fatal("the GraphQL API is on by default")
	}
}
