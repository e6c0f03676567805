package projections

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

// The index holds, per community and in log order, the events of the community's stream and
// of its actions' and proposals' streams; events of other streams, and events without a
// community, are not in it.
func TestCommunityEventsIndexTheirCommunity(t *testing.T) {
	pool, store := newTestDB(t)
	b := newLogBuilder(t, store)
	writeScenario(b)
	ctx := context.Background()
	// An event of a type this build does not know keeps its community; one without a
	// community id, and one on a stream of no community's, are not indexed.
	for stream, data := range map[string]string{
		"proposal-future": `{"community_id": "c2", "proposal_id": "future"}`,
		"proposal-nobody": `{"proposal_id": "nobody"}`,
		"elsewhere-1":     `{"community_id": "c1"}`,
	} {
		if _, err := store.Append(ctx, stream, eventstore.NoStream(), []eventstore.EventData{{
			ID: uuid.New(), Type: "FutureThingHappened", SchemaVersion: 1, Data: json.RawMessage(data)}}); err != nil {
			t.Fatal(err)
		}
	}
	mustCatchUp(t, NewRunner(store, pool, 7, nil, All()...), pool)

	want := map[string][]string{}
	for ev, err := range eventstore.All(ctx, store, eventstore.Start) {
		if err != nil {
			t.Fatal(err)
		}
		e, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
		if err != nil {
			t.Fatal(err)
		}
		id := e.Meta().CommunityID
		cat := domain.StreamCategory(ev.Stream)
		if id != "" && (ev.Stream == domain.CommunityStream(id) || cat == domain.CategoryAction || cat == domain.CategoryProposal) {
			want[id] = append(want[id], ev.Stream+" "+ev.Position.String())
		}
	}
	if len(want["c1"]) == 0 || len(want["c2"]) == 0 || !slices.ContainsFunc(want["c2"], func(s string) bool { return s[:15] == "proposal-future" }) {
		t.Fatalf("scenario: %v", want)
	}
	got := map[string][]string{}
	rows, err := pool.Query(ctx, `SELECT community_id, stream, commit_id, seq FROM community_events ORDER BY community_id, commit_id, seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, stream string
		var pos eventstore.Position
		var commit int64
		if err := rows.Scan(&id, &stream, &commit, &pos.Seq); err != nil {
			t.Fatal(err)
		}
		pos.Commit = uint64(commit)
		got[id] = append(got[id], stream+" "+pos.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id := range want {
		if !slices.Equal(got[id], want[id]) {
			t.Errorf("community %s: index %v\nlog %v", id, got[id], want[id])
		}
	}
	if len(got) != len(want) {
		t.Errorf("index communities %d, want %d", len(got), len(want))
	}
}
