package projections

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

// faultyProjector wraps a projector and cannot apply one event (by id): its Project fails
// (inGo), or the statement it queues for that event fails in Postgres.
type faultyProjector struct {
	Projector
	bad  map[uuid.UUID]bool
	inGo bool
}

func (f faultyProjector) Project(q Queue, ev Envelope) error {
	if f.bad[ev.ID] {
		if f.inGo {
			return errors.New("cannot fold this event")
		}
		q.Queue(`SELECT 1 / 0`) // a data exception, as a constraint violation would be
	}
	return f.Projector.Project(q, ev)
}

// faultyRunner is All() with the proposals projector failing in Postgres, and the votes
// projector failing in Go, on the given events.
func faultyRunner(store eventstore.Store, pool *pgxpool.Pool, batch int, proposalsBad, votesBad map[uuid.UUID]bool) *Runner {
	var ps []Projector
	for _, p := range All() {
		switch p.Name() {
		case "proposals":
			p = faultyProjector{Projector: p, bad: proposalsBad}
		case "votes":
			p = faultyProjector{Projector: p, bad: votesBad, inGo: true}
		}
		ps = append(ps, p)
	}
	return NewRunner(store, pool, batch, nil, ps...)
}

// eventIDs lists the ids of the log's events of a type, in log order.
func eventIDs(tb testing.TB, store eventstore.Store, typ string) []uuid.UUID {
	tb.Helper()
	evs, err := store.ReadAll(context.Background(), eventstore.Start, 100_000)
	if err != nil {
		tb.Fatal(err)
	}
	var out []uuid.UUID
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev.ID)
		}
	}
	return out
}

// TestEventAProjectorCannotApplyIsSkippedAndRecorded: a projector that fails on an event
// (in Go or in Postgres), and an event no projector can decode, stop nothing. Each failing
// projector skips only that event, every other projector applies it, every checkpoint
// reaches the head of the log, the failures are recorded once each, and a replay leaves
// every other row in place.
func TestEventAProjectorCannotApplyIsSkippedAndRecorded(t *testing.T) {
	pool, store := newTestDB(t)
	b := newLogBuilder(t, store)
	users, pol := b.setupCommunity("c1", 3)
	for i, id := range []string{"1", "2"} {
		b.governedAction(lifecycle{community: "c1", actionID: "a" + id, proposalID: "p" + id, policyID: pol, initiator: users[i], pass: true,
			votes: []vote{{user: users[0], yes: true}, {user: users[1], yes: true}}})
	}
	// A known type whose payload this build cannot read.
	b.appendData(domain.ProposalStream("p2"), b.proposals["p2"].Version, []eventstore.EventData{{
		ID: uuid.New(), Type: domain.EventVoteCast, SchemaVersion: 1, Data: []byte(`{"vote": "not a vote"}`),
	}})
	b.total++
	waitReadable(t, pool)
	votes := eventIDs(t, store, domain.EventVoteCast)
	if len(votes) != 5 {
		t.Fatalf("%d votes in the log, want 4 and the unreadable one", len(votes))
	}
	// p1's first vote fails the proposals projector; p2's last readable vote fails the votes
	// projector.
	proposalsBad, votesBad := map[uuid.UUID]bool{votes[0]: true}, map[uuid.UUID]bool{votes[3]: true}

	// What a clean run writes, to compare with.
	clean := NewRunner(store, pool, 0, nil, All()...)
	mustCatchUp(t, clean, pool)
	want := dump(t, pool)
	if err := clean.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}

	for _, batch := range []int{0, 4} { // the whole log in one batch, and batches of 4
		r := faultyRunner(store, pool, batch, proposalsBad, votesBad)
		if batch == 0 {
			// Served live: Run keeps going.
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- r.Run(ctx) }()
			head := logHead(t, pool)
			deadline := time.Now().Add(30 * time.Second)
			for {
				cp, err := r.Checkpoint(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if cp == head {
					break
				}
				select {
				case err := <-done:
					t.Fatalf("Run ended: %v", err)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("Run stopped at %s short of the head %s", cp, head)
				}
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("Run = %v, want context.Canceled", err)
			}
		} else {
			mustReplay(t, r, pool)
		}

		got := dump(t, pool)
		for table := range want {
			if table == "proposals" || table == "proposal_ballots" || table == "votes" || table == "vote_history" {
				continue
			}
			mustEqualDumps(t, "faulty vs clean", map[string]string{table: got[table]}, map[string]string{table: want[table]})
		}
		// proposals skipped p1's first vote: one yes vote, one ballot less; p2 as clean.
		if n := mustCount(t, pool, `SELECT yes_votes FROM proposals WHERE id = 'p1'`); n != 1 {
			t.Errorf("batch %d: p1 has %d yes votes, want the one it could apply", batch, n)
		}
		if n := mustCount(t, pool, `SELECT yes_votes FROM proposals WHERE id = 'p2'`); n != 2 {
			t.Errorf("batch %d: p2 has %d yes votes, want 2", batch, n)
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM proposals WHERE status = 'PASSED'`); n != 2 {
			t.Errorf("batch %d: %d proposals passed, want both", batch, n)
		}
		// votes skipped p2's second vote only.
		if n := mustCount(t, pool, `SELECT count(*) FROM vote_history`); n != 3 {
			t.Errorf("batch %d: %d votes in vote_history, want 3 of 4", batch, n)
		}
		if n := mustCount(t, pool, `SELECT count(*) FROM vote_history WHERE event_id = $1`, votes[3]); n != 0 {
			t.Errorf("batch %d: the vote the votes projector failed on is in vote_history", batch)
		}

		failures, err := r.Failures(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var got3 []string
		for _, f := range failures {
			got3 = append(got3, f.Projector+" "+f.EventID.String()+" "+f.Type)
			if f.Error == "" || f.Stream == "" || f.Version == 0 || f.Position == (eventstore.Position{}) {
				t.Errorf("batch %d: failure without its details: %+v", batch, f)
			}
		}
		wantFailures := []string{
			"proposals " + votes[0].String() + " " + domain.EventVoteCast,
			"votes " + votes[3].String() + " " + domain.EventVoteCast,
		}
		// The unreadable event fails every projector.
		for _, p := range All() {
			wantFailures = append(wantFailures, p.Name()+" "+votes[4].String()+" "+domain.EventVoteCast)
		}
		slices.Sort(got3)
		slices.Sort(wantFailures)
		if !slices.Equal(got3, wantFailures) {
			t.Errorf("batch %d: failures\n%s\nwant\n%s", batch, strings.Join(got3, "\n"), strings.Join(wantFailures, "\n"))
		}
	}
}

// A failure's message is recorded even when it carries bytes Postgres text refuses.
func TestFailureTextIsPostgresText(t *testing.T) {
	if got := failureText(errors.New("bad \x00byte \xff here")); got != "bad byte \uFFFD here" {
		t.Fatalf("failureText = %q", got)
	}
}
