package metagov

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/adapters/platform/platformtest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/internal/pgtest"
)

// The Metagov adapter passes the platform kit's conformance suite, with its ledger in memory
// and in Postgres: its effect (start_process: a POST and the GET of the Location) is made
// once under redelivery and after a crash. It is effect-only: no events, votes or
// governable actions of its own, so the suite's ingress, voting and execute/revert checks
// do not apply (process updates arrive on the App's generic hook).
func TestMetagovConformance(t *testing.T) {
	ledgers := map[string]func(t *testing.T) platform.Ledger{
		"memory": func(*testing.T) platform.Ledger { return platform.NewMemoryLedger() },
		"postgres": func(t *testing.T) platform.Ledger {
			pool, _ := pgtest.NewPool(t)
			if err := platform.Migrate(context.Background(), pool); err != nil {
				t.Fatal(err)
			}
			return platform.PostgresLedger{Pool: pool, Platform: domain.PlatformMetagov}
		},
	}
	for name, mk := range ledgers {
		t.Run(name, func(t *testing.T) {
			platformtest.Run(t, func(t *testing.T, _ message.Publisher) *platformtest.Harness {
				ledger := mk(t)
				e := newEnv(t, func(_ *Config, d *Deps) { d.Ledger = ledger })
				return &platformtest.Harness{
					Perform: e.p.Perform,
					Calls:   e.f.requests,
					Crash: func(ctx context.Context, req bus.EffectRequest) error {
						_, err := ledger.Claim(ctx, req.IdempotencyKey, "crashed-attempt", 0)
						return err
					},
					Effect: request("e-start", MethodStartProcess, map[string]any{"name": "loomio.poll",
						"parameters": map[string]any{"title": "Lunch?"}}),
					EffectCalls: []string{"POST /api/internal/process/loomio.poll", "GET /api/internal/process/loomio.poll/1"},
				}
			})
		})
	}
}

// Registered and run as the App runs it, the adapter answers the effect requests of the
// metagov platform on the bus with RecordEffectResult: the answer, or the error.
func TestAdapterOnTheBus(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := bus.Open(ctx, bus.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close() }()
	e := newEnv(t)
	results, err := b.Subscriber().Subscribe(ctx, bus.TopicRecordEffectResult)
	if err != nil {
		t.Fatal(err)
	}

	reg := Registration()
	sec := reg.Config(func(k string) string {
		if k == "METAGOV_URL" {
			return e.f.URL()
		}
		return ""
	})
	if !sec.Enabled() || !reg.NeedsDirectory || reg.Name != domain.PlatformMetagov {
		t.Fatalf("registration %+v, enabled %v", reg, sec.Enabled())
	}
	a, err := reg.New(ctx, sec, platform.Host{Bus: b, Directory: e.dir, Box: e.box, BaseURL: testSite})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() != domain.PlatformMetagov || len(a.Routes()) != 0 {
		t.Fatalf("adapter %q with routes %v", a.Name(), a.Routes())
	}
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, b, ready) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("the adapter stopped: %v", err)
	}

	reply := func(req bus.EffectRequest) bus.RecordEffectResult {
		t.Helper()
		payload, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		msg := bus.NewMessage(uuid.NewSHA1(uuid.NameSpaceOID, []byte("effect:"+req.EffectID)).String(), bus.MessageEffectRequest, payload)
		if err := b.Publisher().Publish(bus.EffectsTopic(domain.PlatformMetagov), msg); err != nil {
			t.Fatal(err)
		}
		for {
			select {
			case m := <-results:
				m.Ack()
				var res bus.RecordEffectResult
				if err := json.Unmarshal(m.Payload, &res); err != nil {
					t.Fatal(err)
				}
				if res.EffectID == req.EffectID {
					return res
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no result of %s", req.EffectID)
			}
		}
	}

	res := reply(request("e-bus-start", MethodStartProcess, map[string]any{"name": "loomio.poll"}))
	if res.Error != "" || res.Result["status"] != "pending" || res.Result["name"] != "loomio.poll" || res.ProposalID != "p1" {
		t.Fatalf("start_process on the bus: %+v", res)
	}
	res = reply(request("e-bus-post", bus.MethodPostMessage, map[string]any{"text": "hi"}))
	if res.Error == "" || res.Result != nil {
		t.Fatalf("post_message on the bus: %+v, want an error", res)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}
