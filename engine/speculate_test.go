package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/memory"
)

var testNow = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func gardenEngine(t *testing.T) (*Engine, eventstore.Store) {
	t.Helper()
	store := memory.New()
	if _, err := UpdateCommunity(context.Background(), store, "garden", NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		return c.DecideCreateCommunity(domain.CreateCommunity{CommunityID: "garden", Name: "Garden", Platform: domain.PlatformSlack, ExternalID: "T1"}, testNow)
	}); err != nil {
		t.Fatal(err)
	}
	return New(store, nil, nil, func() time.Time { return testNow }), store
}

// proposed is an outcome that records action id, appended at version expected of its stream.
func proposed(id string, expected int64) evaluation.Outcome {
	a := domain.Action{ID: id, CommunityID: "garden", Kind: domain.KindPlatform, Type: "slackpostmessage", Platform: domain.PlatformSlack}
	return evaluation.Outcome{Changes: []evaluation.Change{{Stream: domain.ActionStream(id), Expected: expected,
		Events: []domain.Event{domain.ActionProposed{ActionHeader: domain.ActionHeader{ActionID: id, CommunityID: "garden"}, Action: a}}}}}
}

func stepUnit(what string, step stepFunc) *unit {
	return &unit{ctx: context.Background(), what: what, meta: NewMeta(), step: step}
}

func decided(t *testing.T, units []*unit) {
	t.Helper()
	for _, u := range units {
		if u.err != nil {
			t.Fatalf("%s: %v", u.what, u.err)
		}
	}
}

// The steps of a group wait side by side: each of these waits until all of them have
// started, which steps made one after the other never would.
func TestAGroupsStepsWaitSideBySide(t *testing.T) {
	e, store := gardenEngine(t)
	const n = 8
	var started sync.WaitGroup
	started.Add(n)
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	var units []*unit
	for i := range n {
		id := fmt.Sprintf("a%d", i)
		var once sync.Once
		units = append(units, stepUnit("record "+id, func(ctx context.Context, env *stepEnv) (evaluation.Outcome, error) {
			once.Do(started.Done)
			select {
			case <-all:
				return proposed(id, 0), nil
			case <-time.After(10 * time.Second):
				return evaluation.Outcome{}, errors.New("the other steps of the group never started")
			}
		}))
	}
	e.decideUnits(context.Background(), "garden", units)
	decided(t, units)
	for i := range n {
		if evs, err := ReadStream(context.Background(), store, domain.ActionStream(fmt.Sprintf("a%d", i))); err != nil || len(evs) != 1 {
			t.Fatalf("a%d: %d events, %v", i, len(evs), err)
		}
	}
}

// A step that read a stream a step before it in the group changes is made again in its turn,
// and decides on what that step appended.
func TestAGuessOnAStreamChangedBeforeItIsMadeAgain(t *testing.T) {
	e, _ := gardenEngine(t)
	var seen []int
	var mu sync.Mutex
	units := []*unit{
		stepUnit("record a1", func(ctx context.Context, env *stepEnv) (evaluation.Outcome, error) {
			return proposed("a1", 0), nil
		}),
		stepUnit("record a2 after a1", func(ctx context.Context, env *stepEnv) (evaluation.Outcome, error) {
			evs, err := env.store.ReadStream(ctx, domain.ActionStream("a1"), eventstore.Forward, 1, 10)
			if err != nil {
				return evaluation.Outcome{}, err
			}
			mu.Lock()
			seen = append(seen, len(evs))
			mu.Unlock()
			if len(evs) == 0 {
				return evaluation.Outcome{}, domain.NotFound("action a1")
			}
			return proposed("a2", 0), nil
		}),
	}
	e.decideUnits(context.Background(), "garden", units)
	decided(t, units)
	if fmt.Sprint(seen) != "[0 1]" {
		t.Fatalf("the second step saw %v events of a1 in its runs, want a guess that saw none and a run in its turn that saw 1", seen)
	}
}

