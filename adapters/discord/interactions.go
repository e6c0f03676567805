package discord

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Interaction and response types, and the ephemeral flag, as Discord's API v10 numbers them.
const (
	interactionPing      = 1
	interactionCommand   = 2
	interactionComponent = 3

	responsePong            = 1
	responseMessage         = 4 // CHANNEL_MESSAGE_WITH_SOURCE
	responseDeferred        = 5 // DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
	responseDeferredUpdate  = 6 // DEFERRED_UPDATE_MESSAGE
	flagEphemeral           = 64
	headerSignature         = "X-Signature-Ed25519"
	headerSignatureTimestam = "X-Signature-Timestamp"
)

// Vote buttons: a button's custom_id is votePrefix followed by "yes", "no" or the index of
// the option it stands for.
const (
	votePrefix = "policykit_vote:"
	valueYes   = "yes"
	valueNo    = "no"
)

// interaction is the part of Discord's interaction object the adapter reads.
type interaction struct {
	ID            string `json:"id"`
	ApplicationID string `json:"application_id"`
	Type          int    `json:"type"`
	Token         string `json:"token"`
	GuildID       string `json:"guild_id"`
	ChannelID     string `json:"channel_id"`
	Member        *struct {
		User *user `json:"user"`
	} `json:"member"`
	User *user `json:"user"`
	Data struct {
		Name     string          `json:"name"`
		Options  []commandOption `json:"options"`
		CustomID string          `json:"custom_id"`
	} `json:"data"`
	Message *struct {
		ID        string `json:"id"`
		ChannelID string `json:"channel_id"`
	} `json:"message"`
}

type user struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Bot      bool   `json:"bot"`
}

type commandOption struct {
	Name  string `json:"name"`
	Type  int    `json:"type"`
	Value any    `json:"value"`
}

// member returns the id of the user who interacted (a guild member, or a DM's user).
func (in interaction) member() string {
	if in.Member != nil && in.Member.User != nil {
		return in.Member.User.ID
	}
	if in.User != nil {
		return in.User.ID
	}
	return ""
}

// response is an interaction response.
type response struct {
	Type int           `json:"type"`
	Data *responseData `json:"data,omitempty"`
}

type responseData struct {
	Content string `json:"content,omitempty"`
	Flags   int    `json:"flags,omitempty"`
}

