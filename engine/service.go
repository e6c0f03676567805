package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/google/uuid"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/eventstore"
)

// Checkpoints keeps named positions in the log.
type Checkpoints interface {
	Load(ctx context.Context, name string) (eventstore.Position, error)
	Save(ctx context.Context, name string, pos eventstore.Position) error
}

// ActionRef names a recorded action.
type ActionRef struct {
	CommunityID string
	ActionID    string
}

// ProposalRef names an open proposal, for the re-check schedule.
type ProposalRef struct {
	CommunityID string
	ProposalID  string
}

// OpenProposals lists the proposals still PROPOSED (from the read models), so that a
// starting engine re-checks every one of them: no deadline is lost across a restart.
type OpenProposals func(ctx context.Context) ([]ProposalRef, error)

// Leadership runs fn while this process is the one leader among the engines sharing the
// database (see RunAsLeader); a single-process setup may just call fn.
type Leadership func(ctx context.Context, fn func(ctx context.Context) error) error

// Service runs an Engine on the bus: command and event handlers in the engine's consumer
// group (so several engine processes share the work), and, in the leader only, the
// forwarder that publishes the log to the bus and the re-check schedule.
type Service struct {
	Engine        *Engine
	Store         eventstore.Store
	Bus           *bus.Bus
	Checkpoints   Checkpoints
	OpenProposals OpenProposals
	Leadership    Leadership
	Log           *slog.Logger
	// Tick is how often the schedule looks for due re-checks (default 1s).
	Tick time.Duration
	// Parallel bounds how many communities decide at once (default 4).
	Parallel int
	// PendingActions lists actions recorded but not yet decided (from the read models), for
	// the leader's sweeps: at start-up, and every PendingSweep after it.
	PendingActions func(ctx context.Context) ([]ActionRef, error)
	// PendingSweep is how often the leader looks for actions still undecided since its last
	// look (default 5s): work another engine took from the bus and lost when it died.
	PendingSweep time.Duration
	// Decided notes how far the engine has decided each stream, for whoever recorded a
	// command and waits for its decision (optional).
	Decided Decided
	// SerialVotes makes the engine record the votes of the in-process bus one at a time,
	// acknowledging each once it is in the log, as it does on the durable buses. By default
	// it queues them and takes the next at once, so that votes on one proposal arriving
	// together share one commit (the in-process bus keeps nothing across a crash either way).
	SerialVotes bool
	// CommandHandlers is how many messages of each of the topics whose commands are
	// independent of each other (proposed actions, effect results) a durable bus hands the
	// engine at once (default 8). Votes are taken one at a time, in order: a member's change
	// of mind must come after their first vote.
	CommandHandlers int
	// Observe, when set, sees every event the forwarder has published, in log order (metrics).
	Observe func(evs []eventstore.RecordedEvent)

	dispatch *dispatcher
	votes    voteBatches
	notes    decidedNotes
	// recent notes what this process decided, so that the event of a command it recorded
	// and decided is passed over without asking Decided.
	recent MemoryDecided
	// waiting holds, by proposal id, the re-check queued for a proposal and not started:
	// what wakes the proposal meanwhile joins it instead of queueing a check of its own.
	waitingMu sync.Mutex
	waiting   map[string]*waitingCheck
	// sched is the leader's re-check schedule while this process leads; rechecks bounds
	// the timed re-checks queued in this process (see runSchedule, onRecheck).
	sched    atomic.Pointer[schedule]
	rechecks *recheckBound
	probes   chan probe

	ready chan struct{}
	once  sync.Once
	live  atomic.Bool
}

// ForwarderCheckpoint names, among Checkpoints, the position up to which the forwarder has
// published the log on the bus.
const ForwarderCheckpoint = "forwarder"

const forwarderCheckpoint = ForwarderCheckpoint

// Ready is closed once the handlers are subscribed.
func (s *Service) Ready() <-chan struct{} {
	s.once.Do(func() { s.ready = make(chan struct{}) })
	return s.ready
}

// Live tells whether Run is serving: its handlers subscribed and its leadership loop going.
func (s *Service) Live() bool { return s.live.Load() }

