package domain

import (
	"sort"
	"time"
)

// CommunityPlatform is one platform a community lives on (a Slack team, a Discord guild, a
// Discourse site), or PolicyKit's own constitution platform.
type CommunityPlatform struct {
	Platform string `json:"platform"`
	// ExternalID is the platform's id of the community (team id, guild id, site URL).
	ExternalID     string    `json:"external_id"`
	Name           string    `json:"name"`
	ConnectedAt    time.Time `json:"connected_at"`
	DisconnectedAt time.Time `json:"disconnected_at"`
	Active         bool      `json:"active"`
	// Settings and Secrets are the connection's (see PlatformConnected); Secrets are sealed.
	Settings map[string]string `json:"settings,omitempty"`
	Secrets  map[string]string `json:"secrets,omitempty"`
}

// User is a member of a community on one platform. The same person on several platforms is
// several users, linked through LinkedIdentities.
type User struct {
	ID       string `json:"id"`
	Platform string `json:"platform"`
	// Username is the platform's id or name of the user (a Slack member id, a Discourse
	// username), as policies compare it.
	Username     string `json:"username"`
	ReadableName string `json:"readable_name"`
	IsAdmin      bool   `json:"is_admin"`
	Avatar       string `json:"avatar"`
	// Roles are the names of the roles given to the user, sorted; base roles are implicit and
	// not listed (see Community.UserRoles).
	Roles []string `json:"roles"`
	// LinkedIdentities are the ids of the same person's users on other platforms, sorted.
	LinkedIdentities []string  `json:"linked_identities"`
	JoinedAt         time.Time `json:"joined_at"`
}

// HasRole reports whether the role was given to the user explicitly.
func (u User) HasRole(name string) bool { return containsString(u.Roles, name) }

// Role is a named set of permissions. Every user implicitly holds the base role(s).
type Role struct {
	Name        string       `json:"name"`
	Description string       `json:"description"`
	IsBase      bool         `json:"is_base"`
	Permissions []Permission `json:"permissions"`
}

// Allows reports whether one of the role's permissions grants verb on the action type.
func (r Role) Allows(verb, actionType string, kind Kind) bool {
	for _, p := range r.Permissions {
		if p.Allows(verb, actionType, kind) {
			return true
		}
	}
	return false
}

