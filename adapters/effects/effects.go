// Package effects is the skeleton every platform adapter shares on the effect side: it
// consumes the engine's effect requests for a platform from the bus, performs each once, and
// reports the outcome back as a RecordEffectResult command. Adapters meet the engine only
// through these bus messages.
package effects

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/policykit-go/policykit/bus"
	"github.com/policykit-go/policykit/domain"
)

// Performer carries out one effect on its platform and returns what it learned (for
// initiate_vote: {"post_id", "url"}; for a call that returns a value: {"value": v}).
// It must be idempotent by req.IdempotencyKey: a request may arrive more than once.
type Performer interface {
	Perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error)
}

// Observer is told of every effect performed (metrics): the bus's Config.Observer, when it
// is one, is told.
type Observer interface {
	EffectPerformed(platform, method string, err error, took time.Duration)
}

// Run consumes the effect requests of each platform in platforms with p, in the consumer
// group "adapter-<name>", until ctx ends. ready, if not nil, is closed once subscribed.
func Run(ctx context.Context, b *bus.Bus, name string, platforms []string, p Performer, logger *slog.Logger, ready chan<- struct{}) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sub, err := b.NewSubscriber("adapter-" + name)
	if err != nil {
		return err
	}
	router, err := b.NewRouter("adapter-" + name)
	if err != nil {
		return err
	}
	obs, _ := b.Config().Observer.(Observer)
	for _, platform := range platforms {
		router.AddHandler("adapter-"+name+"-"+platform, bus.EffectsTopic(platform), sub, bus.TopicRecordEffectResult, b.Publisher(),
			func(msg *message.Message) ([]*message.Message, error) {
				var req bus.EffectRequest
				if err := domain.DecodeJSON(msg.Payload, &req); err != nil { // numbers stay exact: json.Number
					return nil, bus.Permanent(fmt.Errorf("malformed effect request: %w", err))
				}
				res := bus.RecordEffectResult{CommunityID: req.CommunityID, ProposalID: req.ProposalID, ActionID: req.ActionID, EffectID: req.EffectID}
				start := time.Now()
				out, err := p.Perform(msg.Context(), req)
				if obs != nil {
					obs.EffectPerformed(req.Platform, req.Method, err, time.Since(start))
				}
				if err != nil {
					res.Error = err.Error()
				} else {
					res.Result = out
				}
				logger.Info("effect performed", "platform", req.Platform, "method", req.Method, "effect", req.EffectID, "err", res.Error)
				payload, err := json.Marshal(res)
				if err != nil {
					return nil, err
				}
				id := uuid.NewSHA1(uuid.NameSpaceOID, []byte("effect-result:"+req.EffectID)).String()
				return []*message.Message{bus.NewMessage(id, bus.CommandRecordEffectResult, payload)}, nil
			})
	}
	errc := make(chan error, 1)
	go func() { errc <- router.Run(ctx) }()
	select {
	case <-router.Running():
		if ready != nil {
			close(ready)
		}
	case err := <-errc:
		return err
	}
	err = <-errc
	if ctx.Err() != nil {
		return nil
	}
	return err
}