// Run serves until ctx ends, and then returns nil. Anything else that stops it is returned
// as an error, never nil: a caller must not mistake an engine that stopped for one that was
// asked to.
func (s *Service) Run(ctx context.Context) error {
	s.Ready()
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	if s.Tick <= 0 {
		s.Tick = time.Second
	}
	if s.Parallel <= 0 {
		s.Parallel = 4
	}
	if s.CommandHandlers <= 0 {
		s.CommandHandlers = 8
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.dispatch = newDispatcher(ctx, s.Parallel, s.Log, s.Engine.decideUnits)
	s.rechecks = newRecheckBound(maxQueuedRechecks)
	s.probes = make(chan probe, maxQueuedRechecks)
	s.runProbes(ctx, s.probes)
	s.waitingMu.Lock()
	s.waiting = nil // checks queued in an earlier run's dispatcher went with it
	s.waitingMu.Unlock()
	s.notes = decidedNotes{to: s.Decided, log: s.Log}
	defer s.notes.wait() // after the dispatcher's last note
	defer s.dispatch.wait()
	router, err := s.Bus.NewRouter("engine")
	if err != nil {
		return err
	}
	sub := s.Bus.Subscriber()
	handlers := map[string]message.NoPublishHandlerFunc{
		bus.TopicEvents:                                      s.onEvent,
		bus.TopicProposeAction:                               s.onProposeAction,
		bus.TopicCastVote:                                    s.onCastVote,
		bus.TopicRecordEffectResult:                          s.onEffectResult,
		bus.CommandTopic(bus.CommandRecheckProposal):         s.onRecheck,
		bus.CommandTopic(bus.CommandUpdateGovernanceProcess): s.onGovernanceProcess,
		bus.CommandTopic(bus.CommandCloseVote):               s.onCloseVote,
	}
	s.votes = voteBatches{rec: s.Engine.Recorder, max: maxVoteBatch}
	if s.Bus.Transport() == bus.TransportGoChannel && !s.SerialVotes {
		handlers[bus.TopicCastVote] = s.postVote(ctx)
		handlers[bus.TopicRecordEffectResult] = s.postEffectResult
		handlers[bus.TopicProposeAction] = s.postProposeAction
	}
	for topic, h := range handlers {
		name := "engine-" + strings.ReplaceAll(topic, ".", "-")
		router.AddConsumerHandler(name, topic, sub, h)
		if !parallelTopics[topic] || s.Bus.Transport() == bus.TransportGoChannel {
			continue
		}
		// More handlers of the same topic take its messages in parallel, and the actions
		// and results they bring are recorded in shared commits (see await).
		for i := 2; i <= s.CommandHandlers; i++ {
			router.AddConsumerHandler(fmt.Sprintf("%s-%d", name, i), topic, sub, h)
		}
	}
	errc := make(chan error, 2)
	go func() { errc <- router.Run(ctx) }()
	select {
	case <-router.Running():
		s.live.Store(true)
		defer s.live.Store(false)
		close(s.ready)
	case err := <-errc:
		return fmt.Errorf("engine router: %w", err)
	}
	lead := s.Leadership
	if lead == nil {
		lead = func(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }
	}
	go func() { errc <- lead(ctx, s.leadUntilDone) }()
	err = <-errc
	s.live.Store(false)
	cancel()
	_ = router.Close()
	if parent.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		return nil
	}
	if err == nil || errors.Is(err, context.Canceled) {
		err = fmt.Errorf("engine stopped unexpectedly (%v)", err)
	}
	return err
}

// leadUntilDone runs the leader's duties until ctx ends, starting them again after a
// failure (the broker or the database away for a while) rather than stopping the process.
func (s *Service) leadUntilDone(ctx context.Context) error {
	for {
		err := s.lead(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.Log.Warn("leader duties stopped; starting them again", "err", err, "in", leaderRetry)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(leaderRetry):
		}
	}
}

const leaderRetry = 2 * time.Second

// lead runs the leader's duties: publish the log to the bus and keep the re-check schedule.
func (s *Service) lead(ctx context.Context) error {
	s.Log.Info("engine leads: forwarding the log and scheduling re-checks")
	sched := newSchedule(s.Engine.Loop().RecheckInterval(), s.Tick, s.Engine.now())
	if s.OpenProposals != nil {
		open, err := s.OpenProposals(ctx)
		if err != nil {
			return fmt.Errorf("open proposals: %w", err)
		}
		for _, p := range open {
			sched.add(p, 0) // due within an interval: whatever came due while no leader ran
		}
	}
	s.sched.Store(sched)
	defer s.sched.CompareAndSwap(sched, nil)
	if s.PendingActions != nil {
		pending, err := s.PendingActions(ctx)
		if err != nil {
			return fmt.Errorf("pending actions: %w", err)
		}
		for _, a := range pending {
			s.evaluateAction(a.CommunityID, a.ActionID, NewMeta(), nil)
		}
	}
	from, err := s.Checkpoints.Load(ctx, forwarderCheckpoint)
	if err != nil {
		return err
	}
	errc := make(chan error, 3)
	go func() {
		errc <- s.Store.Subscribe(ctx, from, func(ctx context.Context, evs []eventstore.RecordedEvent) error {
			if err := s.forward(ctx, evs, sched); err != nil {
				return err
			}
			if s.Observe != nil {
				s.Observe(evs)
			}
			return s.Checkpoints.Save(ctx, forwarderCheckpoint, evs[len(evs)-1].Position)
		})
	}()
	go func() { errc <- s.runSchedule(ctx, sched) }()
	if s.PendingActions != nil {
		go func() { errc <- s.sweepPending(ctx) }()
	}
	return <-errc
}

