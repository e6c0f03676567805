package graph

import (
	"context"
	"log/slog"
	"sync"

	"github.com/policykit-go/policykit/eventstore"
)

// tailBuffer is how many batches of events a subscriber may have waiting. One that falls
// further behind (its client reads slower than the log grows) is ended, so that it holds
// back neither the others nor memory.
const tailBuffer = 64

// tail follows the event log for every subscription of the API at once: one
// Store.Subscribe (with the Postgres store, one LISTEN connection) runs while there is at
// least one subscriber, and hands each batch to all of them. Without it, each subscription
// held a database connection of its own, and a few dozen exhausted the server's.
type tail struct {
	store eventstore.Store
	end   func(context.Context) (eventstore.Position, error)
	log   *slog.Logger

	mu   sync.Mutex
	subs map[*tailSubscriber]struct{}
	// stop ends the running Subscribe; nil when none runs.
	stop context.CancelFunc
	run  int // counts the Subscribes started, so that a stopped one delivers nothing more
}

// tailSubscriber receives the batches delivered after it joined, in log order. events is
// closed when it fell behind or the tail failed.
type tailSubscriber struct {
	events chan []eventstore.RecordedEvent
}

func newTail(store eventstore.Store, end func(context.Context) (eventstore.Position, error), log *slog.Logger) *tail {
	return &tail{store: store, end: end, log: log, subs: map[*tailSubscriber]struct{}{}}
}

// join adds a subscriber that gets every event committed after join returns (and perhaps
// a few before). It starts following the log, from its end, when nobody does.
func (t *tail) join(ctx context.Context) (*tailSubscriber, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stop == nil {
		// Under the lock: the other joiners wait for this one read of the log's end, once.
		start, err := t.end(ctx)
		if err != nil {
			return nil, err
		}
		runCtx, stop := context.WithCancel(context.Background())
		t.stop = stop
		t.run++
		go t.follow(runCtx, t.run, start)
	}
	s := &tailSubscriber{events: make(chan []eventstore.RecordedEvent, tailBuffer)}
	t.subs[s] = struct{}{}
	return s, nil
}

// leave removes a subscriber; the last one stops following the log.
func (t *tail) leave(s *tailSubscriber) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.subs[s]; !ok {
		return // ended already
	}
	delete(t.subs, s)
	close(s.events)
	if len(t.subs) == 0 && t.stop != nil {
		t.stop()
		t.stop = nil
	}
}

func (t *tail) follow(ctx context.Context, run int, start eventstore.Position) {
	err := t.store.Subscribe(ctx, start, func(ctx context.Context, batch []eventstore.RecordedEvent) error {
		t.deliver(run, batch)
		return nil
	})
	if ctx.Err() != nil {
		return
	}
	// The store gave up: end every subscription (their clients may subscribe again).
	t.log.Error("graphql: following the event log failed", "err", err)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.run != run {
		return
	}
	for s := range t.subs {
		delete(t.subs, s)
		close(s.events)
	}
	t.stop()
	t.stop = nil
}

// deliver hands batch to every subscriber of this run, without waiting for any.
func (t *tail) deliver(run int, batch []eventstore.RecordedEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.run != run || t.stop == nil {
		return
	}
	for s := range t.subs {
		select {
		case s.events <- batch:
		default:
			t.log.Warn("graphql: a subscription fell behind the event log and was ended", "behind", tailBuffer)
			delete(t.subs, s)
			close(s.events)
		}
	}
}

// subscriptionLimits counts live subscriptions per account; a socket counts its own.
type subscriptionLimits struct {
	perSocket, perAccount int

	mu        sync.Mutex
	byAccount map[string]int
}

// socketSubscriptions counts the live subscriptions of one websocket connection.
type socketSubscriptions struct {
	mu sync.Mutex
	n  int
}

func newSubscriptionLimits(perSocket, perAccount int) *subscriptionLimits {
	return &subscriptionLimits{perSocket: perSocket, perAccount: perAccount, byAccount: map[string]int{}}
}

// acquire counts one more subscription of the request's socket and account, or refuses it
// (LIMIT_EXCEEDED); release gives it back, once.
func (l *subscriptionLimits) acquire(ctx context.Context) (release func(), err error) {
	x := exchangeOf(ctx)
	account := ""
	if x.caller != nil {
		account = x.caller.Account.ID
	}
	if sock := x.socket; sock != nil {
		sock.mu.Lock()
		defer sock.mu.Unlock()
		if sock.n >= l.perSocket {
			return nil, limitExceeded("this connection has %d subscriptions already; at most %d are allowed", sock.n, l.perSocket)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byAccount[account] >= l.perAccount {
		return nil, limitExceeded("this account has %d subscriptions already; at most %d are allowed", l.byAccount[account], l.perAccount)
	}
	l.byAccount[account]++
	if x.socket != nil {
		x.socket.n++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			if x.socket != nil {
				x.socket.mu.Lock()
				x.socket.n--
				x.socket.mu.Unlock()
			}
			l.mu.Lock()
			if l.byAccount[account]--; l.byAccount[account] <= 0 {
				delete(l.byAccount, account)
			}
			l.mu.Unlock()
		})
	}, nil
}
