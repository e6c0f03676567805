package telemetry

import (
	"context"
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// GraphQLExtension counts and times GraphQL operations by operation name, type and outcome
// (policykit_graphql_operations_total, policykit_graphql_operation_duration_seconds); add it
// to the server with Use (graph.Deps.Extensions). Nil when m is nil.
func (m *Metrics) GraphQLExtension() graphql.HandlerExtension {
	if m == nil {
		return nil
	}
	return graphqlMetrics{m: m}
}

type graphqlMetrics struct{ m *Metrics }

var (
	_ graphql.HandlerExtension    = graphqlMetrics{}
	_ graphql.ResponseInterceptor = graphqlMetrics{}
)

func (graphqlMetrics) ExtensionName() string                          { return "PolicyKitMetrics" }
func (graphqlMetrics) Validate(schema graphql.ExecutableSchema) error { return nil }

// InterceptResponse sees every response of an operation: one for a query or a mutation,
// one per event of a subscription.
func (g graphqlMetrics) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	start := time.Now()
	resp := next(ctx)
	if !graphql.HasOperationContext(ctx) {
		return resp
	}
	oc := graphql.GetOperationContext(ctx)
	name, typ := oc.OperationName, "unknown"
	if oc.Operation != nil {
		typ = string(oc.Operation.Operation)
		if name == "" {
			name = oc.Operation.Name
		}
	}
	if name == "" {
		name = "anonymous"
	}
	name = g.m.operation.admit(name)
	result := "ok"
	if resp != nil && len(resp.Errors) > 0 {
		result = "error"
	}
	if resp == nil && typ == "subscription" {
		return resp // the subscription ended: no operation to count
	}
	g.m.graphqlOps.WithLabelValues(name, typ, result).Inc()
	g.m.graphqlSeconds.WithLabelValues(name, typ).Observe(time.Since(start).Seconds())
	return resp
}
