package platform

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Ledger is an adapter's record of the effects it performed against its platform, by
// idempotency key, and of those being performed (claims). It is what makes each effect
// happen once although the bus delivers its request at least once: an attempt claims the
// key before calling the platform and completes it with the platform's answer.
//
// Implementations are safe for concurrent use, also across processes for PostgresLedger;
// MemoryLedger and PostgresLedger pass the same contract (ledger_test.go).
type Ledger interface {
	// Claim is asked before an effect is performed, by each attempt with its own holder. It
	// answers Done with the stored result when the key was completed. Otherwise it claims the
	// key for holder for ttl and answers Claimed, unless another holder's claim is still
	// live: then neither (that attempt is under way; ask again later). An expired claim, left
	// by an attempt that crashed, is taken over; holder asking again renews its own. Of many
	// attempts asking at once, at most one is answered Claimed.
	Claim(ctx context.Context, key, holder string, ttl time.Duration) (Claim, error)
	// Release drops holder's claim on key after its attempt failed, so that the next attempt
	// may claim it at once. Another holder's claim is left alone.
	Release(ctx context.Context, key, holder string) error
	// Complete stores rec's result for key unless one is stored already, drops the key's
	// claim, and returns the stored result either way: the first result stands.
	Complete(ctx context.Context, key string, rec Record) (map[string]any, error)
	// Result returns the result stored for key, ok false when there is none.
	Result(ctx context.Context, key string) (res map[string]any, ok bool, err error)
}

// Record is what the ledger keeps of a performed effect besides its result.
type Record struct {
	EffectID    string
	CommunityID string
	Method      string
	Purpose     string
	Result      map[string]any
}

// Claim is the answer of Ledger.Claim.
type Claim struct {
	// Done: the effect was performed; Result is what it answered.
	Done   bool
	Result map[string]any
	// Claimed: the caller holds the key and performs the effect.
	Claimed bool
}

// Once performs an effect at most once per key through ledger: a key already completed is
// answered with its stored result without calling perform; a key another attempt holds is
// waited for (looking again every poll) and answered with that attempt's result; otherwise
// perform runs, within attempt, and its result is completed. A failed perform releases the
// claim, so that a redelivery tries again. The claim lasts attempt+grace, so that it
// outlives the attempt and the storing of its result; a claim left by a crash holds the
// effect up for no longer than that.
func Once(ctx context.Context, ledger Ledger, key string, rec Record, opts OnceOptions, perform func(ctx context.Context) (map[string]any, error)) (map[string]any, error) {
	if key == "" {
		return nil, errors.New("effect without idempotency key")
	}
	opts = opts.withDefaults()
	holder := uuid.NewString()
	for {
		claim, err := ledger.Claim(ctx, key, holder, opts.Attempt+opts.Grace)
		switch {
		case err != nil:
			return nil, err
		case claim.Done:
			return claim.Result, nil
		case claim.Claimed:
			return performClaimed(ctx, ledger, key, holder, rec, opts, perform)
		}
		t := time.NewTimer(opts.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for the delivery performing it: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// OnceOptions bound an attempt of Once.
type OnceOptions struct {
	Attempt time.Duration // one call to perform (default 10s)
	Grace   time.Duration // the claim's life beyond the attempt (default 5s)
	Poll    time.Duration // how often a waiting delivery looks again (default 100ms)
}

func (o OnceOptions) withDefaults() OnceOptions {
	if o.Attempt <= 0 {
		o.Attempt = 10 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 5 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
	return o
}

// performClaimed runs perform in an attempt of its own, then completes or releases the
// claim with a context of their own: the attempt's may just have ended (or ctx been
// cancelled), and a result not stored would be performed again.
func performClaimed(ctx context.Context, ledger Ledger, key, holder string, rec Record, opts OnceOptions, perform func(context.Context) (map[string]any, error)) (map[string]any, error) {
	attempt, cancelAttempt := context.WithTimeout(ctx, opts.Attempt)
	res, err := perform(attempt)
	cancelAttempt()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.Grace)
	defer cancel()
	if err != nil {
		if rerr := ledger.Release(ctx, key, holder); rerr != nil {
			err = fmt.Errorf("%w (and its claim was not released, it expires: %w)", err, rerr)
		}
		return nil, err
	}
	rec.Result = res
	return ledger.Complete(ctx, key, rec)
}

var _ Ledger = (*MemoryLedger)(nil)

// MemoryLedger is a Ledger in memory, for tests and single-process demos. Its clock is Now
// (default time.Now), so that a test can expire a claim without waiting.
type MemoryLedger struct {
	Now func() time.Time

	mu      sync.Mutex
	results map[string]map[string]any
	records []Record
	claims  map[string]memoryClaim
}

type memoryClaim struct {
	holder  string
	expires time.Time
}

// NewMemoryLedger returns an empty MemoryLedger.
func NewMemoryLedger() *MemoryLedger { return &MemoryLedger{} }

func (m *MemoryLedger) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *MemoryLedger) Claim(_ context.Context, key, holder string, ttl time.Duration) (Claim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if res, ok := m.results[key]; ok {
		return Claim{Done: true, Result: res}, nil
	}
	now := m.now()
	if c, ok := m.claims[key]; ok && c.holder != holder && now.Before(c.expires) {
		return Claim{}, nil
	}
	if m.claims == nil {
		m.claims = map[string]memoryClaim{}
	}
	m.claims[key] = memoryClaim{holder: holder, expires: now.Add(ttl)}
	return Claim{Claimed: true}, nil
}

func (m *MemoryLedger) Release(_ context.Context, key, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.claims[key]; ok && c.holder == holder {
		delete(m.claims, key)
	}
	return nil
}

func (m *MemoryLedger) Complete(_ context.Context, key string, rec Record) (map[string]any, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.claims, key)
	if old, ok := m.results[key]; ok {
		return old, nil
	}
	if rec.Result == nil {
		rec.Result = map[string]any{}
	}
	if m.results == nil {
		m.results = map[string]map[string]any{}
	}
	m.results[key] = rec.Result
	m.records = append(m.records, rec)
	return rec.Result, nil
}

func (m *MemoryLedger) Result(_ context.Context, key string) (map[string]any, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	res, ok := m.results[key]
	return res, ok, nil
}

// Records lists the completed effects in the order they were completed, each once.
func (m *MemoryLedger) Records() []Record {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Record(nil), m.records...)
}
