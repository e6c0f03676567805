// Package python is the Python compatibility layer of the policy runtime: PolicyKit authors
// write policy blocks in Python, and the runtime runs them on go.starlark.net. Translate turns
// a block into Starlark with Python's meaning (f-strings, imports, "is None", escapes, chained
// comparisons, **, string methods Starlark lacks), keeping every line where the author wrote
// it; Builtins are the functions the translation calls; Str, Repr and format(v, spec) print
// values as Python does. It knows nothing of policies or governance.
package python

import (
	"fmt"

	"go.starlark.net/starlark"
)

// Error is an error raised by Python code at run time, with the Python error class (TypeError,
// ValueError, ...) that a host reports.
type Error struct {
	Type string
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Errorf returns an *Error of the Python error class typ.
func Errorf(typ, format string, args ...any) error {
	return &Error{Type: typ, Msg: fmt.Sprintf(format, args...)}
}

// Formatter is a value with its own format(v, spec), as Python's __format__ (datetimes
// format by strftime codes).
type Formatter interface {
	PyFormat(spec string) string
}

// Builtins are the predeclared functions translated code calls (f-strings' __fstr__ and
// __fmtv__, the string methods Starlark lacks) and Python builtins Starlark lacks
// (isinstance, pow). A host predeclares them with the rest of its environment.
func Builtins() starlark.StringDict {
	return starlark.StringDict{
		fstrName:     fstrBuiltin,
		fmtvName:     fmtvBuiltin,
		"isinstance": starlark.NewBuiltin("isinstance", isinstanceBuiltin),
		"pow":        starlark.NewBuiltin("pow", powBuiltin),
		methodName:   methodBuiltin,
	}
}
