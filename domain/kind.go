package domain

import "strings"

// Kind is the kind of an action and of a policy: platform, constitution or trigger.
//
// Platform policies govern platform actions, constitution policies govern constitution
// actions, and trigger policies are evaluated for any action whose type they list (or every
// action, when they list none).
type Kind string

const (
	KindPlatform     Kind = "platform"
	KindConstitution Kind = "constitution"
	KindTrigger      Kind = "trigger"
)

// Kinds lists the three kinds in a stable order.
func Kinds() []Kind { return []Kind{KindPlatform, KindConstitution, KindTrigger} }

// Valid reports whether k is one of the three kinds.
func (k Kind) Valid() bool {
	return k == KindPlatform || k == KindConstitution || k == KindTrigger
}

// ParseKind reads a kind case-insensitively, so that PolicyKit's policy files
// ("policy_kind": "Platform") import unchanged. Anything else is an Invalid error.
func ParseKind(s string) (Kind, error) {
	k := Kind(strings.ToLower(strings.TrimSpace(s)))
	if !k.Valid() {
		return "", Invalid("kind %q is not platform, constitution or trigger", s)
	}
	return k, nil
}

// Platform names. Every community has the constitution platform (PolicyKit's own, where
// constitution actions are proposed) from its creation.
const (
	PlatformSlack          = "slack"
	PlatformDiscord        = "discord"
	PlatformDiscourse      = "discourse"
	PlatformReddit         = "reddit"
	PlatformGithub         = "github"
	PlatformOpenCollective = "opencollective"
	PlatformLoomio         = "loomio"
	PlatformSourceCred     = "sourcecred"
	PlatformMetagov        = "metagov"
	// PlatformConstitution is PolicyKit's built-in constitution platform.
	PlatformConstitution = "constitution"
	// PlatformWeb is PolicyKit's own web site (dashboard users, web-proposed actions).
	PlatformWeb = "web"
	// PlatformLog only records the effects asked of it; for demos and tests.
	PlatformLog = "log"
)

var knownPlatforms = []string{
	PlatformSlack, PlatformDiscord, PlatformDiscourse, PlatformReddit, PlatformGithub,
	PlatformOpenCollective, PlatformLoomio, PlatformSourceCred, PlatformMetagov,
	PlatformConstitution, PlatformWeb, PlatformLog,
}

// KnownPlatforms lists every platform name the domain knows, in a stable order.
func KnownPlatforms() []string { return append([]string(nil), knownPlatforms...) }

// IsKnownPlatform reports whether p is one of KnownPlatforms.
func IsKnownPlatform(p string) bool {
	for _, k := range knownPlatforms {
		if k == p {
			return true
		}
	}
	return false
}
