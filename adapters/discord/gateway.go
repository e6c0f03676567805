package discord

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/policykit-go/policykit/domain"
)

// gatewayIntents are the Gateway events the adapter asks for: guilds and their channels,
// guild messages, and the messages' content (a privileged intent, to be enabled on the
// application's Bot page).
const gatewayIntents = discordgo.IntentsGuilds | discordgo.IntentsGuildMessages | discordgo.IntentMessageContent

// GovernedChannelsSetting is the connection setting listing the channel ids (comma-separated)
// whose messages are governed; without it, every channel's are.
const GovernedChannelsSetting = "governed_channels"

// RunGateway keeps the bot's Gateway connection until ctx ends, turning guild messages and
// channel changes into governable actions. discordgo identifies, heartbeats, and after a
// dropped connection reconnects and resumes the session, so that Discord replays what was
// sent meanwhile; every event is handled once (platform.Seen, and action ids derived from
// the event), however often it is replayed.
func (a *Adapter) RunGateway(ctx context.Context) error {
	s, err := discordgo.New("Bot " + a.sec.BotToken)
	if err != nil {
		return fmt.Errorf("discord gateway: %w", err)
	}
	s.Identify.Intents = gatewayIntents
	s.Identify.Compress = false
	s.StateEnabled = false // the adapter keeps the little it needs (channel names) itself
	s.SyncEvents = true    // in order: a channel's name is learned before its rename is read
	s.ShouldReconnectOnError = true
	s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) {
		a.mu.Lock()
		a.botUser = r.User.ID
		a.mu.Unlock()
	})
	s.AddHandler(func(_ *discordgo.Session, g *discordgo.GuildCreate) {
		for _, ch := range g.Channels {
			a.setName(ch.ID, ch.Name)
		}
	})
	s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { a.onMessage(m.Message) })
	s.AddHandler(func(_ *discordgo.Session, c *discordgo.ChannelUpdate) { a.onChannelUpdate(c.Channel) })
	s.AddHandler(func(_ *discordgo.Session, c *discordgo.ChannelCreate) { a.onChannelCreate(c.Channel) })
	// Discord may be unreachable when the adapter starts: the interactions endpoint and the
	// effects work meanwhile, and the connection is tried again.
	for wait := time.Second; ; wait = min(2*wait, time.Minute) {
		err := s.Open()
		if err == nil {
			break
		}
		a.log.Warn("discord gateway: cannot connect; trying again", "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	a.mu.Lock()
	a.gateway = s
	a.mu.Unlock()
	<-ctx.Done()
	_ = s.Close()
	return ctx.Err()
}

func (a *Adapter) setName(channel, name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.names[channel] = name
}

// swapName records a channel's new name and returns the one it had.
func (a *Adapter) swapName(channel, name string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	old := a.names[channel]
	a.names[channel] = name
	return old
}

func (a *Adapter) isBot(u *discordgo.User) bool {
	if u == nil {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return u.ID == a.botUser || u.ID == a.sec.ApplicationID
}

// onMessage governs a member's message in a guild: discordpostmessage. What the bot posts
// (votes, policies' posts, reposts) and what other bots and webhooks post are not governed.
func (a *Adapter) onMessage(m *discordgo.Message) {
	if m == nil || m.GuildID == "" || m.Author == nil || m.Author.Bot || m.WebhookID != "" || a.isBot(m.Author) {
		return
	}
	if m.Type != discordgo.MessageTypeDefault && m.Type != discordgo.MessageTypeReply {
		return // joins, pins and other system messages
	}
	fields := map[string]any{"channel": m.ChannelID, "text": m.Content, "message_id": m.ID, "user": m.Author.ID}
	a.handleEvent(m.GuildID, "message:"+m.ID, m.Author.ID, domain.ActionDiscordPostMessage, fields, m.ChannelID)
}

// onChannelUpdate governs a channel's rename: discordrenamechannel, unless it is the
// adapter's own (an execute or a revert).
func (a *Adapter) onChannelUpdate(c *discordgo.Channel) {
	if c == nil || c.GuildID == "" {
		return
	}
	previous := a.swapName(c.ID, c.Name)
	if previous == c.Name {
		return // another change than the name
	}
	fields := map[string]any{"channel": c.ID, "name": c.Name, "previous_name": previous}
	a.handleEvent(c.GuildID, "rename:"+c.ID+":"+previous+":"+c.Name, "", domain.ActionDiscordRenameChannel, fields, "",
		renameKey(c.ID, c.Name))
}

// onChannelCreate governs a channel's creation: discordcreatechannel, unless the adapter
// created it.
func (a *Adapter) onChannelCreate(c *discordgo.Channel) {
	if c == nil || c.GuildID == "" {
		return
	}
	a.setName(c.ID, c.Name)
	fields := map[string]any{"channel": c.ID, "name": c.Name, "type": strconv.Itoa(int(c.Type))}
	a.handleEvent(c.GuildID, "create:"+c.ID, "", domain.ActionDiscordCreateChannel, fields, "", createKey(c.Name))
}

// handleEvent proposes a Gateway event's action in the background, once per key. own, when
// given, is the change the adapter expects of itself: that event is not governed.
func (a *Adapter) handleEvent(guild, key, member, typ string, fields map[string]any, channel string, own ...string) {
	a.workers.Background(func(ctx context.Context) {
		err := a.proposeEvent(ctx, guild, key, member, typ, fields, channel, own...)
		if err != nil && !errors.Is(err, ErrUnknownGuild) {
			a.log.Error("discord gateway event not handled", "guild", guild, "event", key, "err", err)
		}
	})
}

func (a *Adapter) proposeEvent(ctx context.Context, guild, key, member, typ string, fields map[string]any, channel string, own ...string) error {
	communityID, err := a.community(ctx, guild)
	if err != nil {
		return err
	}
	if seen, err := a.deps.Seen.Seen(ctx, guild, key); err != nil || seen {
		return err
	}
	for _, k := range own {
		mine, err := a.state.Take(ctx, guild, k)
		if err != nil {
			return err
		}
		if mine {
			_, err := a.deps.Seen.First(ctx, guild, key)
			return err
		}
	}
	if channel != "" && !a.governed(ctx, communityID, channel) {
		return nil
	}
	if err := a.propose(ctx, guild, communityID, member, typ, true, key, fields); err != nil {
		return err
	}
	_, err = a.deps.Seen.First(ctx, guild, key)
	return err
}

// governed reports whether a channel's messages are governed: every channel, unless the
// community's connection lists some (GovernedChannelsSetting).
func (a *Adapter) governed(ctx context.Context, communityID, channel string) bool {
	conn, err := a.deps.Directory.Connection(ctx, communityID, domain.PlatformDiscord)
	if err != nil || strings.TrimSpace(conn.Settings[GovernedChannelsSetting]) == "" {
		return true
	}
	list := strings.Split(conn.Settings[GovernedChannelsSetting], ",")
	for i := range list {
		list[i] = strings.TrimSpace(list[i])
	}
	return slices.Contains(list, channel)
}
