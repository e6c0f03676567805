package graph

import (
	"context"
	"errors"
	"testing"

	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/graph/model"
)

// A verification waits for a turn (Deps.Verifications run at once) only while its request
// lasts.
func TestVerificationWaitsForItsTurnOnlyWhileTheRequestLasts(t *testing.T) {
	r := &Resolver{deps: Deps{Loop: evaluation.New(nil, 0)}, verifications: make(chan struct{}, 1)}
	r.verifications <- struct{}{} // another verification runs
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.verification(ctx, &model.Proposal{})
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(r.verifications) != 1 {
		t.Errorf("%d verifications hold a turn, want the other one only", len(r.verifications))
	}
}
