package graph

import (
	"context"
	"errors"
	"fmt"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/lexer"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/policykit-go/policykit/domain"
)

// Bounds checked on a query's text before gqlgen parses and validates it. Validation cannot
// be interrupted and costs more than linear time in the number of fields (the overlapping
// fields check compares fields of one response name pairwise), so a document must be small
// before it gets there: a few thousand duplicate fields cost seconds of CPU, whether or not
// the client still waits.
const (
	// MaxTokens bounds the lexical tokens of a query (names, punctuation, values).
	MaxTokens = 10000
	// MaxSelections bounds the fields and fragment spreads written in a query's text.
	MaxSelections = 500
	// MaxAliases bounds the aliased fields of a query.
	MaxAliases = 100
	// MaxExpandedSelections bounds the fields and spreads of an operation once its fragment
	// spreads are replaced by the fragments' selections, so that nested fragments cannot
	// multiply a small text.
	MaxExpandedSelections = 2000
	// MaxSameResponseName bounds the fields of one selection set (with its fragments'
	// fields) that share a response name: validation compares each pair of them, and
	// reports every pair that conflicts.
	MaxSameResponseName = 10
	// MaxIntrospectionFields bounds the introspection fields (__schema, __type) of a query:
	// one answer to a client that introspects is the whole schema.
	MaxIntrospectionFields = 1
)

// CodeQueryTooLarge is the extensions.code of a query refused by the bounds above, before
// it was validated.
const CodeQueryTooLarge = "QUERY_TOO_LARGE"

func tooLarge(format string, args ...any) *gqlerror.Error {
	return &gqlerror.Error{Message: fmt.Sprintf(format, args...), Extensions: map[string]any{"code": CodeQueryTooLarge}}
}

// queryBounds refuses a query that exceeds the bounds above (QUERY_TOO_LARGE), or that
// has more than one sign-in field (LIMIT_EXCEEDED). As an operation parameter
// mutator it runs after persisted queries have filled in the text and before gqlgen parses
// and validates it; a text found in the query cache was checked and validated before and is
// let through at once. A text that does not parse is let through too, for gqlgen to report
// (under the same token limit, see NewHandler).
type queryBounds struct {
	validated graphql.Cache[*ast.QueryDocument]
}

var _ interface {
	graphql.OperationParameterMutator
	graphql.HandlerExtension
} = queryBounds{}

func (queryBounds) ExtensionName() string                   { return "QueryBounds" }
func (queryBounds) Validate(graphql.ExecutableSchema) error { return nil }

func (b queryBounds) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if p.Query == "" {
		return nil
	}
	if b.validated != nil {
		if _, ok := b.validated.Get(ctx, p.Query); ok {
			return nil
		}
	}
	return checkBounds(p.Query)
}

// checkBounds measures query against the bounds: the tokens first (lexing allocates
// nothing per token), then, on the parsed document, its selections, aliases and
// introspection fields.
func checkBounds(query string) *gqlerror.Error {
	lex := lexer.New(&ast.Source{Input: query})
	for n := 0; ; n++ {
		tok, err := lex.ReadToken()
		if err != nil || tok.Kind == lexer.EOF {
			break // a lexical error is the parser's to report
		}
		if n >= MaxTokens {
			return tooLarge("query has more than %d tokens", MaxTokens)
		}
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		return nil
	}
	c := counter{fragments: map[string]*ast.FragmentDefinition{}, expanded: map[string]int{}}
	for _, f := range doc.Fragments {
		c.fragments[f.Name] = f
	}
	for _, op := range doc.Operations {
		c.written(op.SelectionSet)
	}
	for _, f := range doc.Fragments {
		c.written(f.SelectionSet)
	}
	switch {
	case c.selections > MaxSelections:
		return tooLarge("query has %d fields and fragment spreads; at most %d are allowed", c.selections, MaxSelections)
	case c.aliases > MaxAliases:
		return tooLarge("query has %d aliases; at most %d are allowed", c.aliases, MaxAliases)
	case c.introspection > MaxIntrospectionFields:
		return tooLarge("query has %d introspection fields (__schema, __type); at most %d is allowed", c.introspection, MaxIntrospectionFields)
	case c.signIns > 1:
		// Each is a password guess; aliased, a request would carry a thousand.
		return &gqlerror.Error{
			Message:    fmt.Sprintf("query has %d sign-in fields (login, register); at most one is allowed", c.signIns),
			Extensions: map[string]any{"code": CodeLimitExceeded},
		}
	}
	names := responseNames{fragments: c.fragments, memo: map[string]map[string]int{}}
	for _, op := range doc.Operations {
		if name, n := names.most(op.SelectionSet); n > MaxSameResponseName {
			return tooLarge("%d fields of one selection set answer as %q; at most %d may", n, name, MaxSameResponseName)
		}
	}
	for _, f := range doc.Fragments {
		if name, n := names.most(f.SelectionSet); n > MaxSameResponseName {
			return tooLarge("%d fields of one selection set answer as %q; at most %d may", n, name, MaxSameResponseName)
		}
	}
	for _, op := range doc.Operations {
		if n := c.expand(op.SelectionSet, 0); n > MaxExpandedSelections {
			return tooLarge("operation %q has more than %d fields once its fragments are spread", op.Name, MaxExpandedSelections)
		}
	}
	return nil
}

