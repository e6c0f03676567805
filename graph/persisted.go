package graph

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/policykit-go/policykit/domain"
)

// MaxPersistedQueries bounds how many query texts automatic persisted queries keep (the least
// recently used go first; a client whose hash was dropped is told PersistedQueryNotFound and
// sends its text again).
const MaxPersistedQueries = 1000

// AllowList is the set of operations the API runs when Deps.AllowList is set: the lowercase
// hex sha256 of an operation's exact text → that text. Build one with LoadAllowList or
// NewAllowList; a literal must use lowercase keys that are the hashes of their values.
type AllowList map[string]string

// NewAllowList lists the given operation texts under their sha256.
func NewAllowList(queries ...string) AllowList {
	l := make(AllowList, len(queries))
	for _, q := range queries {
		l[QueryHash(q)] = q
	}
	return l
}

// QueryHash is the lowercase hex sha256 of a query's exact text (no normalisation: a space
// more is another operation), as Apollo's persisted queries and the allow-list key it.
func QueryHash(query string) string {
	sum := sha256.Sum256([]byte(query))
	return hex.EncodeToString(sum[:])
}

// apolloManifestFormat is the "format" of Apollo's persisted query manifest
// (generate-persisted-query-manifest, GraphOS persisted queries).
const apolloManifestFormat = "apollo-persisted-query-manifest"

// LoadAllowList reads an allow-list from path, which is one of:
//
//   - an Apollo persisted query manifest: {"format": "apollo-persisted-query-manifest",
//     "version": 1, "operations": [{"id": "<sha256>", "name": "...", "type": "query",
//     "body": "..."}]};
//   - a JSON object {"<sha256>": "<query>", ...};
//   - a directory whose *.graphql files hold one operation each; a file's exact bytes are
//     the operation's text (a trailing newline included), listed under their sha256.
//
// Every id must be the sha256 of its text and every text must parse as a GraphQL document;
// an entry that does not is named in the error, and nothing is returned. An
// allow-list with no operations is refused too: it would refuse every request.
func LoadAllowList(path string) (AllowList, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("allow-list: %w", err)
	}
	var l AllowList
	if info.IsDir() {
		l, err = loadAllowListDir(path)
	} else {
		l, err = loadAllowListFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("allow-list %s: %w", path, err)
	}
	if len(l) == 0 {
		return nil, fmt.Errorf("allow-list %s: no operations", path)
	}
	return l, nil
}

func loadAllowListDir(dir string) (AllowList, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.graphql"))
	if err != nil {
		return nil, err
	}
	l := make(AllowList, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		if err := checkOperation(string(b)); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		l[QueryHash(string(b))] = string(b)
	}
	return l, nil
}

func loadAllowListFile(path string) (AllowList, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("want a JSON object (an Apollo manifest or {\"<sha256>\": \"<query>\"}): %w", err)
	}
	var format string
	if raw, ok := probe["format"]; ok && json.Unmarshal(raw, &format) == nil && format == apolloManifestFormat {
		return parseApolloManifest(b)
	}
	var plain map[string]string
	if err := json.Unmarshal(b, &plain); err != nil {
		return nil, fmt.Errorf("want an Apollo manifest or {\"<sha256>\": \"<query>\"}: %w", err)
	}
	l := make(AllowList, len(plain))
	for id, body := range plain {
		if err := checkEntry(id, body); err != nil {
			return nil, fmt.Errorf("entry %q: %w", id, err)
		}
		l[strings.ToLower(id)] = body
	}
	return l, nil
}

