package sandbox

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// maxSendAttempts bounds how many dead idle workers a call skips before it gives up.
const maxSendAttempts = 3

// Pool is a fixed-size pool of pre-started worker processes. It is safe for concurrent use.
type Pool struct {
	opts Options
	log  *slog.Logger
	env  []string

	idle    chan *worker  // started, handshaken workers waiting for a call
	closing chan struct{} // closed by Close
	closed  chan struct{} // closed when Close has finished
	ctx     context.Context
	cancel  context.CancelFunc // bounds start-ups; called by Close

	starts      chan startRequest // to the spawner
	spawnerDone chan struct{}

	mu       sync.Mutex
	isClosed bool
	live     map[*worker]struct{} // every started process not yet disposed of
	nextID   uint64

	// wg counts running Calls and the pool's goroutines (reapers, replacements, detached
	// waits). Add happens only under mu while open, or from a goroutine already counted.
	wg sync.WaitGroup

	calls, batches, deadlines, memoryKills, crashes, panics, restarts, startFailures atomic.Uint64
}

// Stats are a pool's counters since it was created, for metrics.
type Stats struct {
	Workers       int    // live worker processes, idle or busy
	Idle          int    // workers waiting for a call
	Calls         uint64 // requests that reached a worker, alone (Call) or in a Batch
	Batches       uint64 // Batch round trips that reached a worker
	Deadlines     uint64 // workers killed at a call's deadline
	MemoryKills   uint64 // workers that died of or were killed for memory
	Crashes       uint64 // workers that died otherwise or broke the protocol
	Panics        uint64 // handler panics (recovered; the worker kept serving)
	Restarts      uint64 // replacement workers started
	StartFailures uint64 // failed attempts to start a replacement
}

// Kills is the number of workers lost to deadlines, memory and crashes.
func (s Stats) Kills() uint64 { return s.Deadlines + s.MemoryKills + s.Crashes }

// NewPool starts opts.Size workers and waits for each to be ready; ctx bounds only this
// start-up. logger (nil: discard) receives the workers' stderr and lifecycle events. The
// pool lives until Close.
func NewPool(ctx context.Context, opts Options, logger *slog.Logger) (*Pool, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	env := append(opts.Env[:len(opts.Env):len(opts.Env)],
		envWorker+"=1",
		envMemoryLimit+"="+strconv.FormatInt(opts.MemoryLimit, 10),
		envMaxRequest+"="+strconv.Itoa(opts.MaxRequestBytes),
		envMaxResponse+"="+strconv.Itoa(opts.MaxResponseBytes),
		"GOMAXPROCS=1",
	)
	if opts.noAddressLimit {
		env = append(env, envAddressLimit+"=0")
	}
	pctx, cancel := context.WithCancel(context.Background())
	p := &Pool{
		opts:    opts,
		log:     logger,
		env:     env,
		idle:    make(chan *worker, opts.Size),
		closing: make(chan struct{}),
		closed:  make(chan struct{}),
		ctx:     pctx,
		cancel:  cancel,
		live:    make(map[*worker]struct{}),

		starts:      make(chan startRequest),
		spawnerDone: make(chan struct{}),
	}
	go p.spawner()
	type started struct {
		w   *worker
		err error
	}
	results := make(chan started, opts.Size)
	for range opts.Size {
		p.wg.Add(1) // the pool is not shared yet: no Close can be waiting
		go func() {
			defer p.wg.Done()
			w, err := p.spawn(ctx)
			results <- started{w, err}
		}()
	}
	var errs []error
	for range opts.Size {
		r := <-results
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		p.idle <- r.w
	}
	if len(errs) > 0 {
		p.Close()
		return nil, fmt.Errorf("sandbox: start workers: %w", errors.Join(errs...))
	}
	return p, nil
}

