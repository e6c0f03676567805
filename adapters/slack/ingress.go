package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Vote buttons: the action_id of every vote button starts with voteActionPrefix; the
// button's value is "yes" or "no" (boolean votes) or the chosen option.
const (
	voteBlockID      = "policykit_vote"
	voteActionPrefix = "policykit_vote_"
	valueYes         = "yes"
	valueNo          = "no"
)

// ServeHTTP is the hook Slack calls (POST /api/hooks/slack) for Events API deliveries
// (JSON) and interactivity payloads (form-encoded "payload"). Every request must carry a
// valid v0 signature made within the last five minutes (else 401); a body over
// Config.MaxBodyBytes gets 413. Nothing is published for a refused request.
//
// An event_callback is acknowledged with 200 at once and handled in the background (at most
// Config.Workers at a time; beyond that 503, and Slack delivers it again). Each event is
// handled once per (team, event_id); the ProposeAction it yields has an Action.ID derived
// from them, so the engine too recognises a repeat.
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
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
		a.log.Warn("slack request refused", "err", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" {
		a.serveInteraction(w, r, body)
		return
	}
	a.serveEvent(w, r, body)
}

// verify checks Slack's v0 signature and the timestamp's age (slack.NewSecretsVerifier).
func (a *Adapter) verify(h http.Header, body []byte) error {
	sv, err := slack.NewSecretsVerifier(h, a.cfg.SigningSecret)
	if err != nil {
		return err
	}
	if _, err := sv.Write(body); err != nil {
		return err
	}
	return sv.Ensure()
}

type outerEvent struct {
	Type      string `json:"type"`
	Challenge string `json:"challenge"`
	TeamID    string `json:"team_id"`
	EventID   string `json:"event_id"`
	EventTime int64  `json:"event_time"`
}

func (a *Adapter) serveEvent(w http.ResponseWriter, r *http.Request, body []byte) {
	var outer outerEvent
	if err := json.Unmarshal(body, &outer); err != nil {
		http.Error(w, "malformed JSON", http.StatusBadRequest)
		return
	}
	switch outer.Type {
	case slackevents.URLVerification:
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, outer.Challenge)
		return
	case slackevents.CallbackEvent:
	default:
		w.WriteHeader(http.StatusOK) // app_rate_limited and others: nothing to do
		return
	}
	switch err := a.acceptEvent(outer, body, r.Header.Get("X-Slack-Retry-Num")); {
	case errors.Is(err, errBusy):
		http.Error(w, "busy", http.StatusServiceUnavailable) // Slack delivers it again later
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

var (
	// errBusy: every worker is busy, or the adapter is closing. Slack delivers the event again
	// when it is not acknowledged.
	errBusy = errors.New("slack: busy")
	// errMalformed: the delivery can never be handled, however often Slack repeats it.
	errMalformed = errors.New("slack: malformed delivery")
)

// acceptEvent starts handling an event_callback in the background and returns at once, so
// that the caller can acknowledge it within Slack's three seconds. body is the delivery as
// Slack sent it: an HTTP request's body, or a Socket Mode events_api payload (the same JSON).
// retry is Slack's retry count, for the log. Errors: errMalformed (wrapped) or errBusy.
func (a *Adapter) acceptEvent(outer outerEvent, body []byte, retry string) error {
	if outer.TeamID == "" || outer.EventID == "" {
		return fmt.Errorf("%w: event without team_id or event_id", errMalformed)
	}
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		return fmt.Errorf("%w: %w", errMalformed, err)
	}
	err = a.workers.Go(func(ctx context.Context) {
		if err := a.handleEvent(ctx, outer, ev); err != nil {
			a.log.Error("slack event not handled", "team", outer.TeamID, "event", outer.EventID,
				"retry", retry, "err", err)
		}
	})
	if errors.Is(err, platform.ErrBusy) {
		return errBusy
	}
	return nil
}

