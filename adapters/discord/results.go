package discord

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// runVoteResults follows the proposals' outcomes on b (bus.TopicEvents, consumer group
// "adapter-discord-votes") and shows each decided proposal's result on its vote messages,
// their buttons disabled. An edit that fails is delivered again by the bus.
func (a *Adapter) runVoteResults(ctx context.Context, b *bus.Bus) error {
	sub, err := b.NewSubscriber("adapter-discord-votes")
	if err != nil {
		return err
	}
	msgs, err := sub.Subscribe(ctx, bus.TopicEvents)
	if err != nil {
		return fmt.Errorf("discord: subscribe to events: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case msg, ok := <-msgs:
			if !ok {
				return ctx.Err()
			}
			var env bus.EventEnvelope
			if err := json.Unmarshal(msg.Payload, &env); err != nil {
				msg.Ack()
				continue
			}
			if err := a.showResult(ctx, env); err != nil {
				a.log.Warn("discord: vote result not shown; it is tried again", "event", env.ID, "err", err)
				msg.Nack()
				continue
			}
			msg.Ack()
		}
	}
}

// showResult edits the vote messages of the proposal a ProposalPassed or ProposalFailed is
// about (other events are ignored).
func (a *Adapter) showResult(ctx context.Context, env bus.EventEnvelope) error {
	status := map[string]string{domain.EventProposalPassed: domain.StatusPassed, domain.EventProposalFailed: domain.StatusFailed}[env.Type]
	if status == "" {
		return nil
	}
	var h domain.ProposalHeader
	if err := json.Unmarshal(env.Data, &h); err != nil {
		return nil // never readable
	}
	votes, err := a.state.VotesOf(ctx, h.CommunityID, h.ProposalID)
	if err != nil {
		return err
	}
	for _, vp := range votes {
		if vp.Closed {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, a.sec.EffectTimeout)
		err := a.closeVote(ctx, vp, status)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}

// closeVote edits a vote message to show the result, its buttons disabled, then marks it
// closed. Editing twice (two processes) writes the same message.
func (a *Adapter) closeVote(ctx context.Context, vp VotePost, status string) error {
	content := vp.Text + "\n\n**This vote has ended: " + strings.ToLower(status) + ".**"
	rows := voteButtons(vp, true)
	err := a.retry(ctx, func() error {
		_, err := a.rest.ChannelMessageEditComplex(&discordgo.MessageEdit{ID: vp.MessageID, Channel: vp.ChannelID, Content: &content,
			Components: &rows, AllowedMentions: &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}}, discordgo.WithContext(ctx))
		return err
	})
	if err != nil {
		return fmt.Errorf("edit vote message %s: %w", vp.MessageID, err)
	}
	_, err = a.state.CloseVote(ctx, vp.ChannelID, vp.MessageID)
	return err
}
