package graph_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/99designs/gqlgen/client"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/graph"
	"github.com/policykit-go/policykit/projections"
)

// logReads is the API's event store, recording where each read of the global log starts.
type logReads struct {
	eventstore.Store
	mu     sync.Mutex
	afters []eventstore.Position
}

func (s *logReads) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	s.mu.Lock()
	s.afters = append(s.afters, after)
	s.mu.Unlock()
	return s.Store.ReadAll(ctx, after, limit)
}

func (s *logReads) HeldBack(ctx context.Context, after eventstore.Position) (bool, error) {
	return s.Store.(eventstore.HeldReader).HeldBack(ctx, after)
}

// take returns the reads recorded since the last take.
func (s *logReads) take() []eventstore.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.afters
	s.afters = nil
	return out
}

func newEnvCountingLogReads(t *testing.T) (*env, *logReads) {
	t.Helper()
	reads := &logReads{}
	e := newEnvWith(t, nil, func(d *graph.Deps) {
		reads.Store = d.Store
		d.Store = reads
	})
	return e, reads
}

// gardenEvents is what Community.events shows an admin of garden: the events of garden's
// stream and of its actions' and proposals' streams, in log order, read from the whole log.
func gardenEvents(t *testing.T, e *env) []string {
	t.Helper()
	var out []string
	for ev, err := range eventstore.All(context.Background(), postgres.New(e.pool), eventstore.Start) {
		if err != nil {
			t.Fatal(err)
		}
		cat := domain.StreamCategory(ev.Stream)
		if ev.Stream != domain.CommunityStream("garden") && cat != domain.CategoryAction && cat != domain.CategoryProposal {
			continue
		}
		if de, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data); err == nil && de.Meta().CommunityID == "garden" {
			out = append(out, ev.Position.String())
		}
	}
	return out
}

// pageGarden pages through garden's events, n at a time, and returns their positions.
func pageGarden(t *testing.T, e *env, n int) []string {
	t.Helper()
	var out []string
	var after *string
	for range 1000 {
		var resp eventsResp
		opts := []client.Option{client.Var("first", n)}
		if after != nil {
			opts = append(opts, client.Var("after", *after))
		}
		e.mustQuery(t, &resp, eventsQuery, opts...)
		for _, ed := range resp.Community.Events.Edges {
			out = append(out, ed.Node.Position)
		}
		if !resp.Community.Events.PageInfo.HasNextPage {
			return out
		}
		after = resp.Community.Events.PageInfo.EndCursor
	}
	t.Fatal("no last page")
	return nil
}

// A community's events are read from their index up to its checkpoint and from the log only
// after it; while the index lags, or before it starts, the pages are the same.
func TestCommunityEventsReadTheIndexNotTheLog(t *testing.T) {
	e, reads := newEnvCountingLogReads(t)
	e.mustPropose(t, "alice", "veggies")
	e.mustSeedOrchard(t) // another community's events, between garden's
	last := e.mustPropose(t, "alice", "herbs")
	e.mustCatchUp(t, domain.ProposalStream(last))
	want := gardenEvents(t, e)
	ctx := context.Background()
	cp, err := e.runner.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}

	reads.take()
	for _, n := range []int{1, 3, 100} {
		if got := pageGarden(t, e, n); !slices.Equal(got, want) {
			t.Fatalf("pages of %d: %v\nwant %v", n, got, want)
		}
	}
	for _, after := range reads.take() {
		if after.Less(cp) {
			t.Errorf("a page read the log after %s, before the index's checkpoint %s", after, cp)
		}
	}

	// The index lags: its checkpoint is halfway through garden's events. The rest comes
	// from the log, read from there.
	mid, err := eventstore.ParsePosition(want[len(want)/2])
	if err != nil {
		t.Fatal(err)
	}
	setIndexCheckpoint := func(sql string, args ...any) {
		t.Helper()
		if _, err := e.pool.Exec(ctx, sql, append([]any{projections.CommunityEventsProjector}, args...)...); err != nil {
			t.Fatal(err)
		}
	}
	setIndexCheckpoint(`UPDATE projection_checkpoints SET commit_id = $2, seq = $3 WHERE name = $1`, int64(mid.Commit), mid.Seq)
	for _, n := range []int{1, 3, 100} {
		if got := pageGarden(t, e, n); !slices.Equal(got, want) {
			t.Fatalf("pages of %d with the index behind: %v\nwant %v", n, got, want)
		}
	}
	for _, after := range reads.take() {
		if after.Less(mid) {
			t.Errorf("a page read the log after %s, before the index's checkpoint %s", after, mid)
		}
	}

	// No index yet: all from the log.
	setIndexCheckpoint(`DELETE FROM projection_checkpoints WHERE name = $1`)
	if got := pageGarden(t, e, 3); !slices.Equal(got, want) {
		t.Fatalf("pages without the index: %v\nwant %v", got, want)
	}
	if reads := reads.take(); len(reads) == 0 || reads[0] != eventstore.Start {
		t.Errorf("without the index, the log reads start at %v, want the start", reads)
	}
}

// Proposal.verification reads the streams of the proposal, its action and its community,
// never the global log.
func TestProposalVerificationReadsItsStreamsOnly(t *testing.T) {
	e, reads := newEnvCountingLogReads(t)
	p := e.mustPropose(t, "alice", "veggies")
	e.mustSeedOrchard(t)
	e.mustPropose(t, "alice", "herbs")
	reads.take()
	var resp struct {
		Proposal struct {
			Verification struct {
				Ok        bool
				Decisions int
			}
		}
	}
	e.mustQuery(t, &resp, `query($p: ID!) { proposal(id: $p) { verification { ok decisions } } }`, client.Var("p", p))
	if v := resp.Proposal.Verification; !v.Ok || v.Decisions < 1 {
		t.Errorf("verification = %+v, want ok with the opening", v)
	}
	if got := reads.take(); len(got) != 0 {
		t.Errorf("verification read the global log %d times (after %v)", len(got), got)
	}
}
