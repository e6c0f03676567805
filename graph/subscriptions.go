package graph

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/graph/model"
)

// Subscriptions: live updates over a websocket (graphql-transport-ws, and the older
// graphql-ws). The connection_init payload carries the API token
// ({"authorization": "Bearer <token>"}); without one, the upgrade request's session cookie
// authenticates (the websocket library refuses upgrades from another origin, so a page
// elsewhere cannot ride a member's session). A connection with neither is refused. Each
// subscription follows the event log from its end at subscription time, through the one
// tail of the log that all subscriptions share (see tail.go), and stops when the client
// stops it or disconnects (the subscription's context ends, which ends the goroutine that
// runs it). A connection may hold Deps.MaxSubscriptionsPerSocket subscriptions at once, an
// account Deps.MaxSubscriptionsPerAccount across its connections.

// websocket returns the websocket transport: connection_init authenticates, keep-alive
// pings every interval (graphql-ws "ka" messages; graphql-transport-ws pings that a client
// must answer within twice the interval, or the connection is closed).
func websocket(accounts Identity, log func(msg string, args ...any), keepAlive time.Duration) transport.Websocket {
	return transport.Websocket{
		InitTimeout:           10 * time.Second,
		KeepAlivePingInterval: keepAlive,
		PingPongInterval:      keepAlive,
		InitFunc: func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
			refuse := func(err error) (context.Context, *transport.InitPayload, error) {
				// 4403 Forbidden, as graphql-transport-ws closes refused connections.
				return transport.AppendCloseReason(transport.WithWebsocketCloseCode(ctx, 4403), "Forbidden"), nil, err
			}
			if p.Authorization() == "" {
				if x := exchangeOf(ctx); x != nil && x.caller != nil {
					return context.WithValue(ctx, exchangeKey{}, &exchange{caller: x.caller, socket: &socketSubscriptions{}}), nil, nil
				}
				return refuse(ErrUnauthenticated)
			}
			scheme, token, ok := strings.Cut(p.Authorization(), " ")
			token = strings.TrimSpace(token)
			if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
				return refuse(ErrUnauthenticated)
			}
			c, err := accounts.CallerByToken(ctx, token)
			if err != nil {
				log("graphql: authenticate websocket", "err", err)
				return refuse(errors.New("internal error"))
			}
			if c == nil {
				return refuse(ErrUnauthenticated)
			}
			// The upgrade request's own exchange (its response writer is hijacked) is replaced.
			return context.WithValue(ctx, exchangeKey{}, &exchange{caller: c, socket: &socketSubscriptions{}}), nil, nil
		},
	}
}

// freshLoaders gives each response of a subscription its own loaders: the request's would
// keep serving what they loaded for the first response.
func freshLoaders(read reader) graphql.ResponseMiddleware {
	return func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		if !graphql.HasOperationContext(ctx) { // a request refused before it was parsed
			return next(ctx)
		}
		if oc := graphql.GetOperationContext(ctx); oc.Operation != nil && oc.Operation.Operation == ast.Subscription {
			ctx = withLoaders(ctx, newLoaders(read))
		}
		return next(ctx)
	}
}

// logEnd returns the position of the last event of the log that can be read now (events
// that open transactions still hold back come after it). It pages from the read models'
// checkpoint, which is usually close to the end.
func (r *Resolver) logEnd(ctx context.Context) (eventstore.Position, error) {
	pos, err := r.deps.Projections.Checkpoint(ctx)
	if err != nil {
		return eventstore.Position{}, err
	}
	for {
		evs, err := r.deps.Store.ReadAll(ctx, pos, 1000)
		if err != nil {
			return eventstore.Position{}, err
		}
		if len(evs) == 0 {
			return pos, nil
		}
		pos = evs[len(evs)-1].Position
	}
}

// errFellBehind ends a subscription that the shared tail dropped.
var errFellBehind = errors.New("fell behind the event log")

