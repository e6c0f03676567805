package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/eventstore/memory"
	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/starterkits"
)

// Every starter kit works for a community created on PolicyKit's own site: the kits' policies
// call ${PLATFORM}.get_users and ${PLATFORM}.initiate_vote, which is web there. A constitution
// action proposed by its creator is governed by the kit's constitution policy, never refused
// for want of one.
func TestEveryStarterKitGovernsAWebCommunity(t *testing.T) {
	ctx := context.Background()
	rt, err := policy.New(policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"testing", "dictator", "democracy", "jury", "moderators"} {
		t.Run(name, func(t *testing.T) {
			store := memory.New()
			kit, err := starterkits.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := engine.NewCommunity(ctx, store, domain.CreateCommunity{CommunityID: "w1", Name: "Web garden", Platform: domain.PlatformWeb},
				kit, domain.RegisterUser{UserID: "ana", Username: "ana", IsAdmin: true}, t0); err != nil {
				t.Fatal(err)
			}
			eng := engine.New(store, evaluation.New(rt, 0), nil, func() time.Time { return t0 })
			a, err := domain.NewConstitutionAction("doc-1", "w1", "ana", domain.AddDocument{Name: "Charter", Text: "Be kind."}, t0)
			if err != nil {
				t.Fatal(err)
			}
			if err := eng.ProposeAction(ctx, bus.ProposeAction{Action: a}, engine.NewMeta()); err != nil {
				t.Fatal(err)
			}
			out, err := eng.HandleActionProposed(ctx, "w1", "doc-1", engine.NewMeta())
			if err != nil {
				t.Fatal(err)
			}
			rec, err := engine.LoadAction(ctx, store, "doc-1")
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range out.Events() {
				if ev, ok := e.(domain.ProposalEvaluated); ok && ev.Error != "" {
					t.Fatalf("%s: block %s failed: %s", name, ev.Block, ev.Error)
				}
			}
			if rec.Status == domain.ActionStatusRejected && rec.GoverningProposalID == "" {
				t.Fatalf("%s: the action was rejected with no proposal: %s", name, rec.Reason)
			}
		})
	}
}
