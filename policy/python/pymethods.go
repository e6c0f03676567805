package python

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"go.starlark.net/starlark"
)

// Python builtins and string methods that Starlark lacks; the expression
// pass (pyexpr.go) routes s.format(...), s.isnumeric() and s.zfill(n) here.

var methodBuiltin = starlark.NewBuiltin(methodName, func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	if len(args) < 2 {
		return nil, Errorf("TypeError", "%s: want a receiver and a method name", methodName)
	}
	recv, name := args[0], string(args[1].(starlark.String))
	rest := args[2:]
	s, isString := recv.(starlark.String)
	if !isString {
		// Not a string: the receiver's own method of that name, if any.
		m, err := attrOf(recv, name)
		if err != nil {
			return nil, err
		}
		return starlark.Call(th, m, rest, kw)
	}
	switch name {
	case "format":
		out, err := pyFormat(string(s), rest, kw)
		if err != nil {
			return nil, err
		}
		return starlark.String(out), nil
	case "isnumeric":
		if len(rest) > 0 || len(kw) > 0 {
			return nil, Errorf("TypeError", "str.isnumeric() takes no arguments")
		}
		if s == "" {
			return starlark.False, nil
		}
		for _, r := range string(s) {
			if !unicode.IsNumber(r) {
				return starlark.False, nil
			}
		}
		return starlark.True, nil
	case "zfill":
		var width int
		if err := starlark.UnpackPositionalArgs("str.zfill", rest, kw, 1, &width); err != nil {
			return nil, err
		}
		str := string(s)
		n := utf8.RuneCountInString(str)
		if width <= n {
			return s, nil
		}
		sign := ""
		if str != "" && (str[0] == '+' || str[0] == '-') {
			sign, str = str[:1], str[1:]
		}
		return starlark.String(sign + strings.Repeat("0", width-n) + str), nil
	}
	return nil, Errorf("AttributeError", "string has no method %q", name)
})

