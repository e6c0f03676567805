package domain

import (
	"sort"
	"strings"
)

// Permission verbs. A user may propose an action type, execute it without governance (the
// evaluation loop passes the action at once), view it, and vote on proposals.
const (
	VerbPropose = "propose"
	VerbExecute = "execute"
	VerbView    = "view"
	// VerbVote is the right to cast votes (PolicyKit's "Can add boolean vote" etc.). It is
	// granted with ActionType "*" by the starter kits; the decision loop checks it with the
	// proposal's action type before it accepts a CastVote.
	VerbVote = "vote"
)

// Wildcard action types of permissions.
const (
	AnyActionType          = "*"              // every action type of any kind
	AnyPlatformAction      = "platform:*"     // every platform action type
	AnyConstitutionAction  = "constitution:*" // every constitution action type
	AnyTriggerAction       = "trigger:*"      // every trigger action type
	permissionKindWildcard = ":*"
)

// Permission allows one verb on one action type (or a wildcard). Its text form, used in JSON,
// is "verb:actiontype", e.g. "propose:slackpostmessage", "view:*", "execute:constitution:*".
type Permission struct {
	Verb       string
	ActionType string
}

// String returns the text form "verb:actiontype".
func (p Permission) String() string { return p.Verb + ":" + p.ActionType }

// MarshalText encodes the text form, so a []Permission is a JSON list of strings.
func (p Permission) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText decodes and validates the text form.
func (p *Permission) UnmarshalText(b []byte) error {
	q, err := ParsePermission(string(b))
	if err != nil {
		return err
	}
	*p = q
	return nil
}

// ParsePermission reads "verb:actiontype" and validates it: the verb must be known and the
// action type a known action type or a wildcard. Errors are Invalid.
func ParsePermission(s string) (Permission, error) {
	verb, at, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Permission{}, Invalid("permission %q is not verb:actiontype", s)
	}
	p := Permission{Verb: verb, ActionType: at}
	return p, p.Validate()
}

// Validate reports an Invalid error when the verb or the action type is unknown.
func (p Permission) Validate() error {
	switch p.Verb {
	case VerbPropose, VerbExecute, VerbView, VerbVote:
	default:
		return Invalid("permission %q: unknown verb %q", p.String(), p.Verb)
	}
	switch p.ActionType {
	case AnyActionType, AnyPlatformAction, AnyConstitutionAction, AnyTriggerAction:
		return nil
	}
	if _, ok := LookupActionType(p.ActionType); !ok {
		return Invalid("permission %q: unknown action type %q", p.String(), p.ActionType)
	}
	return nil
}

// Allows reports whether p grants verb on an action of the given type and kind.
func (p Permission) Allows(verb, actionType string, kind Kind) bool {
	if p.Verb != verb {
		return false
	}
	switch p.ActionType {
	case AnyActionType, actionType:
		return true
	}
	if info, ok := LookupActionType(actionType); ok && info.Explicit {
		return false
	}
	return kind != "" && p.ActionType == string(kind)+permissionKindWildcard
}

// PermissionsFor returns the permissions that grant each verb on every action of each kind,
// e.g. PermissionsFor([]string{"view","propose"}, KindPlatform) = view:platform:*,
// propose:platform:*. Starter kits' "platform_permission_sets" map to it.
func PermissionsFor(verbs []string, kind Kind) []Permission {
	out := make([]Permission, 0, len(verbs))
	for _, v := range verbs {
		out = append(out, Permission{Verb: v, ActionType: string(kind) + permissionKindWildcard})
	}
	return out
}

// normalizePermissions returns a sorted copy without duplicates (nil for none).
func normalizePermissions(ps []Permission) []Permission {
	if len(ps) == 0 {
		return nil
	}
	out := append([]Permission(nil), ps...)
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	n := 0
	for i, p := range out {
		if i > 0 && p == out[n-1] {
			continue
		}
		out[n] = p
		n++
	}
	return out[:n]
}

func equalPermissions(a, b []Permission) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
