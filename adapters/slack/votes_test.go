package slack

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// A click on the buttons of a decided proposal is answered with a message only the member
// sees, and sends no vote: the engine would only refuse it.
func TestClickOnADecidedProposalIsAnsweredPolitely(t *testing.T) {
	proposals := StaticProposals{"p-passed": domain.StatusPassed, "p-failed": domain.StatusFailed, "p-open": domain.StatusProposed}
	h := newHarness(t, nil, func(_ *Config, d *Deps) { d.Proposals = proposals })
	for _, tc := range []struct{ proposal, status string }{{"p-passed", "PASSED"}, {"p-failed", "FAILED"}} {
		postID := h.effect(busVote("e-"+tc.proposal, tc.proposal, "C1")).Result["post_id"].(string)
		before := len(h.fake.seen("chat.postEphemeral"))
		if resp := h.click("U1", "C1", postID, valueYes); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: click answered %d", tc.proposal, resp.StatusCode)
		}
		got := h.fake.seen("chat.postEphemeral")
		if len(got) != before+1 || got[before].Get("user") != "U1" || got[before].Get("channel") != "C1" ||
			got[before].Get("text") != "This vote has ended: "+tc.status+"." {
			t.Fatalf("%s: answered %v", tc.proposal, got)
		}
		h.quiet(h.votes, "CastVote on a decided proposal")
	}
	// An open proposal's vote is sent as ever.
	postID := h.effect(busVote("e-open", "p-open", "C1")).Result["post_id"].(string)
	h.click("U1", "C1", postID, valueNo)
	if cv := h.castVote(); cv.ProposalID != "p-open" || cv.Vote.Kind != domain.VoteBoolean || cv.Vote.Boolean {
		t.Fatalf("cast %+v", cv)
	}
}

// A button value the vote does not offer is the request's fault: 400, and no vote.
func TestMalformedVoteValueIsABadRequest(t *testing.T) {
	h := newHarness(t, nil)
	yesNo := h.effect(busVote("e-yesno", "p1", "C1")).Result["post_id"].(string)
	choice := h.effect(bus.EffectRequest{ProposalID: "p2", EffectID: "e-choice", Method: "initiate_vote", Purpose: "query",
		Args: map[string]any{"text": "adopt?", "channel": "C1", "options": []any{"consent", "object"}}}).Result["post_id"].(string)
	long := strings.Repeat("o", domain.MaxChoiceLen+1)
	longChoice := h.effect(bus.EffectRequest{ProposalID: "p3", EffectID: "e-long", Method: "initiate_vote", Purpose: "query",
		Args: map[string]any{"text": "adopt?", "channel": "C1", "options": []any{"ok", long}}}).Result["post_id"].(string)
	for _, tc := range []struct{ name, post, value string }{
		{"yse on yes/no", yesNo, "yse"},
		{"a huge number on yes/no", yesNo, "99999999999999999999"},
		{"no value", yesNo, ""},
		{"not an option", choice, "objection"},
		{"an oversized value", choice, strings.Repeat("x", 3000)},
		{"an option longer than a choice may be", longChoice, long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.click("U1", "C1", tc.post, tc.value)
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("answered %d %s, want 400", resp.StatusCode, body)
			}
		})
	}
	h.quiet(h.votes, "CastVote with a malformed value")
}

// Over Socket Mode a malformed vote value is acknowledged (Slack would only send it again),
// and no vote is cast.
func TestSocketModeMalformedVoteValue(t *testing.T) {
	state := NewMemoryState()
	h := newHarness(t, state)
	r := runSocketMode(t, h, state, testAppToken)
	conn := r.fs.accept(t)
	postID := h.effect(busVote("e-vote", "p4", "C4")).Result["post_id"].(string)
	conn.envelope("e1", "interactive", voteClick("U1", "C4", postID, "maybe"), 0)
	conn.acked("e1")
	r.a.workers.Wait()
	h.quiet(h.votes, "CastVote with a malformed value")
}
