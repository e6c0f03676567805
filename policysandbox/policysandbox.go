// Package policysandbox evaluates and compiles policy code in sandbox worker processes, so
// that hostile or runaway policy code (a huge allocation inside one interpreter step, an
// endless loop, source whose translation or compilation alone is quadratic) can only take
// down a worker, never the engine. The worker side runs the ordinary in-process runtime of
// package policy; the two sides exchange a request kind byte and a policy.Input and
// policy.Output in a compact binary encoding (see wire), or JSON-encoded domain.PolicyCode
// and its compile errors, over the sandbox pool's pipes, many blocks per round trip (see
// Evaluator).
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
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
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
	// MaxBatch bounds the blocks sent to a worker in one round trip (default 64).
	MaxBatch int
	// CodeCacheBytes bounds the policy code each worker keeps by hash (default 8 MiB), and
	// separately the blocks' policies and communities it keeps.
	CodeCacheBytes int64
}

// Defaults of Options.
const (
	DefaultMaxBatch       = 64
	DefaultCodeCacheBytes = 8 << 20
	// maxBatchBytes bounds the requests of one round trip, unless a single block's input
	// alone is larger.
	maxBatchBytes = 256 << 10
	// maxRequestBytes bounds one block's request: the sandbox's default.
	maxRequestBytes = sandbox.DefaultMaxRequestBytes
)

// envCodeCache passes Options.CodeCacheBytes to the workers.
const envCodeCache = "POLICYKIT_POLICY_CODE_CACHE_BYTES"

// Evaluator runs policy blocks in a sandbox.Pool. It implements evaluation.Evaluator and is
// safe for concurrent use.
//
// Concurrent Evaluate calls are coalesced: a call joins a queue, and whenever a worker is
// free the queue's head (up to MaxBatch blocks) goes to it in one round trip. There is no
// timer: a lone call is sent as soon as a worker is free. Each worker keeps the policy code
// it has seen, by code hash, and the blocks' policies and communities, by a key of their
// encoding (bounded by CodeCacheBytes each); the Evaluator remembers what it sent to which
// worker and sends the hash or key alone when that worker has them. A worker that evicted
// them answers so, and the block is sent again with them; a replacement worker has a new
// ID and is sent everything.
//
// A caller's context bounds its wait: when it ends, Evaluate returns at once (a queued
// block is then not sent). Its deadline also becomes the block's budget inside the worker,
// which the runtime honours; the worker itself is killed only at Deadline.
//
// Limits stay per block: each block of a batch has the whole Deadline (the worker reports
// progress), and a block that hits the step limit fails only itself. A block that costs
// its worker (deadline, memory, crash) fails with its own TimeoutError or MemoryError when
// the worker had said it was running it (it does once a block has run for a millisecond);
// the blocks after it never ran and go back to the head of the queue. When the worker was
// lost before it could say which block was running, every block it had not answered is
// sent again alone, so that the hostile one fails alone and its neighbours are evaluated
// normally. A neighbour is never reported as TimeoutError or MemoryError for a hostile
// block; a hostile block costs one deadline, or two when it was sent again alone.
type Evaluator struct {
	pool      *sandbox.Pool
	inputs    *wire[policy.Input]
	outputs   *wire[policy.Output]
	statics   *wire[statics]
	seeds     [2]maphash.Seed
	shared    staticsCache
	scratch   sync.Pool // of *scratch
	bodies    sync.Pool // of *[]byte: buffers of pending.body
	deadline  time.Duration
	workers   int
	maxBatch  int
	codeBytes int64

	mu      sync.Mutex
	queue   []*pending    // FIFO of blocks waiting for a worker
	front   []*pending    // blocks to send again before the queue, in order
	alone   []*pending    // blocks to send again alone after their worker was lost
	running int           // dispatch goroutines, at most workers
	hold    chan struct{} // tests: dispatching waits until it is closed

	// kmu guards known, apart from mu: a dispatcher encodes a batch for its worker while
	// callers queue their blocks.
	kmu   sync.Mutex
	known map[sandbox.WorkerID]map[string]struct{}

	codeSent, staticsSent, unknownCode, sentAlone atomic.Uint64
}

