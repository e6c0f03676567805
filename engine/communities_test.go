package engine

import (
	"context"
	"testing"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
	"github.com/policykit-go/policykit/eventstore/memory"
)

// readCounter is a store that records from which version each stream read starts.
type readCounter struct {
	eventstore.Store
	from []int64
}

func (r *readCounter) ReadStream(ctx context.Context, stream string, dir eventstore.Direction, from int64, max int) ([]eventstore.RecordedEvent, error) {
	r.from = append(r.from, from)
	return r.Store.ReadStream(ctx, stream, dir, from, max)
}

func TestCommunityCacheReadsOnlyNewEventsAndHandsOutCopies(t *testing.T) {
	ctx := context.Background()
	store := &readCounter{Store: memory.New()}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if _, err := UpdateCommunity(ctx, store, "garden", NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		return c.DecideCreateCommunity(domain.CreateCommunity{CommunityID: "garden", Name: "Garden", Platform: domain.PlatformSlack, ExternalID: "T1"}, now)
	}); err != nil {
		t.Fatal(err)
	}
	var cs communities
	first, err := cs.load(ctx, store, "garden")
	if err != nil {
		t.Fatal(err)
	}
	v := first.Version

	// The caller owns what it got: changing it changes nothing cached.
	evs, err := first.DecideRegisterUser(domain.RegisterUser{UserID: "ghost", Platform: domain.PlatformSlack, Username: "UGHOST"}, now)
	if err != nil {
		t.Fatal(err)
	}
	first.Apply(evs[0])

	// Another writer appends to the community stream: the next load reads just that.
	if _, err := UpdateCommunity(ctx, store, "garden", NewMeta(), func(c *domain.Community) ([]domain.Event, error) {
		return c.DecideRegisterUser(domain.RegisterUser{UserID: "bob", Platform: domain.PlatformSlack, Username: "UBOB"}, now)
	}); err != nil {
		t.Fatal(err)
	}
	store.from = nil
	second, err := cs.load(ctx, store, "garden")
	if err != nil {
		t.Fatal(err)
	}
	if len(store.from) != 1 || store.from[0] != v+1 {
		t.Errorf("reads started at %v, want one at version %d", store.from, v+1)
	}
	if _, ok := second.Users["bob"]; !ok || second.Version != v+1 {
		t.Errorf("second load: version %d, users %v; want bob at version %d", second.Version, second.Users, v+1)
	}
	if _, ok := second.Users["ghost"]; ok {
		t.Error("a caller's change to its copy reached the cache")
	}

	// Nothing new: one read, nothing applied, the same state.
	store.from = nil
	third, err := cs.load(ctx, store, "garden")
	if err != nil || third.Version != second.Version || len(store.from) != 1 {
		t.Errorf("third load: version %d, reads %v, %v", third.Version, store.from, err)
	}

	if _, err := cs.load(ctx, store, "nowhere"); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Errorf("unknown community: %v, want NOT_FOUND", err)
	}
}
