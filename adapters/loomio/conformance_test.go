package loomio

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/adapters/platform/platformtest"
	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/internal/pgtest"
)

// The Loomio adapter passes the platform kit's conformance suite, with its ledger, poll
// store and seen events in memory and in Postgres. Its effect is initiate_vote (one POST
// /api/b2/polls however often it is delivered); its events are the group webhook's, each one
// webhooktriggeraction; a vote is a member's stance, read from the API after the webhook
// told of it; a forged request names another secret, and a stale one the secret the
// connection had before it was connected again with a new one (Loomio's payloads carry no
// time to judge a replay by: the URL's secret is the credential). It has no governable
// actions of its own.
func TestLoomioConformance(t *testing.T) {
	stores := map[string]func(t *testing.T, d *Deps){
		"memory": func(*testing.T, *Deps) {},
		"postgres": func(t *testing.T, d *Deps) {
			pool, _ := pgtest.NewPool(t)
			if err := Migrate(context.Background(), pool); err != nil {
				t.Fatal(err)
			}
			d.Ledger = platform.PostgresLedger{Pool: pool, Platform: domain.PlatformLoomio}
			d.Seen = platform.PostgresSeen{Pool: pool, Platform: domain.PlatformLoomio}
			d.Store = PostgresStore{Pool: pool}
		},
	}
	for name, setup := range stores {
		t.Run(name, func(t *testing.T) {
			platformtest.Run(t, func(t *testing.T, pub message.Publisher) *platformtest.Harness {
				var ledger platform.Ledger
				e := newEnv(t, func(_ *Config, d *Deps) {
					setup(t, d)
					d.Publisher = platform.Publisher{Publisher: pub}
					ledger = d.Ledger
				})
				if ledger == nil {
					ledger = e.ledger
				}
				e.connect(t, "whsec-old")
				e.connect(t, testHook) // connected again with a new secret: the old one is stale
				var mu sync.Mutex
				polls := map[string]int{}
				clicks := map[string][]byte{}
				return &platformtest.Harness{
					Perform: e.a.Perform,
					Calls:   e.f.Calls,
					Crash: func(ctx context.Context, req bus.EffectRequest) error {
						_, err := ledger.Claim(ctx, req.IdempotencyKey, "crashed-attempt", 0)
						return err
					},
					Effect:      request("e-conformance", "p-effect", MethodInitiateVote, seedArgs()),
					EffectCalls: []string{"POST /api/b2/polls"},
					Ingress: &platformtest.Ingress{
						Deliver: func(t *testing.T, eventID string) int {
							body := fmt.Appendf(nil, `{"kind": "new_comment", "url": "%s/d/dk1/thread?comment=%s", "title": "Budget",
								"actor_name": "Alice", "group_name": "Garden", "text": "Alice commented (%s)", "username": "Loomio"}`,
								e.f.URL(), eventID, eventID)
							return e.deliver(t, testHook, body)
						},
						Forged: func(t *testing.T) int {
							return e.deliver(t, "guess", []byte(`{"kind": "new_comment", "url": "x", "text": "forged"}`))
						},
						Stale: func(t *testing.T) int {
							return e.deliver(t, "whsec-old", []byte(`{"kind": "new_comment", "url": "x", "text": "replayed"}`))
						},
						Settle: e.a.Settle,
					},
					Voting: &platformtest.Voting{
						Open: func(t *testing.T, proposalID string) {
							mu.Lock()
							defer mu.Unlock()
							polls[proposalID] = e.openPoll(t, proposalID)
						},
						Vote: func(t *testing.T, proposalID, member, click string) int {
							mu.Lock()
							body, again := clicks[click]
							if !again {
								// The member is Loomio user 70; the click is their stance, whose
								// webhook event the platform delivers again for a repeated click.
								if err := e.f.Choose(polls[proposalID], 70, member, "consent"); err != nil {
									mu.Unlock()
									t.Fatal(err)
								}
								evs := e.f.Events()
								body = evs[len(evs)-1]
								clicks[click] = body
							}
							mu.Unlock()
							return e.deliver(t, testHook, body)
						},
					},
				}
			})
		})
	}
}
