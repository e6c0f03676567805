// Package bustest is the contract test suite of the bus: every transport runs it (see
// bus/*_test.go), so that code written against one transport holds on the others.
package bustest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/policykit-go/policykit/bus"
)

// wait bounds every wait for a message that should arrive.
const wait = 20 * time.Second

// quiet is how long a test watches for messages that should not arrive.
const quiet = 500 * time.Millisecond

// NewBus opens a bus whose subscriber is in the consumer group group, and closes it when t
// ends. Every bus it opens for one Run must reach the same broker (or database) and use the
// same namespace. The suite reads the retry settings from Bus.Config, so keep them short
// (tens of milliseconds) and the ack timeout a few seconds.
type NewBus func(t *testing.T, group string) *bus.Bus

// Run runs the bus contract against the buses newBus opens. Each subtest uses topics and
// consumer groups of its own (random suffixes), so runs do not interfere. Subtests that need
// several processes or a durable broker skip on GoChannel, saying why.
func Run(t *testing.T, newBus NewBus) {
	checkGoroutines(t)

	t.Run("RoundTripKeepsUUIDPayloadAndMetadata", func(t *testing.T) { testRoundTrip(t, newBus) })
	t.Run("InvalidTopicOrMessageIsRefused", func(t *testing.T) { testInvalid(t, newBus) })
	t.Run("NackedMessageIsRedelivered", func(t *testing.T) { testNackRedelivers(t, newBus) })
	t.Run("RouterRetriesThenSucceeds", func(t *testing.T) { testRouterRetries(t, newBus) })
	t.Run("RouterPoisonsAfterRetries", func(t *testing.T) { testRouterPoison(t, newBus) })
	t.Run("CompetingConsumersShareOneGroup", func(t *testing.T) { testCompetingConsumers(t, newBus) })
	t.Run("EveryGroupGetsEveryMessage", func(t *testing.T) { testFanOut(t, newBus) })
	t.Run("GroupResumesAfterRestart", func(t *testing.T) { testDurableGroup(t, newBus) })
	t.Run("CloseStopsDelivery", func(t *testing.T) { testClose(t, newBus) })
	t.Run("CancelledSubscriptionsLoseNothing", func(t *testing.T) { testCancelWhileFlowing(t, newBus) })
	t.Run("ManyMessagesAllArrive", func(t *testing.T) { testMany(t, newBus) })
}

func testRoundTrip(t *testing.T, newBus NewBus) {
	b := newBus(t, group(t))
	topic := Topic(t, "roundtrip")
	ch := mustSubscribe(t, b.Subscriber(), topic)

	payload := []byte("{\"n\":1,\"text\":\"h\u00e9llo\"}\n\x00\xff raw bytes survive too")
	msg := message.NewMessage(watermill.NewUUID(), payload)
	msg.Metadata.Set(bus.MetadataCorrelationID, watermill.NewUUID())
	msg.Metadata.Set(bus.MetadataCausationID, watermill.NewUUID())
	msg.Metadata.Set(bus.MetadataMessageType, "test.round_trip")
	msg.Metadata.Set("custom_key", "value with spaces, ünïcode")
	msg.Metadata.Set("multi_line", "first line\nsecond line\r\nthird: line")
	msg.Metadata.Set("padded", "  surrounded by spaces\t")
	msg.Metadata.Set("empty", "")
	mustPublish(t, b, topic, msg)

	got := receive(t, ch)
	got.Ack()
	if got.UUID != msg.UUID {
		t.Errorf("UUID = %q, want %q", got.UUID, msg.UUID)
	}
	if !bytes.Equal(got.Payload, payload) {
		t.Errorf("payload = %q, want %q", got.Payload, payload)
	}
	for k, v := range msg.Metadata {
		if gv, ok := got.Metadata[k]; !ok || gv != v {
			t.Errorf("metadata %s = %q (present: %v), want %q (all: %q)", k, gv, ok, v, got.Metadata)
		}
	}
	if bus.CorrelationID(got) != msg.Metadata.Get(bus.MetadataCorrelationID) || bus.MessageType(got) != "test.round_trip" {
		t.Errorf("metadata accessors disagree with metadata %v", got.Metadata)
	}
}

