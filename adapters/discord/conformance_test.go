package discord

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/policykit-go/policykit/adapters/discord/discordtest"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/adapters/platform/platformtest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// The Discord adapter passes the platform kit's conformance suite.
func TestDiscordConformance(t *testing.T) {
	platformtest.Run(t, func(t *testing.T, pub message.Publisher) *platformtest.Harness {
		ledger := platform.NewMemoryLedger()
		h := newHarness(t, pub, func(_ *Section, d *Deps) { d.Ledger = ledger })
		post := map[string]any{"channel": "C1", "text": "hi", "user": "U1", "message_id": "M1"}
		rename := map[string]any{"channel": "C1", "name": "new-name", "previous_name": "general"}
		create := map[string]any{"channel": "C9", "name": "new-room", "type": "0"}
		votePosts := map[string]string{}
		return &platformtest.Harness{
			Perform: h.a.Perform,
			Calls:   h.fake.Changes,
			Crash: func(ctx context.Context, req bus.EffectRequest) error {
				_, err := ledger.Claim(ctx, req.IdempotencyKey, "crashed-attempt", 0)
				return err
			},
			Effect: bus.EffectRequest{CommunityID: "c1", EffectID: "e-post", IdempotencyKey: "e-post", Platform: domain.PlatformDiscord,
				Method: bus.MethodPostMessage, Purpose: bus.PurposePolicy, Args: map[string]any{"channel": "C1", "text": "hello"}},
			EffectCalls: []string{"POST /channels/C1/messages"},
			Govern: []platformtest.GovernCase{
				{Name: "execute post", Request: govern("x-post", bus.MethodExecute, domain.ActionDiscordPostMessage, post), Calls: []string{"POST /channels/C1/messages"}},
				{Name: "revert post", Request: govern("r-post", bus.MethodRevert, domain.ActionDiscordPostMessage, post), Calls: []string{"DELETE /channels/C1/messages/M1"}},
				{Name: "execute rename", Request: govern("x-rename", bus.MethodExecute, domain.ActionDiscordRenameChannel, rename), Calls: []string{"PATCH /channels/C1"}},
				{Name: "revert rename", Request: govern("r-rename", bus.MethodRevert, domain.ActionDiscordRenameChannel, rename), Calls: []string{"PATCH /channels/C1"}},
				{Name: "execute create", Request: govern("x-create", bus.MethodExecute, domain.ActionDiscordCreateChannel, create), Calls: []string{"POST /guilds/G1/channels"}},
				{Name: "revert create", Request: govern("r-create", bus.MethodRevert, domain.ActionDiscordCreateChannel, create), Calls: []string{"DELETE /channels/C9"}},
				{Name: "execute delete message", Request: govern("x-delmsg", bus.MethodExecute, domain.ActionDiscordDeleteMessage, map[string]any{"channel": "C1", "message_id": "M2"}),
					Calls: []string{"DELETE /channels/C1/messages/M2"}},
				{Name: "execute delete channel", Request: govern("x-delch", bus.MethodExecute, domain.ActionDiscordDeleteChannel, map[string]any{"channel": "C3"}),
					Calls: []string{"DELETE /channels/C3"}},
				{Name: "execute kick", Request: govern("x-kick", bus.MethodExecute, domain.ActionDiscordKickMember, map[string]any{"user": "U7"}),
					Calls: []string{"DELETE /guilds/G1/members/U7"}},
			},
			Ingress: &platformtest.Ingress{
				Deliver: func(t *testing.T, eventID string) int {
					code, _ := h.post(t, discordtest.SlashCommand(eventID, appID, guild, "C1", "U1", "ping"), time.Now())
					return code
				},
				Forged: func(t *testing.T) int {
					code, _, err := discordtest.NewKey().Post(h.hook, discordtest.SlashCommand("forged", appID, guild, "C1", "U1", "ping"), time.Now())
					if err != nil {
						t.Fatal(err)
					}
					return code
				},
				Stale: func(t *testing.T) int {
					code, _ := h.post(t, discordtest.SlashCommand("stale", appID, guild, "C1", "U1", "ping"), time.Now().Add(-10*time.Minute))
					return code
				},
				Settle: h.a.workers.Wait,
			},
			Voting: &platformtest.Voting{
				Open: func(t *testing.T, proposalID string) {
					res, err := h.a.Perform(context.Background(), voteRequest("e-vote-"+proposalID, proposalID, map[string]any{"channel": "C1", "text": "vote?"}))
					if err != nil {
						t.Fatal(err)
					}
					votePosts[proposalID] = res["post_id"].(string)
				},
				Vote: func(t *testing.T, proposalID, member, click string) int {
					code, _ := h.post(t, discordtest.Click(click, appID, guild, "C1", votePosts[proposalID], member, votePrefix+valueYes), time.Now())
					return code
				},
			},
		}
	})
}
