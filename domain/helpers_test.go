package domain_test

import (
	"errors"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
)

// t0 is the base time of the tests; tests add minutes to it.
var t0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

// mustCode fails the test unless err carries the wanted code (matched with errors.Is).
func mustCode(tb testing.TB, err error, want domain.Code) {
	tb.Helper()
	sentinel := map[domain.Code]error{
		domain.CodeNotFound:  domain.ErrNotFound,
		domain.CodeConflict:  domain.ErrConflict,
		domain.CodeInvalid:   domain.ErrInvalid,
		domain.CodeForbidden: domain.ErrForbidden,
	}[want]
	if err == nil {
		tb.Fatalf("want %s error, got nil", want)
	}
	if !errors.Is(err, sentinel) {
		tb.Fatalf("want %s error, got %v", want, err)
	}
}

// eventTypes lists the type names of events.
func eventTypes(events []domain.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.EventType()
	}
	return out
}

func mustTypes(tb testing.TB, events []domain.Event, want ...string) {
	tb.Helper()
	got := eventTypes(events)
	if len(got) != len(want) {
		tb.Fatalf("events = %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			tb.Fatalf("events = %v, want %v", got, want)
		}
	}
}

// mustRoundTrip marshals and unmarshals every event and fails unless each comes back equal.
func mustRoundTrip(tb testing.TB, events []domain.Event) []domain.Event {
	tb.Helper()
	out := make([]domain.Event, len(events))
	for i, e := range events {
		typ, v, data, err := domain.Marshal(e)
		if err != nil {
			tb.Fatalf("marshal %s: %v", e.EventType(), err)
		}
		back, err := domain.Unmarshal(typ, v, data)
		if err != nil {
			tb.Fatalf("unmarshal %s: %v", typ, err)
		}
		out[i] = back
	}
	return out
}

// aggregate is what the three aggregates have in common for tests.
type aggregate interface{ Apply(domain.Event) }

// mustApply returns a function that fails on err, applies the events to agg and returns
// them: mustApply(t, c)(c.DecideX(cmd, now)).
func mustApply(tb testing.TB, agg aggregate) func([]domain.Event, error) []domain.Event {
	return func(events []domain.Event, err error) []domain.Event {
		tb.Helper()
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		for _, e := range events {
			agg.Apply(e)
		}
		return events
	}
}

// mustCommunity creates community "c1" on Slack with users alice (admin), bob and carol and
// the roles of a moderators starter kit: "Base User" (base: view and propose everything,
// vote) and "Moderator" (execute everything), given to alice. It returns the state and
// every event so far.
func mustCommunity(tb testing.TB) (*domain.Community, []domain.Event) {
	tb.Helper()
	c := &domain.Community{}
	var all []domain.Event
	step := func(events []domain.Event, err error) {
		tb.Helper()
		all = append(all, mustApply(tb, c)(events, err)...)
	}
	step(c.DecideCreateCommunity(domain.CreateCommunity{CommunityID: "c1", Name: "Coop", Platform: domain.PlatformSlack, ExternalID: "T1", PlatformName: "coop"}, at(0)))
	for _, u := range []domain.RegisterUser{
		{UserID: "alice", Platform: domain.PlatformSlack, Username: "U01", ReadableName: "Alice", IsAdmin: true},
		{UserID: "bob", Platform: domain.PlatformSlack, Username: "U02", ReadableName: "Bob"},
		{UserID: "carol", Platform: domain.PlatformSlack, Username: "U03", ReadableName: "Carol"},
	} {
		step(c.DecideRegisterUser(u, at(1)))
	}
	step(c.DecideAddRole(domain.AddRole{Name: "Base User", IsBase: true, Permissions: []domain.Permission{
		{Verb: domain.VerbView, ActionType: domain.AnyActionType},
		{Verb: domain.VerbPropose, ActionType: domain.AnyActionType},
		{Verb: domain.VerbVote, ActionType: domain.AnyActionType},
	}}, at(2)))
	step(c.DecideAddRole(domain.AddRole{Name: "Moderator", Description: "mods", Permissions: []domain.Permission{
		{Verb: domain.VerbExecute, ActionType: domain.AnyActionType},
	}}, at(2)))
	step(c.DecideAddUserRole(domain.AddUserRole{Role: "Moderator", UserIDs: []string{"alice"}}, at(3)))
	return c, all
}

func mustPermission(tb testing.TB, s string) domain.Permission {
	tb.Helper()
	p, err := domain.ParsePermission(s)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// mustConstitutionAction builds a constitution action of community c1 proposed by alice.
func mustConstitutionAction(tb testing.TB, id string, p domain.ConstitutionPayload) domain.Action {
	tb.Helper()
	a, err := domain.NewConstitutionAction(id, "c1", "alice", p, at(10))
	if err != nil {
		tb.Fatalf("NewConstitutionAction(%T): %v", p, err)
	}
	return a
}
