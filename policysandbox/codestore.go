package policysandbox

import (
	"container/list"

	"github.com/policykit-go/policykit/domain"
)

// store is a worker's bounded, least-recently-used store by key of what the parent need
// not send with every block: policy code by code hash, and a block's policy and community
// (statics) by the hash of their encoding. A worker serves one request at a time: no
// locking.
type store[V any] struct {
	limit int64 // bytes kept
	size  int64
	order *list.List // front = most recently used; values are *entry[V]
	items map[string]*list.Element
}

type entry[V any] struct {
	key  string
	val  V
	size int64
}

func newStore[V any](limit int64) *store[V] {
	return &store[V]{limit: limit, order: list.New(), items: make(map[string]*list.Element)}
}

// codeSize is the number of bytes a code takes in a store.
func codeSize(c domain.PolicyCode) int {
	return len(c.Filter) + len(c.Initialize) + len(c.Check) + len(c.Notify) + len(c.Success) + len(c.Fail) +
		len(c.FilterLang) + len(c.CheckLang)
}

// storable tells whether a store of limit bytes keeps a value of size bytes: one of more
// than an eighth of it would evict too much and is sent with every request instead. The
// parent decides with the same rule, so that it never counts on a worker having such a
// value.
func storable(size int, limit int64) bool {
	return int64(size) <= limit/8
}

func (s *store[V]) get(key string) (V, bool) {
	el, ok := s.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	s.order.MoveToFront(el)
	return el.Value.(*entry[V]).val, true
}

func (s *store[V]) put(key string, val V, size int) {
	if !storable(size, s.limit) {
		return
	}
	if el, ok := s.items[key]; ok {
		s.order.MoveToFront(el)
		return
	}
	e := &entry[V]{key: key, val: val, size: int64(size)}
	s.items[key] = s.order.PushFront(e)
	s.size += e.size
	for s.size > s.limit || s.order.Len() > maxKnown {
		last := s.order.Back()
		old := last.Value.(*entry[V])
		s.order.Remove(last)
		delete(s.items, old.key)
		s.size -= old.size
	}
}