// Call sends req to an idle worker, waiting for one (as long as ctx allows) if all are busy,
// and returns the worker's response.
//
// The call's deadline is the smaller of Options.Deadline and ctx's deadline. Past it the
// worker is killed and replaced in the background and Call returns ErrDeadline. A worker
// that dies during the call yields ErrMemory or ErrCrashed and is replaced; one found dead
// before it could take the request (it died while idle) is replaced and the request goes to
// another worker. If ctx is cancelled during the call, Call returns ctx.Err() at once; the
// worker finishes (or is killed at the deadline) in the background and is then reused. A
// context that ends while Call waits for a worker yields ctx.Err().
func (p *Pool) Call(ctx context.Context, req []byte) ([]byte, error) {
	if len(req) > p.opts.MaxRequestBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrRequestTooLarge, len(req), p.opts.MaxRequestBytes)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !p.enter() {
		return nil, ErrClosed
	}
	defer p.wg.Done()
	var (
		w        *worker
		start    time.Time
		hard     time.Time
		ctxBound bool
	)
	for attempt := 1; ; attempt++ {
		var err error
		if w, err = p.acquire(ctx); err != nil {
			return nil, err
		}
		start = time.Now()
		hard, ctxBound = start.Add(p.opts.Deadline), false
		if d, ok := ctx.Deadline(); ok && d.Before(hard) {
			hard, ctxBound = d, true
		}
		if !start.Before(hard) { // do not kill a worker for a context that is all but over
			p.idle <- w
			return nil, context.DeadlineExceeded
		}
		err = w.send(req, hard.Sub(start), hard)
		if err == nil {
			break
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			p.calls.Add(1)
			return nil, p.deadlineKill(w, start, ctxBound)
		}
		// The worker died while idle (the kernel's OOM killer, an operator's kill): it
		// never saw the request, which can go to another worker.
		if err := p.died(w, err); attempt == maxSendAttempts || errors.Is(err, ErrClosed) {
			return nil, err
		}
	}
	p.calls.Add(1)
	status, body, o, err := w.await(ctx, hard, true)
	if o == canceled {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, p.deadlineKill(w, start, true)
		}
		p.wg.Add(1) // we hold a count
		go p.finish(w, start, hard)
		return nil, err
	}
	return p.settle(w, status, body, o, err, start, ctxBound)
}

// finish waits in the background for the response of a call whose caller gave up, then
// reuses or replaces the worker.
func (p *Pool) finish(w *worker, start, hard time.Time) {
	defer p.wg.Done()
	status, body, o, err := w.await(context.Background(), hard, true)
	_, err = p.settle(w, status, body, o, err, start, false)
	w.log.Debug("sandbox call finished after its caller left", "err", err)
}

// settle turns the outcome of a call into its result and returns the worker to the pool or
// retires it.
func (p *Pool) settle(w *worker, status byte, body []byte, o outcome, err error, start time.Time, ctxBound bool) ([]byte, error) {
	switch o {
	case gotFrame:
		switch status {
		case statusOK:
			resp := make([]byte, len(body))
			copy(resp, body)
			p.idle <- w
			return resp, nil
		case statusPanic:
			p.panics.Add(1)
			msg := string(body)
			p.idle <- w
			return nil, fmt.Errorf("%w: %s", ErrPanic, msg)
		case statusTooLarge:
			msg := string(body)
			p.idle <- w
			return nil, fmt.Errorf("%w: %s", ErrResponseTooLarge, msg)
		}
		return nil, p.protocolKill(w, fmt.Errorf("unexpected status %#x", status))
	}
	return nil, p.lost(w, o, err, start, ctxBound)
}

// lost retires a worker that did not answer (o is not gotFrame) and explains why.
func (p *Pool) lost(w *worker, o outcome, err error, start time.Time, ctxBound bool) error {
	switch o {
	case hitDeadline:
		return p.deadlineKill(w, start, ctxBound)
	case hitMemory:
		w.kill(reasonMemory)
		p.memoryKills.Add(1)
		w.log.Warn("sandbox worker killed: resident size over the memory limit", "limit", p.opts.MemoryLimit)
		p.retire(w)
		return fmt.Errorf("%w (worker pid %d: resident size over %d bytes)", ErrMemory, w.pid, p.opts.MemoryLimit)
	case badFrame:
		return p.protocolKill(w, err)
	default: // brokenPipe
		return p.died(w, err)
	}
}

