package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/policy/python"
)

// Options bound the work one evaluation may do. Zero values take defaults.
type Options struct {
	// MaxSteps is the Starlark execution step budget per evaluation
	// (default 1e6).
	MaxSteps uint64
	// Timeout is the wall-clock budget per evaluation (default 1s).
	Timeout time.Duration
	// MaxCodeBytes is the largest block accepted (default 64 KiB).
	MaxCodeBytes int
	// CacheSize is the number of compiled blocks kept (default 4096).
	CacheSize int
}

// Defaults.
const (
	DefaultMaxSteps     = 1_000_000
	DefaultTimeout      = time.Second
	DefaultMaxCodeBytes = 64 << 10
	DefaultCacheSize    = 4096
)

// stepCheckInterval is how often (in steps) a running evaluation checks its
// context and time budget.
const stepCheckInterval = 10_000

func (o Options) withDefaults() Options {
	if o.MaxSteps == 0 {
		o.MaxSteps = DefaultMaxSteps
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxCodeBytes == 0 {
		o.MaxCodeBytes = DefaultMaxCodeBytes
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	return o
}

// Validate reports every invalid option at once.
func (o Options) Validate() error {
	var errs []error
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("option Timeout: must not be negative, got %s", o.Timeout))
	}
	if o.MaxCodeBytes < 0 {
		errs = append(errs, fmt.Errorf("MaxCodeBytes: must not be negative, got %d", o.MaxCodeBytes))
	}
	if o.CacheSize < 0 {
		errs = append(errs, fmt.Errorf("CacheSize: must not be negative, got %d", o.CacheSize))
	}
	return errors.Join(errs...)
}

// Runtime compiles and evaluates policy blocks in process. It is safe for
// concurrent use; compiled blocks are cached by code hash and block.
type Runtime struct {
	opts  Options
	cache *lru
}

// New returns a Runtime with opts (defaults applied first).
func New(opts Options) (*Runtime, error) {
	opts = opts.withDefaults()
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("policy runtime options: %w", err)
	}
	return &Runtime{opts: opts, cache: newLRU(opts.CacheSize)}, nil
}

// compiled is one compiled block (or its compile error).
type compiled struct {
	lang  string
	lines int                      // author lines in the block
	fn    starlark.Callable        // the frozen block function, shared by evaluations
	uses  [len(contextParams)]bool // which context objects the block mentions
	expr  *vm.Program
	// volatile: the expr reads the clock or the community (see Output.Untimed).
	volatile bool
	err      *EvalError
}

var fileOptions = &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true, Recursion: false}

func (r *Runtime) lookup(hash string, b Block, src, lang string) *compiled {
	key := cacheKey{hash, b}
	if c, ok := r.cache.get(key); ok {
		return c
	}
	c := compileBlock(b, src, lang, r.opts.MaxCodeBytes)
	r.cache.put(key, c)
	return c
}

func compileBlock(b Block, src, lang string, maxBytes int) (c *compiled) {
	defer func() {
		if p := recover(); p != nil {
			c = &compiled{err: &EvalError{Type: "InternalError", Block: b, Detail: fmt.Sprintf("compiler panic: %v", p)}}
		}
	}()
	if len(src) > maxBytes {
		return &compiled{err: &EvalError{Type: "CodeSizeError", Line: 1, Block: b,
			Detail: fmt.Sprintf("block is %d bytes, the limit is %d", len(src), maxBytes)}}
	}
	src = python.NormalizeNewlines(src)
	lines := strings.Count(src, "\n") + 1
	switch lang {
	case domain.LangStarlark:
		return compileStarlark(b, src, lines)
	case domain.LangExpr:
		if b != BlockFilter && b != BlockCheck {
			return &compiled{err: &EvalError{Type: "ValueError", Block: b, Detail: "only the filter and check blocks may be expr conditions"}}
		}
		return compileExpr(b, src)
	}
	return &compiled{err: &EvalError{Type: "ValueError", Block: b, Detail: fmt.Sprintf("unsupported language %q (want starlark or expr)", lang)}}
}

