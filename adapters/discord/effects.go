package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Perform carries out one effect request for platform "discord", once per idempotency key
// (platform.Once): a request whose key is in the ledger is answered with the stored result
// without calling Discord, and a delivery of it while another is under way waits for that
// one's result. An attempt lasts at most Section.EffectTimeout, 429s waited out within it.
//
// Methods (PolicyKit's names): post_message(text, channel, message_id), initiate_vote
// (answers {"post_id", "url", "channel"}), respond(text, interaction_token),
// delete_message(channel, message_id), rename_channel(channel, name), and execute / revert
// of the governable Discord actions.
func (a *Adapter) Perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	if req.IdempotencyKey == "" {
		return nil, errors.New("discord: effect request without idempotency key")
	}
	rec := platform.Record{EffectID: req.EffectID, CommunityID: req.CommunityID, Method: req.Method, Purpose: req.Purpose}
	res, err := platform.Once(ctx, a.deps.Ledger, req.IdempotencyKey, rec,
		platform.OnceOptions{Attempt: a.sec.EffectTimeout, Grace: 5 * time.Second, Poll: 100 * time.Millisecond},
		func(ctx context.Context) (map[string]any, error) { return a.perform(ctx, req) })
	if err != nil {
		return nil, fmt.Errorf("discord %s: %w", req.Method, err)
	}
	return res, nil
}

// postArgs are post_message's arguments; message_id makes the post a reply to it.
type postArgs struct {
	Text      string `json:"text"`
	Channel   string `json:"channel"`
	MessageID string `json:"message_id"`
}

type respondArgs struct {
	Text             string `json:"text"`
	InteractionToken string `json:"interaction_token"`
}

type channelArgs struct {
	Channel   string `json:"channel"`
	MessageID string `json:"message_id"`
	Name      string `json:"name"`
}

func (a *Adapter) perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	guild, err := a.guild(ctx, req.CommunityID)
	if err != nil {
		return nil, err
	}
	switch req.Method {
	case bus.MethodPostMessage:
		args, err := bus.DecodeArgs[postArgs](req)
		if err != nil {
			return nil, err
		}
		return a.postMessage(ctx, guild, args.Channel, args.Text, args.MessageID)
	case bus.MethodInitiateVote:
		return a.initiateVote(ctx, guild, req)
	case "respond":
		args, err := bus.DecodeArgs[respondArgs](req)
		if err != nil {
			return nil, err
		}
		return a.respond(ctx, args.InteractionToken, args.Text)
	case "delete_message":
		args, err := bus.DecodeArgs[channelArgs](req)
		if err != nil {
			return nil, err
		}
		return a.deleteMessage(ctx, args.Channel, args.MessageID)
	case "rename_channel":
		args, err := bus.DecodeArgs[channelArgs](req)
		if err != nil {
			return nil, err
		}
		return a.renameChannel(ctx, guild, args.Channel, args.Name)
	case bus.MethodExecute, bus.MethodRevert:
		gov, err := bus.DecodeArgs[bus.GovernArgs](req)
		if err != nil {
			return nil, err
		}
		return a.govern(ctx, guild, req.Method == bus.MethodExecute, gov)
	}
	return nil, fmt.Errorf("unsupported method %q", req.Method)
}

// govern executes (or reverts) a Discord action from its fields.
func (a *Adapter) govern(ctx context.Context, guild string, execute bool, args bus.GovernArgs) (map[string]any, error) {
	f, typ := args.Fields, args.ActionType
	ch := str(f, "channel")
	switch typ {
	case domain.ActionDiscordPostMessage:
		if !execute {
			return a.deleteMessage(ctx, ch, str(f, "message_id"))
		}
		text := str(f, "text")
		if u := str(f, "user"); u != "" {
			text += "\n-# posted on behalf of <@" + u + ">"
		}
		return a.postMessage(ctx, guild, ch, text, "")
	case domain.ActionDiscordRenameChannel:
		name := str(f, "name")
		if !execute {
			if name = str(f, "previous_name"); name == "" {
				return nil, fmt.Errorf("cannot revert the rename of %s to %q: its previous name is unknown", ch, str(f, "name"))
			}
		}
		return a.renameChannel(ctx, guild, ch, name)
	case domain.ActionDiscordCreateChannel:
		if !execute {
			return a.deleteChannel(ctx, ch)
		}
		return a.createChannel(ctx, guild, str(f, "name"), str(f, "type"))
	}
	if !execute {
		return nil, fmt.Errorf("%s is only executed, never reverted", typ)
	}
	switch typ {
	case domain.ActionDiscordDeleteMessage:
		return a.deleteMessage(ctx, ch, str(f, "message_id"))
	case domain.ActionDiscordDeleteChannel:
		return a.deleteChannel(ctx, ch)
	case domain.ActionDiscordKickMember:
		return a.kick(ctx, guild, str(f, "user"))
	}
	return nil, fmt.Errorf("cannot govern action type %q", typ)
}

