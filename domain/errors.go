package domain

import (
	"errors"
	"fmt"
)

// Code classifies a domain error. The edges (GraphQL, HTTP, the bus) translate codes to
// responses in one table; nothing matches errors by their message text.
type Code string

const (
	// CodeNotFound: the command names something that does not exist (a role, a user, a policy,
	// an effect, a proposal that was never opened).
	CodeNotFound Code = "not_found"
	// CodeConflict: the command does not fit the current state (a duplicate name, a vote on a
	// decided proposal, a second, different answer for the same key).
	CodeConflict Code = "conflict"
	// CodeInvalid: the command itself is malformed (an empty name, an unknown action type, an
	// oversized policy, malformed JSON).
	CodeInvalid Code = "invalid"
	// CodeForbidden: the caller lacks a permission the command needs.
	CodeForbidden Code = "forbidden"
)

// Error is the one error type of the domain. Compare with errors.Is against the sentinels
// ErrNotFound, ErrConflict, ErrInvalid and ErrForbidden, or use errors.As and read Code.
type Error struct {
	Code Code
	Msg  string
}

// Sentinels for errors.Is. They match any *Error with the same Code.
var (
	ErrNotFound  = &Error{Code: CodeNotFound, Msg: "not found"}
	ErrConflict  = &Error{Code: CodeConflict, Msg: "conflict"}
	ErrInvalid   = &Error{Code: CodeInvalid, Msg: "invalid"}
	ErrForbidden = &Error{Code: CodeForbidden, Msg: "forbidden"}
)

func (e *Error) Error() string {
	if e.Msg == "" {
		return string(e.Code)
	}
	return string(e.Code) + ": " + e.Msg
}

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, domain.ErrConflict) holds for every conflict.
func (e *Error) Is(target error) bool {
	var t *Error
	if !errors.As(target, &t) {
		return false
	}
	return t.Code == e.Code
}

// ErrorCode returns the code of the first *Error in err's chain, or "" when there is none.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// NotFound builds a CodeNotFound error; the message says what was not found, e.g.
// NotFound("role %q", name).
func NotFound(format string, args ...any) error {
	return &Error{Code: CodeNotFound, Msg: fmt.Sprintf(format, args...) + " not found"}
}

// Conflict builds a CodeConflict error with a formatted message.
func Conflict(format string, args ...any) error {
	return &Error{Code: CodeConflict, Msg: fmt.Sprintf(format, args...)}
}

// Invalid builds a CodeInvalid error with a formatted message.
func Invalid(format string, args ...any) error {
	return &Error{Code: CodeInvalid, Msg: fmt.Sprintf(format, args...)}
}

// Forbidden builds a CodeForbidden error with a formatted message.
func Forbidden(format string, args ...any) error {
	return &Error{Code: CodeForbidden, Msg: fmt.Sprintf(format, args...)}
}
