package slack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/domain"
)

var (
	_ Directory = KitDirectory{}
	_ Proposals = KitDirectory{}
)

// KitDirectory is the adapter's Directory and Proposals over the platform kit's directory,
// which the App keeps from the events on the bus. Wait is how long a lookup of a workspace
// or community it does not know yet waits for the directory to learn it (it lags behind the
// log by the bus's delivery): an event from a workspace installed a moment ago is handled,
// not dropped.
type KitDirectory struct {
	D    platform.Directory
	Wait time.Duration
}

// CommunityOfTeam returns the community connected to the Slack team; ErrUnknownWorkspace
// (wrapped) when there is none.
func (k KitDirectory) CommunityOfTeam(ctx context.Context, teamID string) (string, error) {
	id, err := platform.WaitFor(ctx, k.Wait, func(ctx context.Context) (string, error) {
		return k.D.Community(ctx, domain.PlatformSlack, teamID)
	})
	return id, unknownWorkspace(err)
}

// TeamOfCommunity returns the Slack team the community is connected to; ErrUnknownWorkspace
// (wrapped) when it is not.
func (k KitDirectory) TeamOfCommunity(ctx context.Context, communityID string) (string, error) {
	id, err := platform.WaitFor(ctx, k.Wait, func(ctx context.Context) (string, error) {
		return k.D.ExternalID(ctx, communityID, domain.PlatformSlack)
	})
	return id, unknownWorkspace(err)
}

// UserID returns the community user whose Slack member id is memberID, "" when unknown.
func (k KitDirectory) UserID(ctx context.Context, communityID, memberID string) (string, error) {
	return k.D.UserID(ctx, communityID, domain.PlatformSlack, memberID)
}

// Status returns the proposal's status as the directory learned it, "" when unknown.
func (k KitDirectory) Status(ctx context.Context, communityID, proposalID string) (string, error) {
	return k.D.ProposalStatus(ctx, communityID, proposalID)
}

func unknownWorkspace(err error) error {
	if errors.Is(err, platform.ErrUnknown) {
		return fmt.Errorf("%w: %w", ErrUnknownWorkspace, err)
	}
	return err
}
