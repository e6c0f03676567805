package sandbox

import "time"

// Environment of a worker, set by the pool.
const (
	envWorker       = "POLICYKIT_SANDBOX_WORKER"        // "1"
	envMemoryLimit  = "POLICYKIT_SANDBOX_MEMORY_LIMIT"  // bytes
	envMaxRequest   = "POLICYKIT_SANDBOX_MAX_REQUEST"   // bytes
	envMaxResponse  = "POLICYKIT_SANDBOX_MAX_RESPONSE"  // bytes
	envAddressLimit = "POLICYKIT_SANDBOX_ADDRESS_LIMIT" // "0": skip RLIMIT_AS
)

// Status byte of a response frame.
const (
	statusOK       byte = 0    // payload: the handler's response
	statusPanic    byte = 1    // payload: panic value and stack
	statusTooLarge byte = 2    // payload: message
	statusRunning  byte = 3    // no payload: the next request of the batch is running (not its response)
	statusHello    byte = 0x7f // payload: helloPayload, sent once when the worker is ready
)

const (
	helloPayload = "policykit-sandbox/2"
	// frameHeader is the size of a request frame's header: its length and the number of
	// requests it carries.
	frameHeader = 4 + 4
	// itemHeader is the size of each request's header inside a frame: its time budget and
	// its length.
	itemHeader = 8 + 4
	// panicMessageMax bounds the panic report of a statusPanic frame.
	panicMessageMax = 8 << 10
	// bufSize is the size of the reusable frame buffers at each end of the pipes.
	bufSize = 64 << 10
)

// MaxBatch is the largest number of requests in one Batch.
const MaxBatch = 1024

// Timing of the parent.
var (
	// watchInterval is how often the parent looks at a busy worker's resident size (and at a
	// cancelled context whose wake-up it may have missed).
	watchInterval = 10 * time.Millisecond
	// startTimeout bounds a worker's start-up until its hello frame.
	startTimeout = 10 * time.Second
	// exitGrace is how long a worker that closed its stdout may take to exit before it is
	// killed.
	exitGrace = 2 * time.Second
	// flushInterval is how long a worker may hold the responses of a batch before writing
	// them: short enough that the parent sees progress, long enough that a batch of fast
	// requests costs one write and one wake-up of the parent.
	flushInterval = time.Millisecond
	// batchSlack is added to the deadline the parent gives each request of a batch after
	// the last response it saw: the worker may have held that request's response back for
	// up to flushInterval.
	batchSlack = 5 * time.Millisecond
)

// softBudget is the part of a call's budget given to the handler's context: the handler
// can give up cooperatively (and keep its worker) before the parent kills the worker at the
// full budget. The margin is a tenth of the budget, at most 100ms.
func softBudget(budget time.Duration) time.Duration {
	return budget - min(budget/10, 100*time.Millisecond)
}