// pending is one Evaluate call on its way through a worker.
type pending struct {
	ctx   context.Context
	block policy.Block
	hash  string
	code  domain.PolicyCode
	// statics is the encoding of the input's policy and community, the same for many
	// blocks; key is its hash.
	statics []byte
	key     string
	body    []byte  // kindEvaluate, no flags, key and the rest of the input
	bodyBuf *[]byte // body's buffer, from Evaluator.bodies; given back once p is finished
	done    chan result
	gone    atomic.Bool // the caller left
	sent    atomic.Bool // done has its result
	// resend: the worker must be sent the code and statics (it answered that it lacked
	// one of them).
	resend  bool
	retried bool // sent alone after ErrUnfinished
}

// statics are the parts of an input that many blocks share: sent to a worker once, and
// then by key.
type statics struct {
	Policy    policy.PolicyInfo
	Community policy.CommunityInfo
}

// finish hands r to p's caller, once. Only dispatchers call it, and once p is finished
// nothing reads its body any more: it goes back to the pool of bodies.
func (e *Evaluator) finish(p *pending, r result) {
	if !p.sent.CompareAndSwap(false, true) {
		return
	}
	if p.bodyBuf != nil {
		if cap(p.body) <= maxScratchBuffer {
			*p.bodyBuf = p.body[:0]
			e.bodies.Put(p.bodyBuf)
		}
		p.body, p.bodyBuf = nil, nil
	}
	p.done <- r
}

// result is a worker's raw answer for one block, or why there is none.
type result struct {
	output string // policy.Output (see wire): a copy the Output's strings are cut from
	err    error
}

