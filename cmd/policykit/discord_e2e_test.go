package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/adapters/discord/discordtest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/starterkits"
)

// The seed's two Discord policies, as PolicyKit's examples write them ("Discord ping" and
// "Trigger a vote in Discord"); the vote's five minutes are three seconds here, so that the
// test does not wait five minutes.
var (
	discordPing = domain.AddPolicy{PolicyID: "discord-ping", Kind: domain.KindTrigger, Name: "Discord ping",
		ActionTypes: []string{domain.ActionDiscordSlashCommand}, PolicyCode: domain.PolicyCode{
			Filter:     `return action.value == "ping"`,
			Initialize: "discord.post_message(\"pong\", action.channel)\n",
			Check:      "return PASSED\n", Notify: "pass\n", Success: "pass\n", Fail: "pass\n",
		}}
	discordVote = domain.AddPolicy{PolicyID: "discord-vote", Kind: domain.KindTrigger, Name: "Trigger a vote in Discord",
		ActionTypes: []string{domain.ActionDiscordSlashCommand}, PolicyCode: domain.PolicyCode{
			Filter:     "VOTE_TRIGGER_PREFIX = \"vote\"\n\nreturn action.value.startswith(VOTE_TRIGGER_PREFIX)\n",
			Initialize: "pass\n",
			Check: `VOTE_DURATION_MINUTES = 0.05

if proposal.get_time_elapsed() < datetime.timedelta(minutes=VOTE_DURATION_MINUTES):
  logger.debug("waiting for 5 minutes to elapse...")
  return PROPOSED

msg = None
if proposal.get_yes_votes().count() >= 1:
	msg = "vote passed!"
elif proposal.get_no_votes().count() >= 1:
	msg = "vote failed!"
else:
	msg = "not enough votes to make a decision"

discord.post_message(text=msg, channel=action.channel, message_id=proposal.vote_post_id)

return PASSED
`,
			Notify: `VOTE_TRIGGER_PREFIX = "vote"
VOTE_DURATION_MINUTES = 5

vote_text = action.value[len(VOTE_TRIGGER_PREFIX):].strip()
vote_text += f" Vote closes in {VOTE_DURATION_MINUTES} minutes."

discord.initiate_vote(text=vote_text)`,
			Success: "pass\n", Fail: "pass\n",
		}}
)