func compileStarlark(b Block, src string, lines int) *compiled {
	body, err := python.Translate(src, contextParams[:])
	var terr *python.SourceError
	if errors.As(err, &terr) {
		return &compiled{err: &EvalError{Type: terr.Type, Line: clampLine(terr.Line, lines), Block: b, Detail: terr.Msg}}
	}
	if err != nil {
		return &compiled{err: &EvalError{Type: "InternalError", Block: b, Detail: err.Error()}}
	}
	_, prog, err := starlark.SourceProgramOptions(fileOptions, string(b), body, isPredeclared)
	if err != nil {
		return &compiled{err: compileError(b, err, lines)}
	}
	// The top level only defines the block function: run it once, freeze
	// it, and share the function between evaluations.
	globals, err := prog.Init(&starlark.Thread{Name: "compile"}, staticPredeclared)
	if err != nil {
		return &compiled{err: &EvalError{Type: "InternalError", Block: b, Detail: err.Error()}}
	}
	globals.Freeze()
	fn, ok := globals[python.BlockFunc].(starlark.Callable)
	if !ok {
		return &compiled{err: &EvalError{Type: "InternalError", Block: b, Detail: "block function missing"}}
	}
	c := &compiled{lang: domain.LangStarlark, lines: lines, fn: fn}
	for i, name := range contextParams {
		c.uses[i] = strings.Contains(src, name)
	}
	return c
}

// clampLine maps a translated-body line to the author's line.
func clampLine(line, lines int) int {
	return max(1, min(line, lines))
}

func authorLine(bodyLine, lines int) int { return clampLine(bodyLine-python.HeaderLines, lines) }

func compileError(b Block, err error, lines int) *EvalError {
	e := &EvalError{Type: "SyntaxError", Block: b, Detail: err.Error()}
	var se syntax.Error
	var rl resolve.ErrorList
	switch {
	case errors.As(err, &se):
		line := int(se.Pos.Line)
		if strings.HasPrefix(se.Msg, "got newline") && se.Pos.Col == 1 {
			line-- // the scanner places some newline tokens on the next line
		}
		e.Line, e.Detail = authorLine(line, lines), se.Msg
	case errors.As(err, &rl) && len(rl) > 0:
		e.Line, e.Detail = authorLine(int(rl[0].Pos.Line), lines), rl[0].Msg
	}
	if name, ok := strings.CutPrefix(e.Detail, "undefined: "); ok {
		e.Type, e.Detail = "NameError", fmt.Sprintf("name '%s' is not defined", name)
	}
	if strings.Contains(e.Detail, "load statement") {
		e.Type, e.Detail = "ImportError", "load() is not allowed in policy code"
	}
	return e
}

