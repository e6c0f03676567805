package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/hooks"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/sealed"
)

// A PolicyKit trigger policy on webhooktriggeraction, as PolicyKit's docs write it: when
// Open Collective reports an expense, say so in Slack.
var expenseToSlack = domain.AddPolicy{PolicyID: "expense-to-slack", Kind: domain.KindTrigger, Name: "Expenses in Slack",
	ActionTypes: []string{domain.ActionWebhookTrigger}, PolicyCode: domain.PolicyCode{
		Filter:  `return action.event_type == 'opencollective.expense_created'`,
		Check:   `return PASSED`,
		Success: `slack.post_message(text=f"New expense: {action.data['description']} ({action.data['amount']})", channel="C1")`,
	}}

// A community on Slack connects Open Collective as a webhook source through a governed
// constitution action; an event posted to the generic hook then runs the trigger policy,
// which posts in Slack. The server, the hook and the Slack adapter are three processes that
// meet only on a durable bus.
func TestAWebhookEventPostsInSlackAcrossProcesses(t *testing.T) {
	for _, transport := range []string{bus.TransportNATS, bus.TransportPostgres} {
		t.Run(transport, func(t *testing.T) {
			requireTransport(t, transport)
			testWebhookToSlack(t, transport)
		})
	}
}

func testWebhookToSlack(t *testing.T, transport string) {
	ctx := context.Background()
	cfg := engineConfig(t, transport)
	cfg.Engine = false // this process only seeds and watches
	app, err := NewApp(ctx, cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	newSlackGarden(t, app, expenseToSlack)
	fake, apiURL := newRecordingSlack(t)

	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	box, err := sealed.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"POLICYKIT_BUS=" + transport, "POLICYKIT_BUS_NAMESPACE=" + cfg.Bus.Namespace,
		"POLICYKIT_SECRET_KEY=" + base64.StdEncoding.EncodeToString(key)}

	serverAddr := freeAddr(t)
	srv := startProcess(t, []string{"serve", "--database-url", cfg.DatabaseURL, "--http-addr", serverAddr}, append(env, "POLICYKIT_LOG_PLATFORMS=log"))
	waitFor(t, "the server ready", func() bool { srv.mustRun(t); return get(t, "http://"+serverAddr+"/readyz") == 200 })
	hookAddr := freeAddr(t)
	hookProc := startProcess(t, []string{"adapter", "hooks", "--database-url", cfg.DatabaseURL, "--http-addr", hookAddr}, env)
	slackAddr := freeAddr(t)
	slackProc := startProcess(t, []string{"adapter", "slack", "--database-url", cfg.DatabaseURL, "--http-addr", slackAddr},
		append(env, "SLACK_SIGNING_SECRET=shh", "SLACK_API_URL="+apiURL, "SLACK_TEAM_ID=T1", "SLACK_BOT_TOKEN=xoxb-garden"))
	awaitWorkspace(t, app, "T1")

	// alice, the community's creator and so its Integration Admin, connects Open Collective
	// with a webhook secret; the Testing kit's constitution policy passes it.
	connect, err := domain.NewConstitutionAction("connect-oc", "garden", "alice", domain.AddIntegration{
		Platform: domain.PlatformOpenCollective, ExternalID: "garden-collective", Name: "Garden collective",
		Secrets: map[string]string{hooks.SecretName: "whsec-garden"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if connect, err = box.SealConnection(connect); err != nil {
		t.Fatal(err)
	}
	if _, err := (&engine.Recorder{Store: app.Store()}).ProposeAction(ctx, bus.ProposeAction{Action: connect}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	hook := "http://" + hookAddr + "/api/hooks/opencollective/garden"
	event := []byte(`{"event_id": "oc-expense-1", "event_type": "expense_created",
		"data": {"description": "Seeds for the spring beds", "amount": 4200}}`)
	waitFor(t, "the connection passed and the hook accepting the community's events", func() bool {
		hookProc.mustRun(t)
		slackProc.mustRun(t)
		return postHook(t, hook, "whsec-garden", event) == http.StatusAccepted
	})
	waitFor(t, "the trigger policy's post in Slack, across processes", func() bool {
		for _, p := range fake.seen("chat.postMessage") {
			if p.Get("channel") == "C1" && strings.Contains(p.Get("text"), "New expense: Seeds for the spring beds (4200)") {
				return true
			}
		}
		return false
	})
	// Open Collective delivers the event again: nothing new happens.
	if code := postHook(t, hook, "whsec-garden", event); code >= 300 {
		t.Fatalf("a repeated delivery answered %d", code)
	}
	// A request signed with another secret is refused.
	if code := postHook(t, hook, "guess", []byte(`{"event_id": "oc-forged", "event_type": "expense_created"}`)); code != http.StatusUnauthorized {
		t.Fatalf("a forged request answered %d", code)
	}
	time.Sleep(300 * time.Millisecond) // anything a duplicate would do, it does by now
	if n := len(fake.seen("chat.postMessage")); n != 1 {
		t.Fatalf("%d posts in Slack, want 1", n)
	}
	var triggers int
	if err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1 AND data->'action'->>'action_type' = $2`,
		domain.EventActionProposed, domain.ActionWebhookTrigger).Scan(&triggers); err != nil {
		t.Fatal(err)
	}
	if triggers != 1 {
		t.Fatalf("%d webhook trigger actions recorded, want 1", triggers)
	}
	// The log holds the webhook secret sealed only.
	var plain int
	if err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE data::text LIKE '%whsec-garden%'`).Scan(&plain); err != nil {
		t.Fatal(err)
	}
	if plain != 0 {
		t.Fatalf("%d events hold the webhook secret in the clear", plain)
	}
}

// postHook posts body to the generic hook signed with secret now, and returns the status.
func postHook(t *testing.T, url, secret string, body []byte) int {
	t.Helper()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v1:" + ts + ":"))
	m.Write(body)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(hooks.HeaderTimestamp, ts)
	req.Header.Set(hooks.HeaderSignature, "v1="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0 // not listening yet
	}
	resp.Body.Close()
	return resp.StatusCode
}
