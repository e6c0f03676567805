package policysandbox

import (
	"container/list"

	"github.com/policykit-go/policykit/domain"
)

// codeStore is a worker's bounded, least-recently-used store of policy code by hash, so
// that the parent can send a block's input without its code. A worker serves one request
// at a time: no locking.
type codeStore struct {
	limit int64 // bytes of code kept
	size  int64
	order *list.List // front = most recently used; values are *codeEntry
	items map[string]*list.Element
}

type codeEntry struct {
	hash string
	code domain.PolicyCode
	size int64
}

func newCodeStore(limit int64) *codeStore {
	return &codeStore{limit: limit, order: list.New(), items: make(map[string]*list.Element)}
}

// codeSize is the number of bytes a code takes in a codeStore.
func codeSize(c domain.PolicyCode) int {
	return len(c.Filter) + len(c.Initialize) + len(c.Check) + len(c.Notify) + len(c.Success) + len(c.Fail) +
		len(c.FilterLang) + len(c.CheckLang)
}

// storable tells whether a store of limit bytes keeps c: a code of more than an eighth of it
// would evict too much and is sent with every request instead. The parent decides with the
// same rule, so that it never counts on a worker having such code.
func storable(c domain.PolicyCode, limit int64) bool {
	return int64(codeSize(c)) <= limit/8
}

func (s *codeStore) get(hash string) (domain.PolicyCode, bool) {
	el, ok := s.items[hash]
	if !ok {
		return domain.PolicyCode{}, false
	}
	s.order.MoveToFront(el)
	return el.Value.(*codeEntry).code, true
}

func (s *codeStore) put(hash string, code domain.PolicyCode) {
	if !storable(code, s.limit) {
		return
	}
	if el, ok := s.items[hash]; ok {
		s.order.MoveToFront(el)
		return
	}
	e := &codeEntry{hash: hash, code: code, size: int64(codeSize(code))}
	s.items[hash] = s.order.PushFront(e)
	s.size += e.size
	for s.size > s.limit || s.order.Len() > maxKnown {
		last := s.order.Back()
		old := last.Value.(*codeEntry)
		s.order.Remove(last)
		delete(s.items, old.hash)
		s.size -= old.size
	}
}
