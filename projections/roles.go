package projections

import "github.com/policykit-go/policykit/domain"

// rolesProjector keeps the roles of each community, their permissions ("verb:actiontype")
// and the roles given to users. Renaming a role renames it everywhere; deleting it takes it
// from every user, as the Community aggregate does.
type rolesProjector struct{}

func (rolesProjector) Name() string { return "roles" }

func (rolesProjector) Tables() []string { return []string{"roles", "role_permissions", "user_roles"} }

func (rolesProjector) Project(q Queue, ev Envelope) error {
	switch e := ev.Event.(type) {
	case domain.RoleAdded:
		q.Queue(`WITH r AS (
				INSERT INTO roles (community_id, name, description, is_base, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)
				ON CONFLICT (community_id, name) DO UPDATE SET description = EXCLUDED.description, is_base = EXCLUDED.is_base,
					created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at)
			INSERT INTO role_permissions (community_id, role, permission) SELECT $1, $2, p FROM unnest($6::text[]) AS p
			ON CONFLICT DO NOTHING`,
			e.CommunityID, e.Name, e.Description, e.IsBase, e.At, permissionTexts(e.Permissions))
	case domain.RoleChanged:
		q.Queue(`UPDATE roles SET name = $3, description = $4, updated_at = $5 WHERE community_id = $1 AND name = $2`,
			e.CommunityID, e.Name, e.NewName, e.Description, e.At)
		q.Queue(`DELETE FROM role_permissions WHERE community_id = $1 AND role = $2`, e.CommunityID, e.Name)
		q.Queue(`INSERT INTO role_permissions (community_id, role, permission) SELECT $1, $2, p FROM unnest($3::text[]) AS p
			ON CONFLICT DO NOTHING`, e.CommunityID, e.NewName, permissionTexts(e.Permissions))
		if e.NewName != e.Name {
			q.Queue(`UPDATE user_roles SET role = $3 WHERE community_id = $1 AND role = $2`, e.CommunityID, e.Name, e.NewName)
		}
	case domain.RoleDeleted:
		q.Queue(`WITH p AS (DELETE FROM role_permissions WHERE community_id = $1 AND role = $2),
				u AS (DELETE FROM user_roles WHERE community_id = $1 AND role = $2)
			DELETE FROM roles WHERE community_id = $1 AND name = $2`, e.CommunityID, e.Name)
	case domain.UserRoleAdded:
		q.Queue(`INSERT INTO user_roles (community_id, user_id, role, assigned_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (community_id, user_id, role) DO UPDATE SET assigned_at = EXCLUDED.assigned_at`,
			e.CommunityID, e.UserID, e.Role, e.At)
	case domain.UserRoleRemoved:
		q.Queue(`DELETE FROM user_roles WHERE community_id = $1 AND user_id = $2 AND role = $3`, e.CommunityID, e.UserID, e.Role)
	}
	return nil
}

func permissionTexts(ps []domain.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}
