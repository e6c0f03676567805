package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/hooks"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/sealed"
)

// fakeMetagov is a Metagov server's process API: a started process is pending until closed;
// what it was sent is kept.
type fakeMetagov struct {
	mu        sync.Mutex
	started   []map[string]any // the bodies of start_process
	community []string         // X-Metagov-Community of each request
	closed    []string         // the ids closed
}

func (f *fakeMetagov) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.community = append(f.community, r.Header.Get("X-Metagov-Community"))
	const prefix = "/api/internal/process/loomio.poll"
	process := func(id, status string, outcome map[string]any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "name": "loomio.poll", "community": "garden-metagov",
			"status": status, "poll_url": "https://loomio.example/p/" + id, "outcome": outcome, "errors": map[string]any{}})
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == prefix:
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		f.started = append(f.started, body)
		w.Header().Set("Location", fmt.Sprintf("%s/%d", prefix, len(f.started)))
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, prefix+"/"):
		process(strings.TrimPrefix(r.URL.Path, prefix+"/"), "pending", map[string]any{})
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, prefix+"/"):
		id := strings.TrimPrefix(r.URL.Path, prefix+"/")
		f.closed = append(f.closed, id)
		process(id, "completed", map[string]any{"agree": 1, "disagree": 4})
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeMetagov) callbacks() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, b := range f.started {
		s, _ := b["callback_url"].(string)
		out = append(out, s)
	}
	return out
}

// PolicyKit's docs' Metagov example (its check guarded against the first check, which runs
// before notify started anything): notify starts a Loomio poll through Metagov, check
// follows it with get_process; and a member's yes in PolicyKit closes the poll early
// (close_process), its outcome deciding.
var loomioThroughMetagov = domain.PolicyCode{
	Notify: `result = metagov.start_process("loomio.poll", {"title": "Agree or disagree?", "options": ["agree", "disagree"], "closing_at": "2026-12-24"})
poll_url = result.get('poll_url')
logger.info("poll at " + poll_url)`,
	Check: `result = metagov.get_process()
if not result:
    return  # check runs before notify starts the poll
if result.status != "completed":
    if proposal.get_yes_votes().count() == 0:
        return  # still processing
    result = metagov.close_process()
if result.errors:
    return FAILED
if result.outcome:
    agree_count = result.outcome.get("agree")
    disagree_count = result.outcome.get("disagree")
    return PASSED if agree_count > disagree_count else FAILED
return FAILED`,
}

