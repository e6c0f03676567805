package policy

import (
	"math"
	"strconv"
	"strings"

	starjson "go.starlark.net/lib/json"
	starmath "go.starlark.net/lib/math"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/policykit-go/policykit/policy/python"
)

// Check block return values, as in PolicyKit (Proposal.PASSED == "passed").
const (
	passedValue   = "passed"
	failedValue   = "failed"
	proposedValue = "proposed"
)

// staticPredeclared are the predeclared values, the same for every
// evaluation: builtins find the evaluation's state through the thread.
var staticPredeclared = newStaticPredeclared()

// contextParams are the per-evaluation objects, passed to the block
// function as arguments in this order (see blockHeader).
var contextParams = [...]string{"action", "proposal", "policy", "variables"}

func newStaticPredeclared() starlark.StringDict {
	d := starlark.StringDict{
		"PASSED":   starlark.String(passedValue),
		"FAILED":   starlark.String(failedValue),
		"PROPOSED": starlark.String(proposedValue),
		"datetime": datetimeModule,
		"math":     starmath.Module,
		"random":   randomModule,
		"json":     starjson.Module,
		"logger":   loggerModule,
		"sum":      starlark.NewBuiltin("sum", sumBuiltin),
		"str":      starlark.NewBuiltin("str", strBuiltin),
		"repr":     starlark.NewBuiltin("repr", reprBuiltin),
		"print":    starlark.NewBuiltin("print", printBuiltin),
		"round":    starlark.NewBuiltin("round", roundBuiltin),
	}
	for name, b := range python.Builtins() {
		d[name] = b
	}
	// What "import datetime" and friends bind.
	for module, hidden := range python.Importable {
		d[hidden] = d[module]
	}
	for name, p := range platformValues {
		d[name] = p
	}
	d.Freeze()
	return d
}

// isPredeclared tells the resolver which free names are predeclared. Every
// name that is not a Starlark builtin is: an undefined name then fails only
// when its line runs (with a NameError, see runtimeError), as in Python,
// instead of failing the whole block at compile time.
func isPredeclared(name string) bool {
	return staticPredeclared.Has(name) || !starlark.Universe.Has(name)
}

// contextArgs builds the block function's arguments; objects the block
// never mentions are passed as None.
func (st *evalState) contextArgs(uses [len(contextParams)]bool) (starlark.Tuple, error) {
	args := starlark.Tuple{starlark.None, starlark.None, starlark.None, starlark.None}
	if uses[0] {
		args[0] = st.actionValue()
	}
	if uses[1] {
		args[1] = st.proposalValue()
	}
	if uses[2] {
		args[2] = st.policyValue()
	}
	if uses[3] {
		v, err := st.variablesValue()
		if err != nil {
			return nil, err
		}
		args[3] = v
	}
	return args, nil
}

// ---- logger ----

var loggerModule = func() *starlarkstruct.Module {
	m := &starlarkstruct.Module{Name: "logger", Members: starlark.StringDict{}}
	for name, level := range map[string]string{"debug": "debug", "info": "info", "warning": "warning", "warn": "warning",
		"error": "error", "exception": "error", "critical": "critical"} {
		m.Members[name] = starlark.NewBuiltin("logger."+name, func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			if len(args) == 0 {
				return nil, python.Errorf("TypeError", "logger.%s() missing required argument 'msg'", name)
			}
			msg := python.Str(args[0])
			if len(args) > 1 {
				// logger.info("%s voted", name): %-interpolation, as logging does.
				out, err := starlark.Binary(syntax.PERCENT, starlark.String(msg), args[1:])
				if err != nil {
					return nil, err
				}
				msg = python.Str(out)
			}
			stateOf(th).log(level, msg)
			return starlark.None, nil
		})
	}
	m.Freeze()
	return m
}()

// ---- str, repr, print: Python's text of values ----

// strBuiltin is Python's str(): containers print as Python prints them
// ({'a': ['b', None]}), not as Starlark does ({"a": ["b", None]}).
func strBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value = starlark.String("")
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kw, 0, &x); err != nil {
		return nil, err
	}
	if s, ok := x.(starlark.String); ok {
		return s, nil
	}
	return starlark.String(python.Str(x)), nil
}

func reprBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kw, 1, &x); err != nil {
		return nil, err
	}
	return starlark.String(python.Repr(x)), nil
}

// printBuiltin is Python's print(*objects, sep=' ') to the evaluation's log.
func printBuiltin(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	sep := " "
	for _, kv := range kw {
		name, _ := starlark.AsString(kv[0])
		switch name {
		case "sep":
			if kv[1] != starlark.None {
				s, ok := starlark.AsString(kv[1])
				if !ok {
					return nil, python.Errorf("TypeError", "sep must be None or a string, not %s", kv[1].Type())
				}
				sep = s
			}
		case "end", "flush":
			// a log line has no end; nothing to flush
		default:
			return nil, python.Errorf("TypeError", "print() got an unexpected keyword argument %q", name)
		}
	}
	var msg strings.Builder
	for i, a := range args {
		if i > 0 {
			msg.WriteString(sep)
		}
		msg.WriteString(python.Str(a))
	}
	stateOf(th).log("info", msg.String())
	return starlark.None, nil
}

// ---- sum, round (Python builtins missing from Starlark) ----

func sumBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	var iterable starlark.Iterable
	var start starlark.Value = starlark.MakeInt(0)
	if err := starlark.UnpackArgs(b.Name(), args, kw, "iterable", &iterable, "start?", &start); err != nil {
		return nil, err
	}
	it := iterable.Iterate()
	defer it.Done()
	acc := start
	var x starlark.Value
	for it.Next(&x) {
		var err error
		if acc, err = starlark.Binary(syntax.PLUS, acc, x); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

func roundBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
	var x, nd starlark.Value = nil, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kw, "number", &x, "ndigits?", &nd); err != nil {
		return nil, err
	}
	if i, ok := x.(starlark.Int); ok && nd == starlark.None {
		return i, nil
	}
	f, ok := starlark.AsFloat(x)
	if !ok {
		return nil, python.Errorf("TypeError", "type %s doesn't define __round__ method", x.Type())
	}
	if nd == starlark.None {
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, python.Errorf("ValueError", "cannot convert float %v to integer", f)
		}
		return starlark.NumberToInt(starlark.Float(math.RoundToEven(f)))
	}
	n, err := starlark.AsInt32(nd)
	if err != nil {
		return nil, python.Errorf("TypeError", "ndigits must be an integer")
	}
	var r float64
	if n >= 0 && n <= 20 {
		// Python rounds the exact binary value, as strconv does.
		r, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'f', int(n), 64), 64)
	} else {
		p := math.Pow(10, float64(n))
		r = math.RoundToEven(f*p) / p
	}
	if _, isInt := x.(starlark.Int); isInt {
		return starlark.NumberToInt(starlark.Float(r))
	}
	return starlark.Float(r), nil
}

// ---- random: deterministic from Input.Seed ----

// rng is SplitMix64: tiny, fast, and specified here, so a replay on any Go
// version draws the same numbers.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a uniform integer in [0, n).
func (r *rng) intn(n uint64) uint64 {
	if n == 0 {
		return 0
	}
	limit := math.MaxUint64 - math.MaxUint64%n
	for {
		if x := r.next(); x < limit {
			return x % n
		}
	}
}

func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

func (st *evalState) random() *rng {
	if st.rng == nil {
		st.rng = &rng{s: uint64(st.in.Seed)}
	}
	return st.rng
}

func elements(v starlark.Value) ([]starlark.Value, error) {
	iter, ok := v.(starlark.Iterable)
	if !ok {
		return nil, python.Errorf("TypeError", "population must be a sequence, not %s", v.Type())
	}
	var out []starlark.Value
	it := iter.Iterate()
	defer it.Done()
	var x starlark.Value
	for it.Next(&x) {
		out = append(out, x)
		if len(out) > 1_000_000 {
			return nil, python.Errorf("ValueError", "population is too large")
		}
	}
	return out, nil
}

var randomModule = func() *starlarkstruct.Module {
	m := &starlarkstruct.Module{Name: "random", Members: starlark.StringDict{
		"random": starlark.NewBuiltin("random.random", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackArgs(b.Name(), args, kw); err != nil {
				return nil, err
			}
			return starlark.Float(stateOf(th).random().float()), nil
		}),
		"uniform": starlark.NewBuiltin("random.uniform", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var lo, hi float64
			if err := starlark.UnpackArgs(b.Name(), args, kw, "a", &lo, "b", &hi); err != nil {
				return nil, err
			}
			return starlark.Float(lo + (hi-lo)*stateOf(th).random().float()), nil
		}),
		"randint": starlark.NewBuiltin("random.randint", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var lo, hi int64
			if err := starlark.UnpackArgs(b.Name(), args, kw, "a", &lo, "b", &hi); err != nil {
				return nil, err
			}
			if hi < lo {
				return nil, python.Errorf("ValueError", "empty range for randint(%d, %d)", lo, hi)
			}
			return starlark.MakeInt64(lo + int64(stateOf(th).random().intn(uint64(hi-lo)+1))), nil
		}),
		"randrange": starlark.NewBuiltin("random.randrange", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var start, stop, step int64 = 0, math.MinInt64, 1
			if err := starlark.UnpackArgs(b.Name(), args, kw, "start", &start, "stop?", &stop, "step?", &step); err != nil {
				return nil, err
			}
			if stop == math.MinInt64 {
				start, stop = 0, start
			}
			if step == 0 {
				return nil, python.Errorf("ValueError", "zero step for randrange()")
			}
			n := (stop - start + step - 1) / step
			if step < 0 {
				n = (stop - start + step + 1) / step
			}
			if n <= 0 {
				return nil, python.Errorf("ValueError", "empty range for randrange(%d, %d, %d)", start, stop, step)
			}
			return starlark.MakeInt64(start + step*int64(stateOf(th).random().intn(uint64(n)))), nil
		}),
		"choice": starlark.NewBuiltin("random.choice", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var seq starlark.Value
			if err := starlark.UnpackArgs(b.Name(), args, kw, "seq", &seq); err != nil {
				return nil, err
			}
			xs, err := elements(seq)
			if err != nil {
				return nil, err
			}
			if len(xs) == 0 {
				return nil, python.Errorf("IndexError", "Cannot choose from an empty sequence")
			}
			return xs[stateOf(th).random().intn(uint64(len(xs)))], nil
		}),
		"sample": starlark.NewBuiltin("random.sample", func(th *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kw []starlark.Tuple) (starlark.Value, error) {
			var pop starlark.Value
			var k int
			if err := starlark.UnpackArgs(b.Name(), args, kw, "population", &pop, "k", &k); err != nil {
				return nil, err
			}
			xs, err := elements(pop)
			if err != nil {
				return nil, err
			}
			if k < 0 || k > len(xs) {
				return nil, python.Errorf("ValueError", "Sample larger than population or is negative")
			}
			r := stateOf(th).random()
			for i := 0; i < k; i++ { // partial Fisher-Yates
				j := i + int(r.intn(uint64(len(xs)-i)))
				xs[i], xs[j] = xs[j], xs[i]
			}
			return starlark.NewList(xs[:k:k]), nil
		}),
	}}
	m.Freeze()
	return m
}()