// sweepPending evaluates, every PendingSweep, the actions that were undecided at the last
// sweep too. The engine that took an action from the bus acknowledged it before deciding it;
// if that engine died or stopped meanwhile, nothing else would bring the action back. An
// action still undecided after a whole interval is taken to be such a one: evaluating it again
// is safe, since a decision is appended once whoever makes it.
func (s *Service) sweepPending(ctx context.Context) error {
	interval := s.PendingSweep
	if interval <= 0 {
		interval = 5 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var last map[ActionRef]bool
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		pending, err := s.PendingActions(ctx)
		if err != nil {
			return fmt.Errorf("pending actions: %w", err)
		}
		now := make(map[ActionRef]bool, len(pending))
		for _, a := range pending {
			now[a] = true
			if last[a] {
				s.Log.Info("evaluating an action still undecided since the last sweep", "community", a.CommunityID, "action", a.ActionID)
				s.evaluateAction(a.CommunityID, a.ActionID, NewMeta(), nil)
			}
		}
		last = now
	}
}

// forward publishes a batch of stored events to the bus: every event on the events topic,
// and each requested effect on its platform's effects topic. A crash before the checkpoint
// is saved publishes the batch again; consumers recognise messages by their UUIDs.
func (s *Service) forward(ctx context.Context, evs []eventstore.RecordedEvent, sched *schedule) error {
	msgs := make([]*message.Message, 0, len(evs))
	for _, ev := range evs {
		payload, err := bus.EnvelopeOf(ev).MarshalCompactless()
		if err != nil {
			return err
		}
		m := bus.NewMessage(ev.ID.String(), ev.Type, payload)
		setMeta(m, ev.CausationID, ev.CorrelationID)
		if s.tooLarge(m) {
			if err := s.park(ev, bus.TopicEvents, len(payload)); err != nil {
				return err
			}
		} else {
			msgs = append(msgs, m)
		}

		var de domain.Event // only what the schedule and the effects need is decoded
		if forwarderReads[ev.Type] {
			if de, err = domain.Unmarshal(ev.Type, ev.SchemaVersion, ev.Data); err != nil {
				s.Log.Warn("unreadable event in the log; forwarded as is", "event", ev.ID, "type", ev.Type, "err", err)
				continue
			}
		}
		sched.observe(ev, de)
		if req, ok := de.(domain.EffectRequested); ok {
			if err := s.publishEffect(ev, req); err != nil {
				return err
			}
		}
	}
	if err := s.Bus.Publisher().Publish(bus.TopicEvents, msgs...); err != nil {
		return fmt.Errorf("publish events: %w", err)
	}
	return nil
}

// forwarderReads are the events the forwarder decodes: those the re-check schedule follows
// (see schedule.observe) and the effects it hands to their platforms. Of the others it needs
// only the stream and version.
var forwarderReads = map[string]bool{
	domain.EventProposalOpened: true, domain.EventProposalEvaluated: true, domain.EventProposalPassed: true,
	domain.EventProposalFailed: true, domain.EventEffectRequested: true,
}

func (s *Service) publishEffect(ev eventstore.RecordedEvent, req domain.EffectRequested) error {
	r := bus.EffectRequest{
		CommunityID: req.CommunityID, ProposalID: req.ProposalID, EffectID: req.EffectID,
		IdempotencyKey: req.IdempotencyKey, Platform: req.Platform, Method: req.Method, Purpose: req.Purpose,
		Args: req.Args, RequestedAt: req.At,
	}
	if domain.StreamCategory(ev.Stream) == domain.CategoryAction {
		r.ActionID = domain.StreamID(ev.Stream)
	}
	payload, err := json.Marshal(r)
	if err != nil {
		return err
	}
	m := bus.NewMessage(uuid.NewSHA1(uuid.NameSpaceOID, []byte("effect:"+req.EffectID)).String(), bus.MessageEffectRequest, payload)
	setMeta(m, ev.ID, ev.CorrelationID)
	if s.tooLarge(m) {
		return s.park(ev, bus.EffectsTopic(req.Platform), len(payload))
	}
	if err := s.Bus.Publisher().Publish(bus.EffectsTopic(req.Platform), m); err != nil {
		return fmt.Errorf("publish effect %s: %w", req.EffectID, err)
	}
	return nil
}

