// Package domain is the governance model of PolicyKit-Go: the events, commands, aggregates
// and decisions of communities, actions and proposals, after the PolicyKit data model.
//
// It is pure Go with no I/O: deciding takes the current state, a command and `now` (the
// caller's clock) and returns events or a typed *Error; applying an event only changes state.
// The domain never reads the clock and never generates ids: callers pass both in.
//
// Three aggregates, one stream each:
//
//   - Community (stream "community-<id>"): platforms, users, roles, documents and policies.
//     Constitution actions change it through (*Community).ExecuteConstitutionAction.
//   - ActionRecord (stream "action-<id>"): one proposed action and what became of it.
//   - Proposal (stream "proposal-<id>"): one evaluation of one policy for one action: votes,
//     data, effects, answers and the outcome.
//
// Events are values of the structs in events_*.go, each with an explicit, stable type name
// (the Event* constants). Marshal and Unmarshal are the codec; Unmarshal never fails on an
// unknown type (it returns *UnknownEvent), so old binaries can read newer logs.
package domain
