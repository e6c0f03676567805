package discord

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/discord/discordtest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Through the Gateway: a member's message is governed, the bot's own is not; a channel
// renamed is governed with its previous name, the adapter's own rename is not. The
// connection dropped in the middle of a vote is resumed, Discord replays what it sent
// meanwhile, and each event is proposed once; the vote goes on.
func TestGatewayGovernsAndResumes(t *testing.T) {
	b, cmds := watch(t)
	h := newHarness(t, b.Publisher(), nil)
	h.fake.AddGuild(guild, map[string]string{"C1": "general"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.a.RunGateway(ctx) }()
	defer func() { cancel(); <-done }()
	select {
	case <-h.fake.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the adapter did not identify")
	}
	byType := func(typ string) []bus.ProposeAction {
		p, _ := cmds.snapshot()
		var out []bus.ProposeAction
		for _, c := range p {
			if c.Action.Type == typ {
				out = append(out, c)
			}
		}
		return out
	}

	h.fake.MessageCreate(guild, "C1", "M1", "U1", "hello garden", false)
	h.fake.MessageCreate(guild, "C1", "M2", discordtest.BotID, "a vote, posted by the bot", true)
	eventually(t, "the member's message governed", func() bool { return len(byType(domain.ActionDiscordPostMessage)) == 1 })
	msg := byType(domain.ActionDiscordPostMessage)[0]
	if f := msg.Action.Fields; f["message_id"] != "M1" || f["text"] != "hello garden" || !msg.Action.Reversible || msg.Initiator.Username != "U1" {
		t.Fatalf("governed message %+v", msg.Action)
	}

	h.fake.ChannelUpdate(guild, "C1", "garden-chat")
	eventually(t, "the rename governed", func() bool { return len(byType(domain.ActionDiscordRenameChannel)) == 1 })
	if f := byType(domain.ActionDiscordRenameChannel)[0].Action.Fields; f["previous_name"] != "general" || f["name"] != "garden-chat" {
		t.Fatalf("rename %+v", f)
	}
	// The revert renames it back; its CHANNEL_UPDATE is the adapter's own.
	if _, err := h.a.Perform(ctx, govern("r1", bus.MethodRevert, domain.ActionDiscordRenameChannel,
		map[string]any{"channel": "C1", "name": "garden-chat", "previous_name": "general"})); err != nil {
		t.Fatal(err)
	}
	h.fake.ChannelUpdate(guild, "C1", "general")

	// A vote is open when the connection drops.
	res, err := h.a.Perform(ctx, voteRequest("e-vote", "p1", map[string]any{"channel": "C1", "text": "Rename?"}))
	if err != nil {
		t.Fatal(err)
	}
	h.fake.Outage() // what follows reaches the adapter only through the RESUME's replay
	h.fake.MessageCreate(guild, "C1", "M3", "U2", "said while the bot was away", false)
	h.fake.ChannelCreate(guild, "C5", "new-room")
	if code, _ := h.post(t, discordtest.Click("K1", appID, guild, "C1", res["post_id"].(string), "U2", votePrefix+valueYes), time.Now()); code != http.StatusOK {
		t.Fatalf("a click during the outage answered %d", code)
	}
	h.fake.Restore()
	select {
	case <-h.fake.Ready():
	case <-time.After(15 * time.Second):
		t.Fatal("the adapter did not resume")
	}
	eventually(t, "the replayed events governed", func() bool {
		return len(byType(domain.ActionDiscordPostMessage)) == 2 && len(byType(domain.ActionDiscordCreateChannel)) == 1
	})
	if h.fake.Resumes != 1 || h.fake.Replayed() < 2 {
		t.Fatalf("%d resumes replaying %d events, want 1 replaying the message and the new channel", h.fake.Resumes, h.fake.Replayed())
	}
	time.Sleep(200 * time.Millisecond) // anything a duplicate would publish, it has by now
	if n := len(byType(domain.ActionDiscordPostMessage)); n != 2 {
		t.Fatalf("%d messages governed, want 2 (M1, M3): the bot's own, or a replay, was proposed", n)
	}
	if n := len(byType(domain.ActionDiscordRenameChannel)); n != 1 {
		t.Fatalf("%d renames governed, want 1: the revert was governed", n)
	}
	if _, votes := cmds.snapshot(); len(votes) != 1 || votes[0].ProposalID != "p1" {
		t.Fatalf("votes %+v", votes)
	}
}
