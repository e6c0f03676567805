package sandbox

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Handler computes a worker's response to one request. ctx expires a little before the
// parent kills the worker (see Serve). req is the handler's until it returns: the worker
// reuses its memory for later requests, so a handler that keeps any of it keeps a copy.
// The worker copies the response before it calls the handler again, so a handler may
// return a buffer it reuses (or a part of req).
// A handler reports its own errors inside the response; a panic is recovered and reported
// to the caller as ErrPanic.
type Handler func(ctx context.Context, req []byte) []byte

// IsWorker reports whether this process was started by a Pool as one of its workers. A
// binary's main calls it first thing and, when true, hands over to Serve.
func IsWorker() bool { return os.Getenv(envWorker) == "1" }

// Serve runs the worker loop: it reads requests from the pool on stdin, answers each with
// handler on stdout, and exits when the pool closes the pipe. It never returns.
//
// Before serving, the worker: takes private duplicates of stdin and stdout for the protocol
// and points fd 0 at /dev/null and fd 1 at stderr; replaces with /dev/null every other
// descriptor it inherited (any fd above 2 without close-on-exec: Go opens everything
// close-on-exec, so such descriptors leaked from whatever started the parent); sets
// GOMAXPROCS to 1, the memory ceiling (see the package documentation) and no core dumps;
// and removes the sandbox's variables from its environment.
//
// Each request's handler context carries a deadline 10% (at most 100ms) before the parent's
// hard deadline, so that a cooperative handler can stop in time and keep its worker.
// Serve handles one request at a time; the requests of a batch run in order, each under its
// own budget.
func Serve(handler Handler) {
	err := serve(handler)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbox worker: %v\n", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// noticePrefix starts the worker's start-up notices on stderr.
const noticePrefix = "sandbox worker notice: "

type workerConfig struct {
	memoryLimit  int64
	maxRequest   int
	maxResponse  int
	addressLimit bool
}

func serve(handler Handler) error {
	if handler == nil {
		return errors.New("nil handler")
	}
	cfg, err := readWorkerEnv()
	if err != nil {
		return err
	}
	runtime.GOMAXPROCS(1)
	in, out, err := takeStdio()
	if err != nil {
		return err
	}
	if err := setLimits(cfg); err != nil {
		return err
	}
	w := &workerLoop{
		handler: handler,
		cfg:     cfg,
		in:      bufio.NewReaderSize(in, bufSize),
		out:     out,
		wbuf:    make([]byte, 0, bufSize),
	}
	w.append(statusHello, []byte(helloPayload))
	if err := w.flush(); err != nil {
		return err
	}
	return w.run()
}

func readWorkerEnv() (workerConfig, error) {
	num := func(name string, lo, hi int64) (int64, error) {
		v, err := strconv.ParseInt(os.Getenv(name), 10, 64)
		if err != nil || v < lo || v > hi {
			return 0, fmt.Errorf("%s=%q: want an integer in %d..%d (was this process started by a sandbox.Pool?)", name, os.Getenv(name), lo, hi)
		}
		return v, nil
	}
	var cfg workerConfig
	var err error
	if cfg.memoryLimit, err = num(envMemoryLimit, MinMemoryLimit, 1<<50); err != nil {
		return cfg, err
	}
	req, err := num(envMaxRequest, 0, MaxMessageBytes)
	if err != nil {
		return cfg, err
	}
	resp, err := num(envMaxResponse, 0, MaxMessageBytes)
	if err != nil {
		return cfg, err
	}
	cfg.maxRequest, cfg.maxResponse = int(req), int(resp)
	cfg.addressLimit = os.Getenv(envAddressLimit) != "0"
	for _, name := range []string{envWorker, envMemoryLimit, envMaxRequest, envMaxResponse, envAddressLimit} {
		os.Unsetenv(name)
	}
	return cfg, nil
}

// takeStdio moves the protocol pipes off fds 0 and 1, neutralises inherited descriptors and
// returns the protocol's private files.
func takeStdio() (in, out *os.File, err error) {
	devnull, err := syscall.Open("/dev/null", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/null: %w", err)
	}
	defer syscall.Close(devnull)
	if err := neutraliseInherited(devnull); err != nil {
		return nil, nil, err
	}
	inFD, err := dupCloexec(0)
	if err != nil {
		return nil, nil, err
	}
	outFD, err := dupCloexec(1)
	if err != nil {
		return nil, nil, err
	}
	if err := syscall.Dup3(devnull, 0, 0); err != nil {
		return nil, nil, fmt.Errorf("dup3 /dev/null onto stdin: %w", err)
	}
	if err := syscall.Dup3(2, 1, 0); err != nil {
		return nil, nil, fmt.Errorf("dup3 stderr onto stdout: %w", err)
	}
	return os.NewFile(uintptr(inFD), "sandbox-request"), os.NewFile(uintptr(outFD), "sandbox-response"), nil
}

func dupCloexec(fd int) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 3)
	if errno != 0 {
		return -1, fmt.Errorf("dup fd %d: %w", fd, errno)
	}
	return int(r), nil
}

