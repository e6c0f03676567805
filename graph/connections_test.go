package graph_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/graph"
	"github.com/policykit-go/policykit/sealed"
)

// connectCoop connects Open Collective with a setting and a webhook secret, in the clear.
const connectCoop = `{"platform": "opencollective", "external_id": "coop", "name": "Coop",
  "settings": {"collective": "coop"}, "secrets": {"webhook_secret": "s3cret-value"}}`

const proposeConnection = `mutation($type: String!, $payload: String!) {
  proposeConstitutionAction(input: {communityId: "garden", type: $type, payloadJSON: $payload}) {
    action { id type status reason fieldsJSON }
    proposal { id status action { fieldsJSON } }
  }
}`

type connectionResp struct {
	ProposeConstitutionAction struct {
		Action struct {
			ID, Type, Status, Reason, FieldsJSON string
		}
		Proposal *struct {
			ID, Status string
			Action     struct{ FieldsJSON string }
		}
	}
}

func mustBox(t *testing.T) *sealed.Box {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	box, err := sealed.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// connectionsOf returns garden's PlatformConnected events from the log.
func (e *env) connectionsOf(t *testing.T, platform string) []domain.PlatformConnected {
	t.Helper()
	evs, err := engine.ReadStream(context.Background(), postgres.New(e.pool), domain.CommunityStream("garden"))
	if err != nil {
		t.Fatal(err)
	}
	var out []domain.PlatformConnected
	for _, ev := range evs {
		if ev.Type != domain.EventPlatformConnected {
			continue
		}
		d, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
		if err != nil {
			t.Fatal(err)
		}
		if pc := d.(domain.PlatformConnected); pc.Platform == platform {
			out = append(out, pc)
		}
	}
	return out
}

// countEvents is the number of events in the log.
func (e *env) countEvents(t *testing.T) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

type platformNode struct {
	Name, SettingsJSON string
	Active             bool
	SecretNames        []string
}

func platformNamed(ps []platformNode, name string) (platformNode, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return platformNode{}, false
}

// The community's creator, its Integration Admin, connects Open Collective with a secret
// typed in the clear: the log holds it sealed (the server's key opens it), and nothing the
// API returns holds it, in the clear or sealed. A member with propose:constitution:* but
// without the role is refused; disconnecting keeps the settings and secret names shown.
func TestConnectingAPlatformSealsItsSecretsAndShowsTheirNamesOnly(t *testing.T) {
	box := mustBox(t)
	e := newEnvWith(t, nil, func(d *graph.Deps) { d.Secrets = box })
	var responses []string
	query := func(user string, out any, q string, opts ...client.Option) {
		t.Helper()
		var raw json.RawMessage
		e.mustQueryAs(t, user, &raw, q, opts...)
		responses = append(responses, string(raw))
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatal(err)
		}
	}

	var connected connectionResp
	query("alice", &connected, proposeConnection, client.Var("type", domain.ActionAddIntegration), client.Var("payload", connectCoop))
	got := connected.ProposeConstitutionAction
	if got.Action.Status != domain.ActionStatusExecuted || got.Proposal == nil || got.Proposal.Status != "PASSED" {
		t.Fatalf("alice's connection: %+v, want it passed and executed", got)
	}
	var fields struct {
		Platform string
		Settings map[string]string
		Secrets  map[string]string
	}
	if err := json.Unmarshal([]byte(got.Action.FieldsJSON), &fields); err != nil {
		t.Fatal(err)
	}
	if fields.Platform != domain.PlatformOpenCollective || fields.Settings["collective"] != "coop" ||
		len(fields.Secrets) != 1 || fields.Secrets["webhook_secret"] != domain.RedactedSecret {
		t.Errorf("the action's fields: %s, want the secret by name only", got.Action.FieldsJSON)
	}

	conns := e.connectionsOf(t, domain.PlatformOpenCollective)
	if len(conns) != 1 {
		t.Fatalf("%d PlatformConnected for opencollective, want 1", len(conns))
	}
	sealedValue := conns[0].Secrets["webhook_secret"]
	if !strings.HasPrefix(sealedValue, domain.SealedPrefix) {
		t.Fatalf("the log holds the secret as %q, want it sealed", sealedValue)
	}
	if plain, err := box.Open("garden", domain.PlatformOpenCollective, "webhook_secret", sealedValue); err != nil || plain != "s3cret-value" {
		t.Fatalf("the sealed secret opens to %q, %v", plain, err)
	}

	var read struct {
		Community struct {
			Platforms []platformNode
			Events    conn[struct{ Type, DataJSON string }]
		}
		Action   struct{ FieldsJSON string }
		Proposal struct {
			Action struct{ FieldsJSON string }
			Trace  string
		}
	}
	readQuery := `query($a: ID!, $p: ID!) {
  community(id: "garden") { platforms { name active settingsJSON secretNames } events(first: 100) { edges { node { type dataJSON } } } }
  action(id: $a) { fieldsJSON }
  proposal(id: $p) { action { fieldsJSON } trace }
}`
	query("alice", &read, readQuery, client.Var("a", got.Action.ID), client.Var("p", got.Proposal.ID))
	oc, ok := platformNamed(read.Community.Platforms, domain.PlatformOpenCollective)
	if !ok || !oc.Active || !slices.Equal(oc.SecretNames, []string{"webhook_secret"}) {
		t.Fatalf("platforms: %+v, want opencollective active with the secret webhook_secret", read.Community.Platforms)
	}
	var settings map[string]string
	if err := json.Unmarshal([]byte(oc.SettingsJSON), &settings); err != nil || len(settings) != 1 || settings["collective"] != "coop" {
		t.Errorf("opencollective's settingsJSON = %s (%v), want the collective", oc.SettingsJSON, err)
	}
	// The audit log shows the connection, its secret by name.
	var shown bool
	for _, ev := range read.Community.Events.nodes() {
		if ev.Type == domain.EventPlatformConnected && strings.Contains(ev.DataJSON, `"webhook_secret":"`+domain.RedactedSecret+`"`) {
			shown = true
		}
	}
	if !shown {
		t.Errorf("Community.events has no PlatformConnected with the secret's name: %+v", read.Community.Events.nodes())
	}

	// bob holds propose:constitution:* (the Testing kit's base role), not Integration Admin.
	var refused connectionResp
	query("bob", &refused, proposeConnection, client.Var("type", domain.ActionAddIntegration),
		client.Var("payload", `{"platform": "loomio", "secrets": {"api_key": "bobs-value"}}`))
	if r := refused.ProposeConstitutionAction; r.Action.Status != domain.ActionStatusRejected ||
		r.Action.Reason != "initiator may not propose "+domain.ActionAddIntegration || r.Proposal != nil {
		t.Errorf("bob's connection: %+v, want it rejected for lack of the propose permission", r)
	}
	if n := len(e.connectionsOf(t, domain.PlatformLoomio)); n != 0 {
		t.Errorf("bob's refused connection connected loomio (%d events)", n)
	}

	// A secret given already sealed is refused: the member gives its value.
	errs := e.mustFail(t, proposeConnection, map[string]any{"type": domain.ActionAddIntegration,
		"payload": `{"platform": "opencollective", "external_id": "coop", "secrets": {"webhook_secret": "` + sealedValue + `"}}`})
	wantCode(t, errs, "INVALID")

	// Disconnecting keeps what the connection had, inactive.
	var removed connectionResp
	query("alice", &removed, proposeConnection, client.Var("type", domain.ActionRemoveIntegration), client.Var("payload", `{"platform": "opencollective"}`))
	if removed.ProposeConstitutionAction.Action.Status != domain.ActionStatusExecuted {
		t.Fatalf("alice's disconnection: %+v", removed.ProposeConstitutionAction)
	}
	query("alice", &read, readQuery, client.Var("a", got.Action.ID), client.Var("p", got.Proposal.ID))
	oc, ok = platformNamed(read.Community.Platforms, domain.PlatformOpenCollective)
	if !ok || oc.Active || !slices.Equal(oc.SecretNames, []string{"webhook_secret"}) || !strings.Contains(oc.SettingsJSON, "coop") {
		t.Errorf("after the disconnection: %+v, want opencollective inactive with its settings and secret name", oc)
	}

	// proposeAction, naming the type, seals too.
	var byType struct {
		ProposeAction struct {
			Action struct{ ID, Status, FieldsJSON string }
		}
	}
	query("alice", &byType, `mutation($f: String!) {
  proposeAction(input: {communityId: "garden", actionType: "policykitaddintegration", fieldsJSON: $f}) { action { id status fieldsJSON } }
}`, client.Var("f", `{"platform": "loomio", "external_id": "g1", "secrets": {"api_key": "other-value"}}`))
	if byType.ProposeAction.Action.Status != domain.ActionStatusExecuted {
		t.Fatalf("proposeAction connecting loomio: %+v", byType.ProposeAction)
	}
	loomio := e.connectionsOf(t, domain.PlatformLoomio)
	if len(loomio) != 1 {
		t.Fatalf("%d PlatformConnected for loomio, want 1", len(loomio))
	}
	if plain, err := box.Open("garden", domain.PlatformLoomio, "api_key", loomio[0].Secrets["api_key"]); err != nil || plain != "other-value" {
		t.Errorf("loomio's api_key opens to %q, %v", plain, err)
	}

	for _, r := range responses {
		for _, leak := range []string{"s3cret-value", "other-value", "bobs-value", sealedValue, domain.SealedPrefix} {
			if strings.Contains(r, leak) {
				t.Errorf("a response holds %q:\n%s", leak, r)
			}
		}
	}
}

