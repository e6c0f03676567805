package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/domain/evaluation"
	"github.com/policykit-go/policykit/policy"
)

// compiler is the evaluator that also checks policy code (the sandbox; engine.PolicyCompiler).
type compiler interface {
	Compile(ctx context.Context, code domain.PolicyCode) ([]*policy.EvalError, error)
}

// Evaluator times every block next evaluates (policykit_policy_evaluation_seconds) and, with
// tp, traces it as a span. It keeps next's ability to check policy code.
func Evaluator(next evaluation.Evaluator, m *Metrics, tp trace.TracerProvider) evaluation.Evaluator {
	if m == nil && tp == nil {
		return next
	}
	e := timedEvaluator{next: next, m: m}
	if tp != nil {
		e.tracer = tp.Tracer("github.com/policykit-go/policykit/internal/telemetry")
	}
	if c, ok := next.(compiler); ok {
		return compilingEvaluator{timedEvaluator: e, c: c}
	}
	return e
}

type timedEvaluator struct {
	next   evaluation.Evaluator
	m      *Metrics
	tracer trace.Tracer
}

func (e timedEvaluator) Evaluate(ctx context.Context, in policy.Input) policy.Output {
	var span trace.Span
	if e.tracer != nil {
		ctx, span = e.tracer.Start(ctx, "policy "+string(in.Block), trace.WithAttributes(
			attribute.String("policykit.block", string(in.Block)), attribute.String("policykit.policy_id", in.Policy.ID)))
	}
	start := time.Now()
	out := e.next.Evaluate(ctx, in)
	took := time.Since(start)
	result := "ok"
	if out.Err != nil {
		result = "error"
	}
	if e.m != nil {
		e.m.evaluation.WithLabelValues(string(in.Block), result).Observe(took.Seconds())
	}
	if span != nil {
		if out.Err != nil {
			span.SetStatus(codes.Error, out.Err.Error())
		}
		span.End()
	}
	return out
}

type compilingEvaluator struct {
	timedEvaluator
	c compiler
}

func (e compilingEvaluator) Compile(ctx context.Context, code domain.PolicyCode) ([]*policy.EvalError, error) {
	return e.c.Compile(ctx, code)
}
