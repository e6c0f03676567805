package python

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// Builtins that f-strings are translated to (see translate.go):
//
//	f"a{x}b"        -> __fstr__("a", (x), "b")
//	f"{x!r:>10}"    -> __fstr__(__fmtv__((x), "r", ">10"))

var fstrBuiltin = starlark.NewBuiltin(fstrName, func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	n := 0
	for _, a := range args {
		if s, ok := a.(starlark.String); ok {
			n += len(s)
		} else {
			n += 16
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, a := range args {
		writeStr(&b, a)
	}
	return starlark.String(b.String()), nil
})

var fmtvBuiltin = starlark.NewBuiltin(fmtvName, func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 3 {
		return nil, Errorf("TypeError", "%s: want 3 arguments", fmtvName)
	}
	conv, _ := starlark.AsString(args[1])
	spec, ok := starlark.AsString(args[2])
	if !ok {
		return nil, Errorf("TypeError", "format spec must be a string, not %s", args[2].Type())
	}
	v := args[0]
	switch conv {
	case "r", "a":
		v = starlark.String(Repr(v))
	case "s":
		v = starlark.String(Str(v))
	}
	s, err := formatValue(v, spec)
	if err != nil {
		return nil, err
	}
	return starlark.String(s), nil
})

// Str is Python's str(v): a string as it is, a float by Python's rules,
// a dict, list, tuple or set as Python prints it ({'a': ['b', None]}), and
// other values (users, datetimes, ...) by their own String.
func Str(v starlark.Value) string {
	switch v := v.(type) {
	case starlark.String:
		return string(v)
	case starlark.Float:
		return pyFloat(float64(v))
	case *starlark.List, starlark.Tuple, *starlark.Set, starlark.IterableMapping:
		var b strings.Builder
		writeRepr(&b, v, 0)
		return b.String()
	}
	return v.String()
}

func writeStr(b *strings.Builder, v starlark.Value) {
	if s, ok := v.(starlark.String); ok {
		b.WriteString(string(s))
		return
	}
	b.WriteString(Str(v))
}

// pyFloat is Python's repr of a float: the shortest round-tripping digits,
// positional unless the exponent is below -4 or at least 16.
func pyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e // Go and Python both write "1e-05", "1.5e+300"
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsRune(s, '.') {
		s += ".0"
	}
	return s
}

// Repr is Python's repr(v): strings quoted as Python quotes them (single
// quotes unless the string has a single quote and no double quote),
// containers with their elements' repr, other values by Str.
func Repr(v starlark.Value) string {
	var b strings.Builder
	writeRepr(&b, v, 0)
	return b.String()
}

// maxReprDepth bounds nesting (a list may contain itself); deeper levels
// print as "...", as Python prints a recursive container.
const maxReprDepth = 64

func writeRepr(b *strings.Builder, v starlark.Value, depth int) {
	if depth > maxReprDepth {
		b.WriteString("...")
		return
	}
	each := func(open, close string, it starlark.Iterable) {
		b.WriteString(open)
		iter := it.Iterate()
		defer iter.Done()
		var x starlark.Value
		for i := 0; iter.Next(&x); i++ {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, x, depth+1)
		}
		b.WriteString(close)
	}
	switch v := v.(type) {
	case starlark.String:
		b.WriteString(quoteRepr(string(v)))
	case *starlark.List:
		each("[", "]", v)
	case starlark.Tuple:
		if v.Len() == 1 {
			b.WriteString("(")
			writeRepr(b, v[0], depth+1)
			b.WriteString(",)")
			return
		}
		each("(", ")", v)
	case *starlark.Set:
		if v.Len() == 0 {
			b.WriteString("set()")
			return
		}
		each("{", "}", v)
	case starlark.IterableMapping:
		b.WriteString("{")
		for i, kv := range v.Items() {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, kv[0], depth+1)
			b.WriteString(": ")
			writeRepr(b, kv[1], depth+1)
		}
		b.WriteString("}")
	default:
		b.WriteString(Str(v))
	}
}

func quoteRepr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// fspec is a parsed Python format specification.
type fspec struct {
	fill     rune
	align    byte // '<', '>', '^', '=' or 0
	sign     byte // '+', '-', ' ' or 0
	alt      bool
	width    int
	grouping byte // ',', '_' or 0
	prec     int  // -1 when absent
	typ      byte
}