// counter counts a document's selections as written, and as spread.
type counter struct {
	selections, aliases, introspection, signIns int

	fragments map[string]*ast.FragmentDefinition
	// expanded memoises each fragment's spread size (capped above MaxExpandedSelections).
	expanded map[string]int
}

func (c *counter) written(set ast.SelectionSet) {
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			c.selections++
			if s.Alias != "" && s.Alias != s.Name {
				c.aliases++
			}
			switch s.Name {
			case "__schema", "__type":
				c.introspection++
			case "login", "register":
				c.signIns++
			}
			c.written(s.SelectionSet)
		case *ast.FragmentSpread:
			c.selections++
		case *ast.InlineFragment:
			c.written(s.SelectionSet)
		}
	}
}

// expand returns how many selections set has with its fragment spreads replaced by their
// fragments, stopping above MaxExpandedSelections. A fragment cycle or an unknown fragment
// counts as nothing here: validation refuses both.
func (c *counter) expand(set ast.SelectionSet, level int) int {
	n := 0
	for _, s := range set {
		if n > MaxExpandedSelections {
			return n
		}
		switch s := s.(type) {
		case *ast.Field:
			n += 1 + c.expand(s.SelectionSet, level)
		case *ast.InlineFragment:
			n += c.expand(s.SelectionSet, level)
		case *ast.FragmentSpread:
			n++
			if m, ok := c.expanded[s.Name]; ok {
				n += m
				continue
			}
			f := c.fragments[s.Name]
			if f == nil || level > len(c.fragments) {
				continue
			}
			c.expanded[s.Name] = 0 // a cycle back to it adds nothing
			m := c.expand(f.SelectionSet, level+1)
			c.expanded[s.Name] = m
			n += m
		}
	}
	return n
}

// responseNames counts, for every selection set of a document, how many of its fields (its
// inline fragments' and spread fragments' included, each fragment once) answer under each
// response name.
type responseNames struct {
	fragments map[string]*ast.FragmentDefinition
	memo      map[string]map[string]int // a fragment's counts
}

// most returns the response name most fields of set and of the sets below it share, and
// how many do.
func (r responseNames) most(set ast.SelectionSet) (string, int) {
	name, n := "", 0
	for k, v := range r.collect(set, map[string]bool{}) {
		if v > n {
			name, n = k, v
		}
	}
	for _, s := range set {
		var sub ast.SelectionSet
		switch s := s.(type) {
		case *ast.Field:
			sub = s.SelectionSet
		case *ast.InlineFragment:
			sub = s.SelectionSet
		}
		if k, v := r.most(sub); v > n {
			name, n = k, v
		}
	}
	return name, n
}

// collect counts the response names of set's fields, through inline fragments and each
// fragment spread once (spreading a fragment twice adds no field).
func (r responseNames) collect(set ast.SelectionSet, spread map[string]bool) map[string]int {
	counts := map[string]int{}
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, s := range set {
			switch s := s.(type) {
			case *ast.Field:
				name := s.Alias
				if name == "" {
					name = s.Name
				}
				counts[name]++
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				if spread[s.Name] {
					continue
				}
				spread[s.Name] = true
				for k, v := range r.fragment(s.Name) {
					counts[k] += v
				}
			}
		}
	}
	walk(set)
	return counts
}

