package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
)

// FuzzIngress sends the hook arbitrary bodies, correctly signed, as Events API JSON and as
// interactivity forms (a vote click's payload among the seeds, on a vote the adapter
// knows): the hook never panics and never answers 500; what cannot be handled is a 4xx, and
// only a full worker pool is a 503.
func FuzzIngress(f *testing.F) {
	ev := func(inner map[string]any) []byte {
		b, _ := json.Marshal(callback("Ev1", inner))
		return b
	}
	click := func(value string) []byte {
		b, _ := json.Marshal(voteClick("U1", "C1", "1700000000.000001", value))
		return b
	}
	f.Add(false, ev(messageEvent("U1", "C1", "hello", "1700000000.000100")))
	f.Add(false, ev(map[string]any{"type": "channel_rename", "channel": map[string]any{"id": "C1", "name": "x", "created": 1}}))
	f.Add(false, ev(map[string]any{"type": "reaction_added", "user": "U1", "reaction": "+1",
		"item": map[string]any{"type": "message", "channel": "C1", "ts": "1700000000.000001"}}))
	f.Add(false, []byte(`{"type":"url_verification","challenge":"c"}`))
	f.Add(false, []byte(`{"type":"event_callback","team_id":"T1","event_id":"E2","event":{"type":12}}`))
	f.Add(false, []byte(`{"type":`))
	f.Add(true, click("yes"))
	f.Add(true, click("no"))
	f.Add(true, []byte(`{"type":"block_actions","actions":[{"action_id":"policykit_vote_x","value":"x"}]}`))
	f.Add(true, []byte(`{"type":"view_submission"}`))
	f.Add(true, []byte(`not json`))

	fake := newFakeSlack(f)
	a := newTestAdapter(f, fake, nil)
	if err := a.state.SaveVote(context.Background(), VotePost{TeamID: "T1", Channel: "C1", TS: "1700000000.000001",
		CommunityID: "c1", ProposalID: "p1", Kind: domain.VoteBoolean}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, form bool, payload []byte) {
		body, ctype := payload, "application/json"
		if form {
			body, ctype = []byte(url.Values{"payload": {string(payload)}}.Encode()), "application/x-www-form-urlencoded"
		}
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req := httptest.NewRequest(http.MethodPost, "/api/hooks/slack", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sign(testSecret, ts, body))
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("form=%v %q: answered %d %s", form, payload, rec.Code, rec.Body)
		}
	})
}
