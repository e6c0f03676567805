// Package policysandbox evaluates and compiles policy code in sandbox worker processes, so
// that hostile or runaway policy code (a huge allocation inside one interpreter step, an
// endless loop, source whose translation or compilation alone is quadratic) can only take
// down a worker, never the engine. The worker side runs the ordinary in-process runtime of
// package policy; the two sides exchange a request kind byte and JSON-encoded policy.Input
// and policy.Output (or domain.PolicyCode and its compile errors) over the sandbox pool's pipes.
//
// A binary that uses an Evaluator must start with
//
//	if sandbox.IsWorker() {
//		policysandbox.ServeWorker()
//	}
//
// so that the pool can re-execute it as a worker.
package policysandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/policykit-go/policykit/domain"
	"github.com/policykit-go/policykit/policy"
	"github.com/policykit-go/policykit/sandbox"
)

// Options configures the worker pool and the interpreter limits inside each worker.
type Options struct {
	Workers     int           // worker processes (default 2)
	MemoryLimit int64         // bytes per worker (default 256 MiB)
	Deadline    time.Duration // wall-clock limit per block, process kill included (default 1s)
	Command     string        // executable to run as worker (default: this binary)
	Args        []string      // extra arguments for the worker command (tests pass -test.run=^$)
}

// Evaluator runs policy blocks in a sandbox.Pool. It implements evaluation.Evaluator and is
// safe for concurrent use; at most Workers blocks run at once and callers queue for a worker.
type Evaluator struct {
	pool     *sandbox.Pool
	deadline time.Duration
}

// New starts the worker pool.
func New(ctx context.Context, opts Options, logger *slog.Logger) (*Evaluator, error) {
	if opts.Deadline <= 0 {
		opts.Deadline = time.Second
	}
	pool, err := sandbox.NewPool(ctx, sandbox.Options{
		Command:     opts.Command,
		Args:        opts.Args,
		Size:        opts.Workers,
		MemoryLimit: opts.MemoryLimit,
		Deadline:    opts.Deadline,
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("policy sandbox: %w", err)
	}
	return &Evaluator{pool: pool, deadline: opts.Deadline}, nil
}

// Close stops every worker.
func (e *Evaluator) Close() error { return e.pool.Close() }

// Stats reports the pool's counters (calls, kills, restarts).
func (e *Evaluator) Stats() sandbox.Stats { return e.pool.Stats() }

// Evaluate runs one block in a worker. Whatever happens to the worker, the result is an
// Output: a killed or crashed worker becomes an EvalError of type TimeoutError or
// MemoryError for that block.
func (e *Evaluator) Evaluate(ctx context.Context, in policy.Input) policy.Output {
	if in.CodeHash == "" {
		in.CodeHash = policy.Hash(in.Code)
	}
	req, err := encode(kindEvaluate, in)
	if err != nil {
		return failed(in.Block, "InputError", fmt.Sprintf("cannot encode the evaluation input: %v", err))
	}
	resp, err := e.pool.Call(ctx, req)
	if err != nil {
		return failed(in.Block, errorType(err), describe(err, e.deadline))
	}
	var out policy.Output
	if err := json.Unmarshal(resp, &out); err != nil {
		return failed(in.Block, "SandboxError", fmt.Sprintf("unreadable worker response: %v", err))
	}
	return out
}

// Compile translates and compiles every block of code (Starlark and expr alike) in a worker,
// under the same time and memory limits as an evaluation: translating and compiling hostile
// source can itself take unbounded time and memory. problems is empty when every block
// compiles; otherwise it holds the error of each block that does not, with its block and
// line. Compiling that hits a sandbox limit (the deadline, the memory ceiling, the request
// size) or kills its worker is one problem of its own (TimeoutError, MemoryError,
// CodeTooLarge, SandboxError) that names no block. err is set only when the code could not
// be checked for reasons that say nothing about it (ctx ended, the pool closed).
func (e *Evaluator) Compile(ctx context.Context, code domain.PolicyCode) (problems []*policy.EvalError, err error) {
	req, err := encode(kindCompile, code)
	if err != nil {
		return nil, fmt.Errorf("policy sandbox: encode policy code: %w", err)
	}
	resp, err := e.pool.Call(ctx, req)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, sandbox.ErrClosed) {
			return nil, fmt.Errorf("policy sandbox: compile: %w", err)
		}
		return []*policy.EvalError{{Type: errorType(err), Detail: describeCompile(err, e.deadline)}}, nil
	}
	var res compileResult
	if err := json.Unmarshal(resp, &res); err != nil {
		return nil, fmt.Errorf("policy sandbox: unreadable compile response: %w", err)
	}
	return res.Errors, nil
}