// ServeHTTP is the interactions endpoint Discord calls (POST /api/hooks/discord). Every
// request must carry Discord's Ed25519 signature of its timestamp and body, made with the
// application's key within Section.MaxAge: otherwise 401, and nothing is published.
//
// PING is answered PONG. The /policykit command is answered at once with a deferred
// (ephemeral) response, within Discord's three seconds, and becomes a discordslashcommand
// trigger action in the background; its interaction token lets a policy answer it
// (action.respond). A click on a vote button is answered at once too: a CastVote for an
// eligible member of an open vote, an ephemeral answer for the others.
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.sec.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if err := a.verify(r.Header, body); err != nil {
		a.log.Warn("discord interaction refused", "err", err)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	var in interaction
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, "malformed JSON", http.StatusBadRequest)
		return
	}
	var (
		resp response
		code = http.StatusOK
	)
	switch in.Type {
	case interactionPing:
		resp = response{Type: responsePong}
	case interactionCommand:
		resp, code, err = a.acceptCommand(in)
	case interactionComponent:
		resp, code, err = a.acceptClick(r.Context(), in)
	default:
		resp, code, err = response{}, http.StatusBadRequest, fmt.Errorf("interaction type %d", in.Type)
	}
	if err != nil {
		a.log.Warn("discord interaction not handled", "interaction", in.ID, "type", in.Type, "err", err)
		http.Error(w, err.Error(), code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// verify checks the Ed25519 signature of timestamp+body and the timestamp's age.
func (a *Adapter) verify(h http.Header, body []byte) error {
	sig, err := hex.DecodeString(h.Get(headerSignature))
	ts := h.Get(headerSignatureTimestam)
	if err != nil || len(sig) != ed25519.SignatureSize || ts == "" {
		return fmt.Errorf("%w: missing or malformed signature", platform.ErrForged)
	}
	if !ed25519.Verify(a.publicKey, append([]byte(ts), body...), sig) {
		return platform.ErrForged
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: timestamp %q", platform.ErrStale, ts)
	}
	return platform.Fresh(time.Unix(secs, 0), a.deps.Now(), a.sec.MaxAge)
}

// acceptCommand starts handling a /policykit command in the background and answers it
// deferred.
func (a *Adapter) acceptCommand(in interaction) (response, int, error) {
	if in.Data.Name != slashCommand {
		return response{Type: responseMessage, Data: &responseData{Content: "PolicyKit knows only /" + slashCommand + ".", Flags: flagEphemeral}}, http.StatusOK, nil
	}
	if in.GuildID == "" || in.ID == "" {
		return response{Type: responseMessage, Data: &responseData{Content: "PolicyKit governs guilds: use /" + slashCommand + " in a server.", Flags: flagEphemeral}}, http.StatusOK, nil
	}
	err := a.workers.Go(func(ctx context.Context) {
		if err := a.handleCommand(ctx, in); err != nil {
			a.log.Error("discord slash command not handled", "guild", in.GuildID, "interaction", in.ID, "err", err)
		}
	})
	if errors.Is(err, platform.ErrBusy) {
		return response{}, http.StatusServiceUnavailable, errors.New("busy")
	}
	return response{Type: responseDeferred, Data: &responseData{Flags: flagEphemeral}}, http.StatusOK, nil
}

// handleCommand publishes the discordslashcommand trigger action of a /policykit command,
// once per interaction.
func (a *Adapter) handleCommand(ctx context.Context, in interaction) error {
	communityID, err := a.community(ctx, in.GuildID)
	if err != nil {
		return err
	}
	key := "interaction:" + in.ID
	if seen, err := a.deps.Seen.Seen(ctx, in.GuildID, key); err != nil || seen {
		return err
	}
	var value []string
	for _, o := range in.Data.Options {
		if s, ok := o.Value.(string); ok {
			value = append(value, s)
		}
	}
	fields := map[string]any{"channel": in.ChannelID, "value": strings.Join(value, " "), "interaction_token": in.Token,
		"interaction_id": in.ID, "guild": in.GuildID}
	if err := a.propose(ctx, in.GuildID, communityID, in.member(), domain.ActionDiscordSlashCommand, false, key, fields); err != nil {
		return err
	}
	_, err = a.deps.Seen.First(ctx, in.GuildID, key)
	return err
}

// propose publishes the ProposeAction of a Discord event named key in its guild, with an id
// derived from both: a repeated event is one action.
func (a *Adapter) propose(ctx context.Context, guildID, communityID, member, typ string, governable bool, key string, fields map[string]any) error {
	id := platform.EventID(domain.PlatformDiscord, "event", guildID, key)
	cmd := bus.ProposeAction{Action: domain.Action{
		ID: id, CommunityID: communityID, Kind: domain.KindPlatform, Type: typ, Platform: domain.PlatformDiscord,
		Fields: fields, Reversible: governable, ExternalID: key, ProposedAt: a.deps.Now().UTC(),
	}}
	if !governable {
		cmd.Action.Kind = domain.KindTrigger
	}
	if member != "" {
		cmd.Initiator = &bus.PlatformUser{Platform: domain.PlatformDiscord, Username: member}
	}
	return a.publish.Publish(ctx, bus.TopicProposeAction, id, bus.CommandProposeAction, cmd)
}

// acceptClick handles a click on a button: a vote button of an open vote cast by an
// eligible member is a CastVote; the others are answered to the member alone. A click on a
// button that is not ours is acknowledged and ignored.
func (a *Adapter) acceptClick(ctx context.Context, in interaction) (response, int, error) {
	ack := response{Type: responseDeferredUpdate}
	value, ok := strings.CutPrefix(in.Data.CustomID, votePrefix)
	if !ok || in.Message == nil {
		return ack, http.StatusOK, nil
	}
	channel := in.Message.ChannelID
	if channel == "" {
		channel = in.ChannelID
	}
	vp, ok, err := a.state.Vote(ctx, channel, in.Message.ID)
	if err != nil {
		return response{}, http.StatusInternalServerError, err
	}
	if !ok {
		return ack, http.StatusOK, nil // not one of our votes
	}
	member := in.member()
	vote := domain.Vote{Username: member, Kind: vp.Kind, At: a.deps.Now().UTC()}
	label := value
	switch vp.Kind {
	case domain.VoteBoolean:
		if value != valueYes && value != valueNo {
			return response{}, http.StatusBadRequest, fmt.Errorf("a yes/no vote with value %.40q", value)
		}
		vote.Boolean = value == valueYes
	default:
		i, err := strconv.Atoi(value)
		if err != nil || i < 0 || i >= len(vp.Options) {
			return response{}, http.StatusBadRequest, fmt.Errorf("a vote for option %.40q, not one of its %d", value, len(vp.Options))
		}
		vote.Choice, label = vp.Options[i], vp.Options[i]
	}
	if member == "" || (len(vp.Users) > 0 && !slices.Contains(vp.Users, member)) {
		return ephemeral("You may not vote on this."), http.StatusOK, nil
	}
	status, err := a.deps.Directory.ProposalStatus(ctx, vp.CommunityID, vp.ProposalID)
	if err != nil {
		a.log.Warn("discord vote click: proposal status unknown; sending the vote", "proposal", vp.ProposalID, "err", err)
	}
	if vp.Closed || status == domain.StatusPassed || status == domain.StatusFailed {
		return ephemeral("This vote has ended" + map[bool]string{true: ": " + status, false: ""}[status != ""] + "."), http.StatusOK, nil
	}
	cmd := bus.CastVote{CommunityID: vp.CommunityID, ProposalID: vp.ProposalID, Platform: domain.PlatformDiscord, Vote: vote}
	id := platform.EventID(domain.PlatformDiscord, "vote", vp.GuildID, in.ID)
	if err := a.publish.Publish(ctx, bus.TopicCastVote, id, bus.CommandCastVote, cmd); err != nil {
		return response{}, http.StatusInternalServerError, err
	}
	return ephemeral("Your vote (" + label + ") is recorded. You may change it until the vote ends."), http.StatusOK, nil
}

func ephemeral(text string) response {
	return response{Type: responseMessage, Data: &responseData{Content: text, Flags: flagEphemeral}}
}
