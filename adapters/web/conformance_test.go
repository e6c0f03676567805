package web

import (
	"context"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/adapters/platform/platformtest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// The web platform passes the platform kit's conformance suite. Its effects are records
// (executing a web action is recording it): the platform's calls are its ledger's records.
// Actions and votes reach the engine through the API, so it has no ingress of its own.
func TestWebConformance(t *testing.T) {
	platformtest.Run(t, func(t *testing.T, _ message.Publisher) *platformtest.Harness {
		ledger := platform.NewMemoryLedger()
		p := Platform{BaseURL: "https://pk.example", Ledger: ledger}
		calls := func() []string {
			var out []string
			for _, r := range ledger.Records() {
				out = append(out, r.Method)
			}
			return out
		}
		govern := func(method string) bus.EffectRequest {
			return bus.EffectRequest{CommunityID: "c1", ActionID: "a1", EffectID: method + "-a1", IdempotencyKey: method + "-a1",
				Platform: domain.PlatformWeb, Method: method, Purpose: method,
				Args: map[string]any{"action_id": "a1", "action_type": "webpost", "fields": map[string]any{}}}
		}
		return &platformtest.Harness{
			Perform: p.Perform,
			Calls:   calls,
			Crash: func(ctx context.Context, req bus.EffectRequest) error {
				_, err := ledger.Claim(ctx, req.IdempotencyKey, "crashed-attempt", 0)
				return err
			},
			Effect: bus.EffectRequest{CommunityID: "c1", ProposalID: "p1", EffectID: "e-vote", IdempotencyKey: "e-vote",
				Platform: domain.PlatformWeb, Method: bus.MethodInitiateVote, Purpose: bus.PurposeQuery},
			EffectCalls: []string{bus.MethodInitiateVote},
			Govern: []platformtest.GovernCase{
				{Name: "execute", Request: govern(bus.MethodExecute), Calls: []string{bus.MethodExecute}},
				{Name: "revert", Request: govern(bus.MethodRevert), Calls: []string{bus.MethodRevert}},
			},
		}
	})
}
