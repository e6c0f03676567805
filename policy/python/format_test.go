package python

import (
	"math"
	"testing"

	"go.starlark.net/starlark"
)

func TestFormatSpecs(t *testing.T) {
	for _, tc := range []struct {
		v    starlark.Value
		spec string
		want string
	}{
		{starlark.Float(math.Inf(1)), "f", "inf"},
		{starlark.Float(math.Inf(-1)), "F", "-INF"},
		{starlark.Float(math.NaN()), "G", "NAN"},
		{starlark.Float(1234567.891), ",.2f", "1,234,567.89"},
		{starlark.Float(0.00001234), "E", "1.234000E-05"},
		{starlark.Float(2), ".0", "2.0"},
		{starlark.Float(-2.5), "+.1f", "-2.5"},
		{starlark.Float(2.5), " .1f", " 2.5"},
		{starlark.Float(2.5), "=+8.2f", "+   2.50"},
		{starlark.MakeInt(65), "c", "A"},
		{starlark.MakeInt(3), ".1%", "300.0%"},
		{starlark.True, "d", "1"},
		{starlark.True, ">6", "  True"},
		{starlark.String("héllo"), "é^9", "ééhélloéé"},
		{starlark.None, ">6", "  None"},
	} {
		got, err := formatValue(tc.v, tc.spec)
		if err != nil || got != tc.want {
			t.Errorf("format(%s, %q) = %q, %v; want %q", tc.v, tc.spec, got, err, tc.want)
		}
	}
	for _, bad := range []struct {
		v    starlark.Value
		spec string
	}{{starlark.MakeInt(1), "q"}, {starlark.Float(1), "d"}, {starlark.String("s"), "d"}, {starlark.MakeInt(1), "5.x"}, {starlark.MakeInt(1), ".f"}} {
		if _, err := formatValue(bad.v, bad.spec); err == nil {
			t.Errorf("format(%s, %q): want an error", bad.v, bad.spec)
		}
	}
	for _, tc := range []struct {
		s    starlark.Value
		want string
	}{
		{starlark.String(`it's`), `"it's"`},
		{starlark.String("a\nb\t\x01\\"), `'a\nb\t\x01\\'`},
		{starlark.MakeInt(3), "3"},
	} {
		if got := Repr(tc.s); got != tc.want {
			t.Errorf("repr(%s) = %s, want %s", tc.s, got, tc.want)
		}
	}
}
