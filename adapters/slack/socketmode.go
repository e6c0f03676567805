package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// SocketMode reports whether the adapter has an app-level token, that is whether
// RunSocketMode can run.
func (a *Adapter) SocketMode() bool { return a.cfg.AppToken != "" }

// RunSocketMode receives Slack's events and interactivity payloads over a Socket Mode
// WebSocket (opened with apps.connections.open and Config.AppToken) until ctx ends, then
// returns nil. It is an alternative to the hook for an install Slack cannot reach, and may
// run alongside it: both share the handling, the de-duplication by (team, event_id) and
// the bound on background work.
//
// Every envelope is acknowledged as soon as it is accepted, which is where the hook answers
// 200. One that finds all workers busy is not, and Slack delivers it again, as after the
// hook's 503. A vote click is acknowledged once recorded; one that cannot be is not, and
// Slack tells the member so, as after the hook's 500.
//
// socketmode reconnects when Slack asks it to or the connection drops; an error is returned
// only when it cannot (the app token is refused, for example).
func (a *Adapter) RunSocketMode(ctx context.Context) error {
	if !a.SocketMode() {
		return errors.New("slack: socket mode needs Config.AppToken")
	}
	api := slack.New(a.cfg.AppToken, slack.OptionAppLevelToken(a.cfg.AppToken), slack.OptionAPIURL(a.cfg.APIURL))
	client := socketmode.New(api, socketmode.OptionLog(slog.NewLogLogger(a.log.Handler(), slog.LevelDebug)))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- client.RunContext(ctx) }()
	a.log.Info("slack socket mode on")
	for {
		select {
		case err := <-done:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack socket mode: %w", err)
		case <-ctx.Done():
			<-done
			return nil
		case evt := <-client.Events:
			a.onSocketEvent(ctx, client, evt)
		}
	}
}

// onSocketEvent handles one event of the socketmode client. It must not block for long:
// the client's other events wait behind it.
func (a *Adapter) onSocketEvent(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		a.log.Debug("slack socket mode connecting")
	case socketmode.EventTypeConnected:
		a.log.Info("slack socket mode connected")
	case socketmode.EventTypeConnectionError:
		if e, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
			a.log.Warn("slack socket mode cannot connect; retrying", "attempt", e.Attempt, "backoff", e.Backoff, "err", e.ErrorObj)
		}
	case socketmode.EventTypeInvalidAuth:
		a.log.Error("slack socket mode: app token refused")
	case socketmode.EventTypeErrorBadMessage:
		if e, ok := evt.Data.(*socketmode.ErrorBadMessage); ok {
			a.log.Warn("slack socket mode message unreadable", "err", e.Cause)
		}
	case socketmode.EventTypeIncomingError:
		if e, ok := evt.Data.(*slack.IncomingEventError); ok {
			a.log.Warn("slack socket mode read failed", "err", e.ErrorObj)
		}
	case socketmode.EventTypeErrorWriteFailed:
		if e, ok := evt.Data.(*socketmode.ErrorWriteFailed); ok {
			a.log.Warn("slack socket mode ack not sent", "err", e.Cause)
		}
	case socketmode.EventTypeEventsAPI:
		if evt.Request != nil {
			a.onSocketEventsAPI(ctx, client, *evt.Request)
		}
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		if evt.Request != nil && ok {
			a.onSocketInteraction(ctx, client, *evt.Request, cb)
		}
	case socketmode.EventTypeSlashCommand:
		// No commands are ours; acknowledged so that Slack does not repeat them.
		if evt.Request != nil {
			a.ack(ctx, client, *evt.Request)
		}
	}
}

// onSocketEventsAPI takes an events_api envelope, whose payload is the JSON the hook
// receives, into acceptEvent.
func (a *Adapter) onSocketEventsAPI(ctx context.Context, client *socketmode.Client, req socketmode.Request) {
	var outer outerEvent
	if err := json.Unmarshal(req.Payload, &outer); err != nil || outer.Type != slackevents.CallbackEvent {
		a.ack(ctx, client, req) // nothing to do, now or on a retry
		return
	}
	err := a.acceptEvent(outer, req.Payload, strconv.Itoa(req.RetryAttempt))
	switch {
	case errors.Is(err, errBusy):
		a.log.Warn("slack event left for Slack to deliver again", "team", outer.TeamID, "event", outer.EventID, "err", err)
		return
	case err != nil:
		a.log.Warn("slack event refused", "team", outer.TeamID, "event", outer.EventID, "err", err)
	}
	a.ack(ctx, client, req)
}

// onSocketInteraction handles an interactive envelope on a worker, so that a slow Slack
// call does not hold up the events behind it, and acknowledges it once handled.
func (a *Adapter) onSocketInteraction(ctx context.Context, client *socketmode.Client, req socketmode.Request, cb slack.InteractionCallback) {
	err := a.workers.Go(func(wctx context.Context) {
		ictx, cancel := context.WithCancel(wctx)
		defer cancel()
		defer context.AfterFunc(ctx, cancel)() // the connection's end ends it too
		switch err := a.acceptInteraction(ictx, cb); {
		case errors.Is(err, errMalformed):
			// Acknowledged: Slack would only send it again.
			a.log.Warn("slack vote click refused", "team", cb.Team.ID, "user", cb.User.ID, "err", err)
		case err != nil:
			a.log.Error("slack vote click not handled", "team", cb.Team.ID, "user", cb.User.ID, "err", err)
			return
		}
		a.ack(ictx, client, req)
	})
	if err != nil {
		a.log.Warn("slack vote click not handled", "team", cb.Team.ID, "user", cb.User.ID, "err", errBusy)
	}
}

// ack acknowledges an envelope. It waits for the connection, and gives up when ctx ends.
func (a *Adapter) ack(ctx context.Context, client *socketmode.Client, req socketmode.Request) {
	if err := client.AckCtx(ctx, req.EnvelopeID, nil); err != nil {
		a.log.Warn("slack socket mode ack failed", "envelope", req.EnvelopeID, "err", err)
	}
}
