package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/discourse"
	"github.com/policykit-go/policykit/adapters/discourse/discoursetest"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/adapters/sourcecred"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/sealed"
)

// The seed's "Minimum SourceCred value required for creating Discourse Topic", as PolicyKit
// ships it.
var sourceCredGate = domain.AddPolicy{PolicyID: "sourcecred-gate", Kind: domain.KindPlatform,
	Name:        "Minimum SourceCred value required for creating Discourse Topic",
	ActionTypes: []string{domain.ActionDiscourseCreateTopic}, PolicyCode: domain.PolicyCode{
		Filter:     "return action.category == 8\n\n",
		Initialize: "pass\n\n",
		Check:      "\nvalue = sourcecred.get_cred(username=action.initiator.username)\nreturn PASSED if value > 300 else FAILED\n\n",
		Notify:     "pass\n\n",
		Success:    "pass\n\n",
		Fail:       "pass\n\n",
	}}

// gateAccounts is the SourceCred instance's output/accounts.json: carol has 512.75 cred,
// dave 12.
const gateAccounts = `{"accounts": [
 {"account": {"identity": {"id": "IdCarol0000000000000000", "subtype": "USER", "name": "carol", "aliases": []}, "balance": "5000000000000000000", "paid": "0", "active": true}, "cred": [500, 12.75], "totalCred": 512.75},
 {"account": {"identity": {"id": "IdDave00000000000000000", "subtype": "USER", "name": "dave", "aliases": []}, "balance": "0", "paid": "0", "active": true}, "cred": [12], "totalCred": 12}
], "unclaimedAliases": [], "intervalEndpoints": [1600000000000, 1600604800000]}`

// The seed's SourceCred-gated Discourse topics across processes on a durable bus: a community
// connects Discourse and SourceCred through governed constitution actions; a topic created on
// the site by a member with enough cred stays, one by a member with too little is deleted
// (the governed action reverted). The server, the Discourse adapter and the SourceCred adapter
// are three processes that meet only on the bus.
func TestSourceCredGatedDiscourseTopicsAcrossProcesses(t *testing.T) {
	for _, transport := range []string{bus.TransportNATS, bus.TransportPostgres} {
		t.Run(transport, func(t *testing.T) {
			requireTransport(t, transport)
			testSourceCredGate(t, transport)
		})
	}
}

func testSourceCredGate(t *testing.T, transport string) {
	ctx := context.Background()
	cfg := engineConfig(t, transport)
	cfg.Engine = false // this process only seeds and watches
	app, err := NewApp(ctx, cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	newSlackGarden(t, app, sourceCredGate)

	site := discoursetest.New("disc-key")
	defer site.Close()
	instance := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != sourcecred.AccountsPath {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(gateAccounts))
	}))
	defer instance.Close()

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
	srv := startProcess(t, []string{"serve", "--database-url", cfg.DatabaseURL, "--http-addr", serverAddr}, append(env, "POLICYKIT_LOG_PLATFORMS=log,slack"))
	waitFor(t, "the server ready", func() bool { srv.mustRun(t); return get(t, "http://"+serverAddr+"/readyz") == 200 })
	discAddr := freeAddr(t)
	discProc := startProcess(t, []string{"adapter", "discourse", "--database-url", cfg.DatabaseURL, "--http-addr", discAddr},
		append(env, "DISCOURSE_ALLOWED_HOSTS=127.0.0.1"))
	scProc := startProcess(t, []string{"adapter", "sourcecred", "--database-url", cfg.DatabaseURL, "--http-addr", freeAddr(t)},
		append(env, "SOURCECRED_ALLOWED_HOSTS=127.0.0.1"))

	// alice, the Integration Admin, connects the site and the instance.
	for i, add := range []domain.AddIntegration{
		{Platform: domain.PlatformDiscourse, ExternalID: site.URL(), Name: "Garden forum",
			Settings: map[string]string{discourse.SettingURL: site.URL(), discourse.SettingAPIUsername: "policykit"},
			Secrets:  map[string]string{discourse.SecretAPIKey: "disc-key", discourse.SecretWebhook: "whsec-forum"}},
		{Platform: domain.PlatformSourceCred, ExternalID: instance.URL, Name: "Garden cred",
			Settings: map[string]string{sourcecred.SettingURL: instance.URL}},
	} {
		a, err := domain.NewConstitutionAction("connect-"+add.Platform, "garden", "alice", add, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if a, err = box.SealConnection(a); err != nil {
			t.Fatal(err)
		}
		if _, err := (&engine.Recorder{Store: app.Store()}).ProposeAction(ctx, bus.ProposeAction{Action: a}, engine.NewMeta()); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}

	hook := "http://" + discAddr + "/api/hooks/discourse/garden/events"
	carolTopic, _ := site.AddTopic("Carol proposes a reading group", 8)
	daveTopic, _ := site.AddTopic("Dave proposes a reading group", 8)
	waitFor(t, "the connections passed and the webhook accepting the site's events", func() bool {
		discProc.mustRun(t)
		scProc.mustRun(t)
		return discoursetest.Deliver(hook, "whsec-forum", "topic_created", site.URL(), 1,
			discoursetest.TopicCreated(carolTopic, 8, "Carol proposes a reading group", "carol", time.Now())) == http.StatusOK
	})
	if code := discoursetest.Deliver(hook, "whsec-forum", "topic_created", site.URL(), 2,
		discoursetest.TopicCreated(daveTopic, 8, "Dave proposes a reading group", "dave", time.Now())); code != http.StatusOK {
		t.Fatalf("dave's topic: %d", code)
	}
	// A forged delivery is refused.
	if code := discoursetest.Deliver(hook, "guess", "topic_created", site.URL(), 3,
		discoursetest.TopicCreated(999, 8, "Forged", "mallory", time.Now())); code != http.StatusUnauthorized {
		t.Fatalf("a forged delivery answered %d", code)
	}

	outcome := func(topic int64) string {
		actionID := platform.EventID(domain.PlatformDiscourse, "event", "garden", "topic:"+strconv.FormatInt(topic, 10))
		var typ string
		_ = app.Pool().QueryRow(ctx, `SELECT e2.type FROM events e1 JOIN events e2 ON e2.data->>'proposal_id' = e1.data->>'proposal_id'
			WHERE e1.type = $1 AND e1.data->>'action_id' = $2 AND e1.data->>'policy_id' = $3 AND e2.type IN ($4, $5)`,
			domain.EventProposalOpened, actionID, sourceCredGate.PolicyID, domain.EventProposalPassed, domain.EventProposalFailed).Scan(&typ)
		return typ
	}
	waitFor(t, "both topics' proposals decided", func() bool {
		discProc.mustRun(t)
		scProc.mustRun(t)
		return outcome(carolTopic) != "" && outcome(daveTopic) != ""
	})
	if got := outcome(carolTopic); got != domain.EventProposalPassed {
		t.Fatalf("carol's topic: %s, want passed", got)
	}
	if got := outcome(daveTopic); got != domain.EventProposalFailed {
		t.Fatalf("dave's topic: %s, want failed", got)
	}
	waitFor(t, "dave's topic deleted on the site, carol's kept", func() bool {
		c, _ := site.Topic(carolTopic)
		d, _ := site.Topic(daveTopic)
		return d.Deleted && !c.Deleted
	})
	// The answers the policy saw are in the log, for a replay or an audit.
	var answers int
	if err := app.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type = $1`, domain.EventAnswerRecorded).Scan(&answers); err != nil {
		t.Fatal(err)
	}
	if answers != 2 {
		t.Fatalf("%d answers recorded, want carol's and dave's cred", answers)
	}
}
