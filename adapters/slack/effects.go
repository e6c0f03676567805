package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/slack-go/slack"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Perform carries out one effect request for platform "slack", once per idempotency key
// (platform.Once): a request whose key is in the ledger (Deps.Ledger) is answered with the stored result without
// calling Slack. Before calling Slack an attempt claims the key (platform.Ledger.Claim), so that
// a delivery of the same request while it is under way (the bus redelivering it after its
// AckTimeout, or two adapters of one group) waits for that attempt and answers with its
// result, never calling Slack itself. A failed call is not recorded and its claim is dropped,
// so a redelivery, or the delivery waiting, tries again.
//
// An attempt lasts at most Config.EffectTimeout; calls answered 429 are retried after
// Retry-After within it and Config.RateLimitMaxWait. Its claim lasts claimGrace longer, so
// that it outlives the attempt and the storing of its result; a claim left by an attempt
// that crashed therefore holds the effect up for no longer than that.
//
// Methods: post_message, initiate_vote (answers {"post_id": ts, "url": permalink}),
// rename_conversation, join_conversation, kick_conversation, pin_message,
// schedule_message, delete_message, and execute / revert of the governable Slack actions.
func (a *Adapter) Perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	if req.IdempotencyKey == "" {
		return nil, errors.New("slack: effect request without idempotency key")
	}
	rec := platform.Record{EffectID: req.EffectID, CommunityID: req.CommunityID, Method: req.Method, Purpose: req.Purpose}
	res, err := platform.Once(ctx, a.deps.Ledger, req.IdempotencyKey, rec,
		platform.OnceOptions{Attempt: a.cfg.EffectTimeout, Grace: claimGrace, Poll: claimPoll},
		func(ctx context.Context) (map[string]any, error) { return a.performAttempt(ctx, req) })
	if err != nil {
		return nil, fmt.Errorf("slack %s: %w", req.Method, err)
	}
	return res, nil
}

const (
	// claimGrace is how much longer an effect's claim lasts than its attempt: the time left to
	// store the result once Slack answered.
	claimGrace = 5 * time.Second
	// claimPoll is how often a delivery waiting for another one's attempt looks again.
	claimPoll = 100 * time.Millisecond
)

func (a *Adapter) performAttempt(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	team, err := a.deps.Directory.TeamOfCommunity(ctx, req.CommunityID)
	if err != nil {
		return nil, err
	}
	c, err := a.client(ctx, team)
	if err != nil {
		return nil, err
	}
	return a.perform(ctx, team, c, req)
}

func (a *Adapter) perform(ctx context.Context, team string, c *slack.Client, req bus.EffectRequest) (map[string]any, error) {
	args := req.Args
	switch req.Method {
	case bus.MethodPostMessage:
		post, err := bus.DecodeArgs[bus.PostMessageArgs](req)
		if err != nil {
			return nil, err
		}
		return a.postMessage(ctx, c, post)
	case bus.MethodInitiateVote:
		return a.initiateVote(ctx, team, c, req)
	case "rename_conversation":
		return a.rename(ctx, team, c, str(args, "channel"), str(args, "name"))
	case "join_conversation":
		return a.invite(ctx, c, str(args, "channel"), strs(args, "users"))
	case "kick_conversation":
		return a.kick(ctx, c, str(args, "channel"), []string{str(args, "user")})
	case "pin_message":
		return a.pin(ctx, c, str(args, "channel"), str(args, "timestamp"), true)
	case "schedule_message":
		return a.schedule(ctx, c, str(args, "channel"), str(args, "text"), str(args, "post_at"))
	case "delete_message":
		return a.deleteMessage(ctx, team, c, str(args, "channel"), str(args, "ts"))
	case bus.MethodExecute, bus.MethodRevert:
		gov, err := bus.DecodeArgs[bus.GovernArgs](req)
		if err != nil {
			return nil, err
		}
		return a.govern(ctx, team, c, req.Method == bus.MethodExecute, gov)
	}
	return nil, fmt.Errorf("unsupported method %q", req.Method)
}