// handleEvent turns one event_callback into (at most) one ProposeAction.
//
// An event is recorded as seen only once handled, its ProposeAction published: a retry by
// Slack of one whose handling failed is handled again, and the action id, derived from the
// event id, makes a second publish of the same action harmless. What the adapter learns
// from an event (a channel's new name) is stored after the publish too, so that the retry
// proposes the same action.
func (a *Adapter) handleEvent(ctx context.Context, outer outerEvent, ev slackevents.EventsAPIEvent) error {
	team := outer.TeamID
	communityID, err := a.deps.Directory.CommunityOfTeam(ctx, team)
	if err != nil {
		return err
	}
	c, err := a.client(ctx, team)
	if err != nil {
		return err
	}
	// Looked up once the workspace is known, so that a retry of an event that found no
	// community or token yet is handled again.
	if seen, err := a.deps.Seen.Seen(ctx, team, outer.EventID); err != nil || seen {
		return err
	}
	if g, ok := ev.InnerEvent.Data.(*slackevents.GroupRenameEvent); ok {
		// A private channel's rename: the same action as a public one's.
		ev.InnerEvent.Data = &slackevents.ChannelRenameEvent{Type: string(slackevents.ChannelRename),
			Channel:        slackevents.ChannelRenameInfo{ID: g.Channel.ID, Name: g.Channel.Name, Created: g.Channel.Created},
			EventTimestamp: g.EventTimestamp}
	}
	// A rename's previous name is read before the names are learned (below): conversations.list
	// would give the new one.
	var renamedFrom string
	if e, ok := ev.InnerEvent.Data.(*slackevents.ChannelRenameEvent); ok {
		if renamedFrom, err = a.state.ChannelName(ctx, team, e.Channel.ID); err != nil {
			return err
		}
	}
	a.ensureChannelNames(ctx, team, c)
	var (
		typ      string
		member   string
		fields   map[string]any
		remember func() error // once published
		trigger  bool         // an event policies may react to but not govern
	)
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.MessageEvent:
		if (e.SubType != "" && e.SubType != "thread_broadcast" && e.SubType != "file_share") || e.BotID != "" || e.User == "" ||
			e.User == a.botUser(ctx, team, c) {
			break // edits, deletions, joins, and what bots (we) posted
		}
		a.learnChannelName(ctx, team, e.Channel, c)
		typ, member = domain.ActionSlackPostMessage, e.User
		fields = map[string]any{"channel": e.Channel, "text": e.Text, "timestamp": e.TimeStamp, "ts": e.TimeStamp, "user": e.User}
		if e.ThreadTimeStamp != "" {
			fields["thread_ts"] = e.ThreadTimeStamp
		}
	case *slackevents.ChannelRenameEvent:
		ch := e.Channel
		remember = func() error { return a.state.SetChannelName(ctx, team, ch.ID, ch.Name) }
		own, err := a.state.TakeRename(ctx, team, ch.ID, ch.Name)
		if err != nil {
			return err
		}
		if own {
			break // our own revert or execute
		}
		previous := renamedFrom
		if previous == "" {
			// Names being learned when the event came (Run's start) may have been listed
			// before the rename.
			if previous, err = a.state.ChannelName(ctx, team, ch.ID); err != nil {
				return err
			}
		}
		if previous == ch.Name {
			previous = "" // learned since the rename: not what it was called before
		}
		if previous == "" {
			// Still governed: a policy may pass it. Its revert will fail, saying why.
			a.log.Warn("slack channel renamed before the adapter knew its name; the rename cannot be reverted",
				"team", team, "channel", ch.ID, "name", ch.Name, "event", outer.EventID)
		}
		typ = domain.ActionSlackRenameConversation
		fields = map[string]any{"channel": ch.ID, "name": ch.Name, "previous_name": previous}
	case *slackevents.ChannelCreatedEvent:
		// Not governed; its name is what a later rename reverts to.
		if e.Channel.ID != "" && e.Channel.Name != "" {
			if err := a.state.SetChannelName(ctx, team, e.Channel.ID, e.Channel.Name); err != nil {
				return err
			}
		}
		if e.Channel.ID == "" || e.Channel.Creator == a.botUser(ctx, team, c) {
			break
		}
		typ, member, trigger = domain.ActionSlackChannelCreated, e.Channel.Creator, true
		fields = map[string]any{"channel": e.Channel.ID, "name": e.Channel.Name, "creator": e.Channel.Creator}
	case *slackevents.ReactionAddedEvent:
		if e.User == "" || e.User == a.botUser(ctx, team, c) {
			break
		}
		typ, member, trigger = domain.ActionSlackReactionAdded, e.User, true
		fields = map[string]any{"reaction": e.Reaction, "channel": e.Item.Channel, "timestamp": e.Item.Timestamp, "user": e.User}
		if e.ItemUser != "" {
			fields["item_user"] = e.ItemUser
		}
	case *slackevents.PinRemovedEvent:
		if e.User == a.botUser(ctx, team, c) {
			break // our own revert of a pin
		}
		channel, ts := pinned(e.Channel, e.Item)
		typ, member, trigger = domain.ActionSlackPinRemoved, e.User, true
		fields = map[string]any{"channel": channel, "timestamp": ts, "user": e.User}
	case *slackevents.MemberJoinedChannelEvent:
		bot := a.botUser(ctx, team, c)
		if e.User == bot {
			// Invited into a channel (a private one conversations.list did not show): learn
			// its name now, before anyone renames it.
			a.refreshChannelName(ctx, team, e.Channel, c)
			break
		}
		if e.Inviter != "" && e.Inviter == bot {
			break
		}
		a.learnChannelName(ctx, team, e.Channel, c)
		typ, member = domain.ActionSlackJoinConversation, e.User
		if e.Inviter != "" {
			member = e.Inviter
		}
		fields = map[string]any{"channel": e.Channel, "users": []any{e.User}, "user": e.User}
		if e.Inviter != "" {
			fields["inviter"] = e.Inviter
		}
	case *slackevents.PinAddedEvent:
		if e.User == a.botUser(ctx, team, c) {
			break
		}
		channel, ts := pinned(e.Channel, e.Item)
		typ, member = domain.ActionSlackPinMessage, e.User
		fields = map[string]any{"channel": channel, "timestamp": ts, "user": e.User}
	}
	if typ != "" {
		if err := a.propose(ctx, team, communityID, member, typ, !trigger, fields, outer); err != nil {
			return err
		}
	}
	if remember != nil {
		if err := remember(); err != nil {
			return err
		}
	}
	_, err = a.deps.Seen.First(ctx, team, outer.EventID)
	return err
}

