package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/google/uuid"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/postgres"
	"github.com/policykit-go/policykit/graph"
	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/projections"
)

// BenchmarkCommunityReads reads garden's first page of events (50, through the HTTP handler)
// and verifies one of its proposals, in a log that holds 10,000 or 100,000 events of 100
// other communities besides garden's few dozen (half of them before garden's proposal, half
// after). "index" and "streams" are the reads as they are: the page from the index of
// community events, the verification from the three streams. "log" is each read the way it
// was done before (the page with the index not started, so from the log; the verification
// over the log filtered to the three streams), for comparison.
func BenchmarkCommunityReads(b *testing.B) {
	for _, other := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("other=%d", other), func(b *testing.B) {
			ctx := context.Background()
			e := newEnv(b, nil)
			store := postgres.New(e.pool)
			mustAppendOtherCommunities(b, store, 0, other/2)
			var proposed proposeResp
			mustPostAs(b, e, "alice", &proposed, proposeRename, client.Var("name", `{"channel":"C1","name":"veggies"}`))
			p := proposed.ProposeAction.Proposal.ID
			last := mustAppendOtherCommunities(b, store, other/2, other)
			e.mustCatchUp(b, last)
			// The runner beside the API follows the log too, and may still be reading the
			// events the catch-up applied: let it finish, not to measure it.
			time.Sleep(3 * time.Second)
			prop, err := engine.LoadProposal(ctx, store, p)
			if err != nil {
				b.Fatal(err)
			}
			rt, err := policy.New(policy.Options{})
			if err != nil {
				b.Fatal(err)
			}
			loop := evaluation.New(rt, 0)
			streams := []string{domain.CommunityStream("garden"), domain.ActionStream(prop.ActionID), domain.ProposalStream(p)}

			page := func(b *testing.B) {
				var resp eventsResp
				for range b.N {
					mustPostAs(b, e, "alice", &resp, eventsQuery, client.Var("first", 50))
				}
				b.ReportMetric(float64(len(resp.Community.Events.Edges)), "events/page")
			}
			b.Run("page=index", page)
			b.Run("page=log", func(b *testing.B) {
				if _, err := e.pool.Exec(ctx, `UPDATE projection_checkpoints SET name = 'benchmark-aside' WHERE name = $1`,
					projections.CommunityEventsProjector); err != nil {
					b.Fatal(err)
				}
				defer func() {
					if _, err := e.pool.Exec(ctx, `UPDATE projection_checkpoints SET name = $1 WHERE name = 'benchmark-aside'`,
						projections.CommunityEventsProjector); err != nil {
						b.Fatal(err)
					}
				}()
				page(b)
			})
			verify := func(b *testing.B, run func() (engine.AuditReport, error)) {
				for range b.N {
					rep, err := run()
					if err != nil {
						b.Fatal(err)
					}
					if rep.Decisions < 1 || len(rep.Mismatches) != 0 {
						b.Fatalf("report %+v", rep)
					}
				}
			}
			b.Run("verify=streams", func(b *testing.B) {
				verify(b, func() (engine.AuditReport, error) {
					return graph.VerifyProposal(ctx, store, loop, "garden", prop.ActionID, p)
				})
			})
			b.Run("verify=log", func(b *testing.B) {
				verify(b, func() (engine.AuditReport, error) {
					return engine.Verify(ctx, logOfStreams{Store: store, streams: streams}, loop, nil)
				})
			})
		})
	}
}

// logOfStreams is a store whose global log holds only some streams' events (read by
// filtering the whole log): how a proposal was verified before it read its streams.
type logOfStreams struct {
	eventstore.Store
	streams []string
}

func (s logOfStreams) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	var out []eventstore.RecordedEvent
	for ev, err := range eventstore.All(ctx, s.Store, after) {
		if err != nil {
			return nil, err
		}
		for _, st := range s.streams {
			if ev.Stream == st {
				out = append(out, ev)
			}
		}
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// mustAppendOtherCommunities appends the events from to to of 100 other communities'
// proposals, a thousand per stream (a type this build does not know, which the read models
// other than the index leave alone), and returns the last stream written.
func mustAppendOtherCommunities(tb testing.TB, store eventstore.Store, from, to int) string {
	tb.Helper()
	const perStream = 1000
	var stream string
	for start := from; start < to; start += perStream {
		n := min(perStream, to-start)
		stream = fmt.Sprintf("proposal-other-%d", start/perStream)
		community := fmt.Sprintf("other-%d", start/perStream%100)
		evs := make([]eventstore.EventData, n)
		for i := range evs {
			data, _ := json.Marshal(map[string]any{"community_id": community, "proposal_id": stream, "n": start + i})
			evs[i] = eventstore.EventData{ID: uuid.New(), Type: "BenchmarkNoiseRecorded", SchemaVersion: 1, Data: data}
		}
		if _, err := store.Append(context.Background(), stream, eventstore.NoStream(), evs); err != nil {
			tb.Fatal(err)
		}
	}
	return stream
}

// mustPostAs is mustQueryAs for benchmarks.
func mustPostAs(tb testing.TB, e *env, user string, out any, query string, opts ...client.Option) {
	tb.Helper()
	resp, err := e.client.RawPost(query, append([]client.Option{e.as(user)}, opts...)...)
	if err != nil {
		tb.Fatalf("post: %v", err)
	}
	if len(resp.Errors) > 0 {
		tb.Fatalf("query failed: %s", resp.Errors)
	}
	data, err := json.Marshal(resp.Data)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		tb.Fatalf("decode %s: %v", data, err)
	}
}
