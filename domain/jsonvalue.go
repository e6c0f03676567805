package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
)

// JSON values in events (action fields, effect args and results, proposal data, answers)
// keep their numbers as json.Number: a Discord or Slack id is an integer above 2^53, which a
// float64 would round. Every decoder of those values goes through decodeJSON.

// decodeJSON is json.Unmarshal with numbers kept exact (json.Number) and trailing data
// refused. A fault is reported with its line and column.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	err := dec.Decode(v)
	if err == nil {
		end := dec.InputOffset()
		if _, terr := dec.Token(); !errors.Is(terr, io.EOF) {
			rest := bytes.TrimLeft(b[end:], " \t\r\n")
			return fmt.Errorf("%s: invalid character after top-level value", position(b, int64(len(b)-len(rest))))
		}
		return nil
	}
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		// Offset counts the bytes read, the faulty one included.
		return fmt.Errorf("%s: %w", position(b, syntax.Offset-1), err)
	case errors.As(err, &typ):
		// Offset is just past the value: name its last byte.
		return fmt.Errorf("%s: %w", position(b, typ.Offset-1), err)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("%s: unexpected end of JSON: %w", position(b, int64(len(b))), err)
	}
	return err
}

// DecodeJSON decodes b into v as events do: numbers in interface values become exact
// json.Number values, not float64. For the edges (bus messages, adapters) that pass such
// values on.
func DecodeJSON(b []byte, v any) error { return decodeJSON(b, v) }

// normalizeMap returns m as it reads back from JSON (numbers become json.Number, structs
// become maps, nil for an empty map), so that a state built from in-memory events equals the
// state built from stored ones. A value JSON cannot encode is an Invalid error.
func normalizeMap(m map[string]any, what string) (map[string]any, error) {
	out, _, err := normalizeMapSized(m, what)
	return out, err
}

// normalizeMapSized is normalizeMap that also returns the size of m as JSON (0 for an empty
// map), for the callers that bound it.
func normalizeMapSized(m map[string]any, what string) (map[string]any, int, error) {
	if len(m) == 0 {
		return nil, 0, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, 0, Invalid("%s: %v", what, err)
	}
	var out map[string]any
	if err := decodeJSON(b, &out); err != nil {
		return nil, 0, Invalid("%s: %v", what, err)
	}
	return out, len(b), nil
}

// normalizeValue is normalizeMap for a single value.
func normalizeValue(v any, what string) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, Invalid("%s: %v", what, err)
	}
	var out any
	if err := decodeJSON(b, &out); err != nil {
		return nil, Invalid("%s: %v", what, err)
	}
	return out, nil
}

// jsonEqual compares two JSON-compatible values by their encoding (map keys are sorted).
func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// decodeStrict decodes a JSON-compatible map into v, refusing unknown keys. Errors are
// Invalid.
func decodeStrict(m map[string]any, v any, what string) error {
	b, err := json.Marshal(m)
	if err != nil {
		return Invalid("%s: %v", what, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return Invalid("%s: %v", what, err)
	}
	return nil
}

// toMap encodes v (a struct) as a JSON-compatible map.
func toMap(v any, what string) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, Invalid("%s: %v", what, err)
	}
	var out map[string]any
	if err := decodeJSON(b, &out); err != nil {
		return nil, Invalid("%s: %v", what, err)
	}
	return out, nil
}

func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// holdsInterface reports whether a value of type t can hold an interface value (directly, or
// in a field, element or map entry), which is where decodeJSON and json.Unmarshal differ.
func holdsInterface(t reflect.Type) bool {
	return holdsInterfaceSeen(t, map[reflect.Type]bool{})
}

func holdsInterfaceSeen(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false // a recursive type: its other paths are being looked at
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return holdsInterfaceSeen(t.Elem(), seen)
	case reflect.Map:
		return holdsInterfaceSeen(t.Key(), seen) || holdsInterfaceSeen(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsInterfaceSeen(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}