func (s *Service) tooLarge(m *message.Message) bool {
	limit := s.Bus.MaxMessageBytes()
	return limit > 0 && len(m.Payload) > limit
}

// park sets aside an event that can never be carried on the bus (it stays in the log, where
// the projections and the audit read it): the forwarder logs it as an error and leaves a
// small notice of it on the poison topic, instead of failing, and so stopping, the forwarding
// of every event after it.
func (s *Service) park(ev eventstore.RecordedEvent, topic string, size int) error {
	reason := fmt.Sprintf("%d bytes, over the bus's %d", size, s.Bus.MaxMessageBytes())
	s.Log.Error("event too large for the bus: parked, not forwarded", "event", ev.ID, "type", ev.Type,
		"stream", ev.Stream, "version", ev.Version, "topic", topic, "reason", reason)
	notice, err := json.Marshal(map[string]any{"event_id": ev.ID, "type": ev.Type, "stream": ev.Stream,
		"version": ev.Version, "position": ev.Position.String(), "size": size})
	if err != nil {
		return err
	}
	m := bus.NewMessage(uuid.NewSHA1(uuid.NameSpaceOID, []byte("parked:"+topic+":"+ev.ID.String())).String(), ev.Type, notice)
	m.Metadata.Set(middleware.ReasonForPoisonedKey, "too large for the bus: "+reason)
	m.Metadata.Set(middleware.PoisonedTopicKey, topic)
	setMeta(m, ev.CausationID, ev.CorrelationID)
	if err := s.Bus.Publisher().Publish(bus.TopicPoison, m); err != nil {
		return fmt.Errorf("park event %s: %w", ev.ID, err)
	}
	return nil
}

func setMeta(m *message.Message, causation, correlation uuid.UUID) {
	if causation != uuid.Nil {
		m.Metadata.Set(bus.MetadataCausationID, causation.String())
	}
	if correlation != uuid.Nil {
		m.Metadata.Set(bus.MetadataCorrelationID, correlation.String())
	}
}

// metaOf makes the metadata of the events a handled message causes.
func metaOf(msg *message.Message) Meta {
	m := Meta{}
	if id, err := uuid.Parse(msg.UUID); err == nil {
		m.CausationID = id
	} else {
		m.CausationID = uuid.NewSHA1(uuid.NameSpaceOID, []byte(msg.UUID))
	}
	if id, err := uuid.Parse(bus.CorrelationID(msg)); err == nil {
		m.CorrelationID = id
	} else {
		m.CorrelationID = m.CausationID
	}
	return m
}

// handled turns a handler's error into the router's vocabulary: domain errors (bad input,
// unknown ids, refused votes, decided proposals) cannot be fixed by retrying.
func (s *Service) handled(msg *message.Message, err error) error {
	if err == nil {
		return nil
	}
	if domain.ErrorCode(err) != "" || errors.Is(err, eventstore.ErrInvalid) {
		s.Log.Info("command refused", "message", msg.UUID, "type", bus.MessageType(msg), "err", err)
		return bus.Permanent(err)
	}
	return err
}

// refusedVote reports whether err is the engine's refusal of a vote as such: malformed or
// not offered (Invalid), on a decided proposal or closed vote (Conflict), by a member who may
// not vote (Forbidden). A vote naming an unknown proposal or user is an adapter's fault and
// stays a poisoned message.
func refusedVote(err error) bool {
	switch domain.ErrorCode(err) {
	case domain.CodeInvalid, domain.CodeConflict, domain.CodeForbidden:
		return true
	}
	return false
}

func decode[T any](msg *message.Message) (T, error) {
	var v T
	if err := domain.DecodeJSON(msg.Payload, &v); err != nil { // ids above 2^53 stay exact
		return v, bus.Permanent(fmt.Errorf("malformed %s payload: %w", bus.MessageType(msg), err))
	}
	return v, nil
}