func testInvalid(t *testing.T, newBus NewBus) {
	b := newBus(t, group(t))
	for _, topic := range []string{"", "has space", "a..b", ".a", "a.", "wild.*", "wild.>", "_internal", "quote\"d"} {
		err := b.Publisher().Publish(topic, message.NewMessage(watermill.NewUUID(), nil))
		if !errors.Is(err, bus.ErrInvalidTopic) {
			t.Errorf("Publish(%q) = %v, want ErrInvalidTopic", topic, err)
		}
		if _, err := b.Subscriber().Subscribe(context.Background(), topic); !errors.Is(err, bus.ErrInvalidTopic) {
			t.Errorf("Subscribe(%q) = %v, want ErrInvalidTopic", topic, err)
		}
	}
	for _, id := range []string{"", "0123456789-0123456789-0123456789-0123456789"} {
		err := b.Publisher().Publish(Topic(t, "invalid"), message.NewMessage(id, nil))
		if !errors.Is(err, bus.ErrInvalidMessage) {
			t.Errorf("Publish of a message with UUID %q = %v, want ErrInvalidMessage", id, err)
		}
	}
}

// A message the subscriber nacks comes back, with the same UUID and payload.
func testNackRedelivers(t *testing.T, newBus NewBus) {
	b := newBus(t, group(t))
	topic := Topic(t, "nack")
	ch := mustSubscribe(t, b.Subscriber(), topic)
	msg := message.NewMessage(watermill.NewUUID(), []byte("again"))
	mustPublish(t, b, topic, msg)

	first := receive(t, ch)
	first.Nack()
	second := receive(t, ch)
	second.Ack()
	if first.UUID != msg.UUID || second.UUID != msg.UUID || string(second.Payload) != "again" {
		t.Fatalf("got %s then %s (%q), want %s twice", first.UUID, second.UUID, second.Payload, msg.UUID)
	}
}

// A handler that fails fewer times than Retry.MaxRetries succeeds in the end; what it
// produces carries the handled message's correlation id, and its UUID as causation id.
func testRouterRetries(t *testing.T, newBus NewBus) {
	b := newBus(t, group(t))
	retries := b.Config().Retry.MaxRetries
	if retries < 1 {
		t.Skipf("Retry.MaxRetries is %d: nothing to retry", retries)
	}
	in, out := Topic(t, "retry-in"), Topic(t, "retry-out")
	outCh := mustSubscribe(t, b.Subscriber(), out)

	var attempts atomic.Int32
	startRouter(t, b, func(r *message.Router) {
		r.AddHandler("retry", in, b.Subscriber(), out, b.Publisher(), func(msg *message.Message) ([]*message.Message, error) {
			if n := attempts.Add(1); int(n) <= retries {
				return nil, fmt.Errorf("transient failure %d", n)
			}
			return []*message.Message{message.NewMessage(watermill.NewUUID(), []byte("done"))}, nil
		})
	})

	msg := message.NewMessage(watermill.NewUUID(), []byte("work"))
	middleware.SetCorrelationID("corr-"+msg.UUID, msg)
	mustPublish(t, b, in, msg)

	got := receive(t, outCh)
	got.Ack()
	if n := int(attempts.Load()); n != retries+1 {
		t.Errorf("handler ran %d times, want %d (fails %d times, then succeeds)", n, retries+1, retries)
	}
	if c := bus.CorrelationID(got); c != "corr-"+msg.UUID {
		t.Errorf("produced message correlation_id = %q, want %q", c, "corr-"+msg.UUID)
	}
	if c := bus.CausationID(got); c != msg.UUID {
		t.Errorf("produced message causation_id = %q, want the handled message's UUID %q", c, msg.UUID)
	}
}

