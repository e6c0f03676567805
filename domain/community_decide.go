package domain

import (
	"strings"
	"time"
)

// Decide functions of the Community aggregate. Each takes the current state, a command and
// now, and returns the events to append (none when the command changes nothing) or a typed
// *Error. They never change the state: the caller appends the events and applies them.

func (c *Community) header(now time.Time, actionID string) CommunityHeader {
	return CommunityHeader{CommunityID: c.ID, ActionID: actionID, At: now.UTC()}
}

func (c *Community) mustExist() error {
	if !c.Created() {
		return NotFound("community")
	}
	return nil
}

func validName(what, name string) error {
	if strings.TrimSpace(name) == "" {
		return Invalid("%s name is empty", what)
	}
	if len(name) > MaxNameBytes {
		return Invalid("%s name is longer than %d bytes", what, MaxNameBytes)
	}
	return nil
}

// CreateCommunity creates a community on its initial platform.
type CreateCommunity struct {
	CommunityID string
	Name        string
	// Platform is the initial platform (PlatformSlack ...; PlatformWeb for a community that
	// starts on PolicyKit's own site). ExternalID and PlatformName describe it there.
	Platform     string
	ExternalID   string
	PlatformName string
}

// DecideCreateCommunity emits CommunityCreated, PlatformConnected for the constitution
// platform, and PlatformConnected for the initial platform. Creating the same community
// again changes nothing; a different one on the same stream is a Conflict.
func (c *Community) DecideCreateCommunity(cmd CreateCommunity, now time.Time) ([]Event, error) {
	if cmd.CommunityID == "" {
		return nil, Invalid("community id is empty")
	}
	name := strings.TrimSpace(cmd.Name)
	if err := validName("community", name); err != nil {
		return nil, err
	}
	if !IsKnownPlatform(cmd.Platform) || cmd.Platform == PlatformConstitution {
		return nil, Invalid("initial platform %q is not a known platform", cmd.Platform)
	}
	if c.Created() {
		if c.ID == cmd.CommunityID && c.Name == name {
			return nil, nil
		}
		return nil, Conflict("community %s already exists", c.ID)
	}
	h := CommunityHeader{CommunityID: cmd.CommunityID, At: now.UTC()}
	return []Event{
		CommunityCreated{CommunityHeader: h, Name: name},
		PlatformConnected{CommunityHeader: h, Platform: PlatformConstitution, ExternalID: cmd.CommunityID, Name: name},
		PlatformConnected{CommunityHeader: h, Platform: cmd.Platform, ExternalID: cmd.ExternalID, Name: cmd.PlatformName},
	}, nil
}

// RenameCommunity changes the community's display name.
type RenameCommunity struct {
	Name string
}

// DecideRenameCommunity emits CommunityRenamed when the name changes.
func (c *Community) DecideRenameCommunity(cmd RenameCommunity, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(cmd.Name)
	if err := validName("community", name); err != nil {
		return nil, err
	}
	if name == c.Name {
		return nil, nil
	}
	return []Event{CommunityRenamed{CommunityHeader: c.header(now, ""), Name: name}}, nil
}

// ConnectPlatform connects (or reconnects, or updates) a platform.
type ConnectPlatform struct {
	Platform   string
	ExternalID string
	Name       string
}

// DecideConnectPlatform emits PlatformConnected unless the platform is already active with
// the same details. The constitution platform is always connected (Invalid).
func (c *Community) DecideConnectPlatform(cmd ConnectPlatform, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	if !IsKnownPlatform(cmd.Platform) {
		return nil, Invalid("unknown platform %q", cmd.Platform)
	}
	if cmd.Platform == PlatformConstitution {
		return nil, Invalid("the constitution platform is always connected")
	}
	if p, ok := c.Platforms[cmd.Platform]; ok && p.Active && p.ExternalID == cmd.ExternalID && p.Name == cmd.Name {
		return nil, nil
	}
	return []Event{PlatformConnected{CommunityHeader: c.header(now, ""), Platform: cmd.Platform, ExternalID: cmd.ExternalID, Name: cmd.Name}}, nil
}

// DisconnectPlatform deactivates a platform.
type DisconnectPlatform struct {
	Platform string
}

