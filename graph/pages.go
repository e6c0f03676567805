package graph

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/graph/model"
)

// Paging. Every list that grows with a community's life is a Relay connection: up to first
// items (1..MaxPageSize; each field has its default) after the cursor after. A cursor is
// the base64 of the JSON of an item's sort key (opaque to clients), and a page starts after
// that key, whether the list is read from the read models (keyset paging in SQL) or folded
// from the log (community(asOf:)). Each connection reads one more item than it returns, to
// tell whether more follow.

// The default page sizes (the schema's defaults of first): of a community's lists, and of
// the lists of one of its policies or proposals, which a page of those multiplies.
const (
	listPage   = 20
	nestedPage = 10
)

// pageSize is the page size first asks for: def when it is not given; INVALID outside
// 1..MaxPageSize.
func pageSize(first *int, def int) (int, error) {
	n := def
	if first != nil {
		n = *first
	}
	if n < 1 || n > MaxPageSize {
		return 0, domain.Invalid("first must be between 1 and %d, not %d", MaxPageSize, n)
	}
	return n, nil
}

// pageComplexity is the complexity of a connection field: its nodes' complexity once per
// item the page may hold (first, or def when not given; at most MaxPageSize, since a larger
// page is refused anyway).
func pageComplexity(def, child int, first *int) int {
	n := def
	if first != nil {
		n = min(max(*first, 1), MaxPageSize)
	}
	return 1 + child*n
}

// Sort keys, as cursors carry them.
type (
	// memberKey orders members by platform, username and id.
	memberKey struct {
		Platform string `json:"p"`
		Username string `json:"u"`
		ID       string `json:"id"`
	}
	// nameKey orders roles by name.
	nameKey struct {
		Name string `json:"n"`
	}
	// timeKey orders documents, effects and API tokens by time, then id.
	timeKey struct {
		At time.Time `json:"t"`
		ID string    `json:"id"`
	}
	// policyKey orders policies by kind, priority, name and id.
	policyKey struct {
		Kind     string `json:"k"`
		Priority int    `json:"p"`
		Name     string `json:"n"`
		ID       string `json:"id"`
	}
	// seqKey orders policy versions and evaluation logs by their stream version.
	seqKey struct {
		Seq int64 `json:"s"`
	}
)

func (a memberKey) less(b memberKey) bool {
	if a.Platform != b.Platform {
		return a.Platform < b.Platform
	}
	if a.Username != b.Username {
		return a.Username < b.Username
	}
	return a.ID < b.ID
}

func (a nameKey) less(b nameKey) bool { return a.Name < b.Name }

func (a timeKey) less(b timeKey) bool {
	if !a.At.Equal(b.At) {
		return a.At.Before(b.At)
	}
	return a.ID < b.ID
}

func (a policyKey) less(b policyKey) bool {
	if a.Kind != b.Kind {
		return a.Kind < b.Kind
	}
	if a.Priority != b.Priority {
		return a.Priority < b.Priority
	}
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	return a.ID < b.ID
}

func memberKeyOf(m model.Member) memberKey { return memberKey{m.Platform, m.Username, m.ID} }
func roleKeyOf(r model.Role) nameKey       { return nameKey{r.Name} }
func documentKeyOf(d model.Document) timeKey {
	return timeKey{d.CreatedAt, d.ID}
}
func policyKeyOf(p model.Policy) policyKey { return policyKey{p.Kind, p.Priority, p.Name, p.ID} }