func (p *Pool) deadlineKill(w *worker, start time.Time, ctxBound bool) error {
	w.kill(reasonDeadline)
	p.deadlines.Add(1)
	elapsed := time.Since(start).Round(time.Millisecond)
	w.log.Info("sandbox worker killed at the deadline", "after", elapsed)
	p.retire(w)
	if ctxBound {
		return fmt.Errorf("%w after %v (%w)", ErrDeadline, elapsed, context.DeadlineExceeded)
	}
	return fmt.Errorf("%w after %v", ErrDeadline, elapsed)
}

func (p *Pool) protocolKill(w *worker, cause error) error {
	w.kill(reasonProtocol)
	p.crashes.Add(1)
	w.log.Warn("sandbox worker killed: protocol violation", "err", cause)
	p.retire(w)
	return fmt.Errorf("%w (worker pid %d: protocol violation: %v)", ErrCrashed, w.pid, cause)
}

// died explains the death of a worker whose pipe broke, and retires it.
func (p *Pool) died(w *worker, cause error) error {
	t := time.NewTimer(exitGrace)
	select {
	case <-w.done:
		t.Stop()
	case <-t.C: // it closed its stdout but lives on
		w.kill(reasonProtocol)
		<-w.done
	}
	err := p.deathError(w, cause)
	p.retire(w)
	return err
}

func (p *Pool) deathError(w *worker, cause error) error {
	oom, first := w.stderr.finish()
	desc := "pipe: " + cause.Error()
	if st := w.cmd.ProcessState; st != nil {
		desc = st.String()
	}
	if first != "" {
		desc += ": " + first
	}
	switch w.reason.Load() {
	case reasonClosed:
		return ErrClosed
	case reasonProtocol:
		p.crashes.Add(1)
		w.log.Warn("sandbox worker killed: stdout closed but the process did not exit")
		return fmt.Errorf("%w (worker pid %d closed its output without exiting)", ErrCrashed, w.pid)
	}
	if oom || killedBySignal(w.cmd.ProcessState, syscall.SIGKILL) {
		p.memoryKills.Add(1)
		w.log.Warn("sandbox worker died of memory exhaustion", "status", desc)
		return fmt.Errorf("%w (worker pid %d: %s)", ErrMemory, w.pid, desc)
	}
	p.crashes.Add(1)
	w.log.Warn("sandbox worker crashed", "status", desc)
	return fmt.Errorf("%w (worker pid %d: %s)", ErrCrashed, w.pid, desc)
}

func killedBySignal(st *os.ProcessState, sig syscall.Signal) bool {
	if st == nil {
		return false
	}
	ws, ok := st.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// retire disposes of w in the background and starts its replacement. The caller holds a
// count of p.wg.
func (p *Pool) retire(w *worker) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		w.kill(reasonRetired)
		w.dispose()
		p.replace()
	}()
}

