package projections

import (
	"maps"
	"slices"

	"github.com/policykit-go/policykit/domain"
)

// communitiesProjector keeps communities, their platforms, their users and the links between
// users who are the same person.
//
//   - communities: one row per community (name, created_at, updated_at = last rename).
//   - community_platforms: one row per (community, platform), with the connection's
//     settings and the names of its secrets (never their sealed values); a disconnected
//     platform stays with active = false, its disconnected_at, settings and secret names.
//   - community_users: one row per user, with the latest profile.
//   - user_identities: both directions of every current link.
//
// Users and links are keyed by community as well as user id: user ids are unique within a
// community only.
type communitiesProjector struct{}

func (communitiesProjector) Name() string { return "communities" }

func (communitiesProjector) Tables() []string {
	return []string{"communities", "community_platforms", "community_users", "user_identities"}
}

func (communitiesProjector) Project(q Queue, ev Envelope) error {
	switch e := ev.Event.(type) {
	case domain.CommunityCreated:
		q.Queue(`INSERT INTO communities (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)
			ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at`,
			e.CommunityID, e.Name, e.At)
	case domain.CommunityRenamed:
		q.Queue(`UPDATE communities SET name = $2, updated_at = $3 WHERE id = $1`, e.CommunityID, e.Name, e.At)
	case domain.PlatformConnected:
		settings, err := jsonArg(e.Settings, "{}")
		if err != nil {
			return err
		}
		q.Queue(`INSERT INTO community_platforms (community_id, platform, external_id, name, active, connected_at, disconnected_at, settings, secret_names)
			VALUES ($1, $2, $3, $4, true, $5, NULL, $6, $7)
			ON CONFLICT (community_id, platform) DO UPDATE SET external_id = EXCLUDED.external_id, name = EXCLUDED.name,
				active = true, connected_at = EXCLUDED.connected_at, disconnected_at = NULL,
				settings = EXCLUDED.settings, secret_names = EXCLUDED.secret_names`,
			e.CommunityID, e.Platform, e.ExternalID, e.Name, e.At, settings, textArray(slices.Sorted(maps.Keys(e.Secrets))))
	case domain.PlatformDisconnected:
		q.Queue(`UPDATE community_platforms SET active = false, disconnected_at = $3 WHERE community_id = $1 AND platform = $2`,
			e.CommunityID, e.Platform, e.At)
	case domain.UserRegistered:
		q.Queue(`INSERT INTO community_users (id, community_id, platform, username, readable_name, is_admin, avatar, joined_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
			ON CONFLICT (community_id, id) DO UPDATE SET platform = EXCLUDED.platform,
				username = EXCLUDED.username, readable_name = EXCLUDED.readable_name, is_admin = EXCLUDED.is_admin,
				avatar = EXCLUDED.avatar, joined_at = EXCLUDED.joined_at, updated_at = EXCLUDED.updated_at`,
			e.UserID, e.CommunityID, e.Platform, e.Username, e.ReadableName, e.IsAdmin, e.Avatar, e.At)
	case domain.UserProfileUpdated:
		q.Queue(`UPDATE community_users SET username = $2, readable_name = $3, is_admin = $4, avatar = $5, updated_at = $6
			WHERE community_id = $7 AND id = $1`,
			e.UserID, e.Username, e.ReadableName, e.IsAdmin, e.Avatar, e.At, e.CommunityID)
	case domain.IdentityLinked:
		q.Queue(`INSERT INTO user_identities (community_id, user_id, linked_user_id, linked_at) VALUES ($1, $2, $3, $4), ($1, $3, $2, $4)
			ON CONFLICT (community_id, user_id, linked_user_id) DO UPDATE SET linked_at = EXCLUDED.linked_at`,
			e.CommunityID, e.UserID, e.OtherUserID, e.At)
	case domain.IdentityUnlinked:
		q.Queue(`DELETE FROM user_identities WHERE community_id = $3
				AND ((user_id = $1 AND linked_user_id = $2) OR (user_id = $2 AND linked_user_id = $1))`,
			e.UserID, e.OtherUserID, e.CommunityID)
	}
	return nil
}