// A governance process run by Metagov: its start is answered by the Metagov server, its
// updates arrive on the generic hook at the callback the adapter gave Metagov, and a later
// check reads the new state and outcome; close_process closes it and its outcome decides.
func TestAMetagovProcessIsFollowedThroughTheHook(t *testing.T) {
	ctx := context.Background()
	fake := &fakeMetagov{}
	metagovServer := httptest.NewServer(fake)
	defer metagovServer.Close()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	box, err := sealed.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := engineConfig(t, bus.TransportGoChannel)
	cfg.SecretKey = base64.StdEncoding.EncodeToString(key)
	env := map[string]string{"METAGOV_URL": metagovServer.URL}
	cfg.getenv = func(k string) string { return env[k] }
	app, stop := startApp(t, cfg)
	defer stop()
	newSlackGarden(t, app, domain.AddPolicy{PolicyID: "loomio-vote", Kind: domain.KindConstitution, Name: "Vote in Loomio through Metagov",
		ActionTypes: []string{domain.ActionAddCommunityDoc}, PolicyCode: loomioThroughMetagov, Priority: -1})
	defer func() { // what the log says, when the test failed
		if !t.Failed() {
			return
		}
		rows, err := app.Pool().Query(ctx, `SELECT stream, type, left(data::text, 300) FROM events ORDER BY global_position DESC LIMIT 30`)
		if err != nil {
			return
		}
		defer rows.Close()
		for rows.Next() {
			var s, ty, d string
			_ = rows.Scan(&s, &ty, &d)
			t.Log(s, ty, d)
		}
	}()
	rec := &engine.Recorder{Store: app.Store()}
	propose := func(a domain.Action) {
		t.Helper()
		if _, err := rec.ProposeAction(ctx, bus.ProposeAction{Action: a}, engine.NewMeta()); err != nil {
			t.Fatal(err)
		}
	}

	// The community connects Metagov (its Metagov community's slug, and the secret that
	// signs what arrives on the hook).
	connect, err := domain.NewConstitutionAction("connect-metagov", "garden", "alice", domain.AddIntegration{
		Platform: domain.PlatformMetagov, ExternalID: "garden-metagov", Settings: map[string]string{"community": "garden-metagov"},
		Secrets: map[string]string{hooks.SecretName: "whsec-metagov"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if connect, err = box.SealConnection(connect); err != nil {
		t.Fatal(err)
	}
	propose(connect)
	waitFor(t, "the Metagov connection", func() bool { return countEvents(t, app, domain.EventPlatformConnected) == 3 })

	doc := func(id, name string) domain.Action {
		a, err := domain.NewConstitutionAction(id, "garden", "alice", domain.AddDocument{Name: name, Text: "..."}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	proposalOf := func(actionID string) *domain.Proposal {
		t.Helper()
		var p *domain.Proposal
		waitFor(t, "the proposal of "+actionID, func() bool {
			a, err := engine.LoadAction(ctx, app.Store(), actionID)
			if err != nil || a.GoverningProposalID == "" {
				return false
			}
			p, err = engine.LoadProposal(ctx, app.Store(), a.GoverningProposalID)
			return err == nil && p.GovernanceProcess != nil
		})
		return p
	}
	status := func(id string) string {
		p, err := engine.LoadProposal(ctx, app.Store(), id)
		if err != nil {
			t.Fatal(err)
		}
		return p.Status
	}

	// 1. The poll is started; its update arrives on the hook; the next check passes.
	propose(doc("doc-charter", "Charter"))
	p := proposalOf("doc-charter")
	if p.GovernanceProcess["status"] != "pending" || p.GovernanceProcess["id"] != "1" {
		t.Fatalf("the proposal follows %v, want the pending process 1", p.GovernanceProcess)
	}
	callbacks := fake.callbacks()
	if len(callbacks) != 1 {
		t.Fatalf("%d processes started, want 1", len(callbacks))
	}
	cb, err := url.Parse(callbacks[0])
	if err != nil || cb.Path != "/api/hooks/metagov/garden" || cb.Query().Get("proposal") != p.ID {
		t.Fatalf("callback_url %q", callbacks[0])
	}
	if status(p.ID) != domain.StatusProposed {
		t.Fatal("decided before the poll closed")
	}
	hook := app.LocalURL() + cb.RequestURI()
	update := []byte(`{"id": "1", "name": "loomio.poll", "status": "completed", "outcome": {"agree": 5, "disagree": 2}, "errors": {}}`)
	if code := postHook(t, hook, "guess", update); code != http.StatusUnauthorized {
		t.Fatalf("an update signed with another secret answered %d", code)
	}
	other := []byte(`{"id": "99", "name": "loomio.poll", "status": "completed", "outcome": {"agree": 0, "disagree": 9}}`)
	if code := postHook(t, hook, "whsec-metagov", other); code != http.StatusAccepted {
		t.Fatalf("the update answered %d", code)
	}
	if code := postHook(t, hook, "whsec-metagov", update); code != http.StatusAccepted {
		t.Fatalf("the update answered %d", code)
	}
	waitFor(t, "the check to read the process's outcome and pass", func() bool { return status(p.ID) == domain.StatusPassed })
	p, _ = engine.LoadProposal(ctx, app.Store(), p.ID)
	if p.GovernanceProcess["id"] != "1" || p.GovernanceProcess["status"] != "completed" {
		t.Fatalf("the proposal's process is %v: an update for another process must change nothing", p.GovernanceProcess)
	}

	// 2. Another poll; a member's yes makes the check close it, and its outcome decides.
	propose(doc("doc-budget", "Budget"))
	q := proposalOf("doc-budget")
	if _, err := rec.CastVote(ctx, bus.CastVote{CommunityID: "garden", ProposalID: q.ID,
		Vote: domain.Vote{UserID: "alice", Kind: domain.VoteBoolean, Boolean: true}}, engine.NewMeta()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the poll closed and its outcome deciding", func() bool { return status(q.ID) == domain.StatusFailed })
	fake.mu.Lock()
	closed, communities := fake.closed, fake.community
	fake.mu.Unlock()
	if len(closed) != 1 || closed[0] != "2" {
		t.Fatalf("closed %v, want process 2", closed)
	}
	for _, c := range communities {
		if c != "garden-metagov" {
			t.Fatalf("a request for Metagov community %q", c)
		}
	}
}