// postMessage posts text in a channel, as a reply to replyTo when given (the seed's
// post_message(..., message_id=proposal.vote_post_id)). Mentions are not pinged: a policy's
// text may quote a member's.
func (a *Adapter) postMessage(ctx context.Context, guild, channel, text, replyTo string) (map[string]any, error) {
	if channel == "" {
		return nil, errors.New("post_message needs a channel")
	}
	send := &discordgo.MessageSend{Content: text, AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}}
	if replyTo != "" {
		send.Reference = &discordgo.MessageReference{MessageID: replyTo, ChannelID: channel, GuildID: guild}
	}
	var m *discordgo.Message
	err := a.retry(ctx, func() (err error) {
		m, err = a.rest.ChannelMessageSendComplex(channel, send, discordgo.WithContext(ctx))
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"channel": m.ChannelID, "message_id": m.ID}, nil
}

// initiateVote posts the vote message with its buttons (yes and no, or one per option),
// remembers it, and answers where it is.
func (a *Adapter) initiateVote(ctx context.Context, guild string, req bus.EffectRequest) (map[string]any, error) {
	if req.ProposalID == "" {
		return nil, errors.New("initiate_vote without a proposal")
	}
	args, err := bus.DecodeArgs[bus.InitiateVoteArgs](req)
	if err != nil {
		return nil, err
	}
	if args.Channel == "" {
		return nil, errors.New("initiate_vote needs a channel")
	}
	if args.PostType != "" && args.PostType != "channel" {
		return nil, fmt.Errorf(`initiate_vote in Discord posts in a channel, not with post_type %q`, args.PostType)
	}
	text := args.Text
	if text == "" {
		text = "Please vote on this proposal."
	}
	kind := domain.VoteBoolean
	if len(args.Options) > 0 {
		kind = domain.VoteChoice
		if len(args.Options) > 25 {
			return nil, fmt.Errorf("a Discord vote offers at most 25 options, not %d", len(args.Options))
		}
	}
	vp := VotePost{GuildID: guild, ChannelID: args.Channel, CommunityID: req.CommunityID, ProposalID: req.ProposalID,
		Kind: kind, Text: text, Options: args.Options, Users: args.Users}
	var m *discordgo.Message
	err = a.retry(ctx, func() (err error) {
		m, err = a.rest.ChannelMessageSendComplex(args.Channel, &discordgo.MessageSend{Content: text, Components: voteButtons(vp, false),
			AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}}, discordgo.WithContext(ctx))
		return err
	})
	if err != nil {
		return nil, err
	}
	vp.MessageID = m.ID
	if m.ChannelID != "" {
		vp.ChannelID = m.ChannelID
	}
	if err := a.state.SaveVote(ctx, vp); err != nil {
		return nil, err
	}
	return bus.Answer(bus.VoteAnswer{PostID: m.ID, URL: a.messageURL(guild, vp.ChannelID, m.ID), Channel: vp.ChannelID})
}

// messageURL is a message's link in Discord's client.
func (a *Adapter) messageURL(guild, channel, message string) string {
	return a.sec.APIURL + "channels/" + guild + "/" + channel + "/" + message
}

// voteButtons are a vote's action rows: yes and no, or one button per option, five to a
// row; disabled once the vote has ended.
func voteButtons(vp VotePost, disabled bool) []discordgo.MessageComponent {
	var buttons []discordgo.MessageComponent
	if vp.Kind == domain.VoteBoolean {
		buttons = []discordgo.MessageComponent{
			discordgo.Button{Label: "Yes", Style: discordgo.SuccessButton, CustomID: votePrefix + valueYes, Disabled: disabled, Emoji: &discordgo.ComponentEmoji{Name: "👍"}},
			discordgo.Button{Label: "No", Style: discordgo.DangerButton, CustomID: votePrefix + valueNo, Disabled: disabled, Emoji: &discordgo.ComponentEmoji{Name: "👎"}},
		}
	} else {
		for i, o := range vp.Options {
			label := o
			if len(label) > 80 {
				label = label[:80]
			}
			buttons = append(buttons, discordgo.Button{Label: label, Style: discordgo.PrimaryButton, CustomID: votePrefix + strconv.Itoa(i), Disabled: disabled})
		}
	}
	var rows []discordgo.MessageComponent
	for len(buttons) > 0 {
		n := min(5, len(buttons))
		rows = append(rows, discordgo.ActionsRow{Components: buttons[:n]})
		buttons = buttons[n:]
	}
	return rows
}

