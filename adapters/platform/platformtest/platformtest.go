// Package platformtest is the conformance suite every platform adapter passes, as bustest is
// for transports: an adapter plugs in with a small driver (a Harness: how to deliver its
// platform's events, votes and forged requests, and what its fake platform was asked), and
// Run checks what the engine relies on:
//
//   - a platform event becomes one ProposeAction however often it is delivered;
//   - a vote on the platform becomes one CastVote;
//   - each effect is performed once under redelivery and after a crash;
//   - execute and revert make the platform calls its API says;
//   - a forged or stale request changes nothing.
//
// Checks of what a platform does not have (the log platform has no events of its own, the
// metagov platform no governable actions) are not run for it; the Harness says what it has.
package platformtest

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/policykit-go/policykit/bus"
)

// Harness is one adapter under test against a fresh fake of its platform.
type Harness struct {
	// Perform is the adapter's effect performer, as the bus's deliveries call it; nil for an
	// adapter that performs no effects (an ingress only: the generic hook), whose effect
	// checks are not run.
	Perform func(ctx context.Context, req bus.EffectRequest) (map[string]any, error)
	// Calls returns the calls the platform was asked to make so far, in order, each named by
	// its API method ("chat.postMessage"), or, for a platform whose effect is recording it,
	// by what it recorded.
	Calls func() []string
	// Crash leaves behind what an attempt at req leaves when its process dies after claiming
	// the effect and before the platform answered.
	Crash func(ctx context.Context, req bus.EffectRequest) error
	// Effect is a request the platform performs with exactly the calls EffectCalls.
	Effect      bus.EffectRequest
	EffectCalls []string
	// Govern are execute and revert requests of governable actions and the calls each makes;
	// nil for a platform with no governable actions of its own (metagov, whose effects are
	// what policy code asks of it). An empty list that is not nil is a harness that forgot.
	Govern []GovernCase
	// Ingress is nil for a platform without events of its own.
	Ingress *Ingress
	// Voting is nil for a platform without votes of its own.
	Voting *Voting
}

// GovernCase is an execute or a revert and the platform calls it makes, in order.
type GovernCase struct {
	Name    string
	Request bus.EffectRequest
	Calls   []string
}

// Ingress delivers requests to the adapter's ingress as the platform would.
type Ingress struct {
	// Deliver delivers the platform event eventID (the same event each time for one id),
	// signed, and returns the HTTP status answered.
	Deliver func(t *testing.T, eventID string) int
	// Forged delivers an event not signed with the platform's secret; Stale one signed too
	// long ago (a replay). Both return the HTTP status answered.
	Forged func(t *testing.T) int
	Stale  func(t *testing.T) int
	// Settle waits for the work the adapter does after answering (Slack's ack-then-process).
	Settle func()
}

// Voting opens votes on the platform and casts them as members would.
type Voting struct {
	// Open asks the adapter to post a yes/no vote on proposalID.
	Open func(t *testing.T, proposalID string)
	// Vote delivers member's vote on proposalID; one click id names one click, delivered
	// again with the same id by a retrying platform. It returns the HTTP status answered.
	Vote func(t *testing.T, proposalID, member, click string) int
}

// Run runs the suite. newHarness builds a fresh adapter publishing its commands on pub.
func Run(t *testing.T, newHarness func(t *testing.T, pub message.Publisher) *Harness) {
	start := func(t *testing.T) (*Harness, *observer) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		b, err := bus.Open(ctx, bus.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Close() })
		o := &observer{b: b}
		o.watch(ctx, t, b, bus.TopicProposeAction)
		o.watch(ctx, t, b, bus.TopicCastVote)
		return newHarness(t, b.Publisher()), o
	}

	if h0(t, start).Perform != nil {
		runEffects(t, start)
	}
	runIngress(t, start)
}

// runEffects checks that each effect is performed once, and execute and revert.
func runEffects(t *testing.T, start func(*testing.T) (*Harness, *observer)) {
	t.Run("EffectOnceUnderRedelivery", func(t *testing.T) {
		h, _ := start(t)
		ctx := context.Background()
		before := len(h.Calls())
		results := make([]map[string]any, 8)
		var wg sync.WaitGroup
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := h.Perform(ctx, h.Effect)
				if err != nil {
					t.Error(err)
				}
				results[i] = res
			}()
		}
		wg.Wait()
		again, err := h.Perform(ctx, h.Effect)
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range append(results, again) {
			if !reflect.DeepEqual(res, results[0]) {
				t.Fatalf("deliveries answered %v and %v: want the one result", results[0], res)
			}
		}
		if got := h.Calls()[before:]; !slices.Equal(got, h.EffectCalls) {
			t.Fatalf("nine deliveries of one effect called %q, want %q once", got, h.EffectCalls)
		}
	})

	t.Run("EffectOnceAfterCrash", func(t *testing.T) {
		h, _ := start(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.Crash(ctx, h.Effect); err != nil {
			t.Fatal(err)
		}
		before := len(h.Calls())
		if _, err := h.Perform(ctx, h.Effect); err != nil {
			t.Fatalf("the delivery after a crash: %v", err)
		}
		if _, err := h.Perform(ctx, h.Effect); err != nil {
			t.Fatal(err)
		}
		if got := h.Calls()[before:]; !slices.Equal(got, h.EffectCalls) {
			t.Fatalf("after a crash the effect called %q, want %q once", got, h.EffectCalls)
		}
	})

	if probe := h0(t, start); probe.Govern != nil {
		t.Run("ExecuteAndRevert", func(t *testing.T) {
			if len(probe.Govern) == 0 {
				t.Fatal("the harness lists no execute or revert")
			}
			for _, c := range probe.Govern {
				t.Run(c.Name, func(t *testing.T) {
					h, _ := start(t)
					before := len(h.Calls())
					if _, err := h.Perform(context.Background(), c.Request); err != nil {
						t.Fatal(err)
					}
					if got := h.Calls()[before:]; !slices.Equal(got, c.Calls) {
						t.Fatalf("%s called %q, want %q", c.Request.Method, got, c.Calls)
					}
				})
			}
		})
	}

}

