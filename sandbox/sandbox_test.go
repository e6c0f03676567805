package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/policykit-go/policykit/sandbox"
)

func TestMain(m *testing.M) {
	if sandbox.IsWorker() {
		sandbox.Serve(testHandler)
		return
	}
	if os.Getenv("SANDBOX_TEST_PARENT") == "1" {
		orphanParent()
		return
	}
	os.Exit(m.Run())
}

// orphanParent runs a pool whose workers are busy spinning, prints their pids and waits to
// be killed. (Idle workers would exit anyway when their stdin closes.)
func orphanParent() {
	p, err := sandbox.NewPool(context.Background(), testOptions(sandbox.Options{Size: 2, Deadline: time.Minute}), nil)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	for range 2 {
		go p.Call(context.Background(), []byte("spin"))
	}
	for p.Stats().Idle > 0 {
		time.Sleep(time.Millisecond)
	}
	for _, pid := range sandbox.PIDs(p) {
		fmt.Println(pid)
	}
	fmt.Println("ready")
	select {}
}

var (
	hoard [][]byte // what "alloc" keeps alive
	spins atomic.Uint64
)

// testHandler interprets requests "verb" or "verb:arg".
func testHandler(ctx context.Context, req []byte) []byte {
	verb, arg, _ := strings.Cut(string(req), ":")
	switch verb {
	case "echo":
		return req[len("echo:"):]
	case "sleep": // uncooperative
		d, _ := time.ParseDuration(arg)
		time.Sleep(d)
		return []byte("slept")
	case "ctxsleep": // cooperative
		d, _ := time.ParseDuration(arg)
		select {
		case <-time.After(d):
			return []byte("slept")
		case <-ctx.Done():
			return []byte("ctx: " + ctx.Err().Error())
		}
	case "spin":
		for {
			spins.Add(1)
		}
	case "alloc": // allocate and touch 1 MiB chunks until arg bytes or death
		n := parseSize(arg)
		for total := int64(0); total < n; total += 1 << 20 {
			b := make([]byte, 1<<20)
			for i := 0; i < len(b); i += 4096 {
				b[i] = 1
			}
			hoard = append(hoard, b)
		}
		return []byte("allocated")
	case "bigalloc": // one allocation of arg bytes, touched
		b := make([]byte, parseSize(arg))
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		hoard = append(hoard, b)
		return []byte("allocated")
	case "panic":
		panic("boom: " + arg)
	case "exit":
		code, _ := strconv.Atoi(arg)
		os.Exit(code)
	case "pid":
		return []byte(strconv.Itoa(os.Getpid()))
	case "gomaxprocs":
		return []byte(strconv.Itoa(runtime.GOMAXPROCS(0)))
	case "env":
		return []byte(strings.Join(os.Environ(), "\n"))
	case "fds":
		entries, _ := os.ReadDir("/proc/self/fd")
		var out []string
		for _, e := range entries {
			target, err := os.Readlink("/proc/self/fd/" + e.Name())
			if err == nil {
				out = append(out, e.Name()+" "+target)
			}
		}
		return []byte(strings.Join(out, "\n"))
	case "rlimit":
		var lim syscall.Rlimit
		syscall.Getrlimit(syscall.RLIMIT_AS, &lim)
		return []byte(strconv.FormatUint(lim.Cur, 10))
	case "stdout": // stray prints must not corrupt the protocol
		fmt.Println(arg)
		os.Stdout.WriteString(arg + "\n")
		return []byte("printed")
	case "big":
		return bytes.Repeat([]byte{'x'}, int(parseSize(arg)))
	case "deadline":
		d, ok := ctx.Deadline()
		if !ok {
			return []byte("none")
		}
		return []byte(time.Until(d).String())
	}
	return []byte("unknown request " + strconv.Quote(string(req)))
}

func parseSize(s string) int64 {
	mult := int64(1)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSuffix(s, suffix), m
			break
		}
	}
	n, _ := strconv.ParseInt(s, 10, 64)
	return n * mult
}

