package domain

import "strings"

// Stream categories: the prefix of a stream name before the first "-".
const (
	CategoryCommunity = "community"
	CategoryProposal  = "proposal"
	CategoryAction    = "action"
)

// CommunityStream is the stream of the Community aggregate with the given id.
func CommunityStream(id string) string { return CategoryCommunity + "-" + id }

// ProposalStream is the stream of the Proposal aggregate with the given id.
func ProposalStream(id string) string { return CategoryProposal + "-" + id }

// ActionStream is the stream of the ActionRecord aggregate with the given id.
func ActionStream(id string) string { return CategoryAction + "-" + id }

// StreamCategory returns the category of a stream name ("community" for "community-<id>"),
// or the whole name when it has no "-".
func StreamCategory(stream string) string {
	c, _, _ := strings.Cut(stream, "-")
	return c
}

// StreamID returns the aggregate id of a stream name (the part after the first "-"), or ""
// when it has none.
func StreamID(stream string) string {
	_, id, _ := strings.Cut(stream, "-")
	return id
}
