package slack

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// Slack's channel_rename event carries only the new name, so the adapter must know a
// channel's name before it is renamed to be able to rename it back. It learns the names of
// a workspace's channels up front, from conversations.list: when Run starts (for the
// workspaces whose tokens the store can list) and when it first meets a workspace in an
// event. It keeps them current from channel_rename and channel_created, and asks
// conversations.info when the bot joins a channel or meets one the list did not show.

// channelSyncRetry is how long after a failed conversations.list the adapter tries again.
const channelSyncRetry = time.Minute

// channelSync is the state of one workspace's conversations.list.
type channelSync struct {
	mu      sync.Mutex // held while listing: the team's events wait for the names
	done    bool
	retryAt time.Time
}

// teamLister is a TokenStore that can list the workspaces it has a bot token of
// (MemoryTokens and SecretTokens can).
type teamLister interface {
	Teams(ctx context.Context) ([]string, error)
}

var (
	_ teamLister = (*MemoryTokens)(nil)
	_ teamLister = (*SecretTokens)(nil)
)

// syncStoredTeams learns, in the background, the channel names of every workspace the token
// store lists. Best effort; the first event of a workspace tries again.
func (a *Adapter) syncStoredTeams() {
	lister, ok := a.deps.Tokens.(teamLister)
	if !ok {
		return
	}
	a.workers.Background(func(ctx context.Context) {
		teams, err := lister.Teams(ctx)
		if err != nil {
			a.log.Warn("slack workspaces not listed; their channel names are learned at their first event", "err", err)
			return
		}
		for _, team := range teams {
			c, err := a.client(ctx, team)
			if err != nil {
				a.log.Warn("slack channel names not learned", "team", team, "err", err)
				continue
			}
			a.ensureChannelNames(ctx, team, c)
		}
	})
}

// LearnWorkspace learns, in the background, the channel names of a workspace (one just
// installed), so that a rename of any channel the bot can see is reverted to its real
// name even when it is the workspace's first event. Best effort, like syncStoredTeams.
func (a *Adapter) LearnWorkspace(team string) {
	a.workers.Background(func(ctx context.Context) {
		c, err := a.client(ctx, team)
		if err != nil {
			a.log.Warn("slack channel names not learned", "team", team, "err", err)
			return
		}
		a.ensureChannelNames(ctx, team, c)
	})
}

// ensureChannelNames learns the names of the team's channels once, unless that is done
// already, or failed less than channelSyncRetry ago. Calls for one team wait for each other,
// so that an event of the team is handled with the names known. Best effort: a failure is
// logged.
func (a *Adapter) ensureChannelNames(ctx context.Context, team string, c *slack.Client) {
	a.mu.Lock()
	s, ok := a.channelSyncs[team]
	if !ok {
		s = &channelSync{}
		a.channelSyncs[team] = s
	}
	a.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done || time.Now().Before(s.retryAt) {
		return
	}
	n, err := a.syncChannelNames(ctx, team, c)
	if err != nil {
		s.retryAt = time.Now().Add(channelSyncRetry)
		a.log.Warn("slack channel names not learned; a rename of a channel met neither before nor since cannot be reverted",
			"team", team, "learned", n, "err", err)
		return
	}
	s.done = true
	a.log.Info("slack channel names learned", "team", team, "channels", n)
}

// syncChannelNames stores the name of each channel conversations.list shows the bot: every
// public channel and the private ones it is a member of, page by page. Archived channels are
// left out, since they cannot be renamed until unarchived. It returns how many it stored.
func (a *Adapter) syncChannelNames(ctx context.Context, team string, c *slack.Client) (int, error) {
	params := &slack.GetConversationsParameters{Types: []string{"public_channel", "private_channel"}, ExcludeArchived: true, Limit: 200}
	n := 0
	for {
		var (
			page []slack.Channel
			next string
		)
		err := a.retry(ctx, func() (err error) { page, next, err = c.GetConversationsContext(ctx, params); return err })
		if err != nil {
			return n, fmt.Errorf("conversations.list: %w", err)
		}
		for _, ch := range page {
			if ch.ID == "" || ch.Name == "" {
				continue
			}
			if err := a.state.SetChannelName(ctx, team, ch.ID, ch.Name); err != nil {
				return n, fmt.Errorf("store the name of %s: %w", ch.ID, err)
			}
			n++
		}
		if next == "" {
			return n, nil
		}
		params.Cursor = next
	}
}

// learnChannelName remembers a channel's name the first time the adapter meets it, when
// conversations.list did not show it (a private channel the bot joined since). Best effort.
func (a *Adapter) learnChannelName(ctx context.Context, team, channel string, c *slack.Client) {
	if name, err := a.state.ChannelName(ctx, team, channel); err != nil || name != "" {
		return
	}
	a.refreshChannelName(ctx, team, channel, c)
}

// refreshChannelName stores a channel's name as conversations.info gives it. Best effort.
func (a *Adapter) refreshChannelName(ctx context.Context, team, channel string, c *slack.Client) {
	var ch *slack.Channel
	err := a.retry(ctx, func() (err error) {
		ch, err = c.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channel})
		return err
	})
	if err != nil || ch.Name == "" {
		a.log.Debug("slack conversations.info failed", "channel", channel, "err", err)
		return
	}
	if err := a.state.SetChannelName(ctx, team, channel, ch.Name); err != nil {
		a.log.Warn("slack channel name not stored", "team", team, "channel", channel, "err", err)
	}
}
