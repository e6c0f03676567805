package policysandbox_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func community(t *testing.T, id, check string) (*domain.Community, *domain.ActionRecord) {
	t.Helper()
	c := &domain.Community{}
	apply := func(evs []domain.Event, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			c.Apply(e)
		}
	}
	apply(c.DecideCreateCommunity(domain.CreateCommunity{CommunityID: id, Name: id, Platform: domain.PlatformWeb}, t0))
	apply(c.DecideAddPolicy(domain.AddPolicy{PolicyID: id + "-policy", Kind: domain.KindConstitution, Name: "p", PolicyCode: domain.PolicyCode{Check: check}}, t0))
	a, err := domain.NewConstitutionAction(id+"-action", id, "", domain.AddDocument{Name: "Charter", Text: "Be kind."}, t0)
	if err != nil {
		t.Fatal(err)
	}
	rec := &domain.ActionRecord{}
	evs, err := rec.DecideProposeAction(domain.ProposeAction{Action: a}, t0)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		rec.Apply(e)
	}
	return c, rec
}

// A hostile policy fails its own proposal with a logged error, while another community's
// proposal decides through the same sandbox meanwhile.
func TestHostilePolicyFailsItsProposalOnly(t *testing.T) {
	ev := mustEvaluator(t, 2)
	loop := evaluation.New(ev, 0)
	ctx := context.Background()
	hostile, hostileRec := community(t, "c-hostile", "l = [0]\nfor i in range(64):\n  l = l + l\nreturn PASSED")

	var wg sync.WaitGroup
	wg.Add(1)
	var hostileOut evaluation.Outcome
	var hostileErr error
	go func() {
		defer wg.Done()
		hostileOut, hostileErr = loop.ActionProposed(ctx, hostile, hostileRec, t0)
	}()
	decided := 0
	for i := 0; i < 20; i++ {
		c, rec := community(t, "c-calm", "return PASSED")
		if _, err := loop.ActionProposed(ctx, c, rec, t0); err != nil {
			t.Fatal(err)
		}
		if rec.Status == domain.ActionStatusExecuted && len(c.ActiveDocs()) == 1 {
			decided++
		}
	}
	wg.Wait()
	if hostileErr != nil {
		t.Fatal(hostileErr)
	}
	if decided != 20 {
		t.Fatalf("%d of 20 calm proposals decided", decided)
	}
	var logged string
	for _, e := range hostileOut.Events() {
		if ev, ok := e.(domain.ProposalEvaluated); ok && ev.Error != "" {
			logged = ev.Error
		}
	}
	if !strings.HasPrefix(logged, "MemoryError in check") && !strings.HasPrefix(logged, "TimeoutError in check") {
		t.Fatalf("hostile proposal logged %q (events %d)", logged, len(hostileOut.Events()))
	}
	if hostileRec.Status != domain.ActionStatusRejected || len(hostile.ActiveDocs()) != 0 {
		t.Fatalf("hostile action %s, docs %d", hostileRec.Status, len(hostile.ActiveDocs()))
	}
}