// replace starts a worker and adds it to the idle set, retrying with backoff until it
// succeeds or the pool closes.
func (p *Pool) replace() {
	backoff := 50 * time.Millisecond
	for {
		if p.closingNow() {
			return
		}
		w, err := p.spawn(p.ctx)
		if err == nil {
			p.restarts.Add(1)
			p.idle <- w
			return
		}
		if p.closingNow() {
			return
		}
		p.startFailures.Add(1)
		p.log.Error("sandbox: cannot start a replacement worker", "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-p.closing:
			t.Stop()
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (p *Pool) closingNow() bool {
	select {
	case <-p.closing:
		return true
	default:
		return false
	}
}

func (p *Pool) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isClosed {
		return false
	}
	p.wg.Add(1)
	return true
}

func (p *Pool) acquire(ctx context.Context) (*worker, error) {
	select {
	case w := <-p.idle:
		return w, nil
	default:
	}
	select {
	case w := <-p.idle:
		return w, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.closing:
		return nil, ErrClosed
	}
}

// Close kills every worker, waits for them and for the pool's goroutines, and makes further
// calls fail with ErrClosed. Calls in flight return ErrClosed. Close is idempotent.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.isClosed {
		p.mu.Unlock()
		<-p.closed
		return nil
	}
	p.isClosed = true
	close(p.closing)
	p.cancel()
	for w := range p.live {
		w.kill(reasonClosed)
	}
	p.mu.Unlock()
	p.wg.Wait()
	for {
		select {
		case w := <-p.idle:
			w.dispose()
			continue
		default:
		}
		break
	}
	close(p.starts) // no spawn is left: they all run in goroutines counted by wg
	<-p.spawnerDone
	close(p.closed)
	return nil
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	workers := len(p.live)
	p.mu.Unlock()
	return Stats{
		Workers:       workers,
		Idle:          len(p.idle),
		Calls:         p.calls.Load(),
		Batches:       p.batches.Load(),
		Deadlines:     p.deadlines.Load(),
		MemoryKills:   p.memoryKills.Load(),
		Crashes:       p.crashes.Load(),
		Panics:        p.panics.Load(),
		Restarts:      p.restarts.Load(),
		StartFailures: p.startFailures.Load(),
	}
}

// Why the pool killed a worker.
const (
	reasonNone int32 = iota
	reasonDeadline
	reasonMemory
	reasonClosed
	reasonProtocol
	reasonStart
	reasonRetired
)

// worker is the parent's end of one worker process. Outside the fields set at start, it is
// used by one goroutine at a time: whoever took it from the idle set.
type worker struct {
	p        *Pool
	id       uint64
	pid      int
	cmd      *exec.Cmd
	in       *os.File // the worker's stdin
	out      *os.File // the worker's stdout
	stderr   *stderrSink
	log      *slog.Logger
	done     chan struct{} // closed when the process has been waited for
	reason   atomic.Int32  // first reason the pool killed it
	baseRSS  int64         // resident size once ready
	maxFrame int           // largest response frame body
	rbuf     []byte        // responses read; rbuf[rlo:rhi] is not consumed yet
	rlo, rhi int
	lastRead time.Time // when the last bytes were read
	wbuf     []byte
}

type startRequest struct {
	cmd *exec.Cmd
	err chan error
}

// spawner starts every worker process of the pool from one OS thread that lives as long
// as the pool. Linux delivers a child's parent-death signal (Pdeathsig) when the thread that
// forked it exits, not the process: forking from arbitrary threads would let a worker be
// killed whenever the runtime retires a thread (a goroutine that exits locked to its thread).
func (p *Pool) spawner() {
	defer close(p.spawnerDone)
	runtime.LockOSThread() // never unlocked: the thread ends with this goroutine, at Close
	for r := range p.starts {
		r.err <- r.cmd.Start()
	}
}

func (p *Pool) start(cmd *exec.Cmd) error {
	r := startRequest{cmd: cmd, err: make(chan error, 1)}
	p.starts <- r
	return <-r.err
}

