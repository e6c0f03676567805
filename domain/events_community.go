package domain

// Event types of the community stream ("community-<id>").
const (
	EventCommunityCreated     = "community.created"
	EventCommunityRenamed     = "community.renamed"
	EventPlatformConnected    = "community.platform_connected"
	EventPlatformDisconnected = "community.platform_disconnected"
	EventUserRegistered       = "community.user_registered"
	EventUserProfileUpdated   = "community.user_profile_updated"
	EventIdentityLinked       = "community.identity_linked"
	EventIdentityUnlinked     = "community.identity_unlinked"
	EventRoleAdded            = "community.role_added"
	EventRoleChanged          = "community.role_changed"
	EventRoleDeleted          = "community.role_deleted"
	EventUserRoleAdded        = "community.user_role_added"
	EventUserRoleRemoved      = "community.user_role_removed"
	EventDocumentAdded        = "community.document_added"
	EventDocumentChanged      = "community.document_changed"
	EventDocumentDeleted      = "community.document_deleted"
	EventDocumentRecovered    = "community.document_recovered"
	EventPolicyAdded          = "community.policy_added"
	EventPolicyChanged        = "community.policy_changed"
	EventPolicyRemoved        = "community.policy_removed"
	EventPolicyRecovered      = "community.policy_recovered"
)

// CommunityCreated starts a community stream. It is followed, in the same decision, by
// PlatformConnected for the constitution platform and for the initial platform.
type CommunityCreated struct {
	CommunityHeader
	Name string `json:"name"`
}

// CommunityRenamed: the community's display name changed.
type CommunityRenamed struct {
	CommunityHeader
	Name string `json:"name"`
}

// PlatformConnected: a platform (team, guild, site) was connected, or reconnected with new
// details. ExternalID is the platform's id of the community (Slack team id, Discord guild
// id, Discourse site URL).
type PlatformConnected struct {
	CommunityHeader
	Platform   string `json:"platform"`
	ExternalID string `json:"external_id"`
	Name       string `json:"name"`
	// Settings are the connection's settings that are not secret (a Metagov server's URL, an
	// Open Collective collective's slug), as the community gave them.
	Settings map[string]string `json:"settings,omitempty"`
	// Secrets are the connection's secrets (API keys, webhook secrets), each sealed (see
	// SealedPrefix) before it was proposed: the log never holds one in the clear.
	Secrets map[string]string `json:"secrets,omitempty"`
}

// PlatformDisconnected: the platform stays known but inactive; its users remain.
type PlatformDisconnected struct {
	CommunityHeader
	Platform string `json:"platform"`
}

// UserRegistered: a user of a platform joined the community (first seen, or signed in).
type UserRegistered struct {
	CommunityHeader
	UserID       string `json:"user_id"`
	Platform     string `json:"platform"`
	Username     string `json:"username"`
	ReadableName string `json:"readable_name"`
	IsAdmin      bool   `json:"is_admin"`
	Avatar       string `json:"avatar"`
}

// UserProfileUpdated carries a registered user's whole new profile.
type UserProfileUpdated struct {
	CommunityHeader
	UserID       string `json:"user_id"`
	Username     string `json:"username"`
	ReadableName string `json:"readable_name"`
	IsAdmin      bool   `json:"is_admin"`
	Avatar       string `json:"avatar"`
}

// IdentityLinked: two users (usually on different platforms) are the same person. The link
// is symmetric.
type IdentityLinked struct {
	CommunityHeader
	UserID      string `json:"user_id"`
	OtherUserID string `json:"other_user_id"`
}

// IdentityUnlinked removes a link made by IdentityLinked.
type IdentityUnlinked struct {
	CommunityHeader
	UserID      string `json:"user_id"`
	OtherUserID string `json:"other_user_id"`
}

// RoleAdded defines a role. Permissions are sorted and without duplicates.
type RoleAdded struct {
	CommunityHeader
	Name        string       `json:"name"`
	Description string       `json:"description"`
	IsBase      bool         `json:"is_base"`
	Permissions []Permission `json:"permissions"`
}

