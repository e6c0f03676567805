package domain_test

import (
	"testing"

	"github.com/policykit-go/policykit/domain"
)

func connectAction(t *testing.T, id string, p domain.ConstitutionPayload) domain.Action {
	t.Helper()
	a, err := domain.NewConstitutionAction(id, "c1", "alice", p, at(1))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestConnectingAPlatformIsAConstitutionAction(t *testing.T) {
	c, _ := mustCommunity(t)
	sealed := domain.SealedPrefix + "bm9uY2VhbmRjaXBoZXJ0ZXh0"
	add := connectAction(t, "a1", domain.AddIntegration{Platform: domain.PlatformOpenCollective, ExternalID: "coop",
		Settings: map[string]string{"collective": "coop"}, Secrets: map[string]string{"webhook_secret": sealed}})
	events, err := c.ExecuteConstitutionAction(add, at(2))
	if err != nil {
		t.Fatal(err)
	}
	mustTypes(t, events, domain.EventPlatformConnected)
	for _, e := range events {
		c.Apply(e)
	}
	p := c.Platforms[domain.PlatformOpenCollective]
	if !p.Active || p.ExternalID != "coop" || p.Settings["collective"] != "coop" || p.Secrets["webhook_secret"] != sealed {
		t.Fatalf("connection = %+v", p)
	}

	// An update that gives only a setting keeps the secret.
	upd := connectAction(t, "a2", domain.AddIntegration{Platform: domain.PlatformOpenCollective, ExternalID: "coop",
		Settings: map[string]string{"collective": "coop2"}})
	events, err = c.ExecuteConstitutionAction(upd, at(3))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		c.Apply(e)
	}
	if p := c.Platforms[domain.PlatformOpenCollective]; p.Secrets["webhook_secret"] != sealed || p.Settings["collective"] != "coop2" {
		t.Fatalf("after an update without secrets: %+v", p)
	}

	rm := connectAction(t, "a3", domain.RemoveIntegration{Platform: domain.PlatformOpenCollective})
	events, err = c.ExecuteConstitutionAction(rm, at(4))
	if err != nil {
		t.Fatal(err)
	}
	mustTypes(t, events, domain.EventPlatformDisconnected)
	for _, e := range events {
		c.Apply(e)
	}
	if c.Platforms[domain.PlatformOpenCollective].Active {
		t.Fatal("still active after removing the integration")
	}
	mustCode(t, domain.ValidateConstitutionAction(c, connectAction(t, "a4", domain.RemoveIntegration{Platform: domain.PlatformOpenCollective})), domain.CodeNotFound)
}

func TestAConnectionRefusesSecretsInTheClearAndBadSettings(t *testing.T) {
	c, _ := mustCommunity(t)
	tests := []struct {
		name string
		p    domain.AddIntegration
	}{
		{"secret in the clear", domain.AddIntegration{Platform: domain.PlatformLoomio, Secrets: map[string]string{"api_key": "hunter2"}}},
		{"unknown platform", domain.AddIntegration{Platform: "myspace"}},
		{"constitution platform", domain.AddIntegration{Platform: domain.PlatformConstitution}},
		{"bad setting name", domain.AddIntegration{Platform: domain.PlatformLoomio, Settings: map[string]string{"Bad Name": "x"}}},
		{"huge setting", domain.AddIntegration{Platform: domain.PlatformLoomio, Settings: map[string]string{"x": string(make([]byte, domain.MaxConnectionValueBytes+1))}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := domain.NewConstitutionAction("x", "c1", "alice", tt.p, at(1))
			if err == nil {
				err = domain.ValidateConstitutionAction(c, a)
			}
			mustCode(t, err, domain.CodeInvalid)
		})
	}
}

func TestOnlyANamedPermissionGrantsConnectingAPlatform(t *testing.T) {
	wild := domain.Permission{Verb: domain.VerbPropose, ActionType: domain.AnyConstitutionAction}
	if wild.Allows(domain.VerbPropose, domain.ActionAddIntegration, domain.KindConstitution) {
		t.Error("propose:constitution:* grants connecting a platform; PolicyKit keeps it to the Integration Admin role")
	}
	if !wild.Allows(domain.VerbPropose, domain.ActionAddRole, domain.KindConstitution) {
		t.Error("propose:constitution:* no longer grants adding a role")
	}
	role := domain.IntegrationAdminRole()
	r := domain.Role{Name: role.Name, Permissions: role.Permissions}
	for _, typ := range []string{domain.ActionAddIntegration, domain.ActionRemoveIntegration} {
		if !r.Allows(domain.VerbPropose, typ, domain.KindConstitution) {
			t.Errorf("Integration Admin may not propose %s", typ)
		}
	}
}

func TestAWebhookTriggerNamesThePlatformItCameFrom(t *testing.T) {
	a := domain.Action{ID: "w1", CommunityID: "c1", Type: domain.ActionWebhookTrigger, Kind: domain.KindTrigger,
		Platform: domain.PlatformOpenCollective, Fields: map[string]any{"event_type": "opencollective.expense_created"}}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, pl := range []string{"", domain.PlatformConstitution, "myspace"} {
		b := a
		b.Platform = pl
		mustCode(t, b.Validate(), domain.CodeInvalid)
	}
}

func TestAConnectionsSecretsAreShownByNameOnly(t *testing.T) {
	a := connectAction(t, "a1", domain.AddIntegration{Platform: domain.PlatformLoomio,
		Settings: map[string]string{"group": "g"}, Secrets: map[string]string{"api_key": domain.SealedPrefix + "xyz"}})
	pub := a.PublicFields()
	if got := pub["secrets"].(map[string]any)["api_key"]; got != domain.RedactedSecret {
		t.Fatalf("public api_key = %v", got)
	}
	if pub["settings"].(map[string]any)["group"] != "g" {
		t.Fatalf("settings lost: %v", pub)
	}
	if a.Fields["secrets"].(map[string]any)["api_key"] != domain.SealedPrefix+"xyz" {
		t.Fatal("PublicFields changed the action itself")
	}
}