// A handler that keeps failing sends its message to the poison topic after the retries (at
// once for a Permanent error), and the message is not delivered again.
func testRouterPoison(t *testing.T, newBus NewBus) {
	cases := []struct {
		name     string
		handle   func() error
		attempts func(maxRetries int) int
		reason   string
	}{
		{
			name:     "error",
			handle:   func() error { return errors.New("always fails") },
			attempts: func(n int) int { return n + 1 },
			reason:   "always fails",
		},
		{
			name:     "permanent",
			handle:   func() error { return bus.Permanent(errors.New("malformed payload")) },
			attempts: func(int) int { return 1 },
			reason:   "malformed payload",
		},
		{
			name:     "panic",
			handle:   func() error { panic("handler bug") },
			attempts: func(n int) int { return n + 1 },
			reason:   "handler bug",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBus(t, group(t))
			maxRetries := max(b.Config().Retry.MaxRetries, 0)
			topic := Topic(t, "poison-"+tc.name)
			poison := mustSubscribe(t, b.Subscriber(), bus.TopicPoison)

			var attempts atomic.Int32
			startRouter(t, b, func(r *message.Router) {
				r.AddConsumerHandler("failing", topic, b.Subscriber(), func(*message.Message) error {
					attempts.Add(1)
					return tc.handle()
				})
			})
			msg := message.NewMessage(watermill.NewUUID(), []byte("poison me"))
			middleware.SetCorrelationID("corr-"+msg.UUID, msg)
			mustPublish(t, b, topic, msg)

			got := receiveUUID(t, poison, msg.UUID)
			got.Ack()
			if string(got.Payload) != "poison me" || bus.CorrelationID(got) != "corr-"+msg.UUID {
				t.Errorf("poisoned message payload %q, correlation_id %q; want the original", got.Payload, bus.CorrelationID(got))
			}
			if r := got.Metadata.Get(middleware.ReasonForPoisonedKey); !strings.Contains(r, tc.reason) {
				t.Errorf("reason_poisoned = %q, want it to contain %q", r, tc.reason)
			}
			if tp := got.Metadata.Get(middleware.PoisonedTopicKey); tp != topic {
				t.Errorf("topic_poisoned = %q, want %q", tp, topic)
			}
			if h := got.Metadata.Get(middleware.PoisonedHandlerKey); h != "failing" {
				t.Errorf("handler_poisoned = %q, want %q", h, "failing")
			}
			time.Sleep(quiet) // the poisoned message is acked: no further attempts
			if n, want := int(attempts.Load()), tc.attempts(maxRetries); n != want {
				t.Errorf("handler ran %d times, want %d", n, want)
			}
		})
	}
}

// Two subscribers of one group (two processes) share a topic: every message is handled once
// in all.
func testCompetingConsumers(t *testing.T, newBus NewBus) {
	g := group(t)
	b1 := newBus(t, g)
	if b1.Transport() == bus.TransportGoChannel {
		t.Skip("GoChannel is in-process fan-out: no consumer groups, nothing shared between processes")
	}
	b2 := newBus(t, g)
	topic := Topic(t, "compete")
	ch1 := mustSubscribe(t, b1.Subscriber(), topic)
	ch2 := mustSubscribe(t, b2.Subscriber(), topic)

	const n = 40
	want := publishN(t, b1, topic, n)
	counts := map[string]int{}
	per := [2]int{}
	deadline := time.After(wait)
	for len(counts) < n {
		select {
		case m := <-ch1:
			m.Ack()
			counts[m.UUID]++
			per[0]++
		case m := <-ch2:
			m.Ack()
			counts[m.UUID]++
			per[1]++
		case <-deadline:
			t.Fatalf("received %d of %d messages in %s", len(counts), n, wait)
		}
	}
	// Watch a while longer for copies.
	timer := time.After(quiet)
watch:
	for {
		select {
		case m := <-ch1:
			m.Ack()
			counts[m.UUID]++
		case m := <-ch2:
			m.Ack()
			counts[m.UUID]++
		case <-timer:
			break watch
		}
	}
	for id, c := range counts {
		if !want[id] {
			t.Errorf("received unknown message %s", id)
		}
		if c != 1 {
			t.Errorf("message %s handled %d times by the group, want once", id, c)
		}
	}
	t.Logf("split between the two subscribers: %d / %d", per[0], per[1])
}

