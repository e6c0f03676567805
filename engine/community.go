package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

// NewCommunity creates a community on its initial platform with a starter kit applied, and
// registers its first member (the kit's "creator") when creator.Username is set. It returns
// the community as created.
func NewCommunity(ctx context.Context, store eventstore.Store, cmd domain.CreateCommunity, kit domain.StarterKit, creator domain.RegisterUser, now time.Time) (*domain.Community, error) {
	if cmd.CommunityID == "" {
		cmd.CommunityID = uuid.NewString()
	}
	meta := Meta{CausationID: uuid.New()}
	return UpdateCommunity(ctx, store, cmd.CommunityID, meta, func(c *domain.Community) ([]domain.Event, error) {
		if c.Created() {
			return nil, domain.Conflict("community %s already exists", cmd.CommunityID)
		}
		var all []domain.Event
		step := func(evs []domain.Event, err error) error {
			if err != nil {
				return err
			}
			for _, e := range evs {
				c.Apply(e)
			}
			all = append(all, evs...)
			return nil
		}
		if err := step(c.DecideCreateCommunity(cmd, now)); err != nil {
			return nil, err
		}
		if creator.Username != "" {
			if creator.UserID == "" {
				creator.UserID = uuid.NewString()
			}
			if creator.Platform == "" {
				creator.Platform = cmd.Platform
			}
			if err := step(c.DecideRegisterUser(creator, now)); err != nil {
				return nil, err
			}
		}
		ids := make([]string, kit.PolicyCount())
		for i := range ids {
			ids[i] = uuid.NewString()
		}
		if err := step(c.DecideApplyStarterKit(domain.ApplyStarterKit{Kit: kit, Platform: cmd.Platform, CreatorID: creator.UserID, PolicyIDs: ids}, now)); err != nil {
			return nil, fmt.Errorf("starter kit %s: %w", kit.Name, err)
		}
		return all, nil
	})
}
