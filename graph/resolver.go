package graph

import "github.com/policykit-go/policykit/identity"

// Resolver is the root resolver. Resolvers stay thin: queries read one read model through
// reader (relations through the request's loaders), mutations issue one command through
// Engine and read back what it decided.
type Resolver struct {
	deps     Deps
	read     reader
	accounts Identity

	// signIns limits login and register attempts.
	signIns *identity.SignInLimits
	// tail follows the log once for every subscription.
	tail *tail
	// subscriptions counts the live subscriptions per socket and per account.
	subscriptions *subscriptionLimits
	// verifications holds a token for each Proposal.verification running (Deps.Verifications).
	verifications chan struct{}
}
