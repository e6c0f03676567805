package platform_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
)

// Event ids are stable: the ids adapters derived before the kit (UUIDv5 of
// "<platform>-<kind>:<part>:<part>" in the OID namespace) come out the same, so that an
// event delivered across an upgrade is still recognised.
func TestEventIDIsStable(t *testing.T) {
	want := uuid.NewSHA1(uuid.NameSpaceOID, []byte("slack-event:T1:Ev1")).String()
	if got := platform.EventID("slack", "event", "T1", "Ev1"); got != want {
		t.Fatalf("EventID = %s, want %s", got, want)
	}
	if platform.EventID("slack", "event", "T1", "Ev1") == platform.EventID("slack", "vote", "T1", "Ev1") {
		t.Fatal("an event's and a vote's ids collide")
	}
}

// capturing keeps what is published.
type capturing struct{ msgs []*message.Message }

func (c *capturing) Publish(_ string, msgs ...*message.Message) error {
	c.msgs = append(c.msgs, msgs...)
	return nil
}
func (c *capturing) Close() error { return nil }

func TestPublisherHandsTheRequestsSpanToTheBusButNotItsEnd(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	ctx, span := tp.Tracer("test").Start(context.Background(), "request")
	defer span.End()
	ctx, cancel := context.WithCancel(ctx)
	c := &capturing{}
	if err := (platform.Publisher{Publisher: c}).Publish(ctx, bus.TopicProposeAction, "ev-1", bus.CommandProposeAction, map[string]string{}); err != nil {
		t.Fatal(err)
	}
	cancel()
	got := c.msgs[0].Context()
	if trace.SpanContextFromContext(got).SpanID() != span.SpanContext().SpanID() {
		t.Fatal("the message does not carry the request's span")
	}
	if got.Err() != nil {
		t.Fatal("the message's context ends with the request")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{"0": 0, "7": 7 * time.Second, now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat): 0} {
		if got, ok := platform.RetryAfter(v, now); !ok || got != want {
			t.Fatalf("platform.RetryAfter(%q) = %s, %v; want %s", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "soon", "-3"} {
		if _, ok := platform.RetryAfter(v, now); ok {
			t.Fatalf("platform.RetryAfter(%q) read a wait", v)
		}
	}
}
