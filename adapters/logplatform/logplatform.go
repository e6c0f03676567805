// Package logplatform is the "log" platform: it performs every effect by recording it, and
// answers votes and questions with made-up but stable values. It stands in for real
// platforms in demos and tests (configure which platforms it stands in for). Each effect is
// recorded once, by its idempotency key, in a ledger: in memory, or in Postgres so that a
// restart performs nothing twice.
package logplatform

import (
	"context"
	"log/slog"
	"sync"

	"github.com/policykit-go/policykit/bus"
)

// Ledger keeps what was performed. Record stores req with res unless its idempotency key is
// there already, and returns the result stored for the key either way.
type Ledger interface {
	Record(ctx context.Context, req bus.EffectRequest, res map[string]any) (map[string]any, error)
	Effects(ctx context.Context) ([]bus.EffectRequest, error)
}

// Platform records effects. It is safe for concurrent use.
type Platform struct {
	log    *slog.Logger
	ledger Ledger
}

// New returns a log platform over ledger (an in-memory one when nil).
func New(ledger Ledger, logger *slog.Logger) *Platform {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if ledger == nil {
		ledger = &memoryLedger{}
	}
	return &Platform{log: logger, ledger: ledger}
}

// Perform records req once (by its idempotency key) and returns the same result for every
// delivery of it.
func (p *Platform) Perform(ctx context.Context, req bus.EffectRequest) (map[string]any, error) {
	res, err := p.ledger.Record(ctx, req, resultFor(req))
	if err != nil {
		return nil, err
	}
	p.log.Info("log platform", "platform", req.Platform, "method", req.Method, "purpose", req.Purpose, "args", req.Args)
	return res, nil
}

func resultFor(req bus.EffectRequest) map[string]any {
	short := req.EffectID
	if len(short) > 8 {
		short = short[:8]
	}
	switch req.Method {
	case bus.MethodInitiateVote:
		return map[string]any{"post_id": "log-" + short, "url": "log://votes/" + req.EffectID}
	case bus.MethodPostMessage:
		return map[string]any{"ts": "log-" + short}
	}
	if req.Purpose == bus.PurposeQuery {
		return map[string]any{"value": nil}
	}
	return map[string]any{"ok": true}
}

// Effects returns the effects performed so far, in order, each once.
func (p *Platform) Effects(ctx context.Context) ([]bus.EffectRequest, error) {
	return p.ledger.Effects(ctx)
}

type memoryLedger struct {
	mu   sync.Mutex
	done map[string]map[string]any
	seq  []bus.EffectRequest
}

func (m *memoryLedger) Record(_ context.Context, req bus.EffectRequest, res map[string]any) (map[string]any, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.done[req.IdempotencyKey]; ok {
		return old, nil
	}
	if m.done == nil {
		m.done = map[string]map[string]any{}
	}
	m.done[req.IdempotencyKey] = res
	m.seq = append(m.seq, req)
	return res, nil
}

func (m *memoryLedger) Effects(context.Context) ([]bus.EffectRequest, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]bus.EffectRequest(nil), m.seq...), nil
}