// propose publishes the ProposeAction of an event. The publish is tried again a few times:
// Slack had its 200 before the event was handled, and will not deliver it again.
//
// governable actions are platform actions the adapter can revert and carry out again; the
// others are trigger actions, which policies react to but cannot undo.
func (a *Adapter) propose(ctx context.Context, team, communityID, member, typ string, governable bool, fields map[string]any, outer outerEvent) error {
	at := time.Unix(outer.EventTime, 0).UTC()
	if outer.EventTime == 0 {
		at = a.deps.Now().UTC()
	}
	id := eventActionID(team, outer.EventID)
	cmd := bus.ProposeAction{Action: domain.Action{
		ID: id, CommunityID: communityID, Kind: domain.KindPlatform, Type: typ, Platform: domain.PlatformSlack,
		Fields: fields, Reversible: governable, ExternalID: outer.EventID, ProposedAt: at,
	}}
	if !governable {
		cmd.Action.Kind = domain.KindTrigger
	}
	if member != "" {
		// The engine knows (or registers) the member as a community user.
		cmd.Initiator = &bus.PlatformUser{Platform: domain.PlatformSlack, Username: member}
	}
	return a.publish.Publish(ctx, bus.TopicProposeAction, id, bus.CommandProposeAction, cmd)
}

// An event's ProposeAction is published at most publishAttempts times, publishBackoff
// apart at first, then twice as long each time.
const (
	publishAttempts = 3
	publishBackoff  = 100 * time.Millisecond
)

// pinned returns the channel and the timestamp of the message a pin event is about.
func pinned(channel string, item slackevents.Item) (string, string) {
	ts := item.Timestamp
	if channel == "" {
		channel = item.Channel
	}
	if item.Message != nil && item.Message.Timestamp != "" {
		ts = item.Message.Timestamp
	}
	return channel, ts
}

// eventActionID is the ProposeAction id (and Action.ID) of a Slack event.
func eventActionID(teamID, eventID string) string {
	return platform.EventID(domain.PlatformSlack, "event", teamID, eventID)
}