// Every consumer group gets every message.
func testFanOut(t *testing.T, newBus NewBus) {
	b1 := newBus(t, group(t))
	var sub2 message.Subscriber
	if b1.Transport() == bus.TransportGoChannel {
		// In-process: a second group on the same bus (GoChannel ignores groups anyway).
		s, err := b1.NewSubscriber(group(t))
		if err != nil {
			t.Fatal(err)
		}
		sub2 = s
	} else {
		sub2 = newBus(t, group(t)).Subscriber()
	}
	topic := Topic(t, "fanout")
	ch1 := mustSubscribe(t, b1.Subscriber(), topic)
	ch2 := mustSubscribe(t, sub2, topic)

	const n = 20
	want := publishN(t, b1, topic, n)
	for i, ch := range []<-chan *message.Message{ch1, ch2} {
		got := map[string]bool{}
		for len(got) < n {
			m := receive(t, ch)
			m.Ack()
			if !want[m.UUID] {
				t.Fatalf("group %d received unknown message %s", i+1, m.UUID)
			}
			got[m.UUID] = true
		}
	}
}

// A group that goes away keeps its place: it gets what was published meanwhile, not what it
// had acked; and a message it had not acked when it went away comes to the next subscriber.
func testDurableGroup(t *testing.T, newBus NewBus) {
	g := group(t)
	pub := newBus(t, group(t))
	if pub.Transport() == bus.TransportGoChannel {
		t.Skip("GoChannel keeps nothing: a message published while nobody subscribes is dropped")
	}
	topic := Topic(t, "durable")

	// First life: receive and ack m1.
	b1 := newBus(t, g)
	ch := mustSubscribe(t, b1.Subscriber(), topic)
	m1 := message.NewMessage(watermill.NewUUID(), []byte("m1"))
	mustPublish(t, pub, topic, m1)
	receiveUUID(t, ch, m1.UUID).Ack()
	// Give the subscriber time to pass the ack on: closing at the same instant may drop it,
	// which at-least-once allows but this test would take for a lost position.
	time.Sleep(quiet)
	mustClose(t, b1)

	// While the group is away.
	m2 := message.NewMessage(watermill.NewUUID(), []byte("m2"))
	mustPublish(t, pub, topic, m2)

	// Second life: m2 comes first (m1 was acked), and is left unacked.
	b2 := newBus(t, g)
	ch = mustSubscribe(t, b2.Subscriber(), topic)
	got := receive(t, ch)
	if got.UUID != m2.UUID {
		t.Fatalf("after restart got %s (%q), want m2 %s: acked m1 must not come back", got.UUID, got.Payload, m2.UUID)
	}
	mustClose(t, b2)

	// Third life: the unacked m2 is delivered again.
	b3 := newBus(t, g)
	ch = mustSubscribe(t, b3.Subscriber(), topic)
	receiveUUID(t, ch, m2.UUID).Ack()
}