// Request kinds: the first byte of a request.
const (
	kindEvaluate byte = 'e' // JSON policy.Input; response: JSON policy.Output
	kindCompile  byte = 'c' // JSON domain.PolicyCode; response: JSON compileResult
)

// compileResult is a worker's answer to a compile request.
type compileResult struct {
	Errors []*policy.EvalError `json:"errors,omitempty"`
}

func encode(kind byte, v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append([]byte{kind}, body...), nil
}

func errorType(err error) string {
	switch {
	case errors.Is(err, sandbox.ErrDeadline), errors.Is(err, context.DeadlineExceeded):
		return "TimeoutError"
	case errors.Is(err, sandbox.ErrMemory):
		return "MemoryError"
	case errors.Is(err, sandbox.ErrRequestTooLarge):
		return "CodeTooLarge"
	case errors.Is(err, context.Canceled):
		return "Canceled"
	}
	return "SandboxError"
}

func describe(err error, deadline time.Duration) string {
	switch {
	case errors.Is(err, sandbox.ErrDeadline):
		return fmt.Sprintf("the block ran longer than %s and was stopped", deadline)
	case errors.Is(err, sandbox.ErrMemory):
		return "the block used more memory than allowed and was stopped"
	case errors.Is(err, sandbox.ErrRequestTooLarge):
		return "the policy code and its inputs are too large to evaluate"
	}
	return err.Error()
}

func describeCompile(err error, deadline time.Duration) string {
	switch {
	case errors.Is(err, sandbox.ErrDeadline):
		return fmt.Sprintf("compiling the policy took longer than %s and was stopped", deadline)
	case errors.Is(err, sandbox.ErrMemory):
		return "compiling the policy used more memory than allowed and was stopped"
	case errors.Is(err, sandbox.ErrRequestTooLarge):
		return "the policy code is too large to compile"
	}
	return err.Error()
}

func failed(b policy.Block, typ, detail string) policy.Output {
	return policy.Output{Err: &policy.EvalError{Type: typ, Block: b, Detail: detail}}
}

// ServeWorker runs this process as a sandbox worker and never returns. The runtime's own
// limits sit inside the pool's: the step limit and the ctx the pool cancels before its kill.
func ServeWorker() {
	rt, err := policy.New(policy.Options{})
	if err != nil {
		panic(err) // the options are constants; an error here is a programming error
	}
	sandbox.Serve(Handler(rt))
}

// Handler adapts a runtime to the sandbox worker protocol. Both kinds of request go through
// the runtime's cache of compiled blocks, so a policy validated when it was proposed is
// already compiled when this worker first evaluates it.
func Handler(rt *policy.Runtime) sandbox.Handler {
	return func(ctx context.Context, req []byte) []byte {
		if len(req) > 0 && req[0] == kindCompile {
			return compile(rt, req[1:])
		}
		var in policy.Input
		var out policy.Output
		if len(req) == 0 || req[0] != kindEvaluate {
			out = failed("", "InputError", "unknown request kind")
		} else if err := json.Unmarshal(req[1:], &in); err != nil {
			out = failed(in.Block, "InputError", fmt.Sprintf("unreadable evaluation input: %v", err))
		} else {
			out = rt.Evaluate(ctx, in)
		}
		resp, err := json.Marshal(out)
		if err != nil {
			resp, _ = json.Marshal(failed(in.Block, "OutputError", fmt.Sprintf("cannot encode the block's output: %v", err)))
		}
		return resp
	}
}

func compile(rt *policy.Runtime, req []byte) []byte {
	var code domain.PolicyCode
	var res compileResult
	if err := json.Unmarshal(req, &code); err != nil {
		res.Errors = []*policy.EvalError{{Type: "InputError", Detail: fmt.Sprintf("unreadable policy code: %v", err)}}
	} else {
		for _, err := range rt.Validate(code) {
			var ee *policy.EvalError
			if !errors.As(err, &ee) {
				ee = &policy.EvalError{Type: "SyntaxError", Detail: err.Error()}
			}
			res.Errors = append(res.Errors, ee)
		}
	}
	resp, _ := json.Marshal(res) // strings and ints only
	return resp
}
