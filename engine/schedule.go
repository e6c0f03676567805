package engine

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

// runSchedule publishes a RecheckProposal command for each proposal the schedule hands out:
// every tick at most the schedule's limit. On the in-process bus, which holds every
// published message in memory until its handler takes it, it hands out no more than the
// re-checks queued in this process leave room for, and more as they are done; a durable
// broker keeps what waits, and onRecheck bounds what is taken.
func (s *Service) runSchedule(ctx context.Context, sched *schedule) error {
	t := time.NewTicker(s.Tick)
	defer t.Stop()
	inProcess := s.Bus.Transport() == bus.TransportGoChannel
	topic := bus.CommandTopic(bus.CommandRecheckProposal)
	budget := 0 // what this tick may still hand out
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			budget = sched.limit()
		case <-s.rechecks.freed:
			if budget == 0 {
				continue
			}
		}
		now := s.Engine.now()
		room := budget
		if inProcess {
			room = min(room, max(0, s.rechecks.max-int(s.rechecks.inFlight.Load())))
		}
		due := sched.due(now, room)
		budget -= len(due)
		if len(due) == 0 {
			continue
		}
		stamp := now.UTC().Format(time.RFC3339Nano)
		msgs := make([]*message.Message, 0, len(due))
		for _, p := range due {
			payload, _ := json.Marshal(bus.RecheckProposal{CommunityID: p.CommunityID, ProposalID: p.ProposalID})
			id := uuid.NewSHA1(uuid.NameSpaceOID, []byte("recheck:"+p.ProposalID+":"+stamp))
			msgs = append(msgs, bus.NewMessage(id.String(), bus.CommandRecheckProposal, payload))
		}
		if inProcess {
			s.rechecks.inFlight.Add(int64(len(msgs)))
		}
		if err := s.Bus.Publisher().Publish(topic, msgs...); err != nil {
			s.Log.Warn("publish re-checks; they come due again an interval later", "count", len(msgs), "err", err)
			if inProcess {
				s.rechecks.inFlight.Add(-int64(len(msgs)))
			}
		}
	}
}

// maxQueuedRechecks bounds the timed re-checks queued in one process.
const maxQueuedRechecks = 512

// recheckBound bounds the timed re-checks (RecheckProposal commands) queued in this
// process: taken from the bus and not yet run, or, on the in-process bus, published and not
// yet run. What does not fit waits in the schedule's backlog, or in the broker.
type recheckBound struct {
	max      int
	slots    chan struct{} // a durable bus: one per re-check taken and not yet run
	inFlight atomic.Int64  // the in-process bus: published and not yet run
	freed    chan struct{} // signalled when an in-process re-check is done
}

func newRecheckBound(n int) *recheckBound {
	return &recheckBound{max: n, slots: make(chan struct{}, n), freed: make(chan struct{}, 1)}
}