// Doc is a community document (a code of conduct, a charter).
type Doc struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Text      string    `json:"text"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Community is the state of a community aggregate (stream "community-<id>"), built by Apply
// from its events. The zero value is a community that was never created. Its maps are owned
// by the aggregate: read them, don't change them.
type Community struct {
	ID        string
	Name      string
	CreatedAt time.Time

	Platforms map[string]CommunityPlatform // by platform name
	Users     map[string]User              // by user id
	Roles     map[string]Role              // by role name
	Docs      map[string]Doc               // by document id
	Policies  map[string]Policy            // by policy id
	// PolicyVersions holds every version any policy ever had, by content hash, so that a
	// proposal keeps deciding with the version it was opened with.
	PolicyVersions map[string]Policy

	// Version is the number of events applied: the stream version to expect when appending.
	Version int64
}

// Clone copies the state, so that applying events to the copy leaves c unchanged. Apply
// replaces map values and never changes a slice in place, so copying the maps is enough.
func (c *Community) Clone() *Community {
	d := *c
	d.Platforms = copyOf(c.Platforms)
	d.Users = copyOf(c.Users)
	d.Roles = copyOf(c.Roles)
	d.Docs = copyOf(c.Docs)
	d.Policies = copyOf(c.Policies)
	d.PolicyVersions = copyOf(c.PolicyVersions)
	return &d
}

// NewCommunityFromEvents folds a community stream into its state.
func NewCommunityFromEvents(events []Event) *Community {
	c := &Community{}
	for _, e := range events {
		c.Apply(e)
	}
	return c
}

// Created reports whether CommunityCreated has been applied.
func (c *Community) Created() bool { return c.ID != "" }

func (c *Community) init() {
	if c.Platforms == nil {
		c.Platforms = map[string]CommunityPlatform{}
		c.Users = map[string]User{}
		c.Roles = map[string]Role{}
		c.Docs = map[string]Doc{}
		c.Policies = map[string]Policy{}
		c.PolicyVersions = map[string]Policy{}
	}
}

// Apply changes the state by one event of the community stream. Events of other streams and
// unknown events only advance Version.
func (c *Community) Apply(e Event) {
	c.Version++
	c.init()
	switch e := e.(type) {
	case CommunityCreated:
		c.ID, c.Name, c.CreatedAt = e.CommunityID, e.Name, e.At
	case CommunityRenamed:
		c.Name = e.Name
	case PlatformConnected:
		p := c.Platforms[e.Platform]
		p.Platform, p.ExternalID, p.Name, p.Active = e.Platform, e.ExternalID, e.Name, true
		p.ConnectedAt, p.DisconnectedAt = e.At, time.Time{}
		p.Settings, p.Secrets = e.Settings, e.Secrets
		c.Platforms[e.Platform] = p
	case PlatformDisconnected:
		if p, ok := c.Platforms[e.Platform]; ok {
			p.Active, p.DisconnectedAt = false, e.At
			c.Platforms[e.Platform] = p
		}
	case UserRegistered:
		c.Users[e.UserID] = User{
			ID: e.UserID, Platform: e.Platform, Username: e.Username, ReadableName: e.ReadableName,
			IsAdmin: e.IsAdmin, Avatar: e.Avatar, JoinedAt: e.At,
		}
	case UserProfileUpdated:
		if u, ok := c.Users[e.UserID]; ok {
			u.Username, u.ReadableName, u.IsAdmin, u.Avatar = e.Username, e.ReadableName, e.IsAdmin, e.Avatar
			c.Users[e.UserID] = u
		}
	case IdentityLinked:
		c.updateUser(e.UserID, func(u *User) { u.LinkedIdentities = addString(u.LinkedIdentities, e.OtherUserID) })
		c.updateUser(e.OtherUserID, func(u *User) { u.LinkedIdentities = addString(u.LinkedIdentities, e.UserID) })
	case IdentityUnlinked:
		c.updateUser(e.UserID, func(u *User) { u.LinkedIdentities = removeString(u.LinkedIdentities, e.OtherUserID) })
		c.updateUser(e.OtherUserID, func(u *User) { u.LinkedIdentities = removeString(u.LinkedIdentities, e.UserID) })
	case RoleAdded:
		c.Roles[e.Name] = Role{Name: e.Name, Description: e.Description, IsBase: e.IsBase, Permissions: e.Permissions}
	case RoleChanged:
		r, ok := c.Roles[e.Name]
		if !ok {
			return
		}
		delete(c.Roles, e.Name)
		r.Name, r.Description, r.Permissions = e.NewName, e.Description, e.Permissions
		c.Roles[r.Name] = r
		if e.NewName != e.Name {
			for id, u := range c.Users {
				if u.HasRole(e.Name) {
					u.Roles = addString(removeString(u.Roles, e.Name), e.NewName)
					c.Users[id] = u
				}
			}
		}
	case RoleDeleted:
		delete(c.Roles, e.Name)
		for id, u := range c.Users {
			if u.HasRole(e.Name) {
				u.Roles = removeString(u.Roles, e.Name)
				c.Users[id] = u
			}
		}
	case UserRoleAdded:
		c.updateUser(e.UserID, func(u *User) { u.Roles = addString(u.Roles, e.Role) })
	case UserRoleRemoved:
		c.updateUser(e.UserID, func(u *User) { u.Roles = removeString(u.Roles, e.Role) })
	case DocumentAdded:
		c.Docs[e.DocumentID] = Doc{ID: e.DocumentID, Name: e.Name, Text: e.Text, Active: true, CreatedAt: e.At, UpdatedAt: e.At}
	case DocumentChanged:
		c.updateDoc(e.DocumentID, e.At, func(d *Doc) { d.Name, d.Text = e.Name, e.Text })
	case DocumentDeleted:
		c.updateDoc(e.DocumentID, e.At, func(d *Doc) { d.Active = false })
	case DocumentRecovered:
		c.updateDoc(e.DocumentID, e.At, func(d *Doc) { d.Active = true })
	case PolicyAdded:
		c.Policies[e.PolicyID] = Policy{
			ID: e.PolicyID, PolicySpec: e.PolicySpec, Active: true, Hash: e.Hash, Version: e.Version,
			CreatedAt: e.At, ModifiedAt: e.At,
		}
		c.PolicyVersions[e.Hash] = c.Policies[e.PolicyID]
	case PolicyChanged:
		c.updatePolicy(e.PolicyID, e.At, func(p *Policy) { p.PolicySpec, p.Hash, p.Version = e.PolicySpec, e.Hash, e.Version })
		if p, ok := c.Policies[e.PolicyID]; ok {
			c.PolicyVersions[e.Hash] = p
		}
	case PolicyRemoved:
		c.updatePolicy(e.PolicyID, e.At, func(p *Policy) { p.Active = false })
	case PolicyRecovered:
		c.updatePolicy(e.PolicyID, e.At, func(p *Policy) { p.Active = true })
	}
}

func (c *Community) updateUser(id string, f func(*User)) {
	if u, ok := c.Users[id]; ok {
		f(&u)
		c.Users[id] = u
	}
}

func (c *Community) updateDoc(id string, at time.Time, f func(*Doc)) {
	if d, ok := c.Docs[id]; ok {
		f(&d)
		d.UpdatedAt = at
		c.Docs[id] = d
	}
}

func (c *Community) updatePolicy(id string, at time.Time, f func(*Policy)) {
	if p, ok := c.Policies[id]; ok {
		f(&p)
		p.ModifiedAt = at
		c.Policies[id] = p
	}
}

// BaseRoles returns the base roles, sorted by name.
func (c *Community) BaseRoles() []Role {
	var out []Role
	for _, r := range c.Roles {
		if r.IsBase {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// UserRoles returns the names of every role the user holds, the base roles included, sorted;
// nil for an unknown user.
func (c *Community) UserRoles(userID string) []string {
	u, ok := c.Users[userID]
	if !ok {
		return nil
	}
	out := append([]string(nil), u.Roles...)
	for _, r := range c.BaseRoles() {
		out = addString(out, r.Name)
	}
	return out
}

// HasRole reports whether the user holds the role, explicitly or as a base role.
func (c *Community) HasRole(userID, role string) bool {
	return containsString(c.UserRoles(userID), role)
}

// Can reports whether the user may do verb (VerbPropose, VerbExecute, VerbView, VerbVote) on
// an action of the given type and kind through one of their roles (base roles included).
// Unknown users can do nothing. Roles are per user: a linked identity's roles do not count.
func (c *Community) Can(userID, verb, actionType string, kind Kind) bool {
	for _, name := range c.UserRoles(userID) {
		if r, ok := c.Roles[name]; ok && r.Allows(verb, actionType, kind) {
			return true
		}
	}
	return false
}

// UserByUsername finds the user of a platform by platform username.
func (c *Community) UserByUsername(platform, username string) (User, bool) {
	for _, u := range c.Users {
		if u.Platform == platform && u.Username == username {
			return u, true
		}
	}
	return User{}, false
}

// PlatformUsers returns the users of a platform ("" for every platform) holding at least one
// of the given roles (none given: every user), sorted by username then id. It backs
// platform.get_users(role_names=...) in policy code.
func (c *Community) PlatformUsers(platform string, roles ...string) []User {
	var out []User
	for _, u := range c.Users {
		if platform != "" && u.Platform != platform {
			continue
		}
		if len(roles) > 0 {
			held := c.UserRoles(u.ID)
			match := false
			for _, r := range roles {
				if containsString(held, r) {
					match = true
					break
				}
			}
			if !match {
				continue
			}
		}
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Username != out[j].Username {
			return out[i].Username < out[j].Username
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// UsersWithPermission returns the users of a platform ("" for all) for whom Can holds,
// sorted like PlatformUsers.
func (c *Community) UsersWithPermission(platform, verb, actionType string, kind Kind) []User {
	var out []User
	for _, u := range c.PlatformUsers(platform) {
		if c.Can(u.ID, verb, actionType, kind) {
			out = append(out, u)
		}
	}
	return out
}

// PoliciesOf returns the policies of a kind, active ones only when activeOnly, sorted by
// priority, then id.
func (c *Community) PoliciesOf(kind Kind, activeOnly bool) []Policy {
	var out []Policy
	for _, p := range c.Policies {
		if p.Kind == kind && (p.Active || !activeOnly) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Priority != out[j].Priority {
			return out[i].Priority < out[j].Priority
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// CandidatePolicies returns the active policies of a kind that apply to an action type
// (they list it, or list no type: base policies), in the order the evaluation loop tries
// them: Priority ascending, then policies listing the type before base policies, then the
// most recently modified first, then by id.
func (c *Community) CandidatePolicies(kind Kind, actionType string) []Policy {
	var out []Policy
	for _, p := range c.Policies {
		if p.Active && p.Kind == kind && p.Applies(actionType) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		if a.IsBase() != b.IsBase() {
			return !a.IsBase()
		}
		if !a.ModifiedAt.Equal(b.ModifiedAt) {
			return a.ModifiedAt.After(b.ModifiedAt)
		}
		return a.ID < b.ID
	})
	return out
}

// ActiveDocs returns the active documents sorted by name then id.
func (c *Community) ActiveDocs() []Doc {
	var out []Doc
	for _, d := range c.Docs {
		if d.Active {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func containsString(list []string, s string) bool {
	i := sort.SearchStrings(list, s)
	return i < len(list) && list[i] == s
}

// addString inserts s into a sorted list (copying it), unless present.
func addString(list []string, s string) []string {
	i := sort.SearchStrings(list, s)
	if i < len(list) && list[i] == s {
		return list
	}
	out := make([]string, 0, len(list)+1)
	out = append(out, list[:i]...)
	out = append(out, s)
	return append(out, list[i:]...)
}

// removeString removes s from a sorted list (copying it); nil when it becomes empty.
func removeString(list []string, s string) []string {
	i := sort.SearchStrings(list, s)
	if i >= len(list) || list[i] != s {
		return list
	}
	out := make([]string, 0, len(list)-1)
	out = append(out, list[:i]...)
	out = append(out, list[i+1:]...)
	if len(out) == 0 {
		return nil
	}
	return out
}
