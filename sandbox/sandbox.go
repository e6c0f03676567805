// Package sandbox runs untrusted work in a small pool of long-lived worker processes, each
// the same binary re-executed, with a hard memory ceiling and a per-call deadline. It moves
// opaque request and response bytes and knows nothing of what the worker computes.
//
// Why processes: an interpreter's step limit or cancellation flag cannot interrupt a single
// step that allocates gigabytes or sorts millions of elements. Only a separate process can be
// killed at any instant and capped in memory without taking the caller down with it.
//
// The binary serves both roles. Its main (and a test package's TestMain) starts with
//
//	if sandbox.IsWorker() {
//		sandbox.Serve(handler) // never returns
//	}
//
// and the parent creates a Pool whose workers run that same binary (Options.Command).
//
// # Memory ceiling
//
// A worker caps itself at start: it sets RLIMIT_AS to its start-up address-space size plus
// Options.MemoryLimit, and the Go soft memory limit (debug.SetMemoryLimit) to 7/8 of
// MemoryLimit so that garbage is collected before the hard ceiling is reached. An allocation
// beyond the ceiling fails at once inside the runtime ("fatal error: out of memory"), which
// the parent recognises on the worker's stderr and reports as ErrMemory. Under the race
// detector RLIMIT_AS breaks the runtime ("too many address space collisions for -race
// mode"), so race builds skip it. In every build the parent also watches the resident size
// of a busy worker (/proc/<pid>/statm, every 10ms once a call has lasted 10ms) and kills it
// when it exceeds its start-up size plus MemoryLimit: the only ceiling in race builds and a
// backstop otherwise.
//
// # Protocol
//
// Frames on the worker's stdin and stdout: a big-endian uint32 length, then that many bytes.
// A request frame's body is a uint32 count of requests, then for each an int64 time budget
// in nanoseconds, a uint32 length and the request (Call sends one, Batch up to MaxBatch).
// The worker answers each request with a response frame whose body is a status byte
// followed by the payload; it writes the responses of a batch in groups, at the end or once
// it has held some for a millisecond, and while a request runs longer than that it writes
// the ones it holds and a frame saying that the next request is running, so that the parent
// sees progress and knows which request cost the worker if it is lost. The worker's protocol descriptors are
// private duplicates: its fd 0 is /dev/null and its fd 1 is its stderr, so a stray print
// from handler code cannot corrupt the stream.
//
// The package is Linux only.
package sandbox

import (
	"errors"
)

// Errors of Call. They are wrapped with details; test with errors.Is.
var (
	// ErrDeadline: the call outlived its deadline (the smaller of Options.Deadline and the
	// context's deadline); the worker was killed and is being replaced. When the context's
	// deadline was the binding one the error also matches context.DeadlineExceeded.
	ErrDeadline = errors.New("sandbox: deadline exceeded, worker killed")
	// ErrMemory: the worker hit its memory ceiling (out-of-memory fatal error, the parent's
	// resident-size watchdog, or a SIGKILL the pool did not send, which on Linux is almost
	// always the kernel's OOM killer); it is being replaced.
	ErrMemory = errors.New("sandbox: memory limit exceeded, worker killed")
	// ErrCrashed: the worker died for another reason or broke the protocol; it is being
	// replaced.
	ErrCrashed = errors.New("sandbox: worker crashed")
	// ErrPanic: the handler panicked; the worker recovered and keeps serving. The error text
	// carries the panic value and stack.
	ErrPanic = errors.New("sandbox: handler panicked")
	// ErrRequestTooLarge: the request exceeds Options.MaxRequestBytes; no worker was used.
	ErrRequestTooLarge = errors.New("sandbox: request too large")
	// ErrResponseTooLarge: the handler's response exceeds Options.MaxResponseBytes; the
	// worker dropped it and keeps serving.
	ErrResponseTooLarge = errors.New("sandbox: response too large")
	// ErrUnfinished: the worker running a batch was lost (see the other errors) before it
	// answered this request and at least one other; the request may never have run, and it
	// may have been the one that cost the worker. It does not match the error of the loss.
	ErrUnfinished = errors.New("sandbox: worker lost before it answered this request of a batch")
	// ErrNotRun: the worker running a batch was lost while it ran an earlier request of
	// the batch; this one never ran and can be sent again. It does not match the error of
	// the loss.
	ErrNotRun = errors.New("sandbox: worker lost before it started this request of a batch")
	// ErrClosed: the pool is closed.
	ErrClosed = errors.New("sandbox: pool closed")
)