// newDiscordGarden creates the community "garden" of Discord guild G1 with the Testing kit
// and alice its admin, and adds the policies.
func newDiscordGarden(t testing.TB, app *App, policies ...domain.AddPolicy) {
	t.Helper()
	ctx := context.Background()
	kit, err := starterkits.Load("testing")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := engine.NewCommunity(ctx, app.Store(), domain.CreateCommunity{CommunityID: "garden", Name: "Garden", Platform: domain.PlatformDiscord, ExternalID: "G1"},
		kit, domain.RegisterUser{UserID: "alice", Username: "UALICE", ReadableName: "Alice", IsAdmin: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, p := range policies {
		if _, err := engine.UpdateCommunity(ctx, app.Store(), "garden", engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
			return c.DecideAddPolicy(p, time.Now())
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// `policykit adapter discord` as its own process and `policykit serve` meet only on a
// durable bus, for the seed's two Discord policies from the signed slash command to the
// result: /policykit ping is answered pong in the channel (through a 429 from Discord,
// posted once); /policykit vote ... posts a vote with buttons, a member's click is their
// vote, and once the vote's time is up the policy posts the result as a reply to the vote,
// whose message then shows the result with its buttons disabled. The Gateway is unreachable
// in the middle of the vote: a channel renamed meanwhile reaches the adapter only through the
// RESUME's replay, and is governed once; the vote decides all the same.
func TestDiscordSeedExamplesAcrossProcesses(t *testing.T) {
	for _, transport := range []string{bus.TransportPostgres, bus.TransportNATS} {
		t.Run(transport, func(t *testing.T) {
			requireTransport(t, transport)
			testDiscordProcess(t, transport)
		})
	}
}

func testDiscordProcess(t *testing.T, transport string) {
	ctx := context.Background()
	cfg := engineConfig(t, transport)
	cfg.Engine = false // this process only seeds and watches
	app, err := NewApp(ctx, cfg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	newDiscordGarden(t, app, discordPing, discordVote)
	fake := discordtest.New(t.Cleanup)
	fake.AddGuild("G1", map[string]string{"C1": "general"})
	key := discordtest.NewKey()
	fake.RateLimit("POST /channels/C1/messages", 1, 0.5, false) // the first post is refused once
	busEnv := []string{"POLICYKIT_BUS=" + transport, "POLICYKIT_BUS_NAMESPACE=" + cfg.Bus.Namespace}

	serverAddr := freeAddr(t)
	srv := startProcess(t, []string{"serve", "--database-url", cfg.DatabaseURL, "--http-addr", serverAddr},
		append(busEnv, "POLICYKIT_LOG_PLATFORMS=log", "POLICYKIT_RECHECK_INTERVAL=1s"))
	waitFor(t, "the server ready", func() bool { srv.mustRun(t); return get(t, "http://"+serverAddr+"/readyz") == 200 })

	const appID = "800000000000000001"
	hookAddr := freeAddr(t)
	adapter := startProcess(t, []string{"adapter", "discord", "--database-url", cfg.DatabaseURL, "--http-addr", hookAddr},
		append(busEnv, "DISCORD_PUBLIC_KEY="+key.PublicHex(), "DISCORD_APPLICATION_ID="+appID, "DISCORD_BOT_TOKEN=bot-token",
			"DISCORD_API_URL="+fake.URL(), "DISCORD_GUILD_ID=G1"))
	hook := "http://" + hookAddr + "/api/hooks/discord"
	interact := func(body []byte) (int, map[string]any) {
		t.Helper()
		code, raw, err := key.Post(hook, body, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		_ = json.Unmarshal(raw, &out)
		return code, out
	}
	waitFor(t, "the adapter's interactions endpoint answering PING", func() bool {
		adapter.mustRun(t)
		code, _, err := key.Post(hook, discordtest.Ping(appID), time.Now())
		return err == nil && code == http.StatusOK
	})
	waitFor(t, "the guild in the adapters' directory", func() bool {
		var n int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM platform_directory_platforms WHERE platform = 'discord' AND external_id = 'G1'`).Scan(&n)
		return n == 1
	})
	waitFor(t, "the /policykit command registered in the guild", func() bool {
		return len(fake.Seen("PUT /applications/"+appID+"/guilds/G1/commands")) == 1
	})
	select {
	case <-fake.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("the adapter did not connect to the Gateway")
	}

	// Discord ping.
	if code, out := interact(discordtest.SlashCommand("I-ping", appID, "G1", "C1", "UBOB", "ping")); code != http.StatusOK || out["type"] != float64(5) {
		t.Fatalf("/policykit ping answered %d %v, want a deferred response", code, out)
	}
	posts := func() []discordtest.Call { return fake.Seen("POST /channels/C1/messages") }
	waitFor(t, "pong posted in the channel after Discord's 429, across processes", func() bool {
		p := posts()
		return len(p) == 1 && p[0].Body["content"] == "pong"
	})

	// Trigger a vote in Discord.
	if code, _ := interact(discordtest.SlashCommand("I-vote", appID, "G1", "C1", "UALICE", "vote should we cancel today's meeting?")); code != http.StatusOK {
		t.Fatalf("/policykit vote answered %d", code)
	}
	waitFor(t, "the vote posted with its buttons", func() bool { return len(posts()) == 2 })
	vote := posts()[1]
	if vote.Body["content"] != "should we cancel today's meeting? Vote closes in 5 minutes." ||
		!strings.Contains(mustMarshal(t, vote.Body["components"]), `"custom_id":"policykit_vote:yes"`) {
		t.Fatalf("vote posted as %v", vote.Body)
	}
	waitFor(t, "the engine to record the vote post", func() bool { return countEvents(t, app, domain.EventVotePostRecorded) == 1 })
	var voteID string
	if err := app.Pool().QueryRow(ctx, `SELECT data->>'post_id' FROM events WHERE type = $1`, domain.EventVotePostRecorded).Scan(&voteID); err != nil {
		t.Fatal(err)
	}
	fake.Outage() // the Gateway is unreachable in the middle of the vote
	fake.ChannelUpdate("G1", "C1", "garden-chat")
	if code, out := interact(discordtest.Click("K-1", appID, "G1", "C1", voteID, "UBOB", "policykit_vote:yes")); code != http.StatusOK ||
		!strings.Contains(mustMarshal(t, out), "is recorded") {
		t.Fatalf("the click answered %d %v", code, out)
	}
	waitFor(t, "the vote's result posted as a reply to the vote", func() bool {
		p := posts()
		if len(p) != 3 {
			return false
		}
		ref, _ := p[2].Body["message_reference"].(map[string]any)
		return p[2].Body["content"] == "vote passed!" && ref["message_id"] == voteID
	})
	waitFor(t, "the vote message showing the result, its buttons disabled", func() bool {
		m := fake.Message(voteID)
		return m != nil && strings.Contains(m["content"].(string), "This vote has ended: passed.") &&
			!strings.Contains(mustMarshal(t, m["components"]), `"disabled":false`)
	})
	fake.Restore()
	select {
	case <-fake.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("the adapter did not resume the Gateway")
	}
	if fake.Resumes != 1 || fake.Identifies != 1 || fake.Replayed() == 0 {
		t.Fatalf("%d identifies, %d resumes replaying %d events: want the session resumed with the rename replayed", fake.Identifies, fake.Resumes, fake.Replayed())
	}
	renames := func() (ids []string) {
		rows, err := app.Pool().Query(ctx, `SELECT data->'action'->>'id' FROM events WHERE type = $1 AND data->'action'->>'action_type' = $2
			AND data->'action'->'fields'->>'previous_name' = 'general' AND data->'action'->'fields'->>'name' = 'garden-chat'`,
			domain.EventActionProposed, domain.ActionDiscordRenameChannel)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			_ = rows.Scan(&id)
			ids = append(ids, id)
		}
		return ids
	}
	waitFor(t, "the replayed rename governed", func() bool { return len(renames()) == 1 })
	waitFor(t, "the rename decided", func() bool {
		var n int
		_ = app.Pool().QueryRow(ctx, `SELECT count(*) FROM events WHERE type IN ($1, $2) AND data->>'proposal_id' IN
			(SELECT data->>'proposal_id' FROM events WHERE type = $3 AND data->>'action_id' = $4)`,
			domain.EventProposalPassed, domain.EventProposalFailed, domain.EventProposalOpened, renames()[0]).Scan(&n)
		return n == 1
	})
	// The connection drops once more: the second RESUME replays nothing already handled.
	fake.Drop()
	select {
	case <-fake.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("the adapter did not resume the Gateway again")
	}
	time.Sleep(300 * time.Millisecond) // anything a duplicate would do, it does by now
	if n := len(renames()); n != 1 {
		t.Fatalf("the rename governed %d times, want once", n)
	}
	if n := len(posts()); n != 3 {
		t.Fatalf("%d posts, want 3: each effect once", n)
	}
	if n := countEvents(t, app, domain.EventActionProposed); n != 3 {
		t.Fatalf("%d actions proposed, want the two slash commands and the rename", n)
	}
	if n := countEvents(t, app, domain.EventVoteCast); n != 1 {
		t.Fatalf("%d votes recorded, want 1", n)
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