// acquire makes room for one re-check taken from the bus, waiting while the process has
// its bound queued already (a durable bus); release is to be called once it has run.
func (b *recheckBound) acquire(ctx context.Context, inProcess bool) (release func(), err error) {
	if inProcess { // runSchedule counted it when it published it
		return func() {
			b.inFlight.Add(-1)
			select {
			case b.freed <- struct{}{}:
			default:
			}
		}, nil
	}
	select {
	case b.slots <- struct{}{}:
		return func() { <-b.slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// schedule decides when each open proposal is re-checked. It is a timing wheel: the interval
// is cut into slots of one tick, and a proposal sits in the slot a stable hash of its id
// names, so that the open proposals come due spread evenly over the interval (also all of
// them at once at leader start), each once per interval, and a tick costs the proposals of
// its slot, not a scan of all of them. What comes due waits in a backlog, of which each tick
// hands out at most limit (twice the proposals of an average slot): a stall (a clock jump,
// an engine too slow for a while) is caught up at a bounded pace.
//
// Only proposals whose last recorded check may depend on time are held: one whose check
// read neither the clock nor anything else that can change without an event on it
// (domain.RecheckOnEvent) is woken by what happens to it (votes, answers), and leaves the
// schedule until a later check depends on time again.
//
// It is safe for concurrent use: the forwarder observes the log, the leader's ticker takes
// what is due, and checks that found a proposal settled report it.
type schedule struct {
	mu       sync.Mutex
	interval time.Duration
	tick     time.Duration
	slots    [][]string // proposal ids by slot
	entries  map[string]*scheduled
	// communities interns community ids: 100,000 proposals of one community keep one copy.
	communities map[string]string
	backlog     []string // due, not yet handed out, in the order they came due
	done        int64    // the last tick (time / tick) whose slot went to the backlog
}

type scheduled struct {
	community string
	// version is the proposal stream's version as last observed (0 when only listed at
	// leader start): a settled report on an older state is stale.
	version int64
	slot    int32
	pos     int32 // index in slots[slot]
	queued  bool  // in the backlog
}

// newSchedule returns an empty schedule re-checking every interval, ticking every tick, from
// now on.
func newSchedule(interval, tick time.Duration, now time.Time) *schedule {
	if tick <= 0 {
		tick = time.Second
	}
	if interval < tick {
		interval = tick
	}
	n := int((interval + tick - 1) / tick)
	return &schedule{interval: interval, tick: tick, slots: make([][]string, n),
		entries: map[string]*scheduled{}, communities: map[string]string{}, done: now.UnixNano() / int64(tick)}
}

func (s *schedule) slotOf(id string) int32 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return int32(h.Sum64() % uint64(len(s.slots)))
}

// add holds a proposal (again); version as for scheduled.version.
func (s *schedule) add(p ProposalRef, version int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addLocked(p, version)
}

func (s *schedule) addLocked(p ProposalRef, version int64) {
	if e, ok := s.entries[p.ProposalID]; ok {
		e.version = max(e.version, version)
		return
	}
	c, ok := s.communities[p.CommunityID]
	if !ok {
		c = p.CommunityID
		s.communities[c] = c
	}
	slot := s.slotOf(p.ProposalID)
	s.entries[p.ProposalID] = &scheduled{community: c, version: version, slot: slot, pos: int32(len(s.slots[slot]))}
	s.slots[slot] = append(s.slots[slot], p.ProposalID)
}

func (s *schedule) removeLocked(id string) {
	e, ok := s.entries[id]
	if !ok {
		return
	}
	delete(s.entries, id)
	slot := s.slots[e.slot]
	last := len(slot) - 1
	if int(e.pos) != last {
		moved := slot[last]
		slot[e.pos] = moved
		s.entries[moved].pos = e.pos
	}
	slot[last] = ""
	s.slots[e.slot] = slot[:last]
}

// observe follows the log (ev is the recorded form of e): an opened proposal is held; a
// check held PROPOSED holds it when it may depend on time and lets it go when it does not; a
// decided proposal leaves.
func (s *schedule) observe(ev eventstore.RecordedEvent, e domain.Event) {
	if domain.StreamCategory(ev.Stream) != domain.CategoryProposal {
		return
	}
	id := domain.StreamID(ev.Stream)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e := e.(type) {
	case domain.ProposalOpened:
		s.addLocked(ProposalRef{CommunityID: e.CommunityID, ProposalID: id}, ev.Version)
		return
	case domain.ProposalEvaluated:
		if e.Block == domain.BlockCheck && e.Error == "" && (e.Result == domain.StatusProposed || e.Result == "") {
			if e.Recheck == domain.RecheckOnEvent {
				s.removeLocked(id)
			} else {
				s.addLocked(ProposalRef{CommunityID: e.CommunityID, ProposalID: id}, ev.Version)
			}
			return
		}
	case domain.ProposalPassed, domain.ProposalFailed:
		s.removeLocked(id)
		return
	}
	if en, ok := s.entries[id]; ok {
		en.version = max(en.version, ev.Version)
	}
}

// settled lets a proposal go that a check found settled (its last recorded check does not
// depend on time) at stream version version, unless the schedule has seen it since.
func (s *schedule) settled(id string, version int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[id]; ok && e.version <= version {
		s.removeLocked(id)
	}
}

// len is the number of proposals held.
func (s *schedule) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// limit is how many re-checks one tick hands out at most: twice an average slot, so that a
// slot fuller than average and a backlog both drain within a few ticks.
func (s *schedule) limit() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limitLocked()
}

func (s *schedule) limitLocked() int {
	n := len(s.slots)
	return max(16, 2*((len(s.entries)+n-1)/n))
}

// due moves the slots whose time has come by now to the backlog (at most one whole turn of
// the wheel, however far the clock jumped) and hands out the backlog's first proposals: at
// most limit, and no more than room (room < 0: no bound of its own).
func (s *schedule) due(now time.Time, room int) []ProposalRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := now.UnixNano() / int64(s.tick)
	from := max(s.done+1, cur-int64(len(s.slots))+1)
	for t := from; t <= cur; t++ {
		for _, id := range s.slots[t%int64(len(s.slots))] {
			if e := s.entries[id]; !e.queued {
				e.queued = true
				s.backlog = append(s.backlog, id)
			}
		}
	}
	s.done = max(s.done, cur)
	n := min(s.limitLocked(), room)
	if room < 0 {
		n = s.limitLocked()
	}
	var out []ProposalRef
	taken := 0
	for taken < len(s.backlog) && len(out) < n {
		id := s.backlog[taken]
		s.backlog[taken] = ""
		taken++
		if e, ok := s.entries[id]; ok && e.queued {
			e.queued = false
			out = append(out, ProposalRef{CommunityID: e.community, ProposalID: id})
		}
	}
	s.backlog = s.backlog[taken:]
	if len(s.backlog) == 0 {
		s.backlog = nil // let a drained backlog's array go
	}
	return out
}