func encodeKey(key any) string {
	b, err := json.Marshal(key)
	if err != nil {
		panic(err) // the keys are plain structs of strings, numbers and times
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeKey reads the key a cursor carries; nil for no cursor, INVALID for a cursor this API
// did not give out.
func decodeKey[K any](cursor *string) (*K, error) {
	if cursor == nil {
		return nil, nil
	}
	var k K
	b, err := base64.RawURLEncoding.DecodeString(*cursor)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err = dec.Decode(&k)
	}
	if err != nil {
		return nil, domain.Invalid("cursor %q is not one this API gave out", *cursor)
	}
	return &k, nil
}

// page is a connection's arguments, checked: n items after the key after (from the start
// when nil).
type page[K any] struct {
	n     int
	after *K
}

func pageOf[K any](first *int, def int, after *string) (page[K], error) {
	n, err := pageSize(first, def)
	if err != nil {
		return page[K]{}, err
	}
	k, err := decodeKey[K](after)
	return page[K]{n: n, after: k}, err
}

// slice is the page of items, sorted by key already (a list folded from the log): up to
// p.n of those whose key comes after p.after, and whether more follow.
func slice[T any, K interface{ less(K) bool }](items []T, p page[K], key func(T) K) ([]T, bool) {
	if p.after != nil {
		after := *p.after
		items = items[sort.Search(len(items), func(i int) bool { return after.less(key(items[i])) }):]
	}
	return firstN(items, p.n)
}

// firstN keeps the first n items, and tells whether there were more (a page read with one
// item too many).
func firstN[T any](items []T, n int) ([]T, bool) {
	if len(items) > n {
		return items[:n], true
	}
	return items, false
}

// connection builds a connection's edges and page info from a page of items.
func connection[T, K, E any](items []T, more bool, key func(T) K, edge func(cursor string, node *T) E) ([]E, *model.PageInfo) {
	edges := make([]E, len(items))
	info := &model.PageInfo{HasNextPage: more}
	for i := range items {
		c := encodeKey(key(items[i]))
		edges[i] = edge(c, &items[i])
		info.EndCursor = &c
	}
	return edges, info
}

// keyed is an item of a list read with its sort key (which the item itself may not show).
type keyed[T, K any] struct {
	key  K
	node T
}

func keyOf[T, K any](k keyed[T, K]) K { return k.key }

// keyedConnection is connection for items read with their keys.
func keyedConnection[T, K, E any](items []keyed[T, K], n int, edge func(cursor string, node *T) E) ([]E, *model.PageInfo) {
	items, more := firstN(items, n)
	return connection(items, more, keyOf[T, K], func(c string, k *keyed[T, K]) E { return edge(c, &k.node) })
}

// pageArgs are the arguments of one page of an owner's list (a policy's versions, a
// proposal's effects or evaluation logs): up to n items after the key after (when from is
// set), none later than asOf (when not zero).
type pageArgs[K comparable] struct {
	n     int
	after K
	from  bool
	asOf  time.Time
}

func pageArgsOf[K comparable](first *int, def int, after *string, asOf *time.Time) (pageArgs[K], error) {
	p, err := pageOf[K](first, def, after)
	if err != nil {
		return pageArgs[K]{}, err
	}
	args := pageArgs[K]{n: p.n}
	if p.after != nil {
		args.after, args.from = *p.after, true
	}
	if asOf != nil {
		args.asOf = *asOf
	}
	return args, nil
}

// pages load one page of a list per owner for every owner primed so far: one fetch per
// distinct page arguments in a request, however many owners ask (see batch). A fetch
// returns up to n+1 items per owner, so that the page can tell whether more follow.
// It is safe for the concurrent field resolvers of one request.
type pages[T any, K comparable] struct {
	mu      sync.Mutex
	primed  []string
	batches map[pageArgs[K]]*batch[keyed[T, K]]
	fetch   func(ctx context.Context, owners []string, args pageArgs[K]) (map[string][]keyed[T, K], error)
}

func newPages[T any, K comparable](fetch func(ctx context.Context, owners []string, args pageArgs[K]) (map[string][]keyed[T, K], error)) *pages[T, K] {
	return &pages[T, K]{batches: map[pageArgs[K]]*batch[keyed[T, K]]{}, fetch: fetch}
}

// prime announces owners whose lists will be asked for.
func (p *pages[T, K]) prime(owners ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.primed = append(p.primed, owners...)
	for _, b := range p.batches {
		b.prime(owners...)
	}
}

// load returns the page of owner's list (with one item more when more follow).
func (p *pages[T, K]) load(ctx context.Context, owner string, args pageArgs[K]) ([]keyed[T, K], error) {
	p.mu.Lock()
	b, ok := p.batches[args]
	if !ok {
		b = newBatch(func(ctx context.Context, owners []string) (map[string][]keyed[T, K], error) {
			return p.fetch(ctx, owners, args)
		})
		b.prime(p.primed...)
		p.batches[args] = b
	}
	p.mu.Unlock()
	return b.load(ctx, owner)
}
