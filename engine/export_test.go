package engine

import (
	"context"

	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/eventstore"
)

// VerifyKeeping is Verify keeping at most streams streams' events at once.
func VerifyKeeping(ctx context.Context, store eventstore.Store, loop *evaluation.Loop, streams int) (AuditReport, error) {
	a := &auditor{loop: loop, states: newStreamCache(store, streams)}
	return a.run(ctx, eventstore.All(ctx, store, eventstore.Start))
}