// govern executes (or reverts) a governable Slack action from its fields.
func (a *Adapter) govern(ctx context.Context, team string, c *slack.Client, execute bool, args bus.GovernArgs) (map[string]any, error) {
	f, typ := args.Fields, args.ActionType
	ch := str(f, "channel")
	switch typ {
	case domain.ActionSlackPostMessage:
		ts := str(f, "timestamp")
		if ts == "" {
			ts = str(f, "ts")
		}
		if !execute {
			return a.deleteMessage(ctx, team, c, ch, ts)
		}
		text := str(f, "text")
		if u := str(f, "user"); u != "" {
			text += "\n_posted on behalf of <@" + u + ">_"
		}
		return a.postMessage(ctx, c, bus.PostMessageArgs{Channel: ch, Text: text, ThreadTS: str(f, "thread_ts")})
	case domain.ActionSlackRenameConversation:
		name := str(f, "name")
		if !execute {
			name = str(f, "previous_name")
			if name == "" {
				return nil, fmt.Errorf("cannot revert the rename of %s to %q: its previous name is unknown (it was renamed before the adapter learned its name)", ch, str(f, "name"))
			}
		}
		return a.rename(ctx, team, c, ch, name)
	case domain.ActionSlackJoinConversation:
		if execute {
			return a.invite(ctx, c, ch, strs(f, "users"))
		}
		return a.kick(ctx, c, ch, strs(f, "users"))
	case domain.ActionSlackPinMessage:
		return a.pin(ctx, c, ch, str(f, "timestamp"), execute)
	case domain.ActionSlackScheduleMessage:
		if !execute {
			return nil, errors.New("a scheduled message is only executed, never reverted")
		}
		return a.schedule(ctx, c, ch, str(f, "text"), str(f, "post_at"))
	case domain.ActionSlackKickConversation:
		if execute {
			return a.kick(ctx, c, ch, []string{str(f, "user")})
		}
		return a.invite(ctx, c, ch, []string{str(f, "user")})
	}
	return nil, fmt.Errorf("cannot govern action type %q", typ)
}

// postMessage posts text to a channel (post_type "channel", the default; thread_ts and
// reply_broadcast apply), ephemerally to each of users in the channel ("ephemeral"), to
// each user in a direct message ("im"), or to all of them in one group DM ("mpim").
func (a *Adapter) postMessage(ctx context.Context, c *slack.Client, args bus.PostMessageArgs) (map[string]any, error) {
	text, channel, thread := args.Text, args.Channel, args.ThreadTS
	users := []string(args.Users)
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if thread != "" {
		opts = append(opts, slack.MsgOptionTS(thread))
		if args.ReplyBroadcast {
			opts = append(opts, slack.MsgOptionBroadcast())
		}
	}
	switch postType := args.PostType; postType {
	case "ephemeral":
		if channel == "" || len(users) == 0 {
			return nil, errors.New("an ephemeral post needs a channel and users")
		}
		for _, u := range users {
			err := a.retry(ctx, func() error { _, err := c.PostEphemeralContext(ctx, channel, u, opts...); return err })
			if err != nil {
				return nil, fmt.Errorf("ephemeral to %s: %w", u, err)
			}
		}
		return map[string]any{"channel": channel, "users": toAny(users)}, nil
	case "im", "mpim":
		if len(users) == 0 {
			return nil, fmt.Errorf("a %s post needs users", postType)
		}
		groups := [][]string{users}
		if postType == "im" {
			groups = groups[:0]
			for _, u := range users {
				groups = append(groups, []string{u})
			}
		}
		var last map[string]any
		for _, g := range groups {
			dm, err := a.open(ctx, c, g)
			if err != nil {
				return nil, err
			}
			if last, err = a.post(ctx, c, dm, opts...); err != nil {
				return nil, err
			}
		}
		return last, nil
	case "", "channel":
		if channel == "" {
			return nil, errors.New("post_message needs a channel")
		}
		return a.post(ctx, c, channel, opts...)
	default:
		return nil, fmt.Errorf("unknown post_type %q", postType)
	}
}

func (a *Adapter) post(ctx context.Context, c *slack.Client, channel string, opts ...slack.MsgOption) (map[string]any, error) {
	var ch, ts string
	err := a.retry(ctx, func() (err error) { ch, ts, err = c.PostMessageContext(ctx, channel, opts...); return err })
	if err != nil {
		return nil, err
	}
	return map[string]any{"channel": ch, "ts": ts}, nil
}

