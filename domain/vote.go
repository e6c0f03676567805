package domain

import (
	"strconv"
	"strings"
	"time"
)

// Vote kinds.
const (
	VoteBoolean = "boolean" // yes (true) or no (false)
	VoteChoice  = "choice"  // one of the vote's options ("consent", "objection" ...)
	VoteNumber  = "number"  // an integer
)

// Vote is one user's vote on a proposal. A user has at most one current vote per proposal;
// voting again replaces it.
type Vote struct {
	UserID string `json:"user_id"`
	// Username is the platform username, as policies compare it (e.g. a Slack member id).
	Username string    `json:"username,omitempty"`
	Kind     string    `json:"kind"`
	Boolean  bool      `json:"boolean,omitempty"`
	Choice   string    `json:"choice,omitempty"`
	Number   int       `json:"number,omitempty"`
	At       time.Time `json:"at"`
}

// Validate reports an Invalid error for a vote without user, of an unknown kind, a choice
// vote without a choice, or values set that the kind does not use.
func (v Vote) Validate() error {
	if v.UserID == "" {
		return Invalid("vote has no user")
	}
	switch v.Kind {
	case VoteBoolean:
		if v.Choice != "" || v.Number != 0 {
			return Invalid("boolean vote of %s carries a choice or number", v.UserID)
		}
	case VoteChoice:
		if v.Choice == "" {
			return Invalid("choice vote of %s has no choice", v.UserID)
		}
		if v.Boolean || v.Number != 0 {
			return Invalid("choice vote of %s carries a boolean or number", v.UserID)
		}
	case VoteNumber:
		if v.Boolean || v.Choice != "" {
			return Invalid("number vote of %s carries a boolean or choice", v.UserID)
		}
	default:
		return Invalid("vote kind %q is not boolean, choice or number", v.Kind)
	}
	return nil
}

// SameValue reports whether v and w are the same vote by the same user, ignoring time and
// username.
func (v Vote) SameValue(w Vote) bool {
	return v.UserID == w.UserID && v.Kind == w.Kind && v.Boolean == w.Boolean && v.Choice == w.Choice && v.Number == w.Number
}

// ParseVote reads a vote as people type it: yes or no (a boolean vote), an integer (a number
// vote), or else the name of a choice. Errors are Invalid.
func ParseVote(userID, value string) (Vote, error) {
	v := Vote{UserID: userID}
	value = strings.TrimSpace(value)
	switch {
	case value == "":
		return v, Invalid("vote value is empty")
	case strings.EqualFold(value, "yes"), strings.EqualFold(value, "no"):
		v.Kind, v.Boolean = VoteBoolean, strings.EqualFold(value, "yes")
	default:
		if n, err := strconv.Atoi(value); err == nil {
			v.Kind, v.Number = VoteNumber, n
		} else {
			v.Kind, v.Choice = VoteChoice, value
		}
	}
	return v, v.Validate()
}