// Without a secret key, a connection's secrets are refused with a message that says why, and
// nothing is recorded; a connection without secrets is still proposed.
func TestConnectingWithSecretsNeedsASecretKey(t *testing.T) {
	e := newEnv(t, nil)
	before := e.countEvents(t)
	errs := e.mustFail(t, proposeConnection, map[string]any{"type": domain.ActionAddIntegration, "payload": connectCoop})
	wantCode(t, errs, "INVALID")
	if !strings.Contains(errs[0].Message, "POLICYKIT_SECRET_KEY") {
		t.Errorf("message %q does not say what is missing", errs[0].Message)
	}
	if strings.Contains(errs[0].Message, "s3cret-value") {
		t.Errorf("message %q repeats the secret", errs[0].Message)
	}
	if n := e.countEvents(t); n != before {
		t.Errorf("the refused connection recorded %d events", n-before)
	}
	errs = e.mustFail(t, `mutation($f: String!) {
  proposeAction(input: {communityId: "garden", actionType: "policykitaddintegration", fieldsJSON: $f}) { action { id } }
}`, map[string]any{"f": connectCoop})
	wantCode(t, errs, "INVALID")
	if n := e.countEvents(t); n != before {
		t.Errorf("the refused connection by type recorded %d events", n-before)
	}

	var plain connectionResp
	e.mustQuery(t, &plain, proposeConnection, client.Var("type", domain.ActionAddIntegration),
		client.Var("payload", `{"platform": "opencollective", "external_id": "coop", "settings": {"collective": "coop"}}`))
	if plain.ProposeConstitutionAction.Action.Status != domain.ActionStatusExecuted {
		t.Fatalf("a connection without secrets: %+v", plain.ProposeConstitutionAction)
	}
}
