package hooks_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/policykit-go/policykit/adapters/hooks"
	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/adapters/platform/platformtest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/sealed"
)

const webhookSecret = "whsec-test"

var now = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// fixture is a hook for community c1, connected to opencollective with a webhook secret and
// to loomio without one.
type fixture struct {
	hook *hooks.Hook
	mux  *http.ServeMux
}

func newFixture(t *testing.T, pub message.Publisher) *fixture {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	box, err := sealed.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := box.Seal("c1", domain.PlatformOpenCollective, hooks.SecretName, webhookSecret)
	if err != nil {
		t.Fatal(err)
	}
	dir := &platform.MemoryDirectory{}
	learn := func(pos int64, e domain.Event) {
		data, _ := json.Marshal(e)
		if err := dir.Learn(context.Background(), bus.EventEnvelope{ID: uuid.New(), Type: e.EventType(), GlobalPosition: pos, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	h := domain.CommunityHeader{CommunityID: "c1", At: now}
	learn(1, domain.PlatformConnected{CommunityHeader: h, Platform: domain.PlatformOpenCollective, ExternalID: "coop",
		Secrets: map[string]string{hooks.SecretName: secret}})
	learn(2, domain.PlatformConnected{CommunityHeader: h, Platform: domain.PlatformLoomio, ExternalID: "g1"})
	hook := &hooks.Hook{Directory: dir, Box: box, Seen: &platform.MemorySeen{}, Publisher: platform.Publisher{Publisher: pub},
		Log: testLogger(t), Now: func() time.Time { return now }}
	mux := http.NewServeMux()
	mux.Handle(hooks.Pattern, hook)
	return &fixture{hook: hook, mux: mux}
}

// post posts body to path signed with secret at the given time ("" secret: unsigned).
func (f *fixture) post(path, secret string, at time.Time, body []byte) int {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	if secret != "" {
		ts := strconv.FormatInt(at.Unix(), 10)
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte("v1:" + ts + ":"))
		m.Write(body)
		req.Header.Set(hooks.HeaderTimestamp, ts)
		req.Header.Set(hooks.HeaderSignature, "v1="+hex.EncodeToString(m.Sum(nil)))
	}
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	return rec.Code
}

func event(id string) []byte {
	return fmt.Appendf(nil, `{"event_id": %q, "event_type": "expense_created", "data": {"expense_id": 12345678901234567890, "amount": 250}, "initiator": {"user_id": "alice"}}`, id)
}

// The generic hook passes the platform kit's conformance suite for what it has: an ingress.
func TestHookConformance(t *testing.T) {
	platformtest.Run(t, func(t *testing.T, pub message.Publisher) *platformtest.Harness {
		f := newFixture(t, pub)
		return &platformtest.Harness{
			Calls: func() []string { return nil }, // it calls no platform
			Ingress: &platformtest.Ingress{
				Deliver: func(t *testing.T, id string) int {
					return f.post("/api/hooks/opencollective/c1", webhookSecret, now, event(id))
				},
				Forged: func(t *testing.T) int {
					return f.post("/api/hooks/opencollective/c1", "not-the-secret", now, event("forged"))
				},
				Stale: func(t *testing.T) int {
					return f.post("/api/hooks/opencollective/c1", webhookSecret, now.Add(-hooks.MaxAge-time.Second), event("stale"))
				},
				Settle: func() {},
			},
		}
	})
}

// commands collects what is published on topic.
func commands(t *testing.T, topic string) (message.Publisher, func() []*message.Message) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	msgs, err := b.Subscriber().Subscribe(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var got []*message.Message
	drain := func() []*message.Message {
		for {
			select {
			case m := <-msgs:
				m.Ack()
				got = append(got, m)
			case <-time.After(200 * time.Millisecond):
				return got
			}
		}
	}
	return b.Publisher(), drain
}

func TestAnEventBecomesAWebhookTriggerAction(t *testing.T) {
	pub, published := commands(t, bus.TopicProposeAction)
	f := newFixture(t, pub)
	if code := f.post("/api/hooks/opencollective/c1", webhookSecret, now, event("evt-1")); code != http.StatusAccepted {
		t.Fatalf("answered %d", code)
	}
	msgs := published()
	if len(msgs) != 1 {
		t.Fatalf("%d commands published", len(msgs))
	}
	var cmd bus.ProposeAction
	if err := domain.DecodeJSON(msgs[0].Payload, &cmd); err != nil {
		t.Fatal(err)
	}
	a := cmd.Action
	if a.Type != "webhooktriggeraction" || a.Kind != domain.KindTrigger || a.Platform != domain.PlatformOpenCollective || a.CommunityID != "c1" {
		t.Fatalf("action %+v", a)
	}
	if a.Fields["event_type"] != "opencollective.expense_created" {
		t.Fatalf("event_type = %v", a.Fields["event_type"])
	}
	data := a.Fields["data"].(map[string]any)
	if fmt.Sprint(data["expense_id"]) != "12345678901234567890" {
		t.Fatalf("data = %v: a large id must stay exact", data)
	}
	if cmd.Initiator == nil || cmd.Initiator.Username != "alice" || cmd.Initiator.Platform != domain.PlatformOpenCollective {
		t.Fatalf("initiator %+v", cmd.Initiator)
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestAProcessUpdateFollowsItsProposal(t *testing.T) {
	pub, published := commands(t, bus.CommandTopic(bus.CommandUpdateGovernanceProcess))
	f := newFixture(t, pub)
	body := []byte(`{"id": "42", "name": "loomio.poll", "status": "completed", "outcome": {"agree": 3, "disagree": 1}}`)
	if code := f.post("/api/hooks/opencollective/c1?proposal=p7", webhookSecret, now, body); code != http.StatusAccepted {
		t.Fatalf("answered %d", code)
	}
	msgs := published()
	if len(msgs) != 1 {
		t.Fatalf("%d commands published", len(msgs))
	}
	var cmd bus.UpdateGovernanceProcess
	if err := json.Unmarshal(msgs[0].Payload, &cmd); err != nil {
		t.Fatal(err)
	}
	if cmd.CommunityID != "c1" || cmd.ProposalID != "p7" || cmd.Process["status"] != "completed" {
		t.Fatalf("command %+v", cmd)
	}
}

func TestARefusedRequestPublishesNothing(t *testing.T) {
	pub, published := commands(t, bus.TopicProposeAction)
	f := newFixture(t, pub)
	huge := fmt.Appendf(nil, `{"event_type": "x", "data": {"blob": %q}}`, strings.Repeat("a", hooks.MaxBody))
	tests := []struct {
		name   string
		path   string
		secret string
		at     time.Time
		body   []byte
		want   int
	}{
		{"unknown platform", "/api/hooks/myspace/c1", webhookSecret, now, event("e"), http.StatusNotFound},
		{"constitution platform", "/api/hooks/constitution/c1", webhookSecret, now, event("e"), http.StatusNotFound},
		{"community not connected", "/api/hooks/opencollective/c2", webhookSecret, now, event("e"), http.StatusNotFound},
		{"connection without a webhook secret", "/api/hooks/loomio/c1", webhookSecret, now, event("e"), http.StatusUnauthorized},
		{"unsigned", "/api/hooks/opencollective/c1", "", now, event("e"), http.StatusUnauthorized},
		{"forged", "/api/hooks/opencollective/c1", "guess", now, event("e"), http.StatusUnauthorized},
		{"stale", "/api/hooks/opencollective/c1", webhookSecret, now.Add(-time.Hour), event("e"), http.StatusUnauthorized},
		{"from the future", "/api/hooks/opencollective/c1", webhookSecret, now.Add(time.Hour), event("e"), http.StatusUnauthorized},
		{"malformed JSON", "/api/hooks/opencollective/c1", webhookSecret, now, []byte(`{"event_type": `), http.StatusBadRequest},
		{"no event type", "/api/hooks/opencollective/c1", webhookSecret, now, []byte(`{"data": {}}`), http.StatusBadRequest},
		{"data not an object", "/api/hooks/opencollective/c1", webhookSecret, now, []byte(`{"event_type": "x", "data": [1]}`), http.StatusBadRequest},
		{"too large", "/api/hooks/opencollective/c1", webhookSecret, now, huge, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code := f.post(tt.path, tt.secret, tt.at, tt.body); code != tt.want {
				t.Fatalf("answered %d, want %d", code, tt.want)
			}
		})
	}
	if msgs := published(); len(msgs) != 0 {
		t.Fatalf("refused requests published %d commands", len(msgs))
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
