// Package web is PolicyKit's own site as a platform: actions proposed and votes cast
// through the API. Its effects need no outside call: executing a web action is recording
// it, a vote started on the web is open on the proposal's page, and a message is a
// notification shown there.
package web

import (
	"context"
	"fmt"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/bus"
)

// Platform performs the web platform's effects.
type Platform struct {
	// BaseURL prefixes the links of votes (e.g. "https://policykit.example.org").
	BaseURL string
	// Ledger records each effect once (nil: answered without a record; every answer is a
	// function of the request alone).
	Ledger platform.Ledger
}

// Perform answers initiate_vote with the proposal's page and acknowledges everything else,
// recording each effect once by its idempotency key in Ledger.
func (p Platform) Perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	if p.Ledger == nil || req.IdempotencyKey == "" {
		return p.answer(req)
	}
	rec := platform.Record{EffectID: req.EffectID, CommunityID: req.CommunityID, Method: req.Method, Purpose: req.Purpose}
	return platform.Once(ctx, p.Ledger, req.IdempotencyKey, rec, platform.OnceOptions{},
		func(context.Context) (map[string]any, error) { return p.answer(req) })
}

func (p Platform) answer(req bus.EffectRequest) (map[string]any, error) {
	switch req.Method {
	case bus.MethodInitiateVote:
		if req.ProposalID == "" {
			return nil, fmt.Errorf("initiate_vote without a proposal")
		}
		return bus.Answer(bus.VoteAnswer{PostID: req.ProposalID, URL: p.BaseURL + "/proposals/" + req.ProposalID})
	case bus.MethodExecute, bus.MethodRevert, bus.MethodPostMessage:
		return map[string]any{"ok": true}, nil
	}
	if req.Purpose == bus.PurposeQuery {
		return bus.Answer(bus.QueryAnswer{})
	}
	return nil, fmt.Errorf("the web platform cannot %s", req.Method)
}