// runIngress checks the adapter's events and votes, when it has them.
func runIngress(t *testing.T, start func(*testing.T) (*Harness, *observer)) {
	if probe := h0(t, start); probe.Ingress != nil {
		t.Run("EventBecomesOneProposeAction", func(t *testing.T) {
			h, o := start(t)
			var wg sync.WaitGroup
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if code := h.Ingress.Deliver(t, "Ev-conformance"); code >= 300 {
						t.Errorf("a delivery answered %d", code)
					}
				}()
			}
			wg.Wait()
			if code := h.Ingress.Deliver(t, "Ev-conformance"); code >= 300 {
				t.Fatalf("a redelivery answered %d", code)
			}
			h.Ingress.Settle()
			o.await(t, bus.TopicProposeAction, 1)
			o.flush(t, bus.TopicProposeAction)
			if ids := o.ids(bus.TopicProposeAction); len(ids) != 1 {
				t.Fatalf("four deliveries of one event proposed %d actions %q, want one", len(ids), ids)
			}
		})
		t.Run("ForgedOrStaleChangesNothing", func(t *testing.T) {
			h, o := start(t)
			before := len(h.Calls())
			if code := h.Ingress.Forged(t); code < 400 || code >= 500 {
				t.Fatalf("a forged request answered %d", code)
			}
			if code := h.Ingress.Stale(t); code < 400 || code >= 500 {
				t.Fatalf("a stale request answered %d", code)
			}
			h.Ingress.Settle()
			o.flush(t, bus.TopicProposeAction)
			o.flush(t, bus.TopicCastVote)
			if n := len(o.ids(bus.TopicProposeAction)) + len(o.ids(bus.TopicCastVote)); n != 0 {
				t.Fatalf("refused requests published %d commands", n)
			}
			if got := h.Calls()[before:]; len(got) != 0 {
				t.Fatalf("refused requests called the platform: %q", got)
			}
		})
	}

	if probe := h0(t, start); probe.Voting != nil {
		t.Run("VoteBecomesOneCastVote", func(t *testing.T) {
			h, o := start(t)
			h.Voting.Open(t, "p-conformance")
			for range 2 { // the platform delivers the click again
				if code := h.Voting.Vote(t, "p-conformance", "U-voter", "click-1"); code >= 300 {
					t.Fatalf("the vote answered %d", code)
				}
			}
			if h.Ingress != nil {
				h.Ingress.Settle()
			}
			o.await(t, bus.TopicCastVote, 1)
			o.flush(t, bus.TopicCastVote)
			if ids := o.ids(bus.TopicCastVote); len(ids) != 1 {
				t.Fatalf("one click delivered twice cast %d votes %q, want one", len(ids), ids)
			}
		})
	}
}

// h0 builds a harness only to read what it declares.
func h0(t *testing.T, start func(*testing.T) (*Harness, *observer)) *Harness {
	t.Helper()
	h, _ := start(t)
	return h
}

// observer records the commands published on the topics it watches, by their ids.
type observer struct {
	b       *bus.Bus
	mu      sync.Mutex
	seen    map[string][]string
	flushes int
}

// flushPrefix marks the observer's own messages (flush), never counted as commands.
const flushPrefix = "platformtest-flush-"

// flush waits until every message published on topic before it was observed: the bus
// delivers a topic's messages to a subscriber in order, so once a marker published now is
// seen, so is everything before it.
func (o *observer) flush(t *testing.T, topic string) {
	t.Helper()
	o.mu.Lock()
	o.flushes++
	id := flushPrefix + strconv.Itoa(o.flushes)
	o.mu.Unlock()
	if err := o.b.Publisher().Publish(topic, bus.NewMessage(id, "", []byte("{}"))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		o.mu.Lock()
		done := slices.Contains(o.seen[topic], id)
		o.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bus did not deliver a marker on %s", topic)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (o *observer) watch(ctx context.Context, t *testing.T, b *bus.Bus, topic string) {
	t.Helper()
	msgs, err := b.Subscriber().Subscribe(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for m := range msgs {
			m.Ack()
			id := m.UUID
			if topic == bus.TopicProposeAction {
				var cmd bus.ProposeAction
				if json.Unmarshal(m.Payload, &cmd) == nil && cmd.Action.ID != "" {
					id = cmd.Action.ID // what the engine records the action by
				}
			}
			o.mu.Lock()
			if o.seen == nil {
				o.seen = map[string][]string{}
			}
			if !slices.Contains(o.seen[topic], id) {
				o.seen[topic] = append(o.seen[topic], id)
			}
			o.mu.Unlock()
		}
	}()
}

func (o *observer) ids(topic string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.DeleteFunc(slices.Clone(o.seen[topic]), func(id string) bool { return strings.HasPrefix(id, flushPrefix) })
}

// await waits until n distinct commands were seen on topic (the bus delivers them a moment
// after they are published).
func (o *observer) await(t *testing.T, topic string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(o.ids(topic)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d commands on %s, want %d", len(o.ids(topic)), topic, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