// serveInteraction answers an interactivity payload once it is handled (acceptInteraction);
// 500 when it could not be, and Slack tells the member so.
func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		http.Error(w, "missing payload", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "malformed payload", http.StatusBadRequest)
		return
	}
	switch err := a.acceptInteraction(r.Context(), cb); {
	case errors.Is(err, errMalformed):
		a.log.Warn("slack vote click refused", "team", cb.Team.ID, "user", cb.User.ID, "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		a.log.Error("slack vote click not handled", "team", cb.Team.ID, "user", cb.User.ID, "err", err)
		http.Error(w, "vote not recorded", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// acceptInteraction handles an interactivity payload, from the HTTP hook or Socket Mode: a
// click on a vote button becomes a CastVote for an eligible member on an open proposal, and
// an ephemeral answer for the others (not eligible, the vote has ended); everything else is
// ignored. A button value the vote does not offer is errMalformed (wrapped). Slack wants the
// answer within three seconds; this does two lookups and one publish or one API call.
func (a *Adapter) acceptInteraction(ctx context.Context, cb slack.InteractionCallback) error {
	if cb.Type != slack.InteractionTypeBlockActions {
		return nil
	}
	return a.handleVoteClick(ctx, cb)
}

func (a *Adapter) handleVoteClick(ctx context.Context, cb slack.InteractionCallback) error {
	var act *slack.BlockAction
	for _, ba := range cb.ActionCallback.BlockActions {
		if strings.HasPrefix(ba.ActionID, voteActionPrefix) {
			act = ba
			break
		}
	}
	if act == nil {
		a.log.Debug("slack click on something not a vote button", "team", cb.Team.ID)
		return nil
	}
	team := cb.Team.ID
	channel, ts := cb.Container.ChannelID, cb.Container.MessageTs
	if channel == "" {
		channel = cb.Channel.ID
	}
	if ts == "" {
		ts = cb.Message.Timestamp
	}
	vp, ok, err := a.state.Vote(ctx, team, channel, ts)
	if err != nil {
		return err
	}
	if !ok {
		a.log.Debug("slack click on an unknown vote message", "team", team, "channel", channel, "ts", ts)
		return nil // not one of our votes (or from before the state was kept)
	}
	member := cb.User.ID
	// The voter is named by member id; the engine knows (or registers) them.
	vote := domain.Vote{Username: member, Kind: vp.Kind, At: a.deps.Now().UTC()}
	switch vp.Kind {
	case domain.VoteBoolean:
		if act.Value != valueYes && act.Value != valueNo {
			return fmt.Errorf("%w: a yes/no vote with value %.40q", errMalformed, act.Value)
		}
		vote.Boolean = act.Value == valueYes
	default:
		if !slices.Contains(vp.Options, act.Value) {
			return fmt.Errorf("%w: a vote for %.40q, not one of its options", errMalformed, act.Value)
		}
		if len(act.Value) > domain.MaxChoiceLen {
			return fmt.Errorf("%w: a choice of %d bytes, over %d", errMalformed, len(act.Value), domain.MaxChoiceLen)
		}
		vote.Choice = act.Value
	}
	if len(vp.Users) > 0 && !slices.Contains(vp.Users, member) {
		return a.answerClick(ctx, team, channel, member, "Sorry, you are not eligible to vote on this proposal.")
	}
	if status := a.proposalStatus(ctx, vp); status == domain.StatusPassed || status == domain.StatusFailed {
		return a.answerClick(ctx, team, channel, member, "This vote has ended: "+status+".")
	}
	cmd := bus.CastVote{CommunityID: vp.CommunityID, ProposalID: vp.ProposalID, Platform: domain.PlatformSlack, Vote: vote}
	actionTS := act.ActionTs
	if actionTS == "" {
		actionTS = strconv.FormatInt(vote.At.UnixNano(), 10)
	}
	id := platform.EventID(domain.PlatformSlack, "vote", team, channel, ts, member, actionTS)
	return a.publish.Publish(ctx, bus.TopicCastVote, id, bus.CommandCastVote, cmd)
}

// answerClick answers a member's click with a message only they see.
func (a *Adapter) answerClick(ctx context.Context, team, channel, member, text string) error {
	c, err := a.client(ctx, team)
	if err != nil {
		return err
	}
	return a.retry(ctx, func() error {
		_, err := c.PostEphemeralContext(ctx, channel, member, slack.MsgOptionText(text, false))
		return err
	})
}

// proposalStatus returns the status of vp's proposal, "" when unknown: a failed lookup sends
// the click on, for the engine to take or refuse.
func (a *Adapter) proposalStatus(ctx context.Context, vp VotePost) string {
	if a.deps.Proposals == nil {
		return ""
	}
	status, err := a.deps.Proposals.Status(ctx, vp.CommunityID, vp.ProposalID)
	if err != nil {
		a.log.Warn("slack vote click: proposal status unknown; sending the vote", "proposal", vp.ProposalID, "err", err)
		return ""
	}
	return status
}