// The command handlers record what a message brings (an action, a vote, an effect's result)
// through the same Recorder that the GraphQL API and the CLI use, acknowledge it, and hand
// the decision to the dispatcher. What another entry point recorded is decided when its
// event comes back from the log (onEvent); that event of a command the handlers recorded
// finds its decision noted (Decided) and is not decided again, so an action or a vote is
// evaluated once, by the same engine code, whoever recorded it. A crash in between loses
// nothing: the start-up sweep decides recorded actions, and the schedule re-checks every
// open proposal within an interval of the start, and then every interval those whose check
// may depend on time (see schedule).

func (s *Service) onEvent(msg *message.Message) error {
	switch bus.MessageType(msg) {
	case domain.EventActionProposed, domain.EventVoteCast, domain.EventAnswerRecorded:
	default:
		return nil
	}
	env, err := decode[bus.EventEnvelope](msg)
	if err != nil {
		return err
	}
	e, err := domain.Unmarshal(env.Type, env.SchemaVersion, env.Data)
	if err != nil {
		return bus.Permanent(err)
	}
	at := Recorded{Stream: env.Stream, Version: env.Version, Changed: true}
	switch e := e.(type) {
	case domain.ActionProposed:
		s.evaluateAction(e.CommunityID, e.ActionID, metaOf(msg), &at)
	case domain.VoteCast: // a vote wakes its proposal at once
		s.recheck(e.CommunityID, e.ProposalID, metaOf(msg), &at)
	case domain.AnswerRecorded: // the answer a waiting block asked for
		s.recheck(e.CommunityID, e.ProposalID, metaOf(msg), &at)
	}
	return nil
}

// decided tells whether the decision on the event at rec is in the log already.
func (s *Service) decided(ctx context.Context, rec *Recorded) bool {
	return s.decidedBy(ctx, rec, true)
}

// decidedBy is decided, asking the notes shared with other engines only when askShared.
func (s *Service) decidedBy(ctx context.Context, rec *Recorded, askShared bool) bool {
	if rec == nil {
		return false
	}
	if v, _ := s.recent.DecidedThrough(ctx, rec.Stream); v >= rec.Version {
		return true
	}
	if s.Decided == nil || !askShared {
		return false
	}
	v, err := s.Decided.DecidedThrough(ctx, rec.Stream)
	return err == nil && v >= rec.Version
}

// markDecided notes that the decision on the event at stream@version is in the log.
func (s *Service) markDecided(ctx context.Context, stream string, version int64) {
	if s.Decided == nil {
		return
	}
	s.notes.mark(ctx, stream, version)
}

// parallelTopics are the topics a durable bus hands the engine several messages of at once
// (see CommandHandlers).
var parallelTopics = map[string]bool{bus.TopicProposeAction: true, bus.TopicRecordEffectResult: true}

func (s *Service) onProposeAction(msg *message.Message) error {
	cmd, err := decode[bus.ProposeAction](msg)
	if err != nil {
		return err
	}
	if cmd.Action.ID == "" {
		return bus.Permanent(domain.Invalid("action id is empty"))
	}
	meta := metaOf(msg)
	var rec Recorded
	err = s.await(msg.Context(), cmd.Action.CommunityID, "propose "+cmd.Action.ID, func() *unit {
		return s.Engine.recordActionUnit(msg.Context(), cmd, meta, &rec)
	})
	if err != nil {
		return s.handled(msg, err)
	}
	if rec.Changed {
		s.evaluateRecorded(cmd.Action.CommunityID, cmd.Action.ID, meta, &rec)
	}
	return nil
}