func (a *Adapter) open(ctx context.Context, c *slack.Client, users []string) (string, error) {
	var ch *slack.Channel
	err := a.retry(ctx, func() (err error) {
		ch, _, _, err = c.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: users})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("conversations.open: %w", err)
	}
	return ch.ID, nil
}

// initiateVote posts the vote message with its buttons (thumbs up / down, or one per
// option), remembers it, and answers {"post_id": ts, "url": permalink, "channel"}. It posts
// in args' channel (post_type "channel", the default), in a group DM of args' users
// ("mpim"), or in the DM of its one user ("im"); users, when given, are the only members
// whose clicks count.
func (a *Adapter) initiateVote(ctx context.Context, team string, c *slack.Client, req bus.EffectRequest) (map[string]any, error) {
	if req.ProposalID == "" {
		return nil, errors.New("initiate_vote without a proposal")
	}
	args, err := bus.DecodeArgs[bus.InitiateVoteArgs](req)
	if err != nil {
		return nil, err
	}
	text, channel, users, options := args.Text, args.Channel, []string(args.Users), []string(args.Options)
	if text == "" {
		text = "Please vote on this proposal."
	}
	switch postType := args.PostType; postType {
	case "", "channel":
		if channel == "" {
			return nil, errors.New("initiate_vote needs a channel")
		}
	case "mpim", "im":
		// One vote message, in one conversation: a group DM of the users, or the direct
		// message of the one user. Its buttons are theirs only.
		if len(users) == 0 {
			return nil, fmt.Errorf("an initiate_vote with post_type %q needs users", postType)
		}
		if postType == "im" && len(users) > 1 {
			return nil, fmt.Errorf(`an initiate_vote with post_type "im" posts the vote in one member's DM and needs exactly one user, not %d: `+
				`use post_type "mpim" for one group DM with them all, or a channel with users to let only them vote`, len(users))
		}
		dm, err := a.open(ctx, c, users)
		if err != nil {
			return nil, err
		}
		channel = dm
	default:
		return nil, fmt.Errorf(`initiate_vote cannot post with post_type %q: use "channel", "mpim" or "im"`, postType)
	}
	kind := domain.VoteBoolean
	var buttons []slack.BlockElement
	if len(options) > 0 {
		kind = domain.VoteChoice
		for i, o := range options {
			buttons = append(buttons, slack.NewButtonBlockElement(voteActionPrefix+strconv.Itoa(i), o,
				slack.NewTextBlockObject(slack.PlainTextType, o, false, false)))
		}
	} else {
		buttons = []slack.BlockElement{
			slack.NewButtonBlockElement(voteActionPrefix+valueYes, valueYes, slack.NewTextBlockObject(slack.PlainTextType, ":thumbsup:", true, false)),
			slack.NewButtonBlockElement(voteActionPrefix+valueNo, valueNo, slack.NewTextBlockObject(slack.PlainTextType, ":thumbsdown:", true, false)),
		}
	}
	res, err := a.post(ctx, c, channel, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil),
		slack.NewActionBlock(voteBlockID, buttons...),
	))
	if err != nil {
		return nil, err
	}
	ch, ts := res["channel"].(string), res["ts"].(string)
	if ch == "" {
		ch = channel
	}
	if err := a.state.SaveVote(ctx, VotePost{TeamID: team, Channel: ch, TS: ts, CommunityID: req.CommunityID,
		ProposalID: req.ProposalID, Kind: kind, Options: options, Users: users}); err != nil {
		return nil, err
	}
	var link string
	err = a.retry(ctx, func() (err error) {
		link, err = c.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: ch, Ts: ts})
		return err
	})
	if err != nil {
		a.log.Warn("slack chat.getPermalink failed; vote answered without url", "channel", ch, "ts", ts, "err", err)
	}
	return bus.Answer(bus.VoteAnswer{PostID: ts, URL: link, Channel: ch})
}

// rename renames a channel, noting the rename as the adapter's own first so that its
// channel_rename event is not governed again.
func (a *Adapter) rename(ctx context.Context, team string, c *slack.Client, channel, name string) (map[string]any, error) {
	if channel == "" || name == "" {
		return nil, errors.New("rename needs a channel and a name")
	}
	if err := a.state.ExpectRename(ctx, team, channel, name); err != nil {
		return nil, err
	}
	err := a.retry(ctx, func() error { _, err := c.RenameConversationContext(ctx, channel, name); return err })
	if err != nil {
		_, _ = a.state.TakeRename(ctx, team, channel, name)
		return nil, err
	}
	if err := a.state.SetChannelName(ctx, team, channel, name); err != nil {
		return nil, err
	}
	return map[string]any{"channel": channel, "name": name}, nil
}

