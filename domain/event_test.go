package domain_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"testing"

	"github.com/policykit-go/policykit/domain"
)

// sampleEvents returns one filled-in sample of every event type, keyed by type name.
// Map values are JSON-shaped (float64 numbers) so that samples round-trip exactly.
func sampleEvents() map[string]domain.Event {
	ch := domain.CommunityHeader{CommunityID: "c1", ActionID: "a9", At: at(1)}
	ph := domain.ProposalHeader{CommunityID: "c1", ProposalID: "p1", At: at(2)}
	ah := domain.ActionHeader{CommunityID: "c1", ActionID: "a1", At: at(3)}
	spec := domain.PolicySpec{
		Kind: domain.KindPlatform, Name: "Vote on renames", Description: "d",
		ActionTypes: []string{domain.ActionSlackRenameConversation},
		Code:        domain.PolicyCode{Filter: "return True", Check: "return PASSED", FilterLang: "starlark", CheckLang: "expr"},
		Variables:   []domain.Variable{{Name: "quorum", Type: domain.VariableNumber, DefaultValue: "2"}},
		Priority:    3,
	}
	action := domain.Action{
		ID: "a1", CommunityID: "c1", Kind: domain.KindPlatform, Type: domain.ActionSlackPostMessage,
		Platform: domain.PlatformSlack, InitiatorID: "u1", Fields: map[string]any{"text": "hi", "n": json.Number("2")},
		Reversible: true, ExternalID: "ev1", ProposedAt: at(0),
	}
	perms := []domain.Permission{{Verb: domain.VerbPropose, ActionType: domain.AnyActionType}}
	events := []domain.Event{
		domain.CommunityCreated{CommunityHeader: ch, Name: "Coop"},
		domain.CommunityRenamed{CommunityHeader: ch, Name: "Coop 2"},
		domain.PlatformConnected{CommunityHeader: ch, Platform: domain.PlatformSlack, ExternalID: "T1", Name: "coop"},
		domain.PlatformDisconnected{CommunityHeader: ch, Platform: domain.PlatformSlack},
		domain.UserRegistered{CommunityHeader: ch, UserID: "u1", Platform: domain.PlatformSlack, Username: "U01", ReadableName: "Alice", IsAdmin: true, Avatar: "https://a"},
		domain.UserProfileUpdated{CommunityHeader: ch, UserID: "u1", Username: "U01", ReadableName: "Alice B", Avatar: "https://b"},
		domain.IdentityLinked{CommunityHeader: ch, UserID: "u1", OtherUserID: "u2"},
		domain.IdentityUnlinked{CommunityHeader: ch, UserID: "u1", OtherUserID: "u2"},
		domain.RoleAdded{CommunityHeader: ch, Name: "Moderator", Description: "mods", IsBase: false, Permissions: perms},
		domain.RoleChanged{CommunityHeader: ch, Name: "Moderator", NewName: "Mod", Description: "m", Permissions: perms},
		domain.RoleDeleted{CommunityHeader: ch, Name: "Mod"},
		domain.UserRoleAdded{CommunityHeader: ch, UserID: "u1", Role: "Mod"},
		domain.UserRoleRemoved{CommunityHeader: ch, UserID: "u1", Role: "Mod"},
		domain.DocumentAdded{CommunityHeader: ch, DocumentID: "d1", Name: "Rules", Text: "be kind"},
		domain.DocumentChanged{CommunityHeader: ch, DocumentID: "d1", Name: "Rules", Text: "be kinder"},
		domain.DocumentDeleted{CommunityHeader: ch, DocumentID: "d1"},
		domain.DocumentRecovered{CommunityHeader: ch, DocumentID: "d1"},
		domain.PolicyAdded{CommunityHeader: ch, PolicyID: "pol1", PolicySpec: spec, Hash: spec.ContentHash(), Version: 1},
		domain.PolicyChanged{CommunityHeader: ch, PolicyID: "pol1", PolicySpec: spec, Hash: spec.ContentHash(), Version: 2},
		domain.PolicyRemoved{CommunityHeader: ch, PolicyID: "pol1"},
		domain.PolicyRecovered{CommunityHeader: ch, PolicyID: "pol1"},

		domain.ActionProposed{ActionHeader: ah, Action: action},
		domain.ActionRejected{ActionHeader: ah, Reason: "no permission"},
		domain.ActionGoverned{ActionHeader: ah, ProposalIDs: []string{"p1", "p2"}, GoverningProposalID: "p1"},
		domain.ActionExecuted{ActionHeader: ah, ProposalID: "p1", Reason: "passed"},
		domain.ActionExecutionFailed{ActionHeader: ah, ProposalID: "p1", Reason: "role exists"},
		domain.ActionReverted{ActionHeader: ah, ProposalID: "p1", Reason: "failed"},
		domain.ActionFilterErrored{ActionHeader: ah, PolicyID: "pol1", PolicyHash: "h1", Error: "NameError at line 1 of filter: x"},

		domain.ProposalOpened{ProposalHeader: ph, ActionID: "a1", Action: action, PolicyID: "pol1", PolicyHash: "abc", PolicyVersion: 2, PolicyKind: domain.KindPlatform, PolicyName: "Vote"},
		domain.ProposalVariablesInitialized{ProposalHeader: ph, Variables: map[string]any{"quorum": json.Number("2"), "channel": "C1"}},
		domain.ProposalEvaluated{ProposalHeader: ph, Block: domain.BlockCheck, Result: domain.StatusProposed, Logs: []domain.LogLine{{Level: "debug", Message: "0 for"}}, Error: ""},
		domain.ProposalDataChanged{ProposalHeader: ph, Ops: []domain.DataOp{{Op: domain.DataSet, Key: "k", Value: []any{"a", true}}, {Op: domain.DataRemove, Key: "old"}}},
		domain.VotePostRecorded{ProposalHeader: ph, PostID: "1700000.1", URL: "https://slack/x"},
		domain.VoteCast{ProposalHeader: ph, Vote: domain.Vote{UserID: "u1", Username: "U01", Kind: domain.VoteChoice, Choice: "consent", At: at(2)}},
		domain.VoteClosed{ProposalHeader: ph},
		domain.VoteClosed{ProposalHeader: ph, Outcome: map[string]any{"statement": "Approved", "statement_format": "md", "id": json.Number("1031")}},
		domain.GovernanceProcessUpdated{ProposalHeader: ph, Process: map[string]any{"status": "completed", "outcome": map[string]any{"agree": json.Number("3")}}},
		domain.ProposalNotified{ProposalHeader: ph},
		domain.EffectRequested{ProposalHeader: ph, EffectID: "e1", IdempotencyKey: "e1", Platform: domain.PlatformSlack, Method: "post_message", Args: map[string]any{"text": "hi"}, Purpose: domain.PurposePolicy},
		domain.EffectCompleted{ProposalHeader: ph, EffectID: "e1", Result: map[string]any{"ts": "1.2"}},
		domain.EffectFailed{ProposalHeader: ph, EffectID: "e2", Error: "rate limited"},
		domain.AnswerRecorded{ProposalHeader: ph, Key: "sourcecred.get_cred:alice", Value: json.Number("301.5")},
		domain.RecheckScheduled{ProposalHeader: ph, DueAt: at(60)},
		domain.ProposalPassed{ProposalHeader: ph, Reason: "check returned PASSED"},
		domain.ProposalFailed{ProposalHeader: ph, Reason: "check returned FAILED"},
	}
	out := map[string]domain.Event{}
	for _, e := range events {
		out[e.EventType()] = e
	}
	return out
}