// neutraliseInherited points every descriptor above 2 that lacks close-on-exec at
// /dev/null. Such descriptors were inherited: the Go runtime and standard library open
// everything close-on-exec. Pointing them at /dev/null (rather than closing them) keeps their
// numbers taken, so nothing that might still hold one can close a reused number.
func neutraliseInherited(devnull int) error {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list descriptors: %w", err)
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= 2 || fd == devnull {
			continue
		}
		flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
		if errno != 0 || flags&syscall.FD_CLOEXEC != 0 {
			continue // closed since the listing (the listing's own fd), or ours
		}
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		if err := syscall.Dup3(devnull, fd, syscall.O_CLOEXEC); err != nil {
			return fmt.Errorf("neutralise inherited fd %d (%s): %w", fd, target, err)
		}
		fmt.Fprintf(os.Stderr, "%sneutralised inherited fd %d (%s)\n", noticePrefix, fd, target)
	}
	return nil
}

func setLimits(cfg workerConfig) error {
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{}); err != nil {
		return fmt.Errorf("setrlimit RLIMIT_CORE: %w", err)
	}
	debug.SetMemoryLimit(cfg.memoryLimit - cfg.memoryLimit/8)
	if !cfg.addressLimit || raceEnabled {
		return nil
	}
	vsz, _, err := statm(os.Getpid())
	if err != nil {
		return err
	}
	lim := uint64(vsz + cfg.memoryLimit)
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: lim, Max: lim}); err != nil {
		return fmt.Errorf("setrlimit RLIMIT_AS: %w", err)
	}
	return nil
}

