package logplatform

import (
	"context"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/policykit-go/policykit/adapters/platform/platformtest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/internal/pgtest"
)

// The log platform passes the platform kit's conformance suite, in memory and in Postgres.
// Its effect is the record itself, written in one statement with its idempotency key, so a
// crashed attempt leaves nothing behind. It has no events or votes of its own.
func TestLogConformance(t *testing.T) {
	ledgers := map[string]func(t *testing.T) Ledger{
		"memory":   func(*testing.T) Ledger { return nil },
		"postgres": func(t *testing.T) Ledger { return PostgresLedger{Pool: mustPool(t)} },
	}
	for name, mk := range ledgers {
		t.Run(name, func(t *testing.T) {
			platformtest.Run(t, func(t *testing.T, _ message.Publisher) *platformtest.Harness {
				p := New(mk(t), nil)
				calls := func() []string {
					effs, err := p.Effects(context.Background())
					if err != nil {
						t.Fatal(err)
					}
					var out []string
					for _, e := range effs {
						out = append(out, e.Method)
					}
					return out
				}
				govern := func(method string) bus.EffectRequest {
					return bus.EffectRequest{CommunityID: "c1", ActionID: "a1", EffectID: method + "-a1", IdempotencyKey: method + "-a1",
						Platform: domain.PlatformLog, Method: method, Purpose: method,
						Args: map[string]any{"action_id": "a1", "action_type": "logaction", "fields": map[string]any{}}}
				}
				return &platformtest.Harness{
					Perform: p.Perform,
					Calls:   calls,
					Crash:   func(context.Context, bus.EffectRequest) error { return nil },
					Effect: bus.EffectRequest{CommunityID: "c1", EffectID: "e-post", IdempotencyKey: "e-post", Platform: domain.PlatformLog,
						Method: bus.MethodPostMessage, Purpose: bus.PurposePolicy, Args: map[string]any{"text": "hello"}},
					EffectCalls: []string{bus.MethodPostMessage},
					Govern: []platformtest.GovernCase{
						{Name: "execute", Request: govern(bus.MethodExecute), Calls: []string{bus.MethodExecute}},
						{Name: "revert", Request: govern(bus.MethodRevert), Calls: []string{bus.MethodRevert}},
					},
				}
			})
		})
	}
}

func mustPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, _ := pgtest.NewPool(t)
	if err := Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return pool
}