// respond answers a slash command: a follow-up of its deferred response, which, as the
// first after the deferral, takes the deferred message's place.
func (a *Adapter) respond(ctx context.Context, token, text string) (map[string]any, error) {
	if token == "" {
		return nil, errors.New("respond needs the interaction's token (only a discordslashcommand action can be answered)")
	}
	var m *discordgo.Message
	err := a.retry(ctx, func() (err error) {
		m, err = a.rest.FollowupMessageCreate(&discordgo.Interaction{AppID: a.sec.ApplicationID, Token: token}, true,
			&discordgo.WebhookParams{Content: text, Flags: discordgo.MessageFlagsEphemeral,
				AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}}, discordgo.WithContext(ctx))
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"message_id": m.ID}, nil
}

func (a *Adapter) deleteMessage(ctx context.Context, channel, message string) (map[string]any, error) {
	if channel == "" || message == "" {
		return nil, errors.New("delete_message needs a channel and a message_id")
	}
	err := a.retry(ctx, func() error { return a.rest.ChannelMessageDelete(channel, message, discordgo.WithContext(ctx)) })
	if err != nil {
		return nil, err
	}
	return map[string]any{"channel": channel, "message_id": message, "deleted": true}, nil
}

// renameChannel renames a channel, noting the rename as the adapter's own first so that its
// CHANNEL_UPDATE is not governed again.
func (a *Adapter) renameChannel(ctx context.Context, guild, channel, name string) (map[string]any, error) {
	if channel == "" || name == "" {
		return nil, errors.New("rename_channel needs a channel and a name")
	}
	if err := a.state.Expect(ctx, guild, renameKey(channel, name), expectFor); err != nil {
		return nil, err
	}
	err := a.retry(ctx, func() error {
		_, err := a.rest.ChannelEdit(channel, &discordgo.ChannelEdit{Name: name}, discordgo.WithContext(ctx))
		return err
	})
	if err != nil {
		_, _ = a.state.Take(ctx, guild, renameKey(channel, name))
		return nil, err
	}
	a.setName(channel, name)
	return map[string]any{"channel": channel, "name": name}, nil
}

func (a *Adapter) createChannel(ctx context.Context, guild, name, typ string) (map[string]any, error) {
	if name == "" {
		return nil, errors.New("creating a channel needs a name")
	}
	t, _ := strconv.Atoi(typ)
	if err := a.state.Expect(ctx, guild, createKey(name), expectFor); err != nil {
		return nil, err
	}
	var ch *discordgo.Channel
	err := a.retry(ctx, func() (err error) {
		ch, err = a.rest.GuildChannelCreateComplex(guild, discordgo.GuildChannelCreateData{Name: name, Type: discordgo.ChannelType(t)}, discordgo.WithContext(ctx))
		return err
	})
	if err != nil {
		_, _ = a.state.Take(ctx, guild, createKey(name))
		return nil, err
	}
	return map[string]any{"channel": ch.ID, "name": ch.Name}, nil
}

func (a *Adapter) deleteChannel(ctx context.Context, channel string) (map[string]any, error) {
	if channel == "" {
		return nil, errors.New("deleting a channel needs its id")
	}
	err := a.retry(ctx, func() error { _, err := a.rest.ChannelDelete(channel, discordgo.WithContext(ctx)); return err })
	if err != nil {
		return nil, err
	}
	return map[string]any{"channel": channel, "deleted": true}, nil
}

func (a *Adapter) kick(ctx context.Context, guild, member string) (map[string]any, error) {
	if member == "" {
		return nil, errors.New("kicking needs a user")
	}
	err := a.retry(ctx, func() error { return a.rest.GuildMemberDelete(guild, member, discordgo.WithContext(ctx)) })
	if err != nil {
		return nil, err
	}
	return map[string]any{"user": member, "kicked": true}, nil
}

// expectFor is how long a change the adapter makes waits for its Gateway event.
const expectFor = 10 * time.Minute

func renameKey(channel, name string) string { return "rename:" + channel + ":" + name }
func createKey(name string) string          { return "create:" + name }

// str reads a string argument; numbers are formatted without exponent.
func str(m map[string]any, key string) string {
	switch v := m[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}
