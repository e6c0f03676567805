package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/policykit-go/policykit/adapters/discord/discordtest"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

const (
	appID = "800000000000000001"
	guild = "G1"
)

// harness is an adapter for community c1 on guild G1, against a fake Discord, its
// interactions endpoint served.
type harness struct {
	a    *Adapter
	fake *discordtest.Fake
	key  discordtest.Key
	dir  *platform.MemoryDirectory
	hook string
}

func learn(t testing.TB, d platform.Directory, pos int64, e domain.Event) {
	t.Helper()
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	env := bus.EventEnvelope{ID: uuid.New(), Type: e.EventType(), GlobalPosition: pos, Position: fmt.Sprintf("%d:0", pos), Data: data}
	if err := d.Learn(context.Background(), env); err != nil {
		t.Fatal(err)
	}
}

func newHarness(t *testing.T, pub message.Publisher, tweak func(*Section, *Deps)) *harness {
	t.Helper()
	fake := discordtest.New(t.Cleanup)
	key := discordtest.NewKey()
	dir := &platform.MemoryDirectory{}
	learn(t, dir, 1, domain.PlatformConnected{CommunityHeader: domain.CommunityHeader{CommunityID: "c1", At: time.Now()}, Platform: domain.PlatformDiscord, ExternalID: guild})
	sec := Section{ApplicationID: appID, PublicKey: key.PublicHex(), BotToken: "bot-token", APIURL: fake.URL(),
		RateLimitMaxWait: 3 * time.Second}
	deps := Deps{Publisher: pub, Directory: dir}
	if tweak != nil {
		tweak(&sec, &deps)
	}
	a, err := New(sec, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return &harness{a: a, fake: fake, key: key, dir: dir, hook: srv.URL}
}

// post posts a signed interaction and returns the status and the decoded answer.
func (h *harness) post(t *testing.T, body []byte, at time.Time) (int, map[string]any) {
	t.Helper()
	code, raw, err := h.key.Post(h.hook, body, at)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return code, out
}

func voteRequest(id, proposalID string, args map[string]any) bus.EffectRequest {
	return bus.EffectRequest{CommunityID: "c1", ProposalID: proposalID, EffectID: id, IdempotencyKey: id, Platform: domain.PlatformDiscord,
		Method: bus.MethodInitiateVote, Purpose: bus.PurposeQuery, Args: args}
}

func govern(id, method, typ string, fields map[string]any) bus.EffectRequest {
	return bus.EffectRequest{CommunityID: "c1", ActionID: "a-" + id, EffectID: id, IdempotencyKey: id, Platform: domain.PlatformDiscord,
		Method: method, Purpose: method, Args: map[string]any{"action_id": "a-" + id, "action_type": typ, "fields": fields}}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
