package slack

import (
	"context"
	"sync"
	"time"
)

// VotePost is a vote message the adapter posted: a click on one of its buttons is a vote
// on ProposalID by the clicking member, if Users is empty or lists the member.
type VotePost struct {
	TeamID      string
	Channel     string
	TS          string
	CommunityID string
	ProposalID  string
	// Kind is domain.VoteBoolean (thumbs up / down) or domain.VoteChoice (Options).
	Kind    string
	Options []string
	// Users are the Slack member ids allowed to vote; empty means everyone.
	Users []string
}

// State is what the adapter remembers between requests: the effects it performed (its
// ledger, by idempotency key) and those being performed (claims), the votes it posted,
// channel names, the renames it made itself and the events it handled. MemoryState and
// PostgresState implement it; both pass the same contract test. Implementations are safe
// for concurrent use.
type State interface {
	// Effect returns the result stored for an idempotency key, ok false when there is none.
	Effect(ctx context.Context, key string) (res map[string]any, ok bool, err error)
	// ClaimEffect is asked before an effect is performed, by each attempt with its own holder.
	// It answers Done with the stored result when the key has one. Otherwise it claims the key
	// for holder for ttl and answers Claimed, unless another holder's claim is still live:
	// then neither (that attempt is under way; ask again later). An expired claim, left by an
	// attempt that crashed, is taken over; holder asking again renews its own. Of many
	// attempts asking at once, at most one is answered Claimed.
	ClaimEffect(ctx context.Context, key, holder string, ttl time.Duration) (EffectClaim, error)
	// ReleaseEffect drops holder's claim on key, after its attempt failed, so that the next
	// attempt may claim it at once.
	ReleaseEffect(ctx context.Context, key, holder string) error
	// SaveEffect stores res for the key unless one is stored already, drops the key's claim,
	// and returns the stored result either way (the first result stands).
	SaveEffect(ctx context.Context, key string, rec EffectRecord) (map[string]any, error)

	SaveVote(ctx context.Context, v VotePost) error
	// Vote returns the vote posted as message ts in channel, ok false when there is none.
	Vote(ctx context.Context, teamID, channel, ts string) (VotePost, bool, error)

	SetChannelName(ctx context.Context, teamID, channel, name string) error
	// ChannelName returns the last known name of the channel ("" when unknown).
	ChannelName(ctx context.Context, teamID, channel string) (string, error)

	// ExpectRename notes that the adapter renames channel to name itself.
	ExpectRename(ctx context.Context, teamID, channel, name string) error
	// TakeRename reports whether channel's rename to name was the adapter's own, forgetting it.
	TakeRename(ctx context.Context, teamID, channel, name string) (bool, error)

	// Seen reports whether an event id was recorded (FirstSeen).
	Seen(ctx context.Context, teamID, eventID string) (bool, error)
	// FirstSeen records an event id and reports whether it is new.
	FirstSeen(ctx context.Context, teamID, eventID string) (bool, error)
}

// EffectRecord is what the ledger keeps of a performed effect.
type EffectRecord struct {
	EffectID    string
	CommunityID string
	Method      string
	Purpose     string
	Result      map[string]any
}

// EffectClaim is the answer of State.ClaimEffect.
type EffectClaim struct {
	// Done: the effect was performed; Result is what it answered.
	Done   bool
	Result map[string]any
	// Claimed: the caller holds the key and performs the effect.
	Claimed bool
}

var _ State = (*MemoryState)(nil)

// MemoryState is a State in memory, for tests and single-process demos.
type MemoryState struct {
	mu      sync.Mutex
	effects map[string]map[string]any
	claims  map[string]memoryClaim
	votes   map[[3]string]VotePost
	names   map[[2]string]string
	renames map[[3]string]bool
	seen    map[[2]string]bool
}

// NewMemoryState returns an empty MemoryState.
func NewMemoryState() *MemoryState {
	return &MemoryState{
		effects: map[string]map[string]any{},
		claims:  map[string]memoryClaim{},
		votes:   map[[3]string]VotePost{},
		names:   map[[2]string]string{},
		renames: map[[3]string]bool{},
		seen:    map[[2]string]bool{},
	}
}

func (m *MemoryState) Effect(_ context.Context, key string) (map[string]any, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	res, ok := m.effects[key]
	return res, ok, nil
}

type memoryClaim struct {
	holder  string
	expires time.Time
}

func (m *MemoryState) ClaimEffect(_ context.Context, key, holder string, ttl time.Duration) (EffectClaim, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if res, ok := m.effects[key]; ok {
		return EffectClaim{Done: true, Result: res}, nil
	}
	now := time.Now()
	if c, ok := m.claims[key]; ok && c.holder != holder && now.Before(c.expires) {
		return EffectClaim{}, nil
	}
	m.claims[key] = memoryClaim{holder: holder, expires: now.Add(ttl)}
	return EffectClaim{Claimed: true}, nil
}

func (m *MemoryState) ReleaseEffect(_ context.Context, key, holder string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.claims[key].holder == holder {
		delete(m.claims, key)
	}
	return nil
}

func (m *MemoryState) SaveEffect(_ context.Context, key string, rec EffectRecord) (map[string]any, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.claims, key)
	if old, ok := m.effects[key]; ok {
		return old, nil
	}
	if rec.Result == nil {
		rec.Result = map[string]any{}
	}
	m.effects[key] = rec.Result
	return rec.Result, nil
}

func (m *MemoryState) SaveVote(_ context.Context, v VotePost) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.votes[[3]string{v.TeamID, v.Channel, v.TS}] = v
	return nil
}

func (m *MemoryState) Vote(_ context.Context, teamID, channel, ts string) (VotePost, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.votes[[3]string{teamID, channel, ts}]
	return v, ok, nil
}

func (m *MemoryState) SetChannelName(_ context.Context, teamID, channel, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.names[[2]string{teamID, channel}] = name
	return nil
}

func (m *MemoryState) ChannelName(_ context.Context, teamID, channel string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.names[[2]string{teamID, channel}], nil
}

func (m *MemoryState) ExpectRename(_ context.Context, teamID, channel, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.renames[[3]string{teamID, channel, name}] = true
	return nil
}

func (m *MemoryState) TakeRename(_ context.Context, teamID, channel, name string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [3]string{teamID, channel, name}
	ok := m.renames[k]
	delete(m.renames, k)
	return ok, nil
}

func (m *MemoryState) Seen(_ context.Context, teamID, eventID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seen[[2]string{teamID, eventID}], nil
}

func (m *MemoryState) FirstSeen(_ context.Context, teamID, eventID string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{teamID, eventID}
	if m.seen[k] {
		return false, nil
	}
	m.seen[k] = true
	return true, nil
}