// await has the dispatcher decide the unit that newUnit makes, with whatever else the
// community has to decide, and returns its answer: a handler of a durable bus acknowledges
// its message only once what the message brings is in the log. Handlers that take messages
// in parallel (CommandHandlers) so share their commits. A failure is the handler's to
// report: the bus delivers the message again.
func (s *Service) await(ctx context.Context, communityID, what string, newUnit func() *unit) error {
	done := make(chan error, 1)
	s.dispatch.submit(communityID, job{what: what, start: func(context.Context) (*unit, func(context.Context, error) error) {
		return newUnit(), func(_ context.Context, err error) error {
			done <- err
			return nil
		}
	}})
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// postProposeAction is the handler of proposed actions on the in-process bus: the action is
// recorded by the dispatcher, in one commit with whatever else its community has to record
// or decide, and the message is acknowledged at once (see postEffectResult). Once recorded,
// the action is evaluated next.
func (s *Service) postProposeAction(msg *message.Message) error {
	cmd, err := decode[bus.ProposeAction](msg)
	if err != nil {
		return err
	}
	if cmd.Action.ID == "" {
		return bus.Permanent(domain.Invalid("action id is empty"))
	}
	meta := metaOf(msg)
	s.dispatch.submit(cmd.Action.CommunityID, job{what: "propose " + cmd.Action.ID, start: func(ctx context.Context) (*unit, func(context.Context, error) error) {
		var rec Recorded
		return s.Engine.recordActionUnit(ctx, cmd, meta, &rec), func(_ context.Context, err error) error {
			switch {
			case isFinal(err) || errors.Is(err, eventstore.ErrInvalid):
				s.Log.Info("command refused", "message", msg.UUID, "type", bus.MessageType(msg), "err", err)
				return nil
			case err != nil:
				return err
			case rec.Changed:
				s.evaluateRecorded(cmd.Action.CommunityID, cmd.Action.ID, meta, &rec)
			}
			return nil
		}
	}})
	return nil
}

// maxVoteBatch bounds the votes recorded in one commit.
const maxVoteBatch = 256

// postVote is the handler of votes on the in-process bus: it queues each vote and takes the
// next at once (see voteBatches.post), so that votes arriving together share a commit. What
// the handler would do with the answer, a waiting batch does: a refusal is logged, a failure
// to record tried again after a moment, a decided-changing vote wakes its proposal.
func (s *Service) postVote(ctx context.Context) message.NoPublishHandlerFunc {
	var post func(v PendingVote, attempt int)
	post = func(v PendingVote, attempt int) {
		var alone func(PendingVote, func(bool))
		if attempt == 0 {
			alone = s.voteAlone
		}
		s.votes.post(ctx, v, func(rec Recorded, err error) {
			switch {
			case err == nil:
				if rec.Changed {
					s.recheck(v.Cmd.CommunityID, v.Cmd.ProposalID, v.Meta, &rec)
				}
			case finalForPosted(err):
				s.logRefused(v, err)
			case ctx.Err() != nil:
			default:
				s.Log.Warn("record vote; trying again", "proposal", v.Cmd.ProposalID, "attempt", attempt+1, "err", err)
				time.AfterFunc(min(time.Duration(attempt+1)*100*time.Millisecond, 5*time.Second), func() { post(v, attempt+1) })
			}
		}, alone)
	}
	return func(msg *message.Message) error {
		cmd, err := decode[bus.CastVote](msg)
		if err != nil {
			return err
		}
		post(PendingVote{Cmd: cmd, Meta: metaOf(msg)}, 0)
		return nil
	}
}

// finalForPosted tells whether err is a final answer to a vote taken from the in-process
// bus: a refusal (see refusedVote), or a proposal or user nobody knows, which trying again
// would not change (there is no poison queue to keep it for).
func finalForPosted(err error) bool {
	return refusedVote(err) || domain.ErrorCode(err) == domain.CodeNotFound
}

func (s *Service) logRefused(v PendingVote, err error) {
	s.Log.Info("vote refused", "community", v.Cmd.CommunityID, "proposal", v.Cmd.ProposalID,
		"code", domain.ErrorCode(err), "err", err)
}

// voteAlone records a vote and checks its proposal in one step, decided by the dispatcher
// with the urgency of a check a member waits on (see voteBatches.post). A refusal is final
// and logged; a voter to register first, or a failure, sends the vote back to the batch,
// which registers newcomers and tries again.
func (s *Service) voteAlone(v PendingVote, next func(requeue bool)) {
	s.dispatch.submit(v.Cmd.CommunityID, job{what: "vote on " + v.Cmd.ProposalID, urgent: true, start: func(ctx context.Context) (*unit, func(context.Context, error) error) {
		var rec Recorded
		u := s.Engine.voteUnit(ctx, v.Cmd, v.Meta, &rec)
		return u, func(ctx context.Context, err error) error {
			switch {
			case err == nil:
				s.settle(u.out)
				// The vote's event, back from the log, finds its check made.
				_ = s.finished(ctx, nil, &rec)
				next(false)
			case finalForPosted(err):
				s.logRefused(v, err)
				next(false)
			default:
				next(true)
			}
			return nil
		}
	}})
}

// settle lets the proposals go from the re-check schedule that a check found need no timed
// re-check (see evaluation.Outcome.OnEvent).
func (s *Service) settle(out evaluation.Outcome) {
	if sched := s.sched.Load(); sched != nil {
		for id, version := range out.OnEvent {
			sched.settled(id, version)
		}
	}
}

func (s *Service) onCastVote(msg *message.Message) error {
	cmd, err := decode[bus.CastVote](msg)
	if err != nil {
		return err
	}
	meta := metaOf(msg)
	rec, err := s.votes.cast(msg.Context(), PendingVote{Cmd: cmd, Meta: meta})
	if refusedVote(err) {
		// The member's answer, not a fault: a click after the decision, a redelivery of a
		// vote the decision came before, a value the vote does not offer. It is final, and
		// nothing an operator need look at in the poison queue.
		s.Log.Info("vote refused", "message", msg.UUID, "community", cmd.CommunityID, "proposal", cmd.ProposalID,
			"code", domain.ErrorCode(err), "err", err)
		return nil
	}
	if err != nil {
		return s.handled(msg, err)
	}
	if rec.Changed { // a vote wakes its proposal at once
		s.recheck(cmd.CommunityID, cmd.ProposalID, meta, &rec)
	}
	return nil
}

func (s *Service) onEffectResult(msg *message.Message) error {
	cmd, err := decode[bus.RecordEffectResult](msg)
	if err != nil {
		return err
	}
	// An answer a block waits for is recorded as AnswerRecorded, which resumes the
	// proposal when it comes back from the log.
	err = s.await(msg.Context(), cmd.CommunityID, "record effect "+cmd.EffectID, func() *unit {
		return s.Engine.effectUnit(msg.Context(), cmd, metaOf(msg))
	})
	return s.handled(msg, err)
}

// postEffectResult is the handler of effect results on the in-process bus: the result is
// recorded by the dispatcher, with whatever else its community has to decide, and the
// message is acknowledged at once (the in-process bus keeps nothing across a crash either
// way), so that the results arriving meanwhile share the commit.
func (s *Service) postEffectResult(msg *message.Message) error {
	cmd, err := decode[bus.RecordEffectResult](msg)
	if err != nil {
		return err
	}
	meta := metaOf(msg)
	s.dispatch.submit(cmd.CommunityID, job{what: "record effect " + cmd.EffectID, start: func(ctx context.Context) (*unit, func(context.Context, error) error) {
		return s.Engine.effectUnit(ctx, cmd, meta), func(_ context.Context, err error) error {
			if isFinal(err) {
				s.Log.Info("effect result refused", "message", msg.UUID, "community", cmd.CommunityID, "effect", cmd.EffectID,
					"code", domain.ErrorCode(err), "err", err)
				return nil
			}
			return err
		}
	}})
	return nil
}

func (s *Service) onGovernanceProcess(msg *message.Message) error {
	cmd, err := decode[bus.UpdateGovernanceProcess](msg)
	if err != nil {
		return err
	}
	meta := metaOf(msg)
	rec, err := s.Engine.Recorder().UpdateGovernanceProcess(msg.Context(), cmd, meta)
	if refusedVote(err) {
		// An update for a decided proposal, or of another process: the platform's news
		// comes too late or is not ours, and retrying changes nothing.
		s.Log.Info("governance process update refused", "message", msg.UUID, "community", cmd.CommunityID,
			"proposal", cmd.ProposalID, "code", domain.ErrorCode(err), "err", err)
		return nil
	}
	if err != nil {
		return s.handled(msg, err)
	}
	if rec.Changed { // the process's news wakes its proposal, as a vote does
		s.recheck(cmd.CommunityID, cmd.ProposalID, meta, &rec)
	}
	return nil
}

func (s *Service) onRecheck(msg *message.Message) error {
	cmd, err := decode[bus.RecheckProposal](msg)
	if err != nil {
		return err
	}
	release, err := s.rechecks.acquire(msg.Context(), s.Bus.Transport() == bus.TransportGoChannel)
	if err != nil {
		return err
	}
	select { // room for every re-check acquire allows: this does not wait
	case s.probes <- probe{cmd: cmd, cause: metaOf(msg), release: release}:
	case <-msg.Context().Done():
		release()
		return msg.Context().Err()
	}
	return nil
}

// evaluateAction evaluates a recorded action in the dispatcher. With rec (where the action
// was recorded), it does nothing when that is decided already, and notes the decision after
// it, unless the evaluation is to be tried again later.
func (s *Service) evaluateAction(communityID, actionID string, meta Meta, rec *Recorded) {
	s.submitEvaluation(communityID, actionID, meta, rec, true)
}

// evaluateRecorded is evaluateAction for an action this process has just recorded: another
// engine has hardly decided it yet, so only this process's own notes are asked (should one
// have, deciding it again decides nothing new).
func (s *Service) evaluateRecorded(communityID, actionID string, meta Meta, rec *Recorded) {
	s.submitEvaluation(communityID, actionID, meta, rec, false)
}

func (s *Service) submitEvaluation(communityID, actionID string, meta Meta, rec *Recorded, askShared bool) {
	s.dispatch.submit(communityID, job{what: "evaluate action " + actionID, start: func(ctx context.Context) (*unit, func(context.Context, error) error) {
		ctx, span := s.Bus.StartSpan(ctx, "engine evaluate action", meta.CorrelationID.String())
		if s.decidedBy(ctx, rec, askShared) {
			span.End()
			return nil, nil
		}
		return s.Engine.actionUnit(ctx, communityID, actionID, meta), func(ctx context.Context, err error) error {
			defer span.End()
			return s.finished(ctx, err, rec)
		}
	}})
}

// recheck checks a proposal in its own step, caused by (but not named as) the message that
// woke it, so that its events form a decision of their own in the log; rec as for
// evaluateAction. A proposal that a queued check will look at anyway is not queued again:
// the check loads the proposal when it starts, so it sees every vote recorded before that,
// and a thousand votes arriving while one check runs cost one more check, not a thousand.
// The check notes every recorded event it joined as decided.
func (s *Service) recheck(communityID, proposalID string, cause Meta, rec *Recorded) {
	s.queueRecheck(communityID, proposalID, cause, rec, nil)
}

// queueRecheck is recheck, calling done (when not nil) once the check has run.
func (s *Service) queueRecheck(communityID, proposalID string, cause Meta, rec *Recorded, done func()) {
	s.waitingMu.Lock()
	if w, ok := s.waiting[proposalID]; ok {
		w.join(rec, done)
		s.waitingMu.Unlock()
		return
	}
	w := &waitingCheck{}
	w.join(rec, done)
	if s.waiting == nil {
		s.waiting = map[string]*waitingCheck{}
	}
	s.waiting[proposalID] = w
	s.waitingMu.Unlock()

	meta := Meta{CausationID: RecheckCausation(cause.CausationID), CorrelationID: cause.CorrelationID}
	s.dispatch.submit(communityID, job{what: "recheck " + proposalID, urgent: rec != nil, start: func(ctx context.Context) (*unit, func(context.Context, error) error) {
		ctx, span := s.Bus.StartSpan(ctx, "engine recheck proposal", meta.CorrelationID.String())
		// From here on, whatever wakes the proposal queues a check of its own: this one
		// may have loaded the proposal before it.
		s.waitingMu.Lock()
		if s.waiting[proposalID] == w {
			delete(s.waiting, proposalID)
		}
		done := w.done // the first start's: a retry has none
		w.done = nil
		s.waitingMu.Unlock()
		if !w.always && s.decided(ctx, w.rec) {
			span.End()
			runAll(done)
			return nil, nil
		}
		u := s.Engine.recheckUnit(ctx, bus.RecheckProposal{CommunityID: communityID, ProposalID: proposalID}, meta)
		return u, func(ctx context.Context, err error) error {
			defer span.End()
			runAll(done)
			if err == nil {
				s.settle(u.out)
			}
			return s.finished(ctx, err, w.rec)
		}
	}})
}

func runAll(fs []func()) {
	for _, f := range fs {
		f()
	}
}

// RecheckCausation is the causation id of the events of a check that cause woke (a vote's
// message or event): what the check decides names it, so that a decision can be traced to
// the vote that brought it.
func RecheckCausation(cause uuid.UUID) uuid.UUID { return uuid.NewSHA1(cause, []byte("recheck")) }

// waitingCheck is what a queued re-check answers for: the latest recorded event on the
// proposal's stream that woke it (rec), and whether anything woke it without one (always:
// the schedule, which wants the check whatever is decided).
type waitingCheck struct {
	rec    *Recorded
	always bool
	done   []func() // called once the check has run
}

// join adds one more cause to the check; the caller holds Service.waitingMu.
func (w *waitingCheck) join(rec *Recorded, done func()) {
	if done != nil {
		w.done = append(w.done, done)
	}
	switch {
	case rec == nil:
		w.always = true
	case w.rec == nil || rec.Version > w.rec.Version:
		w.rec = rec
	}
}

// finished notes the decision on rec when it succeeded, or failed for good.
func (s *Service) finished(ctx context.Context, err error, rec *Recorded) error {
	if rec != nil && (err == nil || isFinal(err)) {
		s.recent.remember(rec.Stream, rec.Version)
		s.markDecided(ctx, rec.Stream, rec.Version)
	}
	return err
}

// isFinal tells errors that retrying cannot fix (domain errors: unknown ids, refused votes).
func isFinal(err error) bool { return domain.ErrorCode(err) != "" }