// Compile checks every block of code with the default options and returns
// all syntax errors joined (nil when the code compiles).
func Compile(code domain.PolicyCode) error {
	var errs []error
	for _, b := range Blocks {
		if err := validateBlock(code, b, DefaultMaxCodeBytes, nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Validate compiles every block of code (warming the cache) and returns one
// *EvalError per block that does not compile, with the author's line.
func (r *Runtime) Validate(code domain.PolicyCode) []error {
	var errs []error
	hash := Hash(code)
	for _, b := range Blocks {
		if err := validateBlock(code, b, r.opts.MaxCodeBytes, func(src, lang string) *compiled {
			return r.lookup(hash, b, src, lang)
		}); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func validateBlock(code domain.PolicyCode, b Block, maxBytes int, lookup func(src, lang string) *compiled) error {
	src, lang, _ := Source(code, b)
	var c *compiled
	if lookup != nil {
		c = lookup(src, lang)
	} else {
		c = compileBlock(b, src, lang, maxBytes)
	}
	if c.err != nil {
		e := *c.err
		return &e
	}
	return nil
}

// Evaluate runs one block. It never panics: every failure, including a
// panic inside the interpreter, is reported in Output.Err. It honours ctx
// and the runtime's step and time limits.
func (r *Runtime) Evaluate(ctx context.Context, in Input) (out Output) {
	defer func() {
		if p := recover(); p != nil {
			out = Output{Err: &EvalError{Type: "InternalError", Block: in.Block, Detail: fmt.Sprintf("policy runtime panic: %v", p)}}
		}
	}()
	src, lang, ok := Source(in.Code, in.Block)
	if !ok {
		return Output{Err: &EvalError{Type: "ValueError", Block: in.Block, Detail: fmt.Sprintf("unknown block %q", in.Block)}}
	}
	if err := ctx.Err(); err != nil {
		return Output{Err: contextError(in.Block, err)}
	}
	if len(src) > r.opts.MaxCodeBytes { // before hashing a hostile 10 MB block
		return Output{Err: compileBlock(in.Block, src, lang, r.opts.MaxCodeBytes).err}
	}
	hash := in.CodeHash
	if hash == "" {
		hash = Hash(in.Code)
	}
	c := r.lookup(hash, in.Block, src, lang)
	if c.err != nil {
		e := *c.err
		return Output{Err: &e}
	}
	if c.expr != nil {
		return evalExpr(&in, c)
	}
	return r.evalStarlark(ctx, &in, c)
}

func contextError(b Block, err error) *EvalError {
	if errors.Is(err, context.DeadlineExceeded) {
		return &EvalError{Type: "TimeoutError", Block: b, Detail: "evaluation deadline exceeded"}
	}
	return &EvalError{Type: "CancelledError", Block: b, Detail: "evaluation cancelled: " + err.Error()}
}

// Why an evaluation was stopped by its guard.
const (
	stopNone = iota
	stopSteps
	stopTimeout
	stopContext
)

// guard enforces the step, time and context limits from the thread's
// OnMaxSteps hook, which the interpreter calls every stepCheckInterval
// steps (the budget is handed out in slices).
type guard struct {
	ctx      context.Context
	deadline time.Time
	maxSteps uint64
	reason   int
	ctxErr   error
}

func (g *guard) check(th *starlark.Thread) {
	steps := th.ExecutionSteps()
	switch {
	case steps >= g.maxSteps:
		g.reason = stopSteps
		th.Cancel("step limit exceeded")
	case g.ctx.Err() != nil:
		g.reason, g.ctxErr = stopContext, g.ctx.Err()
		th.Cancel("context done")
	case time.Now().After(g.deadline):
		g.reason = stopTimeout
		th.Cancel("timeout")
	default:
		th.SetMaxExecutionSteps(min(steps+stepCheckInterval, g.maxSteps))
	}
}

func (r *Runtime) evalStarlark(ctx context.Context, in *Input, c *compiled) Output {
	st := newState(in)
	th := &starlark.Thread{
		Name:  string(in.Block),
		Print: func(_ *starlark.Thread, msg string) { st.log("info", msg) },
		Load: func(*starlark.Thread, string) (starlark.StringDict, error) {
			return nil, python.Errorf("ImportError", "load() is not allowed in policy code")
		},
	}
	th.SetLocal(stateKey, st)
	g := &guard{ctx: ctx, deadline: time.Now().Add(r.opts.Timeout), maxSteps: r.opts.MaxSteps}
	th.OnMaxSteps = g.check
	th.SetMaxExecutionSteps(min(stepCheckInterval, g.maxSteps))

	var ret starlark.Value = starlark.None
	args, err := st.contextArgs(c.uses)
	if err == nil {
		ret, err = starlark.Call(th, c.fn, args, nil)
	}
	if st.question != nil && errors.Is(err, errQuestion) {
		return Output{Question: st.question}
	}
	logs := st.logs
	if st.logsDropped > 0 {
		logs = append(logs, domain.LogLine{Level: "warning", Message: fmt.Sprintf("%d more log lines dropped", st.logsDropped)})
	}
	if err != nil {
		return Output{Logs: logs, Err: runtimeError(in.Block, err, g, c.lines, r.opts)}
	}
	out := Output{Effects: st.effects, Logs: logs, DataOps: st.dataOps, Data: st.finalData(), Untimed: !st.volatile}
	if st.voteSet {
		out.VotePostID, out.VoteURL = st.votePostID, st.voteURL
	}
	switch in.Block {
	case BlockFilter:
		out.Filter = bool(ret.Truth())
	case BlockCheck:
		status, err := checkStatus(ret)
		if err != nil {
			return Output{Logs: logs, Err: &EvalError{Type: "TypeError", Block: in.Block, Detail: err.Error()}}
		}
		out.Status = status
	case BlockInitialize:
		if m, ok := ret.(starlark.IterableMapping); ok {
			v, err := toJSON(m)
			if err != nil {
				return Output{Logs: logs, Err: &EvalError{Type: "TypeError", Block: in.Block, Detail: "initialize returned variables that are not JSON-like: " + err.Error()}}
			}
			out.Variables, _ = v.(map[string]any)
		}
	}
	return out
}

// checkStatus maps a check block's return value to a status.
func checkStatus(v starlark.Value) (string, error) {
	if v == starlark.None {
		return domain.StatusProposed, nil
	}
	if s, ok := v.(starlark.String); ok {
		switch strings.ToLower(string(s)) {
		case passedValue:
			return domain.StatusPassed, nil
		case failedValue:
			return domain.StatusFailed, nil
		case proposedValue:
			return domain.StatusProposed, nil
		}
	}
	return "", fmt.Errorf("check must return PASSED, FAILED, PROPOSED or None, not %s", v.String())
}

func runtimeError(b Block, err error, g *guard, lines int, opts Options) *EvalError {
	e := &EvalError{Type: "Error", Block: b, Detail: err.Error()}
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		e.Detail = ee.Msg
		for i := len(ee.CallStack) - 1; i >= 0; i-- {
			if pos := ee.CallStack[i].Pos; pos.Filename() == string(b) {
				e.Line = authorLine(int(pos.Line), lines)
				break
			}
		}
	}
	switch g.reason {
	case stopSteps:
		e.Type, e.Detail = "StepLimitError", fmt.Sprintf("evaluation exceeded the limit of %d execution steps", opts.MaxSteps)
		return e
	case stopTimeout:
		e.Type, e.Detail = "TimeoutError", fmt.Sprintf("evaluation exceeded the time limit of %s", opts.Timeout)
		return e
	case stopContext:
		ce := contextError(b, g.ctxErr)
		e.Type, e.Detail = ce.Type, ce.Detail
		return e
	}
	var pe *python.Error
	if errors.As(err, &pe) {
		e.Type, e.Detail = pe.Type, pe.Msg
		return e
	}
	if name, ok := undefinedName(e.Detail); ok {
		e.Type, e.Detail = "NameError", fmt.Sprintf("name '%s' is not defined", name)
		return e
	}
	e.Type = classify(e.Detail)
	return e
}

// undefinedName recognises the interpreter's error for a free name that no
// predeclared value backs (see isPredeclared): Python's NameError.
func undefinedName(msg string) (string, bool) {
	rest, ok := strings.CutPrefix(msg, "internal error: predeclared variable ")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, " is uninitialized")
}

// interpreterErrors maps go.starlark.net's error messages, which carry no
// codes, to Python error classes. This is the only place that reads error
// text, and only the interpreter's.
var interpreterErrors = []struct{ contains, typ string }{
	{"referenced before assignment", "NameError"},
	{"called recursively", "RecursionError"},
	{"has no .", "AttributeError"},
	{"has no attribute", "AttributeError"},
	{"has no method", "AttributeError"},
	{"not in dict", "KeyError"},
	{"key not found", "KeyError"},
	{"out of range", "IndexError"},
	{"division by zero", "ZeroDivisionError"},
	{"modulo by zero", "ZeroDivisionError"},
	{"unknown binary op", "TypeError"},
	{"unsupported", "TypeError"},
	{" not implemented", "TypeError"}, // comparisons and operators between mismatched types
	{"not iterable", "TypeError"},
	{"has no len", "TypeError"},
	{"not callable", "TypeError"},
	{"invalid call of non-function", "TypeError"},
	{"missing argument", "TypeError"},
	{"unexpected keyword argument", "TypeError"},
	{"got multiple values", "TypeError"},
	{"accepts no", "TypeError"},
	{"arguments", "TypeError"},
	{"for parameter", "TypeError"},
	{"got ", "TypeError"},
	{"unhashable", "TypeError"},
	{"cannot", "TypeError"},
	{"invalid literal", "ValueError"},
	{"invalid", "ValueError"},
	{"fail: ", "Error"},
}

func classify(msg string) string {
	for _, m := range interpreterErrors {
		if strings.Contains(msg, m.contains) {
			return m.typ
		}
	}
	return "Error"
}