func parseApolloManifest(b []byte) (AllowList, error) {
	var m struct {
		Version    int `json:"version"`
		Operations []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
			Type string `json:"type"`
			Body string `json:"body"`
		} `json:"operations"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("apollo manifest: %w", err)
	}
	if m.Version != 1 {
		return nil, fmt.Errorf("apollo manifest version %d: only version 1 is supported", m.Version)
	}
	l := make(AllowList, len(m.Operations))
	for i, op := range m.Operations {
		if err := checkEntry(op.ID, op.Body); err != nil {
			return nil, fmt.Errorf("operation %d (name %q, id %q): %w", i, op.Name, op.ID, err)
		}
		l[strings.ToLower(op.ID)] = op.Body
	}
	return l, nil
}

// checkEntry verifies that id is the sha256 of body and that body parses.
func checkEntry(id, body string) error {
	if want := QueryHash(body); strings.ToLower(id) != want {
		return fmt.Errorf("id is not the sha256 of its body (which is %s)", want)
	}
	return checkOperation(body)
}

// checkOperation verifies that a listed text is a GraphQL document with at least one
// operation. Validation against the schema is left to each request, so that a list may
// name operations of an older or newer schema.
func checkOperation(body string) error {
	doc, err := parser.ParseQuery(&ast.Source{Input: body})
	if err != nil {
		return fmt.Errorf("does not parse: %w", err)
	}
	if len(doc.Operations) == 0 {
		return errors.New("has no operation")
	}
	return nil
}

// errNotAllowed is the one refusal of allow-list mode, whatever was unlisted (a text, a
// hash, an introspection query): it says nothing about which operations are listed.
func errNotAllowed() *gqlerror.Error {
	return &gqlerror.Error{
		Message:    "operation is not in the allow-list",
		Extensions: map[string]any{"code": codes[domain.CodeForbidden]},
	}
}

// allowListOnly runs listed operations only. It takes the place of automatic persisted
// queries: it answers Apollo's persistedQuery extension (a hash alone runs the listed text)
// but never learns a new text. As an operation parameter mutator it runs before the query
// is parsed, for every transport (POST, GET and websocket subscriptions alike), so nothing
// unlisted reaches validation or a resolver.
type allowListOnly struct{ list AllowList }

var _ interface {
	graphql.OperationParameterMutator
	graphql.HandlerExtension
} = allowListOnly{}

func (allowListOnly) ExtensionName() string { return "AllowList" }
func (a allowListOnly) Validate(graphql.ExecutableSchema) error {
	if a.list == nil {
		return errors.New("allow-list: the list is nil")
	}
	return nil
}

func (a allowListOnly) MutateOperationParameters(_ context.Context, p *graphql.RawParams) *gqlerror.Error {
	hash, gerr := persistedQueryHash(p.Extensions)
	if gerr != nil {
		return gerr
	}
	if p.Query == "" {
		if hash == "" {
			return nil // no operation at all: gqlgen reports that
		}
		q, ok := a.list[hash]
		if !ok {
			return errNotAllowed()
		}
		p.Query = q
		return nil
	}
	sum := QueryHash(p.Query)
	if hash != "" && hash != sum {
		return apqHashMismatch()
	}
	if _, ok := a.list[sum]; !ok {
		return errNotAllowed()
	}
	return nil
}

// persistedQueryHash reads extensions.persistedQuery of Apollo's protocol: its lowercase
// sha256Hash, or "" when the request has none.
func persistedQueryHash(ext map[string]any) (string, *gqlerror.Error) {
	raw, ok := ext["persistedQuery"]
	if !ok || raw == nil {
		return "", nil
	}
	pq, ok := raw.(map[string]any)
	if !ok {
		return "", invalid("invalid persistedQuery extension: want an object")
	}
	if !isOne(pq["version"]) {
		return "", invalid("unsupported persistedQuery version: only 1 is supported")
	}
	hash, _ := pq["sha256Hash"].(string)
	if hash == "" {
		return "", invalid("invalid persistedQuery extension: sha256Hash is missing")
	}
	return strings.ToLower(hash), nil
}

// isOne reports whether a decoded JSON number is 1: float64 from encoding/json, json.Number
// from transports that decode with UseNumber (GET).
func isOne(v any) bool {
	switch v := v.(type) {
	case float64:
		return v == 1
	case json.Number:
		return v.String() == "1"
	case int:
		return v == 1
	}
	return false
}

func apqHashMismatch() *gqlerror.Error {
	return invalid("provided persistedQuery sha256Hash does not match the query")
}

func invalid(msg string) *gqlerror.Error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": codes[domain.CodeInvalid]}}
}