// New starts the worker pool.
func New(ctx context.Context, opts Options, logger *slog.Logger) (*Evaluator, error) {
	if opts.Deadline <= 0 {
		opts.Deadline = time.Second
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	opts.MaxBatch = min(opts.MaxBatch, sandbox.MaxBatch)
	if opts.CodeCacheBytes <= 0 {
		opts.CodeCacheBytes = DefaultCodeCacheBytes
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = sandbox.DefaultSize
	}
	pool, err := sandbox.NewPool(ctx, sandbox.Options{
		Command:     opts.Command,
		Args:        opts.Args,
		Env:         []string{envCodeCache + "=" + strconv.FormatInt(opts.CodeCacheBytes, 10)},
		Size:        opts.Workers,
		MemoryLimit: opts.MemoryLimit,
		Deadline:    opts.Deadline,
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("policy sandbox: %w", err)
	}
	return &Evaluator{
		pool: pool, deadline: opts.Deadline, workers: workers, maxBatch: opts.MaxBatch,
		inputs:    newWire[policy.Input](),
		outputs:   newWire[policy.Output](),
		statics:   newWire[statics](),
		seeds:     [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		codeBytes: opts.CodeCacheBytes,
		shared:    staticsCache{limit: opts.CodeCacheBytes},
		known:     make(map[sandbox.WorkerID]map[string]struct{}),
	}, nil
}

// Close stops every worker.
func (e *Evaluator) Close() error { return e.pool.Close() }

// Stats reports the pool's counters (requests, batches, kills, restarts).
func (e *Evaluator) Stats() sandbox.Stats { return e.pool.Stats() }

// Evaluate runs one block in a worker. Whatever happens to the worker, the result is an
// Output: a killed or crashed worker becomes an EvalError of type TimeoutError or
// MemoryError for that block.
func (e *Evaluator) Evaluate(ctx context.Context, in policy.Input) policy.Output {
	if err := ctx.Err(); err != nil {
		return failed(in.Block, errorType(err), describe(err, e.deadline))
	}
	p, out := e.prepare(&in)
	if out.Err != nil {
		return out
	}
	p.ctx = ctx
	if e.enqueue(p) {
		// No dispatcher was running: this caller takes the role itself until its own block
		// is answered, sparing a lone block two goroutine hand-offs.
		e.dispatch(p)
	}
	var r result
	if done := ctx.Done(); done == nil {
		r = <-p.done // a plain receive costs less than a select
	} else {
		select {
		case r = <-p.done:
		case <-done:
			p.gone.Store(true) // dropped if still queued
			return failed(in.Block, errorType(ctx.Err()), describe(ctx.Err(), e.deadline))
		}
	}
	if r.err != nil {
		return failed(in.Block, errorType(r.err), describe(r.err, e.deadline))
	}
	s := e.getScratch()
	defer e.putScratch(s)
	if err := e.outputs.decodeString(r.output, &s.out); err != nil {
		return failed(in.Block, "SandboxError", fmt.Sprintf("unreadable worker response: %v", err))
	}
	return s.out
}

// prepare encodes in for the workers: its code, policy and community apart, each sent to
// a worker only when it lacks them. It encodes from a scratch copy of in, so that in stays
// on its caller's stack.
func (e *Evaluator) prepare(in *policy.Input) (*pending, policy.Output) {
	if n := codeSize(in.Code); n > maxRequestBytes { // its JSON is no smaller
		return nil, failed(in.Block, errorType(sandbox.ErrRequestTooLarge), describe(sandbox.ErrRequestTooLarge, e.deadline))
	}
	hash := in.CodeHash
	if hash == "" {
		hash = policy.Hash(in.Code)
	}
	p := &pending{ctx: context.Background(), block: in.Block, hash: hash, code: in.Code, done: make(chan result, 1)}
	s := e.getScratch()
	defer e.putScratch(s)
	// The worker has the code, policy and community, or is sent them separately.
	s.st = statics{Policy: in.Policy, Community: in.Community}
	var err error
	if sh := e.shared.find(&s.st, e.statics); sh != nil {
		p.key, p.statics = sh.key, sh.enc
	} else {
		if s.buf, err = e.statics.encode(s.buf[:0], &s.st); err != nil {
			return nil, failed(in.Block, "InputError", fmt.Sprintf("cannot encode the evaluation input: %v", err))
		}
		p.key, p.statics = e.shared.intern(&s.st, s.buf, e.seeds, e.statics)
	}
	s.in = *in
	s.in.CodeHash = hash
	s.in.Code, s.in.Policy, s.in.Community = domain.PolicyCode{}, policy.PolicyInfo{}, policy.CommunityInfo{}
	bp, _ := e.bodies.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	buf := append((*bp)[:0], kindEvaluate, 0)
	buf = append(buf, p.key...)
	if buf, err = e.inputs.encode(buf, &s.in); err != nil {
		return nil, failed(in.Block, "InputError", fmt.Sprintf("cannot encode the evaluation input: %v", err))
	}
	p.body, p.bodyBuf = buf, bp
	return p, policy.Output{}
}

// scratch is what one Evaluate call encodes from and decodes into.
type scratch struct {
	in  policy.Input
	st  statics
	out policy.Output
	buf []byte
}

// maxScratchBuffer bounds the encoding buffer a scratch keeps between calls.
const maxScratchBuffer = 64 << 10

func (e *Evaluator) getScratch() *scratch {
	if s, ok := e.scratch.Get().(*scratch); ok {
		return s
	}
	return new(scratch)
}

// putScratch keeps s for another call, holding nothing of this one's.
func (e *Evaluator) putScratch(s *scratch) {
	s.in, s.st, s.out = policy.Input{}, statics{}, policy.Output{}
	if cap(s.buf) <= maxScratchBuffer {
		s.buf = s.buf[:0]
		e.scratch.Put(s)
	}
}

// staticsCache keeps the encodings of the blocks' policies and communities by key, so that
// the blocks of one community share one copy instead of each holding its own; and the
// last few of them decoded, so that a block whose policy and community are one of those
// is neither encoded nor hashed again.
type staticsCache struct {
	limit int64 // bytes kept

	mu     sync.Mutex
	m      map[string]*sharedStatics
	bytes  int64
	recent [recentStatics]*sharedStatics // a ring, the newest at next-1
	next   int
}

// recentStatics is the number of policies and communities a block's are compared with.
const recentStatics = 16

// sharedStatics is one encoding of a policy and community. It is never changed.
type sharedStatics struct {
	key string
	enc []byte
	// val is what was encoded, copied so that no caller can change it under us. Its
	// strings are the caller's (strings do not change): comparing a later block's with
	// them costs little when that block's strings are the same ones.
	val statics
}

// find returns the shared encoding of st if it is one of the recent ones.
func (c *staticsCache) find(st *statics, w *wire[statics]) *sharedStatics {
	c.mu.Lock()
	recent, next := c.recent, c.next
	c.mu.Unlock()
	for i := range recentStatics {
		// A different policy differs in its first field: a miss costs little.
		if sh := recent[(next-1-i+recentStatics)%recentStatics]; sh != nil && w.same(&sh.val, st) {
			return sh
		}
	}
	return nil
}

// intern returns the key of st, encoded as enc, and a copy of enc that is never changed.
func (c *staticsCache) intern(st *statics, enc []byte, seeds [2]maphash.Seed, w *wire[statics]) (key string, shared []byte) {
	// 128 bits of two independent hashes: a collision would show a block another
	// community. The key means nothing outside this process and its workers.
	var k [16]byte
	binary.LittleEndian.PutUint64(k[:8], maphash.Bytes(seeds[0], enc))
	binary.LittleEndian.PutUint64(k[8:], maphash.Bytes(seeds[1], enc))
	c.mu.Lock()
	sh, ok := c.m[string(k[:])]
	c.mu.Unlock()
	if !ok {
		sh = &sharedStatics{key: string(k[:]), enc: bytes.Clone(enc)}
		if !storable(len(enc), c.limit) {
			return sh.key, sh.enc
		}
		if !w.copyOf(&sh.val, st) {
			return sh.key, sh.enc // not to be found by value
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !ok {
		if c.m == nil || len(c.m) >= maxKnown || c.bytes+int64(len(enc)) > c.limit {
			c.m, c.bytes = make(map[string]*sharedStatics), 0 // blocks in flight keep theirs
		}
		c.m[sh.key] = sh
		c.bytes += int64(len(enc))
	}
	c.recent[c.next] = sh
	c.next = (c.next + 1) % recentStatics
	return sh.key, sh.enc
}

// enqueue queues p and reports whether the caller is to dispatch it (see Evaluate): a
// dispatcher is needed and none is held back (tests hold dispatching to fill the queue).
func (e *Evaluator) enqueue(p *pending) (dispatch bool) {
	e.mu.Lock()
	e.queue = append(e.queue, p)
	start := e.running < e.workers
	if start {
		e.running++
	}
	held := e.hold != nil
	e.mu.Unlock()
	if start && held {
		go e.dispatch(nil)
		return false
	}
	return start
}

// handOff ends a caller's turn as dispatcher (see dispatch): the queue's rest, if any, goes
// to a dispatcher of its own.
func (e *Evaluator) handOff() {
	e.mu.Lock()
	idle := len(e.alone)+len(e.front)+len(e.queue) == 0
	if idle {
		e.running--
	}
	e.mu.Unlock()
	if !idle {
		go e.dispatch(nil)
	}
}

// dispatch sends queued blocks to workers, a batch at a time, until the queue is empty, or,
// run by the caller of own, until own is answered. At most e.workers dispatchers run, so
// each finds a worker free unless a Compile holds one.
func (e *Evaluator) dispatch(own *pending) {
	e.mu.Lock()
	hold := e.hold
	e.mu.Unlock()
	if hold != nil {
		<-hold
	}
	for {
		var (
			worker sandbox.WorkerID
			batch  []*pending
			done   bool
		)
		err := e.pool.Batch(context.Background(), func(id sandbox.WorkerID) []sandbox.Request {
			if batch == nil {
				e.mu.Lock()
				if batch = e.take(); len(batch) == 0 {
					e.running--
					done = true
				}
				e.mu.Unlock()
				if done {
					return nil
				}
			}
			worker = id
			var reqs []sandbox.Request
			reqs, batch = e.requests(id, batch)
			return reqs
		}, func(i int, resp []byte, err error) {
			e.settle(worker, batch[i], resp, err)
		})
		if err != nil {
			// Nothing of the batch ran: the pool closed, or workers kept dying before
			// they could take it.
			for _, p := range batch {
				e.finish(p, result{err: err})
			}
			if errors.Is(err, sandbox.ErrClosed) {
				e.mu.Lock()
				for _, q := range [][]*pending{e.alone, e.front, e.queue} {
					for _, p := range q {
						e.finish(p, result{err: err})
					}
				}
				e.alone, e.front, e.queue = nil, nil, nil
				if !done {
					e.running--
				}
				e.mu.Unlock()
				return
			}
		}
		if done {
			return
		}
		if own != nil && own.sent.Load() {
			e.handOff()
			return
		}
	}
}

// take removes the next batch from the queues: one block that must run alone, or up to
// maxBatch blocks whose inputs fit in maxBatchBytes (at least one). Blocks whose callers
// left are dropped. e.mu is held.
func (e *Evaluator) take() []*pending {
	for len(e.alone) > 0 {
		p := e.alone[0]
		e.alone[0] = nil
		e.alone = e.alone[1:]
		if !p.gone.Load() {
			e.sentAlone.Add(1)
			return []*pending{p}
		}
	}
	if len(e.front) > 0 {
		e.queue = append(e.front, e.queue...)
		e.front = nil
	}
	var batch []*pending
	size, n := 0, 0
	for ; n < len(e.queue) && len(batch) < e.maxBatch; n++ {
		p := e.queue[n]
		if p.gone.Load() {
			continue
		}
		size += len(p.body)
		if p.resend {
			size += codeSize(p.code) + len(p.statics)
		}
		if len(batch) > 0 && size > maxBatchBytes {
			break
		}
		batch = append(batch, p)
	}
	clear(e.queue[:n])
	e.queue = e.queue[n:]
	if len(e.queue) == 0 {
		e.queue = nil
	}
	return batch
}

// requests encodes batch for worker id: each block's input by code hash when id has its
// code, and with the code otherwise. A block too large to send is answered at once and
// left out of sent, which lists the blocks of reqs.
func (e *Evaluator) requests(id sandbox.WorkerID, batch []*pending) (reqs []sandbox.Request, sent []*pending) {
	e.kmu.Lock()
	defer e.kmu.Unlock()
	known := e.knownBy(id)
	reqs = make([]sandbox.Request, 0, len(batch))
	sent = batch[:0:0]
	for _, p := range batch {
		var budget time.Duration // the pool's deadline
		if d, ok := p.ctx.Deadline(); ok {
			budget = max(time.Until(d), time.Millisecond)
		}
		_, hasCode := known[p.hash]
		_, hasStatics := known[p.key]
		sendCode, sendStatics := p.resend || !hasCode, p.resend || !hasStatics
		if !sendCode && !sendStatics {
			reqs = append(reqs, sandbox.Request{Body: p.body, Budget: budget})
			sent = append(sent, p)
			continue
		}
		var code []byte
		flags := byte(0)
		if sendCode {
			var err error
			if code, err = json.Marshal(p.code); err != nil { // strings only
				panic(err)
			}
			flags |= flagCode
		}
		if sendStatics {
			flags |= flagStatics
		}
		body := make([]byte, 0, 10+len(code)+len(p.statics)+len(p.body))
		body = append(body, kindEvaluate, flags)
		if sendCode {
			body = binary.BigEndian.AppendUint32(body, uint32(len(code)))
			body = append(body, code...)
		}
		if sendStatics {
			body = binary.BigEndian.AppendUint32(body, uint32(len(p.statics)))
			body = append(body, p.statics...)
		}
		body = append(body, p.body[2:]...)
		if len(body) > maxRequestBytes {
			e.finish(p, result{err: fmt.Errorf("%w: %d bytes", sandbox.ErrRequestTooLarge, len(body))})
			continue
		}
		reqs = append(reqs, sandbox.Request{Body: body, Budget: budget})
		sent = append(sent, p)
		if sendCode {
			e.codeSent.Add(1)
			if storable(codeSize(p.code), e.codeBytes) {
				remember(known, p.hash)
			}
		}
		if sendStatics {
			e.staticsSent.Add(1)
			if storable(len(p.statics), e.codeBytes) {
				remember(known, p.key)
			}
		}
	}
	return reqs, sent
}

// remember adds key to a worker's known set.
func remember(known map[string]struct{}, key string) {
	if len(known) >= 2*maxKnown {
		clear(known) // the worker keeps them; we send some once more
	}
	known[key] = struct{}{}
}

// knownBy returns the set of code hashes and statics keys worker id has been sent. Sets of workers that are
// gone are dropped: IDs only grow, so the smallest are the oldest. e.kmu is held.
func (e *Evaluator) knownBy(id sandbox.WorkerID) map[string]struct{} {
	if k, ok := e.known[id]; ok {
		return k
	}
	for len(e.known) >= 2*e.workers {
		oldest := id
		for w := range e.known {
			oldest = min(oldest, w)
		}
		delete(e.known, oldest)
	}
	k := make(map[string]struct{})
	e.known[id] = k
	return k
}

// settle hands a worker's answer for p to its caller, or queues p again: with its code
// when the worker did not have it, alone when the worker was lost before answering.
func (e *Evaluator) settle(worker sandbox.WorkerID, p *pending, resp []byte, err error) {
	switch {
	case err == nil && len(resp) > 0 && resp[0] == respOutput:
		e.finish(p, result{output: string(resp[1:])})
		return
	case err == nil && len(resp) == 1 && resp[0] == respUnknown:
		e.unknownCode.Add(1)
		e.kmu.Lock()
		delete(e.known[worker], p.hash)
		delete(e.known[worker], p.key)
		e.kmu.Unlock()
		e.mu.Lock()
		p.resend = true
		e.front = append(e.front, p)
		e.mu.Unlock()
		return
	case err == nil:
		e.finish(p, result{err: errors.New("policy sandbox: unreadable worker response")})
		return
	case errors.Is(err, sandbox.ErrNotRun):
		e.forget(worker)
		e.mu.Lock()
		e.front = append(e.front, p)
		e.mu.Unlock()
		return
	case errors.Is(err, sandbox.ErrUnfinished) && !p.retried:
		e.forget(worker)
		e.mu.Lock()
		p.retried, p.resend = true, true
		e.alone = append(e.alone, p)
		e.mu.Unlock()
		return
	}
	if errors.Is(err, sandbox.ErrDeadline) || errors.Is(err, sandbox.ErrMemory) || errors.Is(err, sandbox.ErrCrashed) {
		e.forget(worker)
	}
	e.finish(p, result{err: err})
}

// forget drops what a lost worker was sent.
func (e *Evaluator) forget(worker sandbox.WorkerID) {
	e.kmu.Lock()
	delete(e.known, worker)
	e.kmu.Unlock()
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
	// kindEvaluate: a flags byte; if flagCode, a uint32 n and n bytes of JSON
	// domain.PolicyCode; if flagStatics, a uint32 n and n bytes of statics (see wire);
	// the 16-byte key of the statics; the policy.Input without its code and statics.
	// Response: respOutput, or respUnknown when the worker lacks the code or the statics.
	kindEvaluate byte = 'v'
	flagCode     byte = 1
	flagStatics  byte = 2
	kindCompile  byte = 'c' // JSON domain.PolicyCode; response: JSON compileResult
)

// Response kinds of an evaluation: the first byte of its response.
const (
	respOutput  byte = 'o' // policy.Output follows (see wire)
	respUnknown byte = 'u' // the worker lacks the code or the statics of the input
)

// maxKnown bounds the codes, and the statics, kept per worker (and remembered for it).
const maxKnown = 4096

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
	limit, err := strconv.ParseInt(os.Getenv(envCodeCache), 10, 64)
	if err != nil || limit <= 0 {
		limit = DefaultCodeCacheBytes
	}
	// A worker's live heap is small (compiled blocks, code) and each block allocates a few
	// KiB: collecting at 5× the live heap instead of 2× saves most of the collector's work
	// per block. The pool's soft memory limit still collects before the ceiling.
	debug.SetGCPercent(400)
	sandbox.Serve(handler(rt, limit))
}

// Handler adapts a runtime to the sandbox worker protocol, keeping up to
// DefaultCodeCacheBytes of policy code, and as much of blocks' policies and communities,
// by key. Both kinds of request go through the runtime's cache of compiled blocks, so a
// policy validated when it was proposed is already compiled when this worker first
// evaluates it.
func Handler(rt *policy.Runtime) sandbox.Handler {
	return handler(rt, DefaultCodeCacheBytes)
}

// handler serves one request at a time (as sandbox.Serve calls it).
func handler(rt *policy.Runtime, limit int64) sandbox.Handler {
	w := &workerState{
		rt:      rt,
		codes:   newStore[domain.PolicyCode](limit),
		shared:  newStore[statics](limit),
		inputs:  newWire[policy.Input](),
		outputs: newWire[policy.Output](),
		statics: newWire[statics](),
		strs:    newInterner(),
	}
	return func(ctx context.Context, req []byte) []byte {
		if len(req) > 0 && req[0] == kindCompile {
			return compile(rt, req[1:])
		}
		// The input and the response's buffer are reused from block to block: the sandbox
		// copies a response before it calls the handler again.
		in, out := &w.in, &w.outV
		*in = policy.Input{}
		var known bool
		*out, known = w.evaluate(ctx, req, in)
		block := in.Block
		*in = policy.Input{} // keep nothing of this block alive
		if !known {
			return []byte{respUnknown}
		}
		buf := append(w.out[:0], respOutput)
		resp, err := w.outputs.encode(buf, out)
		*out = policy.Output{}
		if err != nil {
			fail := failed(block, "OutputError", fmt.Sprintf("cannot encode the block's output: %v", err))
			resp, _ = w.outputs.encode(buf[:1], &fail)
		}
		if cap(resp) <= maxKeptResponse {
			w.out = resp[:0]
		}
		return resp
	}
}

// maxKeptResponse bounds the response buffer a worker keeps between blocks.
const maxKeptResponse = 64 << 10

// workerState is what a worker keeps between requests.
type workerState struct {
	rt      *policy.Runtime
	codes   *store[domain.PolicyCode]
	shared  *store[statics]
	inputs  *wire[policy.Input]
	outputs *wire[policy.Output]
	statics *wire[statics]
	strs    *interner
	in      policy.Input  // of the block running
	outV    policy.Output // of the block running
	out     []byte        // the last response's buffer
}

// evaluate decodes an evaluation request into in and runs it; known is false when the
// worker lacks the code or the statics the request refers to.
func (w *workerState) evaluate(ctx context.Context, req []byte, in *policy.Input) (out policy.Output, known bool) {
	if len(req) < 2 || req[0] != kindEvaluate {
		return failed("", "InputError", "unknown request kind"), true
	}
	flags, body := req[1], req[2:]
	part := func() ([]byte, bool) {
		if len(body) < 4 || int64(binary.BigEndian.Uint32(body)) > int64(len(body)-4) {
			return nil, false
		}
		n := int(binary.BigEndian.Uint32(body))
		p := body[4 : 4+n]
		body = body[4+n:]
		return p, true
	}
	var code domain.PolicyCode
	var st statics
	var stRaw []byte
	if flags&flagCode != 0 {
		raw, ok := part()
		if !ok {
			return failed("", "InputError", "truncated policy code"), true
		}
		var err error
		if code, err = decodeCode(raw); err != nil {
			return failed("", "InputError", fmt.Sprintf("unreadable policy code: %v", err)), true
		}
	}
	if flags&flagStatics != 0 {
		var ok bool
		if stRaw, ok = part(); !ok {
			return failed("", "InputError", "truncated policy and community"), true
		}
		var err error
		if st, err = w.decodeStatics(stRaw); err != nil {
			return failed("", "InputError", fmt.Sprintf("unreadable policy and community: %v", err)), true
		}
	}
	if len(body) < 16 {
		return failed("", "InputError", "truncated input"), true
	}
	key := body[:16]
	if err := w.inputs.decodeCopy(body[16:], in); err != nil {
		return failed(in.Block, "InputError", fmt.Sprintf("unreadable evaluation input: %v", err)), true
	}
	// The runtime keeps these as the key of its compiled blocks (and so do the codes kept
	// here): kept alone, not as part of this block's whole input.
	in.CodeHash, in.Block = w.strs.intern(in.CodeHash), policy.Block(w.strs.intern(string(in.Block)))
	if in.CodeHash == "" {
		return failed(in.Block, "InputError", "evaluation input without a code hash"), true
	}
	if flags&flagCode != 0 {
		w.codes.put(in.CodeHash, code, codeSize(code))
	} else if code, known = w.codes.get(in.CodeHash); !known {
		return policy.Output{}, false
	}
	if flags&flagStatics != 0 {
		w.shared.put(string(key), st, len(stRaw))
	} else if st, known = w.shared.get(string(key)); !known {
		return policy.Output{}, false
	}
	// The runtime only reads an input: blocks of a community share its decoded statics.
	in.Code, in.Policy, in.Community = code, st.Policy, st.Community
	return w.rt.Evaluate(ctx, *in), true
}

// decodeCode and decodeStatics decode what a block is sent only now and then, keeping
// their values off the heap of the blocks that are not.
func decodeCode(raw []byte) (domain.PolicyCode, error) {
	var code domain.PolicyCode
	err := json.Unmarshal(raw, &code)
	return code, err
}

func (w *workerState) decodeStatics(raw []byte) (statics, error) {
	var st statics
	err := w.statics.decode(raw, &st, w.strs)
	return st, err
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