// follow runs first (when set) and then handle for each batch of the log's events after
// it returns, in a goroutine until ctx ends or either fails (logged unless ctx ended);
// then it calls done. The subscription counts against the socket's and the account's
// limits until then (LIMIT_EXCEEDED beyond them). The events come from the handler's one
// tail of the log, shared by every subscription.
func (r *Resolver) follow(ctx context.Context, what string, first func(context.Context) error, handle func(context.Context, []eventstore.RecordedEvent) error, done func()) error {
	release, err := r.subscriptions.acquire(ctx)
	if err != nil {
		return err
	}
	sub, err := r.tail.join(ctx)
	if err != nil {
		release()
		return err
	}
	go func() {
		defer done()
		defer release()
		defer r.tail.leave(sub)
		var err error
		if first != nil {
			err = first(ctx)
		}
		for err == nil {
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case batch, ok := <-sub.events:
				if !ok {
					err = errFellBehind
					break
				}
				err = handle(ctx, batch)
			}
		}
		if ctx.Err() == nil {
			r.deps.Log.Error("graphql: subscription ended", "subscription", what, "err", err)
		}
	}()
	return nil
}

// proposalUpdates is Subscription.proposalUpdated: the proposal as it is now, then after each batch of new events that
// touches the proposal's stream, it waits for the read models to include the batch's last
// event of the stream and sends the proposal as they show it.
func (r *Resolver) proposalUpdates(ctx context.Context, id string) (<-chan *model.Proposal, error) {
	p, err := r.read.proposal(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := mayView(ctx, p.CommunityID, p.ActionType, p.ActionKind, domain.NotFound("proposal %q", id)); err != nil {
		return nil, err
	}
	stream := domain.ProposalStream(id)
	ch := make(chan *model.Proposal)
	send := func(ctx context.Context) error {
		p, err := r.read.proposal(ctx, id)
		if err != nil {
			return err
		}
		select {
		case ch <- p:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	handle := func(ctx context.Context, evs []eventstore.RecordedEvent) error {
		var last *eventstore.Position
		for i := range evs {
			if evs[i].Stream == stream {
				last = &evs[i].Position
			}
		}
		if last == nil {
			return nil
		}
		if err := r.awaitPosition(ctx, *last); err != nil {
			return err
		}
		return send(ctx)
	}
	// The current state first (read after the start of the log tail, so nothing is missed).
	if err := r.follow(ctx, "proposalUpdated", send, handle, func() { close(ch) }); err != nil {
		return nil, err
	}
	return ch, nil
}

// communityEventTail is Subscription.communityEvents: each new event that Community.events
// would show the caller. An action or proposal stream the caller has not been seen to view
// yet is looked up in the read models once they include the batch (a new action's first
// event comes before the read models know the action).
func (r *Resolver) communityEventTail(ctx context.Context, communityID string) (<-chan *model.Event, error) {
	m, err := viewer(ctx, communityID)
	if err != nil {
		return nil, err
	}
	views, err := r.viewableStreams(ctx, communityID, m)
	if err != nil {
		return nil, err
	}
	ch := make(chan *model.Event)
	handle := func(ctx context.Context, evs []eventstore.RecordedEvent) error {
		var mine []eventstore.RecordedEvent
		unknown := false
		for _, ev := range evs {
			e, err := domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data)
			if err != nil || e.Meta().CommunityID != communityID {
				continue
			}
			mine = append(mine, ev)
			if cat := domain.StreamCategory(ev.Stream); cat == domain.CategoryAction || cat == domain.CategoryProposal {
				if _, seen := views[ev.Stream]; !seen {
					unknown = true
				}
			}
		}
		if len(mine) == 0 {
			return nil
		}
		if unknown {
			if err := r.awaitPosition(ctx, mine[len(mine)-1].Position); err != nil {
				return err
			}
			now, err := r.viewableStreams(ctx, communityID, m)
			if err != nil {
				return err
			}
			for _, ev := range mine {
				views[ev.Stream] = now[ev.Stream] // false: known, not viewable
			}
		}
		for _, ev := range mine {
			if !eventMatches(ev, communityID, model.EventFilter{}, func(s string) bool { return views[s] }, nil) {
				continue
			}
			e := eventOf(ev)
			select {
			case ch <- &e:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	if err := r.follow(ctx, "communityEvents", nil, handle, func() { close(ch) }); err != nil {
		return nil, err
	}
	return ch, nil
}