func TestCodecRoundTripsEveryEventType(t *testing.T) {
	samples := sampleEvents()
	types := domain.EventTypes()
	if !sort.StringsAreSorted(types) {
		t.Fatalf("EventTypes not sorted: %v", types)
	}
	if len(samples) != len(types) {
		t.Fatalf("%d samples for %d event types", len(samples), len(types))
	}
	for _, typ := range types {
		t.Run(typ, func(t *testing.T) {
			e, ok := samples[typ]
			if !ok {
				t.Fatalf("no sample for %s", typ)
			}
			gotType, v, data, err := domain.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			if gotType != typ || v != domain.SchemaVersion(typ) || v < 1 {
				t.Fatalf("Marshal = %q v%d, want %q v%d", gotType, v, typ, domain.SchemaVersion(typ))
			}
			back, err := domain.Unmarshal(gotType, v, data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, e) {
				t.Fatalf("round trip:\n got %#v\nwant %#v\njson %s", back, e, data)
			}
			if back.Meta().CommunityID != "c1" || back.Meta().At.IsZero() {
				t.Fatalf("meta not routed: %+v", back.Meta())
			}
			// snake_case keys only
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			for k := range m {
				for _, r := range k {
					if r >= 'A' && r <= 'Z' {
						t.Fatalf("json key %q is not snake_case", k)
					}
				}
			}
		})
	}
}