func (r responseNames) fragment(name string) map[string]int {
	if m, ok := r.memo[name]; ok {
		return m
	}
	r.memo[name] = nil // a cycle back to it adds nothing (validation refuses cycles)
	f := r.fragments[name]
	if f == nil {
		return nil
	}
	m := r.collect(f.SelectionSet, map[string]bool{name: true})
	r.memo[name] = m
	return m
}

// limitError is a request the API refuses for its size or rate rather than its content,
// with its own extensions.code (presented as is).
type limitError struct {
	code, msg string
}

func (e *limitError) Error() string { return e.msg }

// Codes of limitError.
const (
	// CodeRateLimited: too many sign-in attempts from one address or for one account; the
	// caller may try again later.
	CodeRateLimited = "RATE_LIMITED"
	// CodeLimitExceeded: a request asks for more of something than one request, connection
	// or account may have (sign-in fields, subscriptions, verifications).
	CodeLimitExceeded = "LIMIT_EXCEEDED"
)

func limitExceeded(format string, args ...any) error {
	return &limitError{code: CodeLimitExceeded, msg: fmt.Sprintf(format, args...)}
}

func rateLimited(msg string) error {
	return &limitError{code: CodeRateLimited, msg: msg}
}

func asLimitError(err error) (*limitError, bool) {
	var le *limitError
	ok := errors.As(err, &le)
	return le, ok
}

// introspectionFields counts the introspection fields (__schema, __type) at the root of
// set, through fragments (validation has refused fragment cycles).
func introspectionFields(set ast.SelectionSet) int {
	n := 0
	for _, s := range set {
		switch s := s.(type) {
		case *ast.Field:
			if s.Name == "__schema" || s.Name == "__type" {
				n++
			}
		case *ast.InlineFragment:
			n += introspectionFields(s.SelectionSet)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				n += introspectionFields(s.Definition.SelectionSet)
			}
		}
	}
	return n
}

// introspectionGate turns introspection on for a request, or, when anonymous is false and the
// request has no caller, refuses an operation that introspects (FORBIDDEN). __typename is
// no introspection here: it answers every request.
type introspectionGate struct{ anonymous bool }

var _ interface {
	graphql.OperationContextMutator
	graphql.HandlerExtension
} = introspectionGate{}

func (introspectionGate) ExtensionName() string                   { return "Introspection" }
func (introspectionGate) Validate(graphql.ExecutableSchema) error { return nil }
func (i introspectionGate) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if i.anonymous || exchangeOf(ctx).caller != nil {
		oc.DisableIntrospection = false
		return nil
	}
	if oc.Operation != nil && introspectionFields(oc.Operation.SelectionSet) > 0 {
		return &gqlerror.Error{
			Message:    "introspection needs a caller: send an API token or log in",
			Extensions: map[string]any{"code": codes[domain.CodeForbidden]},
		}
	}
	return nil
}

// complexityLimit is gqlgen's fixed complexity limit with introspection counted: gqlgen's
// calculation leaves __schema out, so that a thousand aliases of it would cost nothing.
type complexityLimit struct {
	max int
	es  graphql.ExecutableSchema
}

var _ interface {
	graphql.OperationContextMutator
	graphql.HandlerExtension
} = (*complexityLimit)(nil)

func (*complexityLimit) ExtensionName() string { return "ComplexityLimit" }
func (c *complexityLimit) Validate(es graphql.ExecutableSchema) error {
	c.es = es
	return nil
}

func (c *complexityLimit) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	op := oc.Operation
	if op == nil {
		return nil
	}
	n := complexity.Calculate(ctx, c.es, op, oc.Variables)
	n += IntrospectionComplexity * introspectionFields(op.SelectionSet)
	if n > c.max {
		err := gqlerror.Errorf("operation has complexity %d, which exceeds the limit of %d", n, c.max)
		errcode.Set(err, "COMPLEXITY_LIMIT_EXCEEDED")
		return err
	}
	return nil
}