// spawn starts a worker process and waits for its hello frame.
func (p *Pool) spawn(ctx context.Context) (*worker, error) {
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox: pipe: %w", err)
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		return nil, fmt.Errorf("sandbox: pipe: %w", err)
	}
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	p.mu.Unlock()
	sink := &stderrSink{log: p.log.With("worker", id)}
	cmd := exec.Command(p.opts.Command, p.opts.Args...)
	cmd.Env = p.env
	cmd.Stdin = stdinR
	cmd.Stdout = stdoutW
	cmd.Stderr = sink
	// Own process group: a terminal's signals to the parent's group do not reach workers.
	// Pdeathsig: workers die with the parent.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = exitGrace
	err = p.start(cmd)
	stdinR.Close()
	stdoutW.Close()
	if err != nil {
		stdinW.Close()
		stdoutR.Close()
		return nil, fmt.Errorf("sandbox: start worker %s: %w", p.opts.Command, err)
	}
	w := &worker{
		p:        p,
		id:       id,
		pid:      cmd.Process.Pid,
		cmd:      cmd,
		in:       stdinW,
		out:      stdoutR,
		stderr:   sink,
		log:      p.log.With("worker", id, "pid", cmd.Process.Pid),
		done:     make(chan struct{}),
		maxFrame: 1 + max(p.opts.MaxResponseBytes, panicMessageMax, len(helloPayload)),
		rbuf:     make([]byte, bufSize),
		wbuf:     make([]byte, 0, bufSize),
	}
	sink.setLog(w.log)
	p.mu.Lock()
	closed := p.isClosed
	if !closed {
		p.live[w] = struct{}{}
	}
	p.mu.Unlock()
	p.wg.Add(1) // the caller holds a count
	go w.reap()
	if closed {
		w.kill(reasonClosed)
		<-w.done
		w.closeFiles()
		return nil, ErrClosed
	}
	status, body, o, err := w.await(ctx, time.Now().Add(startTimeout), false)
	if o == gotFrame && status == statusHello && string(body) == helloPayload {
		if _, rss, err := statm(w.pid); err == nil {
			w.baseRSS = rss
		}
		w.log.Debug("sandbox worker ready", "rss", w.baseRSS)
		return w, nil
	}
	w.kill(reasonStart)
	w.dispose()
	_, first := sink.finish()
	switch {
	case o == gotFrame:
		err = fmt.Errorf("unexpected handshake (status %#x, %q)", status, truncate(body, 64))
	case o == hitDeadline:
		err = fmt.Errorf("no handshake within %v", startTimeout)
	case o == canceled:
		err = fmt.Errorf("start-up cancelled: %w", err)
	case o == badFrame:
		err = fmt.Errorf("protocol violation before its handshake: %v", err)
	default:
		err = fmt.Errorf("exited before its handshake (%v)", cmd.ProcessState)
	}
	if first != "" {
		err = fmt.Errorf("%w; stderr: %s", err, first)
	}
	return nil, fmt.Errorf("sandbox: worker %s: %w (does its main call sandbox.Serve when sandbox.IsWorker()?)", p.opts.Command, err)
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func (w *worker) reap() {
	defer w.p.wg.Done()
	_ = w.cmd.Wait()
	close(w.done)
}

// kill sends SIGKILL, remembering the first reason. Harmless once the process is gone.
func (w *worker) kill(reason int32) {
	w.reason.CompareAndSwap(reasonNone, reason)
	_ = w.cmd.Process.Kill()
}

// dispose waits for a killed or dead worker and releases its resources.
func (w *worker) dispose() {
	<-w.done
	w.closeFiles()
	w.stderr.finish()
	w.p.mu.Lock()
	delete(w.p.live, w)
	w.p.mu.Unlock()
}

func (w *worker) closeFiles() {
	w.in.Close()
	w.out.Close()
}

// send writes a frame of one request, giving the worker budget.
func (w *worker) send(req []byte, budget time.Duration, hard time.Time) error {
	buf := appendFrameHeader(w.wbuf[:0], itemHeader+len(req), 1)
	buf = appendItem(buf, req, budget)
	return w.write(buf, hard)
}

// sendBatch writes a frame of the requests, each with its budget.
func (w *worker) sendBatch(reqs []Request, hard time.Time) error {
	size := 0
	for _, r := range reqs {
		size += itemHeader + len(r.Body)
	}
	buf := appendFrameHeader(w.wbuf[:0], size, len(reqs))
	for _, r := range reqs {
		buf = appendItem(buf, r.Body, r.Budget)
	}
	return w.write(buf, hard)
}

// write sends a frame in one write and keeps its buffer for the next one, unless it grew
// far past the usual size.
func (w *worker) write(frame []byte, hard time.Time) error {
	if cap(frame) <= 4*bufSize {
		w.wbuf = frame[:0]
	}
	if err := w.in.SetWriteDeadline(hard); err != nil {
		return err
	}
	_, err := w.in.Write(frame)
	return err
}