func parseSpec(s string) (fspec, error) {
	f := fspec{fill: ' ', prec: -1}
	bad := func() (fspec, error) { return f, Errorf("ValueError", "Invalid format specifier %q", s) }
	isAlign := func(c byte) bool { return c == '<' || c == '>' || c == '^' || c == '=' }
	i := 0
	if r, size := utf8.DecodeRuneInString(s); size > 0 && size < len(s) && isAlign(s[size]) {
		f.fill, f.align = r, s[size]
		i = size + 1
	} else if len(s) > 0 && isAlign(s[0]) {
		f.align = s[0]
		i = 1
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-' || s[i] == ' ') {
		f.sign = s[i]
		i++
	}
	if i < len(s) && s[i] == 'z' {
		i++
	}
	if i < len(s) && s[i] == '#' {
		f.alt = true
		i++
	}
	if i < len(s) && s[i] == '0' {
		if f.align == 0 {
			f.fill, f.align = '0', '='
		}
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > start {
		w, err := strconv.Atoi(s[start:i])
		if err != nil || w > 10_000 {
			return bad()
		}
		f.width = w
	}
	if i < len(s) && (s[i] == ',' || s[i] == '_') {
		f.grouping = s[i]
		i++
	}
	if i < len(s) && s[i] == '.' {
		i++
		start = i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == start {
			return bad()
		}
		p, err := strconv.Atoi(s[start:i])
		if err != nil || p > 1000 {
			return bad()
		}
		f.prec = p
	}
	if i < len(s) {
		f.typ = s[i]
		i++
	}
	if i != len(s) {
		return bad()
	}
	return f, nil
}

// formatValue is Python's format(v, spec).
func formatValue(v starlark.Value, spec string) (string, error) {
	if spec == "" {
		return Str(v), nil
	}
	if f, ok := v.(Formatter); ok {
		return f.PyFormat(spec), nil
	}
	f, err := parseSpec(spec)
	if err != nil {
		return "", err
	}
	var body string
	numeric := false
	neg := false
	switch x := v.(type) {
	case starlark.Int, starlark.Bool:
		if b, isBool := x.(starlark.Bool); isBool {
			if f.typ == 0 || f.typ == 's' {
				body = b.String()
				break
			}
			x = starlark.MakeInt(map[bool]int{false: 0, true: 1}[bool(b)])
		}
		i := x.(starlark.Int)
		numeric = true
		switch f.typ {
		case 'e', 'E', 'f', 'F', 'g', 'G', '%':
			fl, _ := starlark.AsFloat(i)
			body, neg = formatFloat(fl, f)
		case 0, 'd', 'n', 'b', 'o', 'x', 'X', 'c':
			bi := i.BigInt()
			neg = bi.Sign() < 0
			bi.Abs(bi)
			switch f.typ {
			case 'b':
				body = bi.Text(2)
			case 'o':
				body = bi.Text(8)
			case 'x':
				body = bi.Text(16)
			case 'X':
				body = strings.ToUpper(bi.Text(16))
			case 'c':
				numeric = false
				body = string(rune(bi.Int64()))
			default:
				body = groupDigits(bi.Text(10), f.grouping)
			}
			if f.alt {
				body = map[byte]string{'b': "0b", 'o': "0o", 'x': "0x", 'X': "0X"}[f.typ] + body
			}
		default:
			return "", Errorf("ValueError", "Unknown format code '%c' for object of type 'int'", f.typ)
		}
	case starlark.Float:
		numeric = true
		switch f.typ {
		case 0, 'e', 'E', 'f', 'F', 'g', 'G', '%', 'n':
			body, neg = formatFloat(float64(x), f)
		default:
			return "", Errorf("ValueError", "Unknown format code '%c' for object of type 'float'", f.typ)
		}
	default:
		if f.typ != 0 && f.typ != 's' {
			return "", Errorf("ValueError", "Unknown format code '%c' for object of type '%s'", f.typ, v.Type())
		}
		body = Str(v)
		if f.prec >= 0 && utf8.RuneCountInString(body) > f.prec {
			body = string([]rune(body)[:f.prec])
		}
	}
	sign := ""
	if numeric {
		switch {
		case neg:
			sign = "-"
		case f.sign == '+':
			sign = "+"
		case f.sign == ' ':
			sign = " "
		}
	}
	align := f.align
	if align == 0 {
		align = '<'
		if numeric {
			align = '>'
		}
	}
	pad := f.width - utf8.RuneCountInString(sign) - utf8.RuneCountInString(body)
	if pad <= 0 {
		return sign + body, nil
	}
	fill := strings.Repeat(string(f.fill), pad)
	switch align {
	case '>':
		return fill + sign + body, nil
	case '^':
		left := strings.Repeat(string(f.fill), pad/2)
		right := strings.Repeat(string(f.fill), pad-pad/2)
		return left + sign + body + right, nil
	case '=':
		return sign + fill + body, nil
	}
	return sign + body + fill, nil
}

// formatFloat formats the magnitude of x; neg reports the sign.
func formatFloat(x float64, f fspec) (string, bool) {
	neg := math.Signbit(x) && !math.IsNaN(x)
	x = math.Abs(x)
	if math.IsInf(x, 0) {
		return map[bool]string{false: "inf", true: "INF"}[f.typ == 'E' || f.typ == 'F' || f.typ == 'G'], neg
	}
	if math.IsNaN(x) {
		return map[bool]string{false: "nan", true: "NAN"}[f.typ == 'E' || f.typ == 'F' || f.typ == 'G'], false
	}
	prec := f.prec
	var s string
	switch f.typ {
	case 'f', 'F':
		if prec < 0 {
			prec = 6
		}
		s = strconv.FormatFloat(x, 'f', prec, 64)
	case '%':
		if prec < 0 {
			prec = 6
		}
		s = strconv.FormatFloat(x*100, 'f', prec, 64)
	case 'e', 'E':
		if prec < 0 {
			prec = 6
		}
		s = strconv.FormatFloat(x, 'e', prec, 64)
	case 'g', 'G', 'n':
		if prec < 0 {
			prec = 6
		}
		if prec == 0 {
			prec = 1
		}
		s = strconv.FormatFloat(x, 'g', prec, 64)
	default: // no type
		if prec < 0 {
			s = starlark.Float(x).String()
		} else {
			if prec == 0 {
				prec = 1
			}
			s = strconv.FormatFloat(x, 'g', prec, 64)
			if !strings.ContainsAny(s, ".e") {
				s += ".0"
			}
		}
	}
	if f.typ == 'E' || f.typ == 'G' || f.typ == 'F' {
		s = strings.ToUpper(s)
	}
	if f.grouping != 0 {
		intPart, rest := s, ""
		if i := strings.IndexAny(s, ".eE"); i >= 0 {
			intPart, rest = s[:i], s[i:]
		}
		s = groupDigits(intPart, f.grouping) + rest
	}
	if f.typ == '%' {
		s += "%"
	}
	return s, neg
}

func groupDigits(digits string, sep byte) string {
	if sep == 0 || len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(sep)
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}
