package platform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"

	"github.com/policykit-go/policykit/bus"
)

// Seen remembers the platform events an adapter handled, by the platform's own event id
// within a scope (a workspace, an installation), since platforms deliver again what they
// think failed. Implementations are safe for concurrent use.
type Seen interface {
	// Seen reports whether the event was recorded (First).
	Seen(ctx context.Context, scope, eventID string) (bool, error)
	// First records the event and reports whether it is new: of many deliveries recording
	// one event at once, exactly one is first.
	First(ctx context.Context, scope, eventID string) (bool, error)
}

var _ Seen = (*MemorySeen)(nil)

// MemorySeen is Seen in memory; its zero value is empty.
type MemorySeen struct {
	mu   sync.Mutex
	seen map[[2]string]bool
}

func (m *MemorySeen) Seen(_ context.Context, scope, eventID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seen[[2]string{scope, eventID}], nil
}

func (m *MemorySeen) First(_ context.Context, scope, eventID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{scope, eventID}
	if m.seen[k] {
		return false, nil
	}
	if m.seen == nil {
		m.seen = map[[2]string]bool{}
	}
	m.seen[k] = true
	return true, nil
}

var _ Seen = PostgresSeen{}

// PostgresSeen is one platform's Seen in platform_seen_events.
type PostgresSeen struct {
	Pool     *pgxpool.Pool
	Platform string
}

func (p PostgresSeen) Seen(ctx context.Context, scope, eventID string) (bool, error) {
	var seen bool
	err := p.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM platform_seen_events WHERE platform = $1 AND scope = $2 AND event_id = $3)`,
		p.Platform, scope, eventID).Scan(&seen)
	if err != nil {
		return false, fmt.Errorf("%s: seen event %s: %w", p.Platform, eventID, err)
	}
	return seen, nil
}

func (p PostgresSeen) First(ctx context.Context, scope, eventID string) (bool, error) {
	tag, err := p.Pool.Exec(ctx, `INSERT INTO platform_seen_events (platform, scope, event_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
		p.Platform, scope, eventID)
	if err != nil {
		return false, fmt.Errorf("%s: seen event %s: %w", p.Platform, eventID, err)
	}
	return tag.RowsAffected() > 0, nil
}

// EventID derives a deterministic message id (and action id) from a platform's event, so
// that every delivery of one platform event yields the same command and the engine, which
// records a command once by its id, records it once. kind keeps ids of different things
// apart ("event", "vote").
func EventID(platform, kind string, parts ...string) string {
	b := []byte(platform + "-" + kind)
	for _, p := range parts {
		b = append(b, ':')
		b = append(b, p...)
	}
	return uuid.NewSHA1(uuid.NameSpaceOID, b).String()
}

// Publisher publishes an adapter's commands with a deterministic id, trying again a few
// times: a platform that had its acknowledgement will not deliver the event again.
type Publisher struct {
	Publisher message.Publisher
	// Attempts bounds the tries (default 3), Backoff the first wait between them (default
	// 100ms, then twice as long each time).
	Attempts int
	Backoff  time.Duration
}

// Publish publishes payload (JSON) as a message of type typ with the given id on topic; the
// id is also the correlation id of what the command causes.
func (p Publisher) Publish(ctx context.Context, topic, id, typ string, payload any) error {
	data, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("encode %s: %w", typ, err)
	}
	attempts, wait := p.Attempts, p.Backoff
	if attempts <= 0 {
		attempts = 3
	}
	if wait <= 0 {
		wait = 100 * time.Millisecond
	}
	for attempt := 1; ; attempt++ {
		msg := bus.NewMessage(id, typ, data)
		msg.Metadata.Set(bus.MetadataCorrelationID, id)
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			// The request's span only, for the bus to name in the message (tracing): the
			// publish is not to end with the request.
			msg.SetContext(trace.ContextWithSpanContext(context.Background(), sc))
		}
		err := p.Publisher.Publish(topic, msg)
		if err == nil {
			return nil
		}
		if attempt >= attempts {
			return fmt.Errorf("publish %s (%d attempts): %w", typ, attempt, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("publish %s: %w (then %w)", typ, err, ctx.Err())
		case <-t.C:
		}
		wait *= 2
	}
}

// ErrBusy is returned by Workers.Go when every worker is busy or the workers are closed: the
// caller answers so that the platform delivers the event again later (Slack: 503).
var ErrBusy = errors.New("busy")

// Workers let an ingress acknowledge a platform's event within the platform's deadline
// (Slack's three seconds) and handle it after: Go starts the handling and returns at once.
// At most n run at a time, each with a context that Close cancels and that ends after
// timeout. Close waits for those running.
type Workers struct {
	ctx     context.Context
	cancel  context.CancelFunc
	sem     chan struct{}
	timeout time.Duration

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// NewWorkers returns n workers whose handlings last at most timeout each.
func NewWorkers(n int, timeout time.Duration) *Workers {
	ctx, cancel := context.WithCancel(context.Background())
	return &Workers{ctx: ctx, cancel: cancel, sem: make(chan struct{}, n), timeout: timeout}
}

// Go runs fn on a free worker, or returns ErrBusy at once.
func (w *Workers) Go(fn func(ctx context.Context)) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrBusy
	}
	select {
	case w.sem <- struct{}{}:
	default:
		return ErrBusy
	}
	w.wg.Add(1)
	go func() {
		defer func() { <-w.sem; w.wg.Done() }()
		ctx, cancel := context.WithTimeout(w.ctx, w.timeout)
		defer cancel()
		fn(ctx)
	}()
	return nil
}

// Background runs fn like Go but takes no worker: the adapter's own work, not an event's.
// Nothing runs once closed.
func (w *Workers) Background(fn func(ctx context.Context)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		ctx, cancel := context.WithTimeout(w.ctx, w.timeout)
		defer cancel()
		fn(ctx)
	}()
}

// Wait waits for the handlings running (tests).
func (w *Workers) Wait() { w.wg.Wait() }

// Close refuses new work, cancels the running handlings' contexts and waits for them.
func (w *Workers) Close() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.cancel()
	w.wg.Wait()
}

// RetryAfter reads an HTTP Retry-After header (seconds, or an HTTP date, from now): how long
// a platform asked to be left alone. ok is false when the header says nothing readable.
func RetryAfter(v string, now time.Time) (wait time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}