func TestEventTypeNamesAreDottedLowercase(t *testing.T) {
	for _, typ := range domain.EventTypes() {
		cat, rest, ok := cutDot(typ)
		if !ok || rest == "" {
			t.Errorf("%q is not category.name", typ)
		}
		switch cat {
		case domain.CategoryCommunity, domain.CategoryProposal, domain.CategoryAction:
		default:
			t.Errorf("%q: category %q is not a stream category", typ, cat)
		}
		for _, r := range typ {
			if !(r >= 'a' && r <= 'z' || r == '.' || r == '_') {
				t.Errorf("%q has %q", typ, r)
			}
		}
	}
}

func cutDot(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func TestUnmarshalUnknownAndNewerTypesStayReadable(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		version int
	}{
		{"unknown type", "community.something_new", 1},
		{"newer schema version", domain.EventVoteCast, domain.SchemaVersion(domain.EventVoteCast) + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(`{"community_id":"c1","proposal_id":"p1","x":1}`)
			e, err := domain.Unmarshal(tt.typ, tt.version, data)
			if err != nil {
				t.Fatal(err)
			}
			u, ok := e.(*domain.UnknownEvent)
			if !ok {
				t.Fatalf("got %T, want *UnknownEvent", e)
			}
			if u.Type != tt.typ || u.SchemaVersion != tt.version || string(u.Data) != string(data) {
				t.Fatalf("got %+v", u)
			}
			if m := u.Meta(); m.CommunityID != "c1" || m.ProposalID != "p1" {
				t.Fatalf("meta %+v", m)
			}
			typ, v, again, err := domain.Marshal(u)
			if err != nil || typ != tt.typ || v != tt.version || string(again) != string(data) {
				t.Fatalf("re-marshal = %q %d %s %v", typ, v, again, err)
			}
		})
	}
}

func TestUnmarshalMalformedJSONIsInvalid(t *testing.T) {
	for _, data := range []string{`{`, `{"vote": 3}`, `[]`, `{"community_id": 1}`} {
		_, err := domain.Unmarshal(domain.EventVoteCast, 1, []byte(data))
		mustCode(t, err, domain.CodeInvalid)
	}
	// a malformed permission inside a role event
	_, err := domain.Unmarshal(domain.EventRoleAdded, 1, []byte(`{"name":"x","permissions":["fly:*"]}`))
	mustCode(t, err, domain.CodeInvalid)
}

func TestUnmarshalOldSchemaVersionZeroReadsAsOne(t *testing.T) {
	e, err := domain.Unmarshal(domain.EventCommunityRenamed, 0, []byte(`{"community_id":"c1","name":"n","at":"2024-03-01T12:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := e.(domain.CommunityRenamed); !ok || r.Name != "n" {
		t.Fatalf("got %#v", e)
	}
}

func TestMarshalRefusesNilAndUnregistered(t *testing.T) {
	_, _, _, err := domain.Marshal(nil)
	mustCode(t, err, domain.CodeInvalid)
	_, _, _, err = domain.Marshal(notRegistered{})
	mustCode(t, err, domain.CodeInvalid)
	if !errors.Is(err, domain.ErrInvalid) || errors.Is(err, domain.ErrConflict) {
		t.Fatalf("error codes mixed up: %v", err)
	}
}

type notRegistered struct{}

func (notRegistered) EventType() string      { return "test.not_registered" }
func (notRegistered) Meta() domain.EventMeta { return domain.EventMeta{} }

func TestStreams(t *testing.T) {
	tests := []struct{ stream, category, id string }{
		{domain.CommunityStream("42"), domain.CategoryCommunity, "42"},
		{domain.ProposalStream("a-b-c"), domain.CategoryProposal, "a-b-c"},
		{domain.ActionStream("x"), domain.CategoryAction, "x"},
		{"plain", "plain", ""},
	}
	for _, tt := range tests {
		if got := domain.StreamCategory(tt.stream); got != tt.category {
			t.Errorf("StreamCategory(%q) = %q", tt.stream, got)
		}
		if got := domain.StreamID(tt.stream); got != tt.id {
			t.Errorf("StreamID(%q) = %q", tt.stream, got)
		}
	}
}