// Closing a bus ends its subscriptions and routers without panics and refuses further use.
func testClose(t *testing.T, newBus NewBus) {
	b := newBus(t, group(t))
	topic := Topic(t, "close")
	raw := mustSubscribe(t, b.Subscriber(), topic)
	rawClosed := make(chan struct{})
	go func() {
		defer close(rawClosed)
		for m := range raw { // a plain subscription next to the router's
			m.Ack()
		}
	}()
	var handled atomic.Int32
	startRouter(t, b, func(r *message.Router) {
		r.AddConsumerHandler("count", topic, b.Subscriber(), func(*message.Message) error {
			handled.Add(1)
			return nil
		})
	})

	// Publish until the bus refuses.
	stopped := make(chan error, 1)
	go func() {
		for {
			if err := b.Publisher().Publish(topic, message.NewMessage(watermill.NewUUID(), []byte("x"))); err != nil {
				stopped <- err
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	// Let some messages through, then close while they flow.
	deadline := time.Now().Add(wait)
	for handled.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if handled.Load() < 5 {
		t.Fatalf("only %d messages handled before close", handled.Load())
	}
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(wait):
		t.Fatalf("Close did not return within %s", wait)
	}

	select {
	case <-rawClosed:
	case <-time.After(wait):
		t.Error("a subscription's channel stayed open after Close")
	}
	select {
	case err := <-stopped:
		if !errors.Is(err, bus.ErrClosed) {
			t.Errorf("Publish during Close = %v, want ErrClosed", err)
		}
	case <-time.After(wait):
		t.Fatal("publishing did not stop after Close")
	}
	if err := b.Publisher().Publish(topic, message.NewMessage(watermill.NewUUID(), nil)); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	if _, err := b.Subscriber().Subscribe(context.Background(), topic); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
	if _, err := b.NewRouter("late"); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("NewRouter after Close = %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	after := handled.Load()
	time.Sleep(quiet)
	if n := handled.Load(); n != after {
		t.Errorf("%d messages handled after Close returned", n-after)
	}
}

// Subscriptions ended by their context while messages flow close their channels (without a
// panic in the transport), and on the durable transports what a cancelled subscription had
// taken and given back comes to the group's next subscription: nothing is lost.
func testCancelWhileFlowing(t *testing.T, newBus NewBus) {
	b := newBus(t, group(t))
	topic := Topic(t, "cancel")
	durable := b.Transport() != bus.TransportGoChannel
	if err := b.Initialize(topic); err != nil { // RabbitMQ keeps nothing for a queue not yet declared
		t.Fatal(err)
	}

	var (
		mu        sync.Mutex
		published = map[string]bool{}
		stop      = make(chan struct{})
		stopped   = make(chan error, 1)
	)
	go func() {
		for {
			select {
			case <-stop:
				stopped <- nil
				return
			default:
			}
			m := message.NewMessage(watermill.NewUUID(), []byte(`{}`))
			mu.Lock()
			published[m.UUID] = true
			mu.Unlock()
			if err := b.Publisher().Publish(topic, m); err != nil {
				stopped <- err
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()

	const rounds = 30
	acked := map[string]bool{}
	for r := 0; r < rounds; r++ {
		ctx, cancel := context.WithCancel(context.Background())
		ch, err := b.Subscriber().Subscribe(ctx, topic)
		if err != nil {
			cancel()
			t.Fatalf("round %d: subscribe: %v", r, err)
		}
		// Ack one, give the next back, and cancel while more are on their way.
		m := receive(t, ch)
		m.Ack()
		acked[m.UUID] = true
		receive(t, ch).Nack()
		cancel()
		closed := time.After(wait)
	drain:
		for {
			select {
			case m, ok := <-ch:
				if !ok {
					break drain
				}
				m.Nack()
			case <-closed:
				t.Fatalf("round %d: channel still open %s after its context ended", r, wait)
			}
		}
	}
	close(stop)
	if err := <-stopped; err != nil {
		t.Fatalf("publish: %v", err)
	}
	if !durable {
		return // GoChannel keeps nothing for a subscription that has gone
	}
	mu.Lock()
	n := len(published)
	mu.Unlock()
	ch := mustSubscribe(t, b.Subscriber(), topic)
	deadline := time.After(wait)
	for len(acked) < n {
		select {
		case m := <-ch:
			m.Ack()
			if !published[m.UUID] {
				t.Fatalf("unknown message %s", m.UUID)
			}
			acked[m.UUID] = true
		case <-deadline:
			t.Fatalf("%d of %d messages acked; the rest were lost with cancelled subscriptions", len(acked), n)
		}
	}
	t.Logf("%d messages across %d cancelled subscriptions", n, rounds)
}

// Many messages, published in batches, all reach a router handler.
func testMany(t *testing.T, newBus NewBus) {
	b := newBus(t, group(t))
	topic := Topic(t, "many")
	const n, batch = 500, 50
	var (
		mu   sync.Mutex
		seen = map[string]int{}
		all  = make(chan struct{})
	)
	startRouter(t, b, func(r *message.Router) {
		r.AddConsumerHandler("collect", topic, b.Subscriber(), func(msg *message.Message) error {
			mu.Lock()
			defer mu.Unlock()
			seen[msg.UUID]++
			if len(seen) == n && seen[msg.UUID] == 1 {
				close(all)
			}
			return nil
		})
	})
	want := map[string]bool{}
	start := time.Now()
	for i := 0; i < n; i += batch {
		msgs := make([]*message.Message, batch)
		for j := range msgs {
			msgs[j] = message.NewMessage(watermill.NewUUID(), fmt.Appendf(nil, `{"i":%d}`, i+j))
			want[msgs[j].UUID] = true
		}
		mustPublish(t, b, topic, msgs...)
	}
	select {
	case <-all:
	case <-time.After(wait):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%d of %d messages arrived in %s", len(seen), n, wait)
	}
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for id, c := range seen {
		if !want[id] {
			t.Errorf("unknown message %s", id)
		}
		dups += c - 1
	}
	// At least once allows copies, but a healthy broker and handler should not make any.
	if dups > 0 {
		t.Errorf("%d duplicate deliveries among %d messages", dups, n)
	}
	t.Logf("%d messages in %s", n, time.Since(start).Round(time.Millisecond))
}

// Topic returns a topic name unique to this test run: "pktest.<name>.<random>".
func Topic(t testing.TB, name string) string {
	t.Helper()
	return "pktest." + name + "." + random(t)
}

func group(t testing.TB) string { return "g-" + random(t) }

func random(t testing.TB) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

func mustSubscribe(t testing.TB, sub message.Subscriber, topic string) <-chan *message.Message {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := sub.Subscribe(ctx, topic)
	if err != nil {
		t.Fatalf("subscribe %s: %v", topic, err)
	}
	return ch
}

func mustPublish(t testing.TB, b *bus.Bus, topic string, msgs ...*message.Message) {
	t.Helper()
	if err := b.Publisher().Publish(topic, msgs...); err != nil {
		t.Fatalf("publish to %s: %v", topic, err)
	}
}

func mustClose(t testing.TB, b *bus.Bus) {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Fatalf("close bus: %v", err)
	}
}

func publishN(t testing.TB, b *bus.Bus, topic string, n int) map[string]bool {
	t.Helper()
	ids := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		m := message.NewMessage(watermill.NewUUID(), fmt.Appendf(nil, `{"i":%d}`, i))
		ids[m.UUID] = true
		mustPublish(t, b, topic, m)
	}
	return ids
}

func receive(t testing.TB, ch <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m, ok := <-ch:
		if !ok {
			t.Fatal("subscription closed before a message arrived")
		}
		return m
	case <-time.After(wait):
		t.Fatalf("no message within %s", wait)
	}
	return nil
}

// receiveUUID returns the message with the given UUID, acking any other on the way.
func receiveUUID(t testing.TB, ch <-chan *message.Message, id string) *message.Message {
	t.Helper()
	deadline := time.After(wait)
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatalf("subscription closed before message %s arrived", id)
			}
			if m.UUID == id {
				return m
			}
			m.Ack()
		case <-deadline:
			t.Fatalf("message %s did not arrive within %s", id, wait)
		}
	}
}

// startRouter builds a router on b, lets add register its handlers, runs it, and waits until
// its subscriptions are made. The router stops when b closes or the test ends.
func startRouter(t testing.TB, b *bus.Bus, add func(*message.Router)) {
	t.Helper()
	r, err := b.NewRouter(t.Name())
	if err != nil {
		t.Fatal(err)
	}
	add(r)
	done := make(chan error, 1)
	go func() { done <- r.Run(context.Background()) }()
	t.Cleanup(func() {
		_ = r.Close()
		if err := <-done; err != nil {
			t.Errorf("router: %v", err)
		}
	})
	select {
	case <-r.Running():
	case err := <-done:
		t.Fatalf("router stopped at start: %v", err)
	case <-time.After(wait):
		t.Fatal("router did not start")
	}
}

// checkGoroutines fails t when, after every subtest and its cleanups, more goroutines run
// than before Run: a bus that leaks goroutines leaks connections with them.
func checkGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Errorf("%d goroutines still running after the suite (%d before):\n%s", n, before, buf)
		}
	})
}
