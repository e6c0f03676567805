package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// `policykit adapter slack` as its own process meets `policykit serve` (another process)
// only on the bus: a signed rename reaches the adapter, the engine decides, and the adapter
// reverts the rename and posts the vote on Slack.
func TestSlackAdapterAsItsOwnProcess(t *testing.T) {
	ctx := context.Background()
	cfg := engineConfig(t, bus.TransportPostgres)
	cfg.Engine = false // this process only seeds and watches
	app, err := NewApp(ctx, cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	newSlackGarden(t, app, domain.AddPolicy{PolicyID: "rename-vote", Kind: domain.KindPlatform, Name: "Vote on renaming Slack channels",
		ActionTypes: []string{domain.ActionSlackRenameConversation}, PolicyCode: renameVote})
	fake, apiURL := newRecordingSlack(t)
	busEnv := []string{"POLICYKIT_BUS=postgres", "POLICYKIT_BUS_NAMESPACE=" + cfg.Bus.Namespace}

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
	if _, err := app.Pool().Exec(ctx, `INSERT INTO slack_channel_names (team_id, channel, name) VALUES ('T1', 'C1', 'general')`); err != nil {
		t.Fatal(err)
	}
	awaitWorkspace(t, app, "T1") // the server's read models

	rename := fmt.Sprintf(`{"type":"event_callback","team_id":"T1","event_id":"Ev-proc","event_time":%d,
		"event":{"type":"channel_rename","channel":{"id":"C1","name":"new-name","created":1600000000}}}`, time.Now().Unix())
	if code := signedPost(t, hook, "shh", "application/json", []byte(rename)); code != http.StatusOK {
		t.Fatalf("rename event answered %d", code)
	}
	waitFor(t, "the rename reverted and the vote posted, across processes", func() bool {
		r, p := fake.seen("conversations.rename"), fake.seen("chat.postMessage")
		return len(r) == 1 && r[0].Get("name") == "general" && len(p) == 1 && strings.Contains(p[0].Get("blocks"), "policykit_vote_yes")
	})

	if _, _, err := runCLI(t, "adapter", "slack", "--database-url", cfg.DatabaseURL); err == nil || !strings.Contains(err.Error(), "shared with the server") {
		t.Fatalf("adapter on the in-process bus: %v", err)
	}
}