// logSink collects log lines and copies them to the test log.
type logSink struct {
	t  testing.TB
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	s.t.Logf("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testOptions(o sandbox.Options) sandbox.Options {
	o.Command = os.Args[0]
	o.Args = []string{"-test.run=^$"}
	return o
}

func newPool(t testing.TB, o sandbox.Options) (*sandbox.Pool, *logSink) {
	t.Helper()
	logs := &logSink{t: t}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if _, ok := t.(*testing.B); ok {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := sandbox.NewPool(ctx, testOptions(o), logger)
	if err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p, logs
}

const hangGuard = 5 * time.Second

type result struct {
	resp    []byte
	err     error
	elapsed time.Duration
}

// call runs p.Call and fails the test if it does not return within hangGuard.
func call(t testing.TB, ctx context.Context, p *sandbox.Pool, req string) result {
	t.Helper()
	ch := make(chan result, 1)
	start := time.Now()
	go func() {
		resp, err := p.Call(ctx, []byte(req))
		ch <- result{resp, err, time.Since(start)}
	}()
	select {
	case r := <-ch:
		return r
	case <-time.After(hangGuard):
		t.Fatalf("Call(%.40q) did not return within %v", req, hangGuard)
		return result{}
	}
}

func mustEcho(t testing.TB, p *sandbox.Pool, payload string) {
	t.Helper()
	r := call(t, context.Background(), p, "echo:"+payload)
	if r.err != nil || string(r.resp) != payload {
		t.Fatalf("echo %.40q: got %.40q, %v", payload, r.resp, r.err)
	}
}

func workerPID(t testing.TB, p *sandbox.Pool) int {
	t.Helper()
	r := call(t, context.Background(), p, "pid")
	if r.err != nil {
		t.Fatalf("pid: %v", r.err)
	}
	pid, err := strconv.Atoi(string(r.resp))
	if err != nil {
		t.Fatalf("pid: %q", r.resp)
	}
	return pid
}

// waitFor polls cond until it holds or hangGuard passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEcho(t *testing.T) {
	p, _ := newPool(t, sandbox.Options{})
	mustEcho(t, p, "hello")
	mustEcho(t, p, "")
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB: several pipe buffers each way
	mustEcho(t, p, big)
	mustEcho(t, p, "after big")
	st := p.Stats()
	if st.Calls != 4 || st.Kills() != 0 || st.Restarts != 0 || st.Workers != 2 || st.Idle != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestDeadline(t *testing.T) {
	for _, req := range []string{"spin", "sleep:10s"} {
		t.Run(req, func(t *testing.T) {
			p, _ := newPool(t, sandbox.Options{Size: 1, Deadline: 200 * time.Millisecond})
			pid := workerPID(t, p)
			r := call(t, context.Background(), p, req)
			if !errors.Is(r.err, sandbox.ErrDeadline) {
				t.Fatalf("got %q, %v; want ErrDeadline", r.resp, r.err)
			}
			if errors.Is(r.err, context.DeadlineExceeded) {
				t.Errorf("%v matches context.DeadlineExceeded though the context had no deadline", r.err)
			}
			if r.elapsed < 200*time.Millisecond {
				t.Errorf("returned after %v, before the deadline", r.elapsed)
			}
			mustEcho(t, p, "still serving")
			if newPID := workerPID(t, p); newPID == pid {
				t.Errorf("worker %d was not replaced", pid)
			}
			waitFor(t, "the killed worker to be gone", func() bool { return !processExists(pid) })
			if st := p.Stats(); st.Deadlines != 1 || st.Restarts != 1 || st.Workers != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestContextDeadline(t *testing.T) {
	p, _ := newPool(t, sandbox.Options{Size: 1, Deadline: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	r := call(t, ctx, p, "spin")
	if !errors.Is(r.err, sandbox.ErrDeadline) || !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("got %v; want ErrDeadline and context.DeadlineExceeded", r.err)
	}
	mustEcho(t, p, "still serving")
}

func TestHandlerContextDeadline(t *testing.T) {
	p, _ := newPool(t, sandbox.Options{Size: 1, Deadline: 500 * time.Millisecond})
	pid := workerPID(t, p)
	r := call(t, context.Background(), p, "deadline")
	d, err := time.ParseDuration(string(r.resp))
	if r.err != nil || err != nil || d <= 100*time.Millisecond || d > 450*time.Millisecond {
		t.Errorf("handler context deadline in %q (%v); want about 450ms", r.resp, r.err)
	}
	// A cooperative handler stops at its context's deadline and keeps its worker.
	r = call(t, context.Background(), p, "ctxsleep:1m")
	if r.err != nil || string(r.resp) != "ctx: context deadline exceeded" {
		t.Fatalf("got %q, %v", r.resp, r.err)
	}
	if got := workerPID(t, p); got != pid {
		t.Errorf("worker replaced (%d, then %d)", pid, got)
	}
	if st := p.Stats(); st.Kills() != 0 || st.Restarts != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestCancel(t *testing.T) {
	p, _ := newPool(t, sandbox.Options{Size: 1, Deadline: 5 * time.Second})
	pid := workerPID(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	r := call(t, ctx, p, "sleep:1s")
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("got %q, %v; want context.Canceled", r.resp, r.err)
	}
	if r.elapsed > 900*time.Millisecond {
		t.Errorf("cancelled call returned after %v, not at once", r.elapsed)
	}
	// The worker finishes its call in the background and is reused, not killed.
	mustEcho(t, p, "after cancel")
	if got := workerPID(t, p); got != pid {
		t.Errorf("worker replaced (%d, then %d)", pid, got)
	}
	if st := p.Stats(); st.Kills() != 0 || st.Restarts != 0 {
		t.Errorf("stats %+v", st)
	}

	// A cancelled call that never finishes is still killed at its deadline.
	p2, _ := newPool(t, sandbox.Options{Size: 1, Deadline: 300 * time.Millisecond})
	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if r := call(t, ctx, p2, "spin"); !errors.Is(r.err, context.Canceled) {
		t.Fatalf("got %v; want context.Canceled", r.err)
	}
	waitFor(t, "the kill at the deadline", func() bool { return p2.Stats().Deadlines == 1 })
	mustEcho(t, p2, "after kill")
}

// rss returns the resident size of this process.
func rss(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b))
	n, _ := strconv.ParseInt(f[1], 10, 64)
	return n * int64(os.Getpagesize())
}

func TestMemory(t *testing.T) {
	const limit = 128 << 20
	cases := []struct {
		name string
		opts sandbox.Options
		req  string
	}{
		{"address-limit/loop", sandbox.Options{MemoryLimit: limit}, "alloc:4GiB"},
		{"address-limit/one-block", sandbox.Options{MemoryLimit: limit}, "bigalloc:8GiB"},
		{"watchdog/loop", sandbox.WithoutAddressLimit(sandbox.Options{MemoryLimit: limit}), "alloc:4GiB"},
		{"watchdog/one-block", sandbox.WithoutAddressLimit(sandbox.Options{MemoryLimit: limit}), "bigalloc:8GiB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Size = 1
			c.opts.Deadline = 4 * time.Second
			p, _ := newPool(t, c.opts)
			pid := workerPID(t, p)
			runtime.GC()
			before := rss(t)
			r := call(t, context.Background(), p, c.req)
			after := rss(t)
			if !errors.Is(r.err, sandbox.ErrMemory) {
				t.Fatalf("got %q, %v; want ErrMemory", r.resp, r.err)
			}
			t.Logf("%v after %v; parent resident %d MiB -> %d MiB", r.err, r.elapsed, before>>20, after>>20)
			if grew := after - before; grew > 100<<20 {
				t.Errorf("parent resident size grew by %d MiB", grew>>20)
			}
			mustEcho(t, p, "still serving")
			waitFor(t, "the dead worker to be gone", func() bool { return !processExists(pid) })
			if st := p.Stats(); st.MemoryKills != 1 || st.Restarts != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestPanic(t *testing.T) {
	p, _ := newPool(t, sandbox.Options{Size: 1})
	pid := workerPID(t, p)
	r := call(t, context.Background(), p, "panic:at the disco")
	if !errors.Is(r.err, sandbox.ErrPanic) || !strings.Contains(r.err.Error(), "boom: at the disco") {
		t.Fatalf("got %q, %v; want ErrPanic with the panic value", r.resp, r.err)
	}
	if !strings.Contains(r.err.Error(), "testHandler") {
		t.Errorf("panic report without stack: %v", r.err)
	}
	if got := workerPID(t, p); got != pid {
		t.Errorf("worker replaced after a recovered panic (%d, then %d)", pid, got)
	}
	if st := p.Stats(); st.Panics != 1 || st.Kills() != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestCrash(t *testing.T) {
	p, logs := newPool(t, sandbox.Options{Size: 1})
	r := call(t, context.Background(), p, "exit:7")
	if !errors.Is(r.err, sandbox.ErrCrashed) || !strings.Contains(r.err.Error(), "exit status 7") {
		t.Fatalf("got %q, %v; want ErrCrashed with the exit status", r.resp, r.err)
	}
	mustEcho(t, p, "still serving")
	if st := p.Stats(); st.Crashes != 1 || st.Restarts != 1 {
		t.Errorf("stats %+v", st)
	}
	if !strings.Contains(logs.String(), "sandbox worker crashed") {
		t.Errorf("crash not logged")
	}
}

func TestSizeLimits(t *testing.T) {
	p, _ := newPool(t, sandbox.Options{Size: 1, MaxRequestBytes: 1000, MaxResponseBytes: 2000})
	if _, err := p.Call(context.Background(), make([]byte, 1001)); !errors.Is(err, sandbox.ErrRequestTooLarge) {
		t.Errorf("request of 1001 bytes: %v; want ErrRequestTooLarge", err)
	}
	if r := call(t, context.Background(), p, "big:2000"); r.err != nil || len(r.resp) != 2000 {
		t.Errorf("response of 2000 bytes: %d bytes, %v", len(r.resp), r.err)
	}
	if r := call(t, context.Background(), p, "big:2001"); !errors.Is(r.err, sandbox.ErrResponseTooLarge) {
		t.Errorf("response of 2001 bytes: %v; want ErrResponseTooLarge", r.err)
	}
	mustEcho(t, p, strings.Repeat("x", 995))
	if st := p.Stats(); st.Kills() != 0 || st.Restarts != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestConcurrentWithHungWorker: one hung call never stalls the others.
func TestConcurrentWithHungWorker(t *testing.T) {
	p, _ := newPool(t, sandbox.Options{Size: 2, Deadline: 3 * time.Second})
	hung := make(chan result, 1)
	go func() {
		resp, err := p.Call(context.Background(), []byte("spin"))
		hung <- result{resp: resp, err: err}
	}()
	waitFor(t, "the spinning call to take a worker", func() bool { return p.Stats().Idle == 1 })
	start := time.Now()
	var wg sync.WaitGroup
	var failures atomic.Int64
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				want := fmt.Sprintf("g%d-%d", g, i)
				resp, err := p.Call(context.Background(), []byte("echo:"+want))
				if err != nil || string(resp) != want {
					failures.Add(1)
					t.Errorf("echo %s: %q, %v", want, resp, err)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case r := <-hung:
		t.Fatalf("the spinning call returned (%v) before the others finished (%v)", r.err, elapsed)
	default:
	}
	t.Logf("400 calls on the remaining worker in %v", elapsed)
	select {
	case r := <-hung:
		if !errors.Is(r.err, sandbox.ErrDeadline) {
			t.Errorf("spinning call: %v; want ErrDeadline", r.err)
		}
	case <-time.After(hangGuard):
		t.Fatal("the spinning call never returned")
	}
}

// TestChurn: many kills in a row, concurrently, leave a working pool and no stray processes.
func TestChurn(t *testing.T) {
	p, _ := newPool(t, sandbox.Options{Size: 2, Deadline: 50 * time.Millisecond})
	var wg sync.WaitGroup
	reqs := []string{"spin", "exit:1", "panic:x", "echo:x", "sleep:1s", "alloc:64MiB"}
	for i := range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			if i%5 == 4 {
				var c context.CancelFunc
				ctx, c = context.WithCancel(ctx)
				time.AfterFunc(10*time.Millisecond, c)
			}
			p.Call(ctx, []byte(reqs[i%len(reqs)]))
		}()
	}
	wg.Wait()
	p2, _ := newPool(t, sandbox.Options{Size: 1, Deadline: time.Second})
	mustEcho(t, p2, "other pool unaffected")
	waitFor(t, "a full pool", func() bool { st := p.Stats(); return st.Idle == 2 })
	mustEcho(t, p, "still serving")
	t.Logf("stats %+v", p.Stats())
	p.Close()
	p2.Close()
	if kids := children(t); len(kids) > 0 {
		t.Errorf("child processes left after Close: %v", kids)
	}
}

func processExists(pid int) bool {
	return syscall.Kill(pid, 0) == nil // a zombie still exists
}

// processRunning reports whether pid exists and is not a zombie.
func processRunning(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(f) > 0 && f[0] != "Z"
}

// children lists the processes whose parent is this one, zombies included.
func children(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	self := strconv.Itoa(os.Getpid())
	var kids []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) > 1 && f[1] == self {
			kids = append(kids, e.Name()+" "+f[0])
		}
	}
	return kids
}

func TestClose(t *testing.T) {
	goroutines := runtime.NumGoroutine()
	p, _ := newPool(t, sandbox.Options{Size: 3, Deadline: time.Minute})
	pids := sandbox.PIDs(p)
	if len(pids) != 3 {
		t.Fatalf("pids %v", pids)
	}
	inflight := make(chan error, 1)
	go func() {
		_, err := p.Call(context.Background(), []byte("spin"))
		inflight <- err
	}()
	waitFor(t, "the call to start", func() bool { return p.Stats().Idle == 2 })
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close took %v", time.Since(start))
	select {
	case err := <-inflight:
		if !errors.Is(err, sandbox.ErrClosed) {
			t.Errorf("call in flight during Close: %v; want ErrClosed", err)
		}
	case <-time.After(hangGuard):
		t.Fatal("call in flight did not return after Close")
	}
	for _, pid := range pids {
		if processExists(pid) {
			t.Errorf("worker %d still exists after Close", pid)
		}
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("child processes left after Close: %v", kids)
	}
	if _, err := p.Call(context.Background(), []byte("echo:x")); !errors.Is(err, sandbox.ErrClosed) {
		t.Errorf("Call after Close: %v; want ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if st := p.Stats(); st.Workers != 0 || st.Idle != 0 {
		t.Errorf("stats after Close %+v", st)
	}
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= goroutines })
}

func TestWorkerHygiene(t *testing.T) {
	// A descriptor without close-on-exec, as a careless launcher or library leaves behind.
	leak := filepath.Join(t.TempDir(), "leaked-file")
	fd, err := syscall.Open(leak, syscall.O_CREAT|syscall.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	t.Setenv("POLICYKIT_PARENT_SECRET", "hunter2")

	p, logs := newPool(t, sandbox.Options{Size: 1, Env: []string{"FOO=bar"}})

	if r := call(t, context.Background(), p, "gomaxprocs"); string(r.resp) != "1" {
		t.Errorf("GOMAXPROCS %q, %v", r.resp, r.err)
	}

	r := call(t, context.Background(), p, "env")
	env := strings.Split(string(r.resp), "\n")
	if strings.Join(env, " ") != "FOO=bar GOMAXPROCS=1" {
		t.Errorf("worker environment %q; want FOO=bar GOMAXPROCS=1 only", env)
	}

	r = call(t, context.Background(), p, "fds")
	fds := map[string]string{}
	for _, line := range strings.Split(string(r.resp), "\n") {
		n, target, _ := strings.Cut(line, " ")
		fds[n] = target
	}
	t.Logf("worker descriptors: %v", fds)
	for n, target := range fds {
		if target == leak {
			t.Errorf("worker inherited fd %s -> %s", n, target)
		}
	}
	if fds["0"] != "/dev/null" || fds["1"] != fds["2"] || !strings.HasPrefix(fds["2"], "pipe:") {
		t.Errorf("worker stdio %q %q %q; want /dev/null and stderr twice", fds["0"], fds["1"], fds["2"])
	}
	if !strings.Contains(logs.String(), "neutralised inherited fd") {
		t.Errorf("the neutralised descriptor was not reported")
	}

	// Stray output goes to the log, not into the protocol.
	if r := call(t, context.Background(), p, "stdout:stray-line"); string(r.resp) != "printed" {
		t.Errorf("stdout: %q, %v", r.resp, r.err)
	}
	mustEcho(t, p, "after stray output")
	waitFor(t, "the stray output in the log", func() bool {
		return strings.Count(logs.String(), "line=stray-line") == 2
	})

	r = call(t, context.Background(), p, "rlimit")
	lim, _ := strconv.ParseUint(string(r.resp), 10, 64)
	if sandbox.RaceEnabled {
		if lim != ^uint64(0) {
			t.Errorf("RLIMIT_AS %d under the race detector", lim)
		}
	} else if lim == ^uint64(0) || lim > 8<<30 {
		t.Errorf("RLIMIT_AS %d: not set", lim)
	}
	if st := p.Stats(); st.Kills() != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestNewPoolErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := sandbox.NewPool(ctx, sandbox.Options{Size: -1}, nil); err == nil {
		t.Error("Size -1 accepted")
	}
	if _, err := sandbox.NewPool(ctx, sandbox.Options{MemoryLimit: 1 << 20}, nil); err == nil {
		t.Error("MemoryLimit 1 MiB accepted")
	}
	if _, err := sandbox.NewPool(ctx, sandbox.Options{Command: "/nonexistent/worker"}, nil); err == nil {
		t.Error("missing command accepted")
	}
	_, err := sandbox.NewPool(ctx, sandbox.Options{Command: "/bin/true"}, nil)
	if err == nil || !strings.Contains(err.Error(), "exited before its handshake") {
		t.Errorf("/bin/true as a worker: %v", err)
	}
	_, err = sandbox.NewPool(ctx, sandbox.Options{Command: "/bin/echo", Args: []string{"hello, world"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "protocol violation") {
		t.Errorf("/bin/echo as a worker: %v", err)
	}
	// A test binary run as a worker without the sandbox variables reports what is missing.
	if err := (sandbox.Options{Env: []string{"NOEQUALS"}}).Validate(); err == nil {
		t.Error("Env entry without = accepted")
	}
	if err := (sandbox.Options{}).Validate(); err != nil {
		t.Errorf("zero Options: %v", err)
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("child processes left: %v", kids)
	}
}

// TestIdleWorkerDeath: a worker killed while idle costs no call: the request goes to another
// worker.
func TestIdleWorkerDeath(t *testing.T) {
	for _, size := range []int{1, 2} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			p, _ := newPool(t, sandbox.Options{Size: size})
			for _, pid := range sandbox.PIDs(p) {
				if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				// Reaped, not just a zombie leader: its other threads may still hold the pipes.
				waitFor(t, "the worker to be reaped", func() bool { return !processExists(pid) })
			}
			for i := range 3 {
				mustEcho(t, p, "after external kill "+strconv.Itoa(i))
			}
			// Each dead worker is found and replaced by a call that then tries another.
			waitFor(t, "replacements", func() bool { return p.Stats().Restarts == uint64(size) })
			if st := p.Stats(); st.MemoryKills != uint64(size) || st.Deadlines+st.Crashes != 0 {
				t.Errorf("stats %+v; want an unexplained SIGKILL counted as a memory kill", st)
			}
		})
	}
}

// TestParentDeath: workers die with their parent (Pdeathsig), even one killed with SIGKILL.
func TestParentDeath(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = []string{"SANDBOX_TEST_PARENT=1"}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pids []int
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "ready" {
		pid, err := strconv.Atoi(sc.Text())
		if err != nil {
			t.Fatalf("parent said %q", sc.Text())
		}
		pids = append(pids, pid)
	}
	if len(pids) != 2 {
		t.Fatalf("worker pids %v", pids)
	}
	for _, pid := range pids {
		if !processRunning(pid) {
			t.Fatalf("worker %d not running", pid)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	waitFor(t, "orphaned workers to die", func() bool {
		for _, pid := range pids {
			if processRunning(pid) {
				return false
			}
		}
		return true
	})
}
