package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/engine"
	"github.com/policykit-go/policykit/starterkits"
)

// DemoCommunity is the id of the community `serve --demo` creates.
const DemoCommunity = "demo"

// demoVote decides the demo's constitution changes: two approvals pass one, two objections
// fail it.
var demoVote = domain.AddPolicy{
	PolicyID: "demo-two-approvals", Kind: domain.KindConstitution, Priority: -1,
	Name:        "Two approvals",
	Description: "A constitution change passes with two yes votes and fails with two no votes.",
	PolicyCode: domain.PolicyCode{
		Check: `yes = proposal.get_yes_votes().count()
no = proposal.get_no_votes().count()
logger.info(f"{yes} for, {no} against")
if yes >= 2:
    return PASSED
if no >= 2:
    return FAILED
return PROPOSED`,
		Notify:  `logger.info(f"Vote on: {action} (proposed by {action.initiator.readable_name})")`,
		Success: `logger.info("accepted")`,
		Fail:    `logger.info("rejected")`,
	},
}

// demoSecretKey gives a demo server started without POLICYKIT_SECRET_KEY a random key of its
// own, so that connecting a platform with secrets can be tried through its API. The key
// lives as long as the process: secrets sealed with it do not open after a restart, and
// other processes (policykit propose) do not have it.
func demoSecretKey(cfg *Config, log *slog.Logger) {
	if cfg.SecretKey != "" {
		return
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand)
	cfg.SecretKey = base64.StdEncoding.EncodeToString(key)
	log.Warn("demo: POLICYKIT_SECRET_KEY is not set, so a random key seals connection secrets for this process only; " +
		"they will not open after a restart (set the variable to keep them: openssl rand -base64 32)")
}

// setupDemo creates the demo community once: the web platform, the Testing starter kit,
// three members and a two-approvals vote on constitution changes. It prints how to act as
// the members.
func setupDemo(ctx context.Context, app *App, w io.Writer) error {
	kit, err := starterkits.Load("testing")
	if err != nil {
		return err
	}
	now := time.Now()
	if _, err := engine.LoadCommunity(ctx, app.Store(), DemoCommunity); domain.ErrorCode(err) == domain.CodeNotFound {
		if _, err := engine.NewCommunity(ctx, app.Store(), domain.CreateCommunity{CommunityID: DemoCommunity, Name: "Demo garden", Platform: domain.PlatformWeb},
			kit, domain.RegisterUser{UserID: "alice", Username: "alice", ReadableName: "Alice", IsAdmin: true}, now); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		if _, err := engine.UpdateCommunity(ctx, app.Store(), DemoCommunity, engine.NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
			var all []domain.Event
			for _, u := range []domain.RegisterUser{
				{UserID: "bob", Platform: domain.PlatformWeb, Username: "bob", ReadableName: "Bob"},
				{UserID: "carol", Platform: domain.PlatformWeb, Username: "carol", ReadableName: "Carol"},
			} {
				evs, err := c.DecideRegisterUser(u, now)
				if err != nil {
					return nil, err
				}
				for _, e := range evs {
					c.Apply(e)
				}
				all = append(all, evs...)
			}
			evs, err := c.DecideAddPolicy(demoVote, now)
			if err != nil {
				return nil, err
			}
			for _, e := range evs {
				c.Apply(e)
			}
			return append(all, evs...), nil
		}); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	} else if err != nil {
		return err
	}
	fmt.Fprintf(w, `
The demo community %q is ready: members alice, bob and carol (Testing starter kit; a
constitution change needs two yes votes). From another terminal, in this directory:

  go run ./cmd/policykit propose --community demo --by alice --type policykitaddcommunitydoc --fields '{"name":"Charter","text":"Be kind."}'
  go run ./cmd/policykit vote --community demo --by bob --value yes --proposal PROPOSAL
  go run ./cmd/policykit vote --community demo --by carol --value yes --proposal PROPOSAL
  go run ./cmd/policykit audit explain PROPOSAL
  go run ./cmd/policykit community show demo

(PROPOSAL is the id the propose command prints.)

`, DemoCommunity)
	if app.cfg.GraphQL {
		fmt.Fprintf(w, `To use the GraphQL API (GraphiQL at %s/graphql) as alice, give her an account and a token:

  echo 'choose-a-password' | go run ./cmd/policykit account create alice
  go run ./cmd/policykit account link --account ACCOUNT --community demo --user alice
  go run ./cmd/policykit account token --account ACCOUNT

(ACCOUNT is the id account create prints; send the token as "Authorization: Bearer TOKEN".)

`, app.LocalURL())
	}
	return nil
}
