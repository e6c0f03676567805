package logplatform_test

import (
	"context"
	"testing"

	"github.com/policykit-go/policykit/adapters/logplatform"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/internal/pgtest"
)

func TestEachEffectIsPerformedOnce(t *testing.T) {
	pool, _ := pgtest.NewPool(t)
	if err := logplatform.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	ledgers := map[string]logplatform.Ledger{"memory": nil, "postgres": logplatform.PostgresLedger{Pool: pool}}
	for name, ledger := range ledgers {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			p := logplatform.New(ledger, nil)
			vote := bus.EffectRequest{CommunityID: "c1", ProposalID: "p1", EffectID: "e-vote-0001", IdempotencyKey: "k-vote",
				Platform: "slack", Method: "initiate_vote", Purpose: "query", Args: map[string]any{"text": "vote?"}}
			first, err := p.Perform(ctx, vote)
			if err != nil {
				t.Fatal(err)
			}
			if first["post_id"] == nil || first["url"] == nil {
				t.Fatalf("initiate_vote answered %v", first)
			}
			again, err := p.Perform(ctx, vote) // a redelivered request
			if err != nil || again["post_id"] != first["post_id"] {
				t.Fatalf("second delivery answered %v (%v)", again, err)
			}
			if _, err := p.Perform(ctx, bus.EffectRequest{CommunityID: "c1", EffectID: "e-post-0002", IdempotencyKey: "k-post", Platform: "slack", Method: "post_message", Purpose: "policy"}); err != nil {
				t.Fatal(err)
			}
			effs, err := p.Effects(ctx)
			if err != nil || len(effs) != 2 || effs[0].Method != "initiate_vote" || effs[1].Method != "post_message" {
				t.Fatalf("effects = %+v (%v)", effs, err)
			}
		})
	}
}
