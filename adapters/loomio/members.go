package loomio

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/policykit-go/policykit/adapters/platform"
	"github.com/policykit-go/policykit/domain"
)

// SettingMembers names the connection setting that matches Loomio users to community
// members: a JSON object whose keys are Loomio user ids (or usernames) and whose values are
// community user ids, or "platform:username" for the member a platform knows
// ("slack:UABC123"). A member matched so votes in Loomio as the community user they are on
// every platform: a later stance replaces their Slack vote and their roles decide whether
// they may vote. Loomio users the map does not name vote as themselves (username: their
// Loomio user id, on platform "loomio"). Loomio's API gives no other member's email, so
// there is nothing else to match by.
const SettingMembers = "members"

// members is a connection's member map, read from its setting.
type members map[string]string

// parseMembers reads the members setting ("" is no map). A malformed map is an error rather
// than no map: votes by the members it meant to match would count as other users'.
func parseMembers(raw string) (members, error) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("the connection's %s setting is not a JSON object of Loomio user ids to community users: %w", SettingMembers, err)
	}
	for k, v := range m {
		if strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("the connection's %s setting maps %q to %q: both must be given", SettingMembers, k, v)
		}
	}
	return m, nil
}

// match names the community user behind Loomio user loomioID (of Loomio username, if
// known) for a vote: the user id the map gives, or the one the directory knows for a
// "platform:username" value. ok false: the map names the member but the directory does not
// know them yet (the vote waits for a later read, rather than count as someone else's).
// A Loomio user the map does not name keeps the vote as it is.
func (m members) match(ctx context.Context, dir platform.Directory, communityID string, v domain.Vote, loomioUsername string) (domain.Vote, bool, error) {
	target, ok := m[v.Username]
	if !ok && loomioUsername != "" {
		target, ok = m[loomioUsername]
	}
	if !ok {
		return v, true, nil
	}
	if plat, username, found := strings.Cut(target, ":"); found && domain.IsKnownPlatform(plat) {
		id, err := dir.UserID(ctx, communityID, plat, username)
		if err != nil {
			return v, false, err
		}
		if id == "" {
			return v, false, nil
		}
		target = id
	}
	v.UserID, v.Username = target, ""
	return v, true, nil
}