// RoleChanged carries a role's whole new definition. NewName differs from Name when the role
// was renamed; users holding it keep it under the new name.
type RoleChanged struct {
	CommunityHeader
	Name        string       `json:"name"`
	NewName     string       `json:"new_name"`
	Description string       `json:"description"`
	Permissions []Permission `json:"permissions"`
}

// RoleDeleted removes a (non-base) role and takes it from every user holding it.
type RoleDeleted struct {
	CommunityHeader
	Name string `json:"name"`
}

// UserRoleAdded gives a role to one user.
type UserRoleAdded struct {
	CommunityHeader
	UserID string `json:"user_id"`
	Role   string `json:"role"`
}

// UserRoleRemoved takes a role from one user.
type UserRoleRemoved struct {
	CommunityHeader
	UserID string `json:"user_id"`
	Role   string `json:"role"`
}

// DocumentAdded creates an active community document.
type DocumentAdded struct {
	CommunityHeader
	DocumentID string `json:"document_id"`
	Name       string `json:"name"`
	Text       string `json:"text"`
}

// DocumentChanged carries a document's whole new name and text.
type DocumentChanged struct {
	CommunityHeader
	DocumentID string `json:"document_id"`
	Name       string `json:"name"`
	Text       string `json:"text"`
}

// DocumentDeleted deactivates a document (it can be recovered).
type DocumentDeleted struct {
	CommunityHeader
	DocumentID string `json:"document_id"`
}

// DocumentRecovered reactivates a deleted document.
type DocumentRecovered struct {
	CommunityHeader
	DocumentID string `json:"document_id"`
}

// PolicyAdded creates an active policy at version 1 with its whole content and its hash.
type PolicyAdded struct {
	CommunityHeader
	PolicyID string `json:"policy_id"`
	PolicySpec
	Hash    string `json:"hash"`
	Version int    `json:"version"`
}

// PolicyChanged carries a policy's whole new content, its hash and its new version. The
// kind never changes.
type PolicyChanged struct {
	CommunityHeader
	PolicyID string `json:"policy_id"`
	PolicySpec
	Hash    string `json:"hash"`
	Version int    `json:"version"`
}

// PolicyRemoved deactivates a policy (it can be recovered).
type PolicyRemoved struct {
	CommunityHeader
	PolicyID string `json:"policy_id"`
}

// PolicyRecovered reactivates a removed policy.
type PolicyRecovered struct {
	CommunityHeader
	PolicyID string `json:"policy_id"`
}

func (CommunityCreated) EventType() string     { return EventCommunityCreated }
func (CommunityRenamed) EventType() string     { return EventCommunityRenamed }
func (PlatformConnected) EventType() string    { return EventPlatformConnected }
func (PlatformDisconnected) EventType() string { return EventPlatformDisconnected }
func (UserRegistered) EventType() string       { return EventUserRegistered }
func (UserProfileUpdated) EventType() string   { return EventUserProfileUpdated }
func (IdentityLinked) EventType() string       { return EventIdentityLinked }
func (IdentityUnlinked) EventType() string     { return EventIdentityUnlinked }
func (RoleAdded) EventType() string            { return EventRoleAdded }
func (RoleChanged) EventType() string          { return EventRoleChanged }
func (RoleDeleted) EventType() string          { return EventRoleDeleted }
func (UserRoleAdded) EventType() string        { return EventUserRoleAdded }
func (UserRoleRemoved) EventType() string      { return EventUserRoleRemoved }
func (DocumentAdded) EventType() string        { return EventDocumentAdded }
func (DocumentChanged) EventType() string      { return EventDocumentChanged }
func (DocumentDeleted) EventType() string      { return EventDocumentDeleted }
func (DocumentRecovered) EventType() string    { return EventDocumentRecovered }
func (PolicyAdded) EventType() string          { return EventPolicyAdded }
func (PolicyChanged) EventType() string        { return EventPolicyChanged }
func (PolicyRemoved) EventType() string        { return EventPolicyRemoved }
func (PolicyRecovered) EventType() string      { return EventPolicyRecovered }