// statm returns the address-space and resident sizes of process pid in bytes.
func statm(pid int) (vsz, rss int64, err error) {
	var buf [128]byte
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/statm")
	if err != nil {
		return 0, 0, err
	}
	n, err := f.Read(buf[:])
	f.Close()
	if err != nil {
		return 0, 0, err
	}
	fields := strings.Fields(string(buf[:n]))
	if len(fields) < 2 {
		return 0, 0, fmt.Errorf("parse /proc/%d/statm %q", pid, buf[:n])
	}
	v, err1 := strconv.ParseInt(fields[0], 10, 64)
	r, err2 := strconv.ParseInt(fields[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("parse /proc/%d/statm %q", pid, buf[:n])
	}
	page := int64(os.Getpagesize())
	return v * page, r * page, nil
}

type workerLoop struct {
	handler Handler
	cfg     workerConfig
	in      *bufio.Reader
	out     *os.File

	// The batch's timer writes from its own goroutine while a request runs: mu guards
	// what follows.
	mu        sync.Mutex
	wbuf      []byte    // response frames not yet written
	lastFlush time.Time // of wbuf
	started   time.Time // of the request running; zero between requests
	marked    bool      // the parent was told that this request is running
	werr      error     // of the timer's write
}

// item is one request of a frame.
type item struct {
	budget time.Duration
	req    []byte
}

func (w *workerLoop) run() error {
	var (
		hdr   [4]byte
		frame []byte // reused from frame to frame (see Handler)
		items []item
	)
	maxFrame := uint64(w.cfg.maxRequest) + frameHeader - 4 + itemHeader*MaxBatch
	for {
		if _, err := io.ReadFull(w.in, hdr[:]); err != nil {
			if err == io.EOF {
				return nil // the pool closed the pipe
			}
			return fmt.Errorf("read request: %w", err)
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n < frameHeader-4 || uint64(n) > maxFrame {
			return fmt.Errorf("protocol: request frame of %d bytes", n)
		}
		if uint64(cap(frame)) < uint64(n) {
			frame = make([]byte, n)
		}
		frame = frame[:n]
		if _, err := io.ReadFull(w.in, frame); err != nil {
			return fmt.Errorf("read request: %w", err)
		}
		var err error
		if items, err = parseFrame(frame, w.cfg.maxRequest, items[:0]); err != nil {
			return fmt.Errorf("protocol: %w", err)
		}
		if err := w.serve(items); err != nil {
			return err
		}
		clear(items) // no request is kept past its frame
		if cap(frame) > 4*bufSize {
			frame, items = nil, nil
		}
	}
}

// parseFrame splits a request frame's body (after its length) into its requests. Each
// request's slice is capped at its own end, so that a handler appending to it cannot write
// over the next one.
func parseFrame(frame []byte, maxRequest int, items []item) ([]item, error) {
	count := binary.BigEndian.Uint32(frame)
	if count == 0 || count > MaxBatch {
		return nil, fmt.Errorf("frame of %d requests", count)
	}
	items = slices.Grow(items[:0], int(count))[:count]
	rest, total := frame[4:], 0
	for i := range items {
		if len(rest) < itemHeader {
			return nil, fmt.Errorf("request %d of %d: truncated header", i, count)
		}
		budget := int64(binary.BigEndian.Uint64(rest))
		n := int(binary.BigEndian.Uint32(rest[8:]))
		rest = rest[itemHeader:]
		total += n
		if budget <= 0 || n > len(rest) || total > maxRequest {
			return nil, fmt.Errorf("request %d of %d: budget %d, %d bytes", i, count, budget, n)
		}
		items[i] = item{budget: time.Duration(budget), req: rest[:n:n]}
		rest = rest[n:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d bytes after the last request", len(rest))
	}
	return items, nil
}

// serve answers the requests of one frame in order, each under its own budget. It writes
// the responses when the last is ready, or earlier once it has held some for flushInterval
// or they fill a buffer. While a request runs longer than flushInterval, a timer writes the
// responses held so far and a statusRunning frame: the parent then knows which request was
// running if it loses the worker, and that the ones after it never ran.
func (w *workerLoop) serve(items []item) error {
	now := time.Now() // read once between requests: the end of one is the start of the next
	w.mu.Lock()
	w.lastFlush = now
	w.mu.Unlock()
	if len(items) > 1 {
		var timer *time.Timer
		stopped := false // guarded by mu: no tick may outlive this batch
		w.mu.Lock()
		timer = time.AfterFunc(flushInterval, func() { w.tick(&timer, &stopped) })
		w.mu.Unlock()
		defer func() {
			w.mu.Lock()
			stopped = true
			timer.Stop()
			w.mu.Unlock()
		}()
	}
	for i, it := range items {
		w.mu.Lock()
		w.started, w.marked = now, false
		w.mu.Unlock()
		ctx := newRequestContext(now.Add(softBudget(it.budget)))
		status, resp := w.call(ctx, it.req)
		ctx.finish(ctxCanceled)
		if status == statusOK && len(resp) > w.cfg.maxResponse {
			status = statusTooLarge
			resp = fmt.Appendf(nil, "%d bytes, limit %d", len(resp), w.cfg.maxResponse)
		}
		now = time.Now()
		w.mu.Lock()
		w.started = time.Time{}
		w.append(status, resp)
		var err error
		if i == len(items)-1 || len(w.wbuf) >= bufSize || now.Sub(w.lastFlush) >= flushInterval {
			err = w.flush()
		}
		if err == nil {
			err = w.werr
		}
		w.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// tick is the batch timer: it reports a request that has run for flushInterval, once.
func (w *workerLoop) tick(t **time.Timer, stopped *bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if *stopped {
		return
	}
	if !w.started.IsZero() && !w.marked && time.Since(w.started) >= flushInterval {
		w.append(statusRunning, nil)
		w.marked = true
		if err := w.flush(); err != nil && w.werr == nil {
			w.werr = err
		}
	}
	(*t).Reset(flushInterval)
}

// requestContext is a handler's context: context.WithTimeout's, but without a timer
// unless someone waits on Done. Arming and stopping a runtime timer for every request was a
// noticeable share of a worker's time per request, and an interpreter only polls Err.
type requestContext struct {
	deadline time.Time
	state    atomic.Int32 // ctxRunning until the deadline passes or the request ends

	mu    sync.Mutex
	done  chan struct{} // made by the first Done
	timer *time.Timer   // closes done at the deadline
}

// States of a requestContext.
const (
	ctxRunning int32 = iota
	ctxCanceled
	ctxDeadline
)

func newRequestContext(deadline time.Time) *requestContext {
	return &requestContext{deadline: deadline}
}

func (c *requestContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *requestContext) Value(any) any { return nil }

func (c *requestContext) Err() error {
	if c.state.Load() == ctxRunning && !time.Now().Before(c.deadline) {
		c.finish(ctxDeadline)
	}
	switch c.state.Load() {
	case ctxCanceled:
		return context.Canceled
	case ctxDeadline:
		return context.DeadlineExceeded
	}
	return nil
}

func (c *requestContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.state.Load() != ctxRunning {
			close(c.done)
		} else {
			c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.finish(ctxDeadline) })
		}
	}
	return c.done
}

// finish ends the context in state unless it has ended already.
func (c *requestContext) finish(state int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.state.CompareAndSwap(ctxRunning, state) {
		return
	}
	if c.done != nil {
		close(c.done)
	}
	if c.timer != nil {
		c.timer.Stop()
	}
}

func (w *workerLoop) call(ctx context.Context, req []byte) (status byte, resp []byte) {
	defer func() {
		if r := recover(); r != nil {
			msg := fmt.Appendf(nil, "%v\n\n%s", r, debug.Stack())
			if len(msg) > panicMessageMax {
				msg = append(msg[:panicMessageMax-len("…")], "…"...)
			}
			status, resp = statusPanic, msg
		}
	}()
	return statusOK, w.handler(ctx, req)
}

// append adds one response frame to the pending output.
func (w *workerLoop) append(status byte, payload []byte) {
	w.wbuf = binary.BigEndian.AppendUint32(w.wbuf, uint32(1+len(payload)))
	w.wbuf = append(w.wbuf, status)
	w.wbuf = append(w.wbuf, payload...)
}

// flush writes the pending response frames in a single write.
func (w *workerLoop) flush() error {
	w.lastFlush = time.Now()
	_, err := w.out.Write(w.wbuf)
	if cap(w.wbuf) > 4*bufSize {
		w.wbuf = make([]byte, 0, bufSize)
	} else {
		w.wbuf = w.wbuf[:0]
	}
	if err != nil {
		return fmt.Errorf("write response: %w", err)
	}
	return nil
}