func (a *Adapter) invite(ctx context.Context, c *slack.Client, channel string, users []string) (map[string]any, error) {
	if channel == "" || len(users) == 0 {
		return nil, errors.New("invite needs a channel and users")
	}
	err := a.retry(ctx, func() error { _, err := c.InviteUsersToConversationContext(ctx, channel, users...); return err })
	if err != nil {
		return nil, err
	}
	return map[string]any{"channel": channel, "users": toAny(users)}, nil
}

func (a *Adapter) kick(ctx context.Context, c *slack.Client, channel string, users []string) (map[string]any, error) {
	if channel == "" || len(users) == 0 || users[0] == "" {
		return nil, errors.New("kick needs a channel and a user")
	}
	for _, u := range users {
		if err := a.retry(ctx, func() error { return c.KickUserFromConversationContext(ctx, channel, u) }); err != nil {
			return nil, fmt.Errorf("kick %s: %w", u, err)
		}
	}
	return map[string]any{"channel": channel, "users": toAny(users)}, nil
}

func (a *Adapter) pin(ctx context.Context, c *slack.Client, channel, ts string, add bool) (map[string]any, error) {
	if channel == "" || ts == "" {
		return nil, errors.New("pin needs a channel and a timestamp")
	}
	item := slack.NewRefToMessage(channel, ts)
	err := a.retry(ctx, func() error {
		if add {
			return c.AddPinContext(ctx, channel, item)
		}
		return c.RemovePinContext(ctx, channel, item)
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"channel": channel, "timestamp": ts, "pinned": add}, nil
}

func (a *Adapter) schedule(ctx context.Context, c *slack.Client, channel, text, postAt string) (map[string]any, error) {
	if channel == "" || text == "" || postAt == "" {
		return nil, errors.New("schedule_message needs a channel, a text and post_at")
	}
	var ch, id string
	err := a.retry(ctx, func() (err error) {
		ch, id, err = c.ScheduleMessageContext(ctx, channel, postAt, slack.MsgOptionText(text, false))
		return err
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"channel": ch, "scheduled_message_id": id}, nil
}

// deleteMessage deletes a message with the installing admin's user token when the team has
// one, since a bot may delete only its own messages; with the bot's token (c) otherwise, or
// when Slack refuses the user token (revoked, or a message the admin may not delete).
func (a *Adapter) deleteMessage(ctx context.Context, team string, c *slack.Client, channel, ts string) (map[string]any, error) {
	if channel == "" || ts == "" {
		return nil, errors.New("delete needs a channel and a ts")
	}
	del := func(c *slack.Client) error {
		return a.retry(ctx, func() error { _, _, err := c.DeleteMessageContext(ctx, channel, ts); return err })
	}
	uc, err := a.userClient(ctx, team)
	if err != nil {
		return nil, err
	}
	if uc != nil {
		err = del(uc)
		if !userTokenRefused(err) {
			if err != nil {
				return nil, err
			}
			return map[string]any{"channel": channel, "ts": ts, "deleted": true}, nil
		}
		a.log.Warn("slack chat.delete refused the admin's user token; trying the bot's", "team", team, "channel", channel, "err", err)
	}
	if err := del(c); err != nil {
		return nil, err
	}
	return map[string]any{"channel": channel, "ts": ts, "deleted": true}, nil
}

// userTokenRefused reports a Slack error after which the bot token may still succeed.
func userTokenRefused(err error) bool {
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) {
		return false
	}
	switch se.Err {
	case "cant_delete_message", "token_revoked", "token_expired", "invalid_auth", "not_authed", "account_inactive", "missing_scope", "no_permission":
		return true
	}
	return false
}

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

// strs reads a list of strings (or one string) argument.
func strs(m map[string]any, key string) []string {
	switch v := m[key].(type) {
	case string:
		if v == "" {
			return nil
		}
		return []string{v}
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s := str(map[string]any{"x": x}, "x"); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}
