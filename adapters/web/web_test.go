package web_test

import (
	"context"
	"testing"

	"github.com/policykit-go/policykit/adapters/web"
	"github.com/policykit-go/policykit/bus"
)

func TestWebPlatform(t *testing.T) {
	p := web.Platform{BaseURL: "https://pk.example"}
	res, err := p.Perform(context.Background(), bus.EffectRequest{ProposalID: "p1", Method: "initiate_vote", Purpose: "query"})
	if err != nil || res["post_id"] != "p1" || res["url"] != "https://pk.example/proposals/p1" {
		t.Fatalf("initiate_vote: %v %v", res, err)
	}
	if _, err := p.Perform(context.Background(), bus.EffectRequest{Method: "execute", Purpose: "execute"}); err != nil {
		t.Fatalf("execute: %v", err)
	}
	if _, err := p.Perform(context.Background(), bus.EffectRequest{Method: "kick_user", Purpose: "policy"}); err == nil {
		t.Fatal("an effect the web platform cannot perform succeeded")
	}
}
