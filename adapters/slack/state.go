package slack

import (
	"context"
	"sync"
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

// State is what the adapter remembers between requests besides its effect ledger and the
// events it handled (platform.Ledger and platform.Seen): the votes it posted, channel names
// and the renames it made itself. MemoryState and PostgresState implement it; both pass the
// same contract test. Implementations are safe for concurrent use.
type State interface {
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
}

var _ State = (*MemoryState)(nil)

// MemoryState is a State in memory, for tests and single-process demos.
type MemoryState struct {
	mu      sync.Mutex
	votes   map[[3]string]VotePost
	names   map[[2]string]string
	renames map[[3]string]bool
}

// NewMemoryState returns an empty MemoryState.
func NewMemoryState() *MemoryState {
	return &MemoryState{
		votes:   map[[3]string]VotePost{},
		names:   map[[2]string]string{},
		renames: map[[3]string]bool{},
	}
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
