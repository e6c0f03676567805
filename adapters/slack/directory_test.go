package slack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// learn feeds the directory an event as the bus delivers it, at global position pos.
func learn(t *testing.T, d platform.Directory, pos int64, e domain.Event) {
	t.Helper()
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Learn(context.Background(), bus.EventEnvelope{ID: uuid.New(), Type: e.EventType(), GlobalPosition: pos, Data: data}); err != nil {
		t.Fatal(err)
	}
}

// The adapter finds its workspace's community, and learns that a vote has ended, from the
// events on the bus (the kit's directory), not from the engine's tables: a click after the
// proposal passed is answered "This vote has ended" and casts nothing.
func TestTheDirectoryFromTheBusDrivesTheAdapter(t *testing.T) {
	at := time.Unix(1_700_000_000, 0).UTC()
	dir := &platform.MemoryDirectory{}
	learn(t, dir, 1, domain.PlatformConnected{CommunityHeader: domain.CommunityHeader{CommunityID: "c1", At: at}, Platform: domain.PlatformSlack, ExternalID: "T1"})
	h := newHarness(t, nil, func(_ *Config, d *Deps) {
		d.Directory, d.Proposals = KitDirectory{D: dir, Wait: time.Second}, KitDirectory{D: dir}
	})
	h.event("Ev-dir", messageEvent("U1", "C1", "hello", "1700000000.000700"), 0)
	if act := h.proposed(); act.CommunityID != "c1" {
		t.Fatalf("proposed in %q", act.CommunityID)
	}

	learn(t, dir, 2, domain.ProposalOpened{ProposalHeader: domain.ProposalHeader{CommunityID: "c1", ProposalID: "p1", At: at}})
	postID := h.effect(busVote("e-vote", "p1", "C1")).Result["post_id"].(string)
	learn(t, dir, 3, domain.ProposalPassed{ProposalHeader: domain.ProposalHeader{CommunityID: "c1", ProposalID: "p1", At: at}})
	before := len(h.fake.seen("chat.postEphemeral"))
	if resp := h.click("U1", "C1", postID, valueYes); resp.StatusCode != http.StatusOK {
		t.Fatalf("click answered %d", resp.StatusCode)
	}
	if got := h.fake.seen("chat.postEphemeral"); len(got) != before+1 || got[before].Get("text") != "This vote has ended: PASSED." {
		t.Fatalf("answered %v", got)
	}
	h.quiet(h.votes, "CastVote on a passed proposal")

	// A workspace the directory never learns is unknown, as ErrUnknownWorkspace.
	if _, err := (KitDirectory{D: dir}).CommunityOfTeam(context.Background(), "T-other"); !errors.Is(err, ErrUnknownWorkspace) {
		t.Fatalf("unknown team: %v", err)
	}
}
