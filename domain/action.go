package domain

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// MaxActionFieldsBytes bounds the JSON size of an action's fields.
const MaxActionFieldsBytes = 256 << 10

// Action is something proposed in a community: a platform action (a Slack message, a channel
// rename), a constitution action (add a role, change a policy) or a trigger (an Open
// Collective expense). Policies see it as `action`.
type Action struct {
	ID          string `json:"id"`
	CommunityID string `json:"community_id"`
	Kind        Kind   `json:"kind"`
	Type        string `json:"action_type"`
	Platform    string `json:"platform"`
	// InitiatorID is the community user who initiated it; "" when PolicyKit did.
	InitiatorID string `json:"initiator_id,omitempty"`
	// Fields are the action's attributes as policies read them (action.channel,
	// action.text, action.expense_id ...). For constitution actions they decode into the
	// payload structs (AddRole, ChangePolicy ...), see DecodeConstitutionPayload.
	Fields map[string]any `json:"fields,omitempty"`
	// Reversible: the action already happened on its platform and must be reverted if it
	// does not pass (a governable platform action observed after the fact).
	Reversible bool `json:"reversible"`
	// ExternalID is the platform's id of the event that reported the action; adapters use it
	// as idempotency key.
	ExternalID string    `json:"external_id,omitempty"`
	ProposedAt time.Time `json:"proposed_at"`
}

// Info returns the description of the action's type.
func (a Action) Info() (ActionTypeInfo, bool) { return LookupActionType(a.Type) }

// Field returns the string form of a field ("" when absent).
func (a Action) Field(key string) string {
	v, ok := a.Fields[key]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// Describe is the human description of the action, and what str(action) gives in policy
// code: the type's label and its subject, e.g. "Add role: Moderator", "Post message: hi".
func (a Action) Describe() string {
	info, ok := a.Info()
	if !ok {
		return a.Type
	}
	for _, k := range info.Subject {
		if s := strings.TrimSpace(a.Field(k)); s != "" {
			return info.Label + ": " + s
		}
	}
	return info.Label
}

// Normalized fills Kind and Platform from the action type (when empty), stores ProposedAt
// in UTC and Fields as they read back from JSON.
func (a Action) Normalized() (Action, error) {
	if info, ok := a.Info(); ok {
		if a.Kind == "" {
			a.Kind = info.Kind
		}
		if a.Platform == "" {
			a.Platform = info.Platform
		}
	}
	a.ProposedAt = a.ProposedAt.UTC()
	f, err := normalizeMap(a.Fields, "action fields")
	if err != nil {
		return a, err
	}
	a.Fields = f
	return a, nil
}

// Validate reports the first problem of an action as an Invalid error: missing ids, an
// unknown action type, a kind or platform that does not match the type, a reversible action
// of a type that cannot be reverted, or fields that are not JSON or too large.
func (a Action) Validate() error {
	if a.ID == "" {
		return Invalid("action id is empty")
	}
	if a.CommunityID == "" {
		return Invalid("action %s: community id is empty", a.ID)
	}
	info, ok := a.Info()
	if !ok {
		return Invalid("action %s: unknown action type %q", a.ID, a.Type)
	}
	if a.Kind != info.Kind {
		return Invalid("action %s: %s is a %s action, not %s", a.ID, a.Type, info.Kind, a.Kind)
	}
	switch {
	case info.Platform == AnyPlatform:
		if !IsKnownPlatform(a.Platform) || a.Platform == PlatformConstitution {
			return Invalid("action %s: %s needs the platform it arrived from, not %q", a.ID, a.Type, a.Platform)
		}
	case a.Platform != info.Platform:
		return Invalid("action %s: %s is an action of %s, not %s", a.ID, a.Type, info.Platform, a.Platform)
	}
	if a.Reversible && !(info.Governable && info.Kind == KindPlatform) {
		return Invalid("action %s: %s actions cannot be reverted", a.ID, a.Type)
	}
	b, err := json.Marshal(a.Fields)
	if err != nil {
		return Invalid("action %s: fields: %v", a.ID, err)
	}
	if len(b) > MaxActionFieldsBytes {
		return Invalid("action %s: fields are larger than %d bytes", a.ID, MaxActionFieldsBytes)
	}
	return nil
}

// RedactedSecret stands for a connection's secret wherever an action is shown.
const RedactedSecret = "********"

// PublicFields are the action's fields as they may be shown (read models, the API): the
// secrets of a connection (policykitaddintegration) appear by name only, even sealed.
func (a Action) PublicFields() map[string]any {
	secrets, ok := a.Fields["secrets"].(map[string]any)
	if a.Type != ActionAddIntegration || !ok {
		return a.Fields
	}
	out := make(map[string]any, len(a.Fields))
	for k, v := range a.Fields {
		out[k] = v
	}
	names := make(map[string]any, len(secrets))
	for k := range secrets {
		names[k] = RedactedSecret
	}
	out["secrets"] = names
	return out
}
