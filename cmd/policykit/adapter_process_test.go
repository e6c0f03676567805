package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
)

// `policykit adapter slack` as its own process meets `policykit serve` (another process)
// only on a durable bus, for the seed's "Vote on renaming Slack channels" from the signed
// rename to the result in the vote's thread: the rename is reverted and the vote posted
// (through a 429 from Slack, posted once), Slack's retry of the event changes nothing, a
// member's click passes the proposal, and the rename is carried out and announced.
func TestSlackAdapterAsItsOwnProcess(t *testing.T) {
	for _, transport := range []string{bus.TransportPostgres, bus.TransportNATS} {
		t.Run(transport, func(t *testing.T) {
			requireTransport(t, transport)
			testSlackAdapterProcess(t, transport)
		})
	}
	t.Run("RefusesTheInProcessBus", func(t *testing.T) {
		if _, _, err := runCLI(t, "adapter", "slack", "--database-url", testConfig(t).DatabaseURL); err == nil || !strings.Contains(err.Error(), "shared with the server") {
			t.Fatalf("adapter on the in-process bus: %v", err)
		}
	})
}

func testSlackAdapterProcess(t *testing.T, transport string) {
	ctx := context.Background()
	cfg := engineConfig(t, transport)
	cfg.Engine = false // this process only seeds and watches
	app, err := NewApp(ctx, cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	newSlackGarden(t, app, domain.AddPolicy{PolicyID: "rename-vote", Kind: domain.KindPlatform, Name: "Vote on renaming Slack channels",
		ActionTypes: []string{domain.ActionSlackRenameConversation}, PolicyCode: renameVote})
	fake, apiURL := newRecordingSlack(t)
	fake.rateLimit("chat.postMessage", 1) // the vote's first post is refused
	busEnv := []string{"POLICYKIT_BUS=" + transport, "POLICYKIT_BUS_NAMESPACE=" + cfg.Bus.Namespace}

	serverAddr := freeAddr(t)
	srv := startProcess(t, []string{"serve", "--database-url", cfg.DatabaseURL, "--http-addr", serverAddr}, append(busEnv, "POLICYKIT_LOG_PLATFORMS=log"))
	waitFor(t, "the server ready", func() bool { srv.mustRun(t); return get(t, "http://"+serverAddr+"/readyz") == 200 })

	hookAddr := freeAddr(t)
	adapter := startProcess(t, []string{"adapter", "slack", "--database-url", cfg.DatabaseURL, "--http-addr", hookAddr},
		append(busEnv, "SLACK_SIGNING_SECRET=shh", "SLACK_API_URL="+apiURL, "SLACK_TEAM_ID=T1", "SLACK_BOT_TOKEN=xoxb-garden"))
	hook := "http://" + hookAddr + "/api/hooks/slack"
	waitFor(t, "the adapter's hook answering", func() bool {
		adapter.mustRun(t)
		code, _ := trySignedPost(hook, "shh", "application/json", []byte(`{"type":"url_verification","challenge":"c"}`))
		return code == http.StatusOK
	})
	awaitWorkspace(t, app, "T1") // the server's read models

	rename := fmt.Sprintf(`{"type":"event_callback","team_id":"T1","event_id":"Ev-proc","event_time":%d,
		"event":{"type":"channel_rename","channel":{"id":"C1","name":"new-name","created":1600000000}}}`, time.Now().Unix())
	if code := signedPost(t, hook, "shh", "application/json", []byte(rename)); code != http.StatusOK {
		t.Fatalf("rename event answered %d", code)
	}
	waitFor(t, "the rename reverted and the vote posted after Slack's 429, across processes", func() bool {
		r, p := fake.seen("conversations.rename"), fake.seen("chat.postMessage")
		return len(r) == 1 && r[0].Get("name") == "general" && len(p) == 2 && strings.Contains(p[1].Get("blocks"), "policykit_vote_yes")
	})
	waitFor(t, "the engine to record the vote post", func() bool { // a click before it would pass with no vote_post_id
		return countEvents(t, app, domain.EventVotePostRecorded) == 1
	})

	// Slack retries the event (its retries carry the same event id): nothing new happens.
	if code := signedPost(t, hook, "shh", "application/json", []byte(rename)); code != http.StatusOK {
		t.Fatalf("retried rename event answered %d", code)
	}

	ts := "1700000001.000001" // the vote post's, as the fake answered it
	payload, _ := json.Marshal(map[string]any{"type": "block_actions", "team": map[string]any{"id": "T1"}, "user": map[string]any{"id": "UBOB"},
		"container": map[string]any{"type": "message", "message_ts": ts, "channel_id": "C1"},
		"actions":   []any{map[string]any{"type": "button", "block_id": "policykit_vote", "action_id": "policykit_vote_yes", "value": "yes", "action_ts": "1700000100.000001"}}})
	if code := signedPost(t, hook, "shh", "application/x-www-form-urlencoded", []byte(url.Values{"payload": {string(payload)}}.Encode())); code != http.StatusOK {
		t.Fatalf("click answered %d", code)
	}
	waitFor(t, "the rename executed and the result posted in the vote's thread", func() bool {
		r, p := fake.seen("conversations.rename"), fake.seen("chat.postMessage")
		return len(r) == 2 && r[1].Get("name") == "new-name" && len(p) == 3 && p[2].Get("thread_ts") == ts &&
			strings.Contains(p[2].Get("text"), "passed")
	})
	waitFor(t, "the proposal passed in the log", func() bool { return countEvents(t, app, domain.EventProposalPassed) == 1 })

	time.Sleep(300 * time.Millisecond) // anything a duplicate would do, it does by now
	if r, p := fake.seen("conversations.rename"), fake.seen("chat.postMessage"); len(r) != 2 || len(p) != 3 {
		t.Fatalf("renames %d, posts %d (one a 429): want 2 and 3, each effect once", len(r), len(p))
	}
	if n := countEvents(t, app, domain.EventActionProposed); n != 1 {
		t.Fatalf("%d actions proposed, want 1: the retried event proposed again", n)
	}
	c, err := engine.LoadCommunity(ctx, app.Store(), "garden")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.UserByUsername(domain.PlatformSlack, "UBOB"); !ok {
		t.Fatal("the voter was not registered")
	}
}

// countEvents counts the log's events of a type.
func countEvents(t testing.TB, app *App, typ string) int {
	t.Helper()
	var n int
	if err := app.Pool().QueryRow(context.Background(), `SELECT count(*) FROM events WHERE type = $1`, typ).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