// pyFormat is Python's str.format: {} {0} {name} fields with .attr and
// [key] lookups, !r/!s/!a conversions and format specs (which may hold
// nested fields), {{ and }} for braces.
func pyFormat(f string, args starlark.Tuple, kw []starlark.Tuple) (string, error) {
	kwargs := make(map[string]starlark.Value, len(kw))
	for _, kv := range kw {
		kwargs[string(kv[0].(starlark.String))] = kv[1]
	}
	auto := 0
	manual := false
	lookup := func(field string) (starlark.Value, error) {
		name, rest := field, ""
		if i := strings.IndexAny(field, ".["); i >= 0 {
			name, rest = field[:i], field[i:]
		}
		var v starlark.Value
		switch n, err := strconv.Atoi(name); {
		case name == "":
			if manual {
				return nil, Errorf("ValueError", "cannot switch from manual field specification to automatic field numbering")
			}
			if auto >= len(args) {
				return nil, Errorf("IndexError", "Replacement index %d out of range for positional args tuple", auto)
			}
			v = args[auto]
			auto++
		case err == nil:
			manual = true
			if n >= len(args) {
				return nil, Errorf("IndexError", "Replacement index %d out of range for positional args tuple", n)
			}
			v = args[n]
		default:
			x, ok := kwargs[name]
			if !ok {
				return nil, Errorf("KeyError", "'%s'", name)
			}
			v = x
		}
		for rest != "" {
			if rest[0] == '.' {
				j := strings.IndexAny(rest[1:], ".[") + 1
				if j == 0 {
					j = len(rest)
				}
				x, err := attrOf(v, rest[1:j])
				if err != nil {
					return nil, err
				}
				v, rest = x, rest[j:]
				continue
			}
			j := strings.IndexByte(rest, ']')
			if j < 0 {
				return nil, Errorf("ValueError", "Missing ']' in format string")
			}
			key := rest[1:j]
			var k starlark.Value = starlark.String(key)
			if n, err := strconv.Atoi(key); err == nil {
				k = starlark.MakeInt(n)
			}
			var x starlark.Value
			if m, ok := v.(starlark.Mapping); ok {
				if got, found, _ := m.Get(k); found {
					x = got
				}
			}
			if idx, ok := v.(starlark.Indexable); ok && x == nil {
				if i, ok := k.(starlark.Int); ok {
					if n, ok := i.Int64(); ok && n >= 0 && int(n) < idx.Len() {
						x = idx.Index(int(n))
					}
				}
			}
			if x == nil {
				return nil, Errorf("KeyError", "%s", Repr(k))
			}
			v, rest = x, rest[j+1:]
		}
		return v, nil
	}
	var b strings.Builder
	for i := 0; i < len(f); {
		c := f[i]
		switch {
		case c == '{' && i+1 < len(f) && f[i+1] == '{':
			b.WriteByte('{')
			i += 2
		case c == '}' && i+1 < len(f) && f[i+1] == '}':
			b.WriteByte('}')
			i += 2
		case c == '}':
			return "", Errorf("ValueError", "Single '}' encountered in format string")
		case c == '{':
			depth, j := 1, i+1
			for ; j < len(f) && depth > 0; j++ {
				switch f[j] {
				case '{':
					depth++
				case '}':
					depth--
				}
			}
			if depth > 0 {
				return "", Errorf("ValueError", "expected '}' before end of string")
			}
			field := f[i+1 : j-1]
			i = j
			spec, conv := "", ""
			if k := strings.IndexByte(field, ':'); k >= 0 {
				field, spec = field[:k], field[k+1:]
			}
			if k := strings.IndexByte(field, '!'); k >= 0 {
				field, conv = field[:k], field[k+1:]
			}
			v, err := lookup(field)
			if err != nil {
				return "", err
			}
			if strings.Contains(spec, "{") {
				if spec, err = pyFormat(spec, args[min(auto, len(args)):], kw); err != nil {
					return "", err
				}
			}
			switch conv {
			case "":
			case "r", "a":
				v = starlark.String(Repr(v))
			case "s":
				v = starlark.String(Str(v))
			default:
				return "", Errorf("ValueError", "Unknown conversion specifier %s", conv)
			}
			s, err := formatValue(v, spec)
			if err != nil {
				return "", err
			}
			b.WriteString(s)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// isinstanceBuiltin is Python's isinstance(x, classinfo) for the builtin
// types (bool counts as an int, as in Python) and tuples of them.
func isinstanceBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	var x, classinfo starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kw, 2, &x, &classinfo); err != nil {
		return nil, err
	}
	types, ok := classinfo.(starlark.Tuple)
	if !ok {
		types = starlark.Tuple{classinfo}
	}
	for _, t := range types {
		fn, ok := t.(*starlark.Builtin)
		want, known := "", false
		if ok {
			want, known = typeNames[fn.Name()]
		}
		if !known {
			return nil, Errorf("TypeError", "isinstance() arg 2 must be a type or tuple of types (str, int, float, bool, list, dict, tuple, set), not %s", t.Type())
		}
		got := x.Type()
		if got == want || want == "int" && got == "bool" {
			return starlark.True, nil
		}
	}
	return starlark.False, nil
}

var typeNames = map[string]string{"str": "string", "int": "int", "float": "float", "bool": "bool", "list": "list",
	"dict": "dict", "tuple": "tuple", "set": "set"}

// powBuiltin is Python's pow(base, exp) and the ** operator: exact for
// integers (a negative integer exponent gives a float), float otherwise.
func powBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	var base, exp starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kw, 2, &base, &exp); err != nil {
		return nil, err
	}
	bi, bInt := asPyInt(base)
	ei, eInt := asPyInt(exp)
	if bInt && eInt && ei.Sign() >= 0 {
		if ei.BitLen() > 32 || bi.BitLen()*int(ei.Int64()) > 1<<20 {
			return nil, Errorf("OverflowError", "result of ** is too large")
		}
		return starlark.MakeBigInt(new(big.Int).Exp(bi, ei, nil)), nil
	}
	bf, ok1 := starlark.AsFloat(base)
	ef, ok2 := starlark.AsFloat(exp)
	if !ok1 || !ok2 {
		return nil, Errorf("TypeError", "unsupported operand type(s) for ** or pow(): '%s' and '%s'", base.Type(), exp.Type())
	}
	if bf == 0 && ef < 0 {
		return nil, Errorf("ZeroDivisionError", "0.0 cannot be raised to a negative power")
	}
	r := math.Pow(bf, ef)
	if r != r && bf < 0 { // a negative base to a fractional power is complex in Python
		return nil, Errorf("ValueError", "negative number cannot be raised to a fractional power")
	}
	return starlark.Float(r), nil
}

func asPyInt(v starlark.Value) (*big.Int, bool) {
	switch v := v.(type) {
	case starlark.Int:
		return v.BigInt(), true
	case starlark.Bool:
		if v {
			return big.NewInt(1), true
		}
		return big.NewInt(0), true
	}
	return nil, false
}

func attrOf(v starlark.Value, name string) (starlark.Value, error) {
	if h, ok := v.(starlark.HasAttrs); ok {
		x, err := h.Attr(name)
		if err != nil || x != nil {
			return x, err
		}
	}
	return nil, Errorf("AttributeError", "%s has no attribute %q", v.Type(), name)
}