// Once a step of the group changes the community, the guesses of the steps after it are void.
func TestGuessesAfterACommunityChangeAreMadeAgain(t *testing.T) {
	e, _ := gardenEngine(t)
	var seen []bool
	var mu sync.Mutex
	units := []*unit{
		stepUnit("register bob", func(ctx context.Context, env *stepEnv) (evaluation.Outcome, error) {
			evs, err := env.c.DecideRegisterUser(domain.RegisterUser{UserID: "bob", Platform: domain.PlatformSlack, Username: "UBOB"}, env.now)
			if err != nil {
				return evaluation.Outcome{}, err
			}
			expected := env.c.Version
			for _, ev := range evs {
				env.c.Apply(ev)
			}
			return evaluation.Outcome{Changes: []evaluation.Change{{Stream: domain.CommunityStream("garden"), Expected: expected, Events: evs}}}, nil
		}),
		stepUnit("record bob's action", func(ctx context.Context, env *stepEnv) (evaluation.Outcome, error) {
			_, ok := env.c.Users["bob"]
			mu.Lock()
			seen = append(seen, ok)
			mu.Unlock()
			return proposed("a1", 0), nil
		}),
	}
	e.decideUnits(context.Background(), "garden", units)
	decided(t, units)
	if fmt.Sprint(seen) != "[false true]" {
		t.Fatalf("the second step knew bob in its runs: %v, want a guess without him and a run in its turn with him", seen)
	}
}

// A state taken on trust that another writer has moved past is never decided on: a refusal
// on it is made again from the log, and an append on it loses its race and is made again.
func TestTrustedStatesAreConfirmedByTheLog(t *testing.T) {
	ctx := context.Background()
	e, store := gardenEngine(t)
	e.decideUnits(ctx, "garden", []*unit{stepUnit("record a1", func(ctx context.Context, env *stepEnv) (evaluation.Outcome, error) {
		return proposed("a1", 0), nil
	})})
	stale, err := e.actions.take(ctx, store, "a1")
	if err != nil || stale.Version != 1 {
		t.Fatalf("a1: %+v, %v", stale, err)
	}
	// Another engine rejects the action.
	if _, err := store.Append(ctx, domain.ActionStream("a1"), eventstore.Exact(1), mustEncode(t, "a1", 1,
		domain.ActionRejected{ActionHeader: domain.ActionHeader{ActionID: "a1", CommunityID: "garden"}, Reason: "elsewhere"})); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		// decide answers on the state it took: refusing, or appending at its version.
		decide func(rec *domain.ActionRecord) (evaluation.Outcome, error)
	}{
		{"refusal", func(rec *domain.ActionRecord) (evaluation.Outcome, error) {
			if rec.Version < 2 {
				return evaluation.Outcome{}, domain.Conflict("action a1 was never rejected")
			}
			return proposed("b-after-refusal", 0), nil
		}},
		{"append", func(rec *domain.ActionRecord) (evaluation.Outcome, error) {
			ev := domain.ActionRejected{ActionHeader: domain.ActionHeader{ActionID: "a1", CommunityID: "garden"}, Reason: "here"}
			return evaluation.Outcome{Changes: []evaluation.Change{{Stream: domain.ActionStream("a1"), Expected: rec.Version, Events: []domain.Event{ev}}}}, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, _ := e.actions.take(ctx, store, "a1")
			stale := &domain.ActionRecord{}
			evs, _ := ReadStream(ctx, store, domain.ActionStream("a1"))
			e0, _ := domain.Unmarshal(evs[0].Type, evs[0].SchemaVersion, evs[0].Data)
			stale.Apply(e0)
			e.actions.keep("a1", stale) // what this engine kept before the other one wrote
			var versions []int64
			u := stepUnit(tc.name, func(ctx context.Context, env *stepEnv) (evaluation.Outcome, error) {
				r, err := e.actions.takeIn(ctx, env, "a1")
				if err != nil {
					return evaluation.Outcome{}, err
				}
				versions = append(versions, r.Version)
				return tc.decide(r)
			})
			e.decideUnits(ctx, "garden", []*unit{u})
			if u.err != nil {
				t.Fatal(u.err)
			}
			if len(versions) != 2 || versions[0] != stale.Version || versions[1] != rec.Version {
				t.Fatalf("the step decided on versions %v, want the kept %d and then the log's %d", versions, stale.Version, rec.Version)
			}
		})
	}
}

func mustEncode(t *testing.T, id string, expected int64, evs ...domain.Event) []eventstore.EventData {
	t.Helper()
	data, err := encode(domain.ActionStream(id), expected, evs, NewMeta())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// A full cache forgets some of what it keeps, not all of it.
func TestStatesForgetAQuarterWhenFull(t *testing.T) {
	ss := newActions()
	ss.max = 8
	for i := range 9 {
		ss.keep(fmt.Sprintf("a%d", i), &domain.ActionRecord{Version: 1})
	}
	if n := len(ss.state); n != 8-2+1 {
		t.Fatalf("after 9 keeps into room for 8 it keeps %d, want 7", n)
	}
	if _, ok := ss.state["a8"]; !ok {
		t.Fatal("the state kept last was forgotten")
	}
}
