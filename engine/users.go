package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/eventstore"
)

// PlatformUserID is the id a platform member gets when the engine registers them as a
// community user. It is derived from the community, the platform and the member's username,
// so that concurrent or repeated registrations of one member agree.
func PlatformUserID(communityID, platform, username string) string {
	return uuid.NewSHA1(uuid.NameSpaceOID, []byte(platform+"-user:"+communityID+":"+username)).String()
}

// EnsureUser returns the id of the community user who is username on platform, registering
// them (UserRegistered, with PlatformUserID) when the community has no such user. The
// platform must be connected to the community: a member of a workspace that is not the
// community's does not become one of its users.
func EnsureUser(ctx context.Context, store eventstore.Store, communityID, platform, username string, meta Meta, now time.Time) (string, error) {
	id := PlatformUserID(communityID, platform, username)
	_, err := UpdateCommunity(ctx, store, communityID, meta, func(c *domain.Community) ([]domain.Event, error) {
		if !c.Created() {
			return nil, domain.NotFound("community %q", communityID)
		}
		if u, ok := c.UserByUsername(platform, username); ok {
			id = u.ID
			return nil, nil
		}
		if p, ok := c.Platforms[platform]; !ok || !p.Active {
			return nil, domain.Invalid("platform %q is not connected to community %s", platform, communityID)
		}
		return c.DecideRegisterUser(domain.RegisterUser{UserID: id, Platform: platform, Username: username}, now)
	})
	if err != nil {
		return "", fmt.Errorf("register %s member %s: %w", platform, username, err)
	}
	return id, nil
}