func appendFrameHeader(b []byte, size, count int) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(4+size))
	return binary.BigEndian.AppendUint32(b, uint32(count))
}

func appendItem(b, req []byte, budget time.Duration) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(budget))
	b = binary.BigEndian.AppendUint32(b, uint32(len(req)))
	return append(b, req...)
}

type outcome int

const (
	gotFrame    outcome = iota
	hitDeadline         // the hard deadline passed
	hitMemory           // the watchdog saw the worker over its memory limit
	canceled            // ctx ended (err is ctx.Err())
	brokenPipe          // EOF or read error: the worker died
	badFrame            // protocol violation
)

// await reads exactly one response frame until hard, watching the worker's memory if
// watch: bytes after it are a protocol violation. The returned body aliases w.rbuf.
func (w *worker) await(ctx context.Context, hard time.Time, watch bool) (status byte, body []byte, o outcome, err error) {
	status, body, o, err = w.next(ctx, hard, watch)
	if o == gotFrame && w.rhi > w.rlo {
		return 0, nil, badFrame, errors.New("bytes after the response frame")
	}
	return status, body, o, err
}

// next returns the next response frame, from what an earlier read left in w.rbuf or by
// reading until hard, watching the worker's memory if watch. The returned body aliases
// w.rbuf until the next call.
func (w *worker) next(ctx context.Context, hard time.Time, watch bool) (status byte, body []byte, o outcome, err error) {
	if w.rlo == w.rhi {
		w.rlo, w.rhi = 0, 0
		if len(w.rbuf) > bufSize {
			w.rbuf = make([]byte, bufSize)
		}
	}
	if ctx.Done() != nil {
		// Wake the read below when ctx ends. A wake-up that lands on a later call's read is
		// harmless: it reads as a watch tick.
		stop := context.AfterFunc(ctx, func() { _ = w.out.SetReadDeadline(time.Unix(1, 0)) })
		defer stop()
	}
	for {
		need := 4
		if have := w.rhi - w.rlo; have >= 4 {
			size := int(binary.BigEndian.Uint32(w.rbuf[w.rlo:]))
			if size < 1 || size > w.maxFrame {
				return 0, nil, badFrame, fmt.Errorf("response frame of %d bytes", size)
			}
			need = 4 + size
			if have >= need {
				frame := w.rbuf[w.rlo : w.rlo+need]
				w.rlo += need
				return frame[4], frame[5:], gotFrame, nil
			}
		}
		if w.rlo+need > len(w.rbuf) { // make room for the rest of the frame
			buf := w.rbuf
			if need > len(buf) {
				buf = make([]byte, need)
			}
			w.rhi = copy(buf, w.rbuf[w.rlo:w.rhi])
			w.rlo, w.rbuf = 0, buf
		}
		now := time.Now()
		if !now.Before(hard) {
			return 0, nil, hitDeadline, nil
		}
		next := hard
		if t := now.Add(watchInterval); watch && t.Before(hard) {
			next = t
		}
		if err := w.out.SetReadDeadline(next); err != nil {
			return 0, nil, brokenPipe, err
		}
		if err := ctx.Err(); err != nil { // after SetReadDeadline: no wake-up is lost
			return 0, nil, canceled, err
		}
		n, err := w.out.Read(w.rbuf[w.rhi:])
		w.rhi += n
		if n > 0 {
			w.lastRead = time.Now()
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if watch && w.overMemory() {
					return 0, nil, hitMemory, nil
				}
				continue
			}
			if n > 0 {
				continue // use what arrived; the error comes back on the next read
			}
			return 0, nil, brokenPipe, err
		}
	}
}

func (w *worker) overMemory() bool {
	_, rss, err := statm(w.pid)
	return err == nil && rss > w.baseRSS+w.p.opts.MemoryLimit
}