// DecideDisconnectPlatform emits PlatformDisconnected for an active platform. An unknown
// platform is NotFound; the constitution platform cannot be disconnected (Invalid).
func (c *Community) DecideDisconnectPlatform(cmd DisconnectPlatform, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	if cmd.Platform == PlatformConstitution {
		return nil, Invalid("the constitution platform cannot be disconnected")
	}
	p, ok := c.Platforms[cmd.Platform]
	if !ok {
		return nil, NotFound("platform %q", cmd.Platform)
	}
	if !p.Active {
		return nil, nil
	}
	return []Event{PlatformDisconnected{CommunityHeader: c.header(now, ""), Platform: cmd.Platform}}, nil
}

// RegisterUser adds a platform user to the community, or updates their profile.
type RegisterUser struct {
	UserID       string
	Platform     string
	Username     string
	ReadableName string
	IsAdmin      bool
	Avatar       string
}

// DecideRegisterUser emits UserRegistered for a new user and UserProfileUpdated when a known
// user's profile changed. The platform must be connected (or be PlatformWeb); a user id on
// another platform, or a username already taken on the platform, is a Conflict.
func (c *Community) DecideRegisterUser(cmd RegisterUser, now time.Time) ([]Event, error) {
	if err := c.mustExist(); err != nil {
		return nil, err
	}
	if cmd.UserID == "" || strings.TrimSpace(cmd.Username) == "" {
		return nil, Invalid("user id or username is empty")
	}
	if _, ok := c.Platforms[cmd.Platform]; !ok && cmd.Platform != PlatformWeb {
		return nil, NotFound("platform %q", cmd.Platform)
	}
	if other, ok := c.UserByUsername(cmd.Platform, cmd.Username); ok && other.ID != cmd.UserID {
		return nil, Conflict("username %q on %s belongs to user %s", cmd.Username, cmd.Platform, other.ID)
	}
	h := c.header(now, "")
	u, ok := c.Users[cmd.UserID]
	if !ok {
		return []Event{UserRegistered{
			CommunityHeader: h, UserID: cmd.UserID, Platform: cmd.Platform, Username: cmd.Username,
			ReadableName: cmd.ReadableName, IsAdmin: cmd.IsAdmin, Avatar: cmd.Avatar,
		}}, nil
	}
	if u.Platform != cmd.Platform {
		return nil, Conflict("user %s is a user of %s, not %s", u.ID, u.Platform, cmd.Platform)
	}
	if u.Username == cmd.Username && u.ReadableName == cmd.ReadableName && u.IsAdmin == cmd.IsAdmin && u.Avatar == cmd.Avatar {
		return nil, nil
	}
	return []Event{UserProfileUpdated{
		CommunityHeader: h, UserID: cmd.UserID, Username: cmd.Username,
		ReadableName: cmd.ReadableName, IsAdmin: cmd.IsAdmin, Avatar: cmd.Avatar,
	}}, nil
}

// LinkIdentity records that two users are the same person.
type LinkIdentity struct {
	UserID      string
	OtherUserID string
}

// DecideLinkIdentity emits IdentityLinked unless already linked. Unknown users are NotFound;
// linking a user to itself is Invalid.
func (c *Community) DecideLinkIdentity(cmd LinkIdentity, now time.Time) ([]Event, error) {
	u, err := c.identityPair(cmd.UserID, cmd.OtherUserID)
	if err != nil {
		return nil, err
	}
	if containsString(u.LinkedIdentities, cmd.OtherUserID) {
		return nil, nil
	}
	return []Event{IdentityLinked{CommunityHeader: c.header(now, ""), UserID: cmd.UserID, OtherUserID: cmd.OtherUserID}}, nil
}

// UnlinkIdentity removes a link between two users.
type UnlinkIdentity struct {
	UserID      string
	OtherUserID string
}

// DecideUnlinkIdentity emits IdentityUnlinked when the users are linked.
func (c *Community) DecideUnlinkIdentity(cmd UnlinkIdentity, now time.Time) ([]Event, error) {
	u, err := c.identityPair(cmd.UserID, cmd.OtherUserID)
	if err != nil {
		return nil, err
	}
	if !containsString(u.LinkedIdentities, cmd.OtherUserID) {
		return nil, nil
	}
	return []Event{IdentityUnlinked{CommunityHeader: c.header(now, ""), UserID: cmd.UserID, OtherUserID: cmd.OtherUserID}}, nil
}

func (c *Community) identityPair(a, b string) (User, error) {
	if err := c.mustExist(); err != nil {
		return User{}, err
	}
	if a == b {
		return User{}, Invalid("cannot link user %s to itself", a)
	}
	u, ok := c.Users[a]
	if !ok {
		return User{}, NotFound("user %q", a)
	}
	if _, ok := c.Users[b]; !ok {
		return User{}, NotFound("user %q", b)
	}
	return u, nil
}
