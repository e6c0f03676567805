package postgres

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// notifyTimeout bounds one NOTIFY of the notifier.
const notifyTimeout = 5 * time.Second

// notifyInterval is the least time between the starts of two NOTIFYs of a notifier: a
// subscriber learns of an append at most this much later than it could.
const notifyInterval = time.Millisecond

// notifier sends NOTIFYs on NotifyChannel after appends have committed, coalescing bursts: it
// guarantees that after each call of notify a NOTIFY starts (and so is delivered) later than
// the call. NOTIFYs start at least notifyInterval apart, and at most one is in flight per
// Store, sent by a goroutine that lives only while there is something to send.
type notifier struct {
	pool   *pgxpool.Pool
	logger *slog.Logger

	mu      sync.Mutex
	running bool      // a goroutine is sending
	again   bool      // notify was called after the running NOTIFY started
	last    time.Time // when the last NOTIFY started
}

// notify asks for a NOTIFY that starts after this call. It does not block.
func (n *notifier) notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.running {
		n.again = true
		return
	}
	n.running = true
	go n.run()
}

func (n *notifier) run() {
	for {
		n.mu.Lock()
		wait := notifyInterval - time.Since(n.last)
		n.mu.Unlock()
		// Concurrent writers would otherwise keep a NOTIFY in flight all the time, about one
		// per append, each a round trip and a wake-up of every subscriber.
		if wait > 0 {
			time.Sleep(wait)
		}
		n.mu.Lock()
		n.again = false // the NOTIFY below starts after every call so far
		n.last = time.Now()
		n.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), notifyTimeout)
		_, err := n.pool.Exec(ctx, "SELECT pg_notify($1, '')", NotifyChannel)
		cancel()
		if err != nil {
			// Subscribers still poll, so a lost notification only delays them.
			n.logger.Debug("eventstore: notify failed", "error", err)
		}
		n.mu.Lock()
		if !n.again {
			n.running = false
			n.mu.Unlock()
			return
		}
		n.mu.Unlock()
	}
}
