package domain

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Vote kinds.
const (
	VoteBoolean = "boolean" // yes (true) or no (false)
	VoteChoice  = "choice"  // one of the vote's options ("consent", "objection" ...)
	VoteNumber  = "number"  // an integer
)

// Bounds of a vote's value. A vote is replayed, projected and shown with every check of its
// proposal, so its size is the voter's to choose only within these.
const (
	// MaxChoiceLen is the longest choice, in bytes.
	MaxChoiceLen = 200
	// MaxVoteNumber bounds a number vote: -MaxVoteNumber <= n <= MaxVoteNumber.
	MaxVoteNumber = 1_000_000_000
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
		if len(v.Choice) > MaxChoiceLen {
			return Invalid("choice vote of %s is %d bytes long; a choice is at most %d", v.UserID, len(v.Choice), MaxChoiceLen)
		}
		if !utf8.ValidString(v.Choice) {
			return Invalid("choice vote of %s is not valid UTF-8", v.UserID)
		}
	case VoteNumber:
		if v.Boolean || v.Choice != "" {
			return Invalid("number vote of %s carries a boolean or choice", v.UserID)
		}
		if v.Number < -MaxVoteNumber || v.Number > MaxVoteNumber {
			return Invalid("number vote of %s is out of range: a number vote is between %d and %d", v.UserID, -MaxVoteNumber, MaxVoteNumber)
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

// Text is the vote's value as people type it: yes, no, the number or the choice.
func (v Vote) Text() string {
	switch v.Kind {
	case VoteBoolean:
		if v.Boolean {
			return "yes"
		}
		return "no"
	case VoteNumber:
		return strconv.Itoa(v.Number)
	}
	return v.Choice
}

// ParseVote reads a vote as people type it: yes or no (a boolean vote), an integer (a number
// vote), or else the name of a choice. Whether the proposal's vote offers it is for
// Proposal.DecideCastVote to say. Errors are Invalid: an integer out of the number votes'
// range among them, so that it never passes for a choice.
func ParseVote(userID, value string) (Vote, error) {
	v := Vote{UserID: userID}
	value = strings.TrimSpace(value)
	switch {
	case value == "":
		return v, Invalid("vote value is empty")
	case strings.EqualFold(value, "yes"), strings.EqualFold(value, "no"):
		v.Kind, v.Boolean = VoteBoolean, strings.EqualFold(value, "yes")
	case isInteger(value):
		n, err := strconv.Atoi(value)
		if err != nil || n < -MaxVoteNumber || n > MaxVoteNumber {
			return v, Invalid("number vote %.40s is out of range: a number vote is between %d and %d", value, -MaxVoteNumber, MaxVoteNumber)
		}
		v.Kind, v.Number = VoteNumber, n
	default:
		v.Kind, v.Choice = VoteChoice, value
	}
	return v, v.Validate()
}

// isInteger reports whether s is an optional sign and decimal digits, however many.
func isInteger(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// MethodInitiateVote is the platform method that starts a proposal's vote; its request, an
// EffectRequested, says what the vote offers (BallotOf).
const MethodInitiateVote = "initiate_vote"

// Ballot is what a started vote offers its voters.
type Ballot struct {
	// Kind is VoteBoolean (yes or no), VoteChoice (one of Options) or VoteNumber.
	Kind string `json:"kind"`
	// Options are a choice vote's choices; none means any choice.
	Options []string `json:"options,omitempty"`
}

// BallotOf returns the ballot of an initiate_vote on platform with args, as the platforms
// post it: a choice of args' options when it names any (a list, or one string), else yes or
// no; a Loomio poll without options takes any choice, since its poll type decides them.
func BallotOf(platform string, args map[string]any) Ballot {
	if opts := optionsOf(args["options"]); len(opts) > 0 {
		return Ballot{Kind: VoteChoice, Options: opts}
	}
	if platform == PlatformLoomio {
		return Ballot{Kind: VoteChoice}
	}
	return Ballot{Kind: VoteBoolean}
}

// optionsOf reads initiate_vote's options as the platforms post their buttons: strings and
// numbers, once each; anything else is no option.
func optionsOf(v any) []string {
	var out []string
	add := func(x any) {
		var s string
		switch x := x.(type) {
		case string:
			s = x
		case float64:
			s = strconv.FormatFloat(x, 'f', -1, 64)
		case int:
			s = strconv.Itoa(x)
		case int64:
			s = strconv.FormatInt(x, 10)
		}
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			add(x)
		}
	case []string:
		for _, x := range v {
			add(x)
		}
	default:
		add(v)
	}
	return out
}

// Admit returns v as the ballot takes it, and whether it does. A vote typed as text (yes, no,
// a number) for a choice the ballot offers becomes that choice: "yes" on a yes / no /
// abstain choice is the choice "yes", not a boolean vote.
func (b Ballot) Admit(v Vote) (Vote, bool) {
	switch b.Kind {
	case VoteBoolean:
		if v.Kind == VoteChoice && (strings.EqualFold(v.Choice, "yes") || strings.EqualFold(v.Choice, "no")) {
			return Vote{UserID: v.UserID, Username: v.Username, Kind: VoteBoolean, Boolean: strings.EqualFold(v.Choice, "yes"), At: v.At}, true
		}
		return v, v.Kind == VoteBoolean
	case VoteNumber:
		return v, v.Kind == VoteNumber
	case VoteChoice:
		text := v.Text()
		if v.Kind == VoteChoice && (len(b.Options) == 0 || slices.Contains(b.Options, text)) {
			return v, true
		}
		if v.Kind == VoteChoice {
			return v, false
		}
		choice := ""
		for _, o := range b.Options {
			if o == text || (v.Kind == VoteBoolean && strings.EqualFold(o, text)) {
				choice = o
				break
			}
		}
		if choice == "" && len(b.Options) == 0 {
			choice = text
		}
		if choice == "" {
			return v, false
		}
		return Vote{UserID: v.UserID, Username: v.Username, Kind: VoteChoice, Choice: choice, At: v.At}, true
	}
	return v, false
}

// String says what the ballot offers, for refusals: "yes or no", "one of consent, object",
// "a number", "any choice".
func (b Ballot) String() string {
	switch b.Kind {
	case VoteBoolean:
		return "yes or no"
	case VoteNumber:
		return fmt.Sprintf("a number from %d to %d", -MaxVoteNumber, MaxVoteNumber)
	case VoteChoice:
		if len(b.Options) == 0 {
			return "any choice"
		}
		return "one of " + strings.Join(b.Options, ", ")
	}
	return b.Kind
}

// equal reports whether b and c offer the same.
func (b Ballot) equal(c Ballot) bool { return b.Kind == c.Kind && slices.Equal(b.Options, c.Options) }
