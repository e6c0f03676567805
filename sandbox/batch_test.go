package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/policykit-go/policykit/sandbox"
)

type delivered struct {
	resp string
	err  error
	n    int // deliveries of this request
}

// batch runs p.Batch on reqs and returns each request's delivery and the worker used.
func batch(t testing.TB, p *sandbox.Pool, reqs ...string) ([]delivered, sandbox.WorkerID) {
	t.Helper()
	return batchWith(t, p, func(i int) time.Duration { return 0 }, reqs...)
}

func batchWith(t testing.TB, p *sandbox.Pool, budget func(int) time.Duration, reqs ...string) ([]delivered, sandbox.WorkerID) {
	t.Helper()
	got := make([]delivered, len(reqs))
	var id sandbox.WorkerID
	done := make(chan error, 1)
	go func() {
		done <- p.Batch(context.Background(), func(w sandbox.WorkerID) []sandbox.Request {
			id = w
			out := make([]sandbox.Request, len(reqs))
			for i, r := range reqs {
				out[i] = sandbox.Request{Body: []byte(r), Budget: budget(i)}
			}
			return out
		}, func(i int, resp []byte, err error) {
			got[i].resp, got[i].err = string(resp), err
			got[i].n++
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Batch: %v", err)
		}
	case <-time.After(4 * hangGuard):
		t.Fatal("Batch did not return")
	}
	for i, d := range got {
		if d.n != 1 {
			t.Fatalf("request %d (%.20q) delivered %d times", i, reqs[i], d.n)
		}
	}
	return got, id
}

func TestBatchDeliversEachResponseToItsRequest(t *testing.T) {
	p, _ := newPool(t, sandbox.Options{Size: 1})
	var reqs []string
	for i := range 200 {
		reqs = append(reqs, fmt.Sprintf("echo:%d-%s", i, strings.Repeat("x", i*50))) // responses span several reads
	}
	got, _ := batch(t, p, reqs...)
	for i, d := range got {
		if want := reqs[i][len("echo:"):]; d.err != nil || d.resp != want {
			t.Fatalf("request %d: %.30q, %v; want %.30q", i, d.resp, d.err, want)
		}
	}
	if st := p.Stats(); st.Calls != 200 || st.Batches != 1 || st.Kills() != 0 {
		t.Errorf("stats %+v", st)
	}
	mustEcho(t, p, "after the batch")
}

// A request that fails without costing the worker fails alone.
func TestBatchPanicFailsOnlyItsRequest(t *testing.T) {
	p, _ := newPool(t, sandbox.Options{Size: 1, MaxResponseBytes: 100})
	got, _ := batch(t, p, "echo:a", "panic:x", "big:101", "echo:b")
	if got[0].resp != "a" || got[3].resp != "b" || got[0].err != nil || got[3].err != nil {
		t.Errorf("neighbours: %+v", got)
	}
	if !errors.Is(got[1].err, sandbox.ErrPanic) || !errors.Is(got[2].err, sandbox.ErrResponseTooLarge) {
		t.Errorf("panic: %v; too large: %v", got[1].err, got[2].err)
	}
	if st := p.Stats(); st.Kills() != 0 || st.Panics != 1 {
		t.Errorf("stats %+v", st)
	}
}

// Each request of a batch has the whole deadline: a batch may last longer than one.
func TestBatchDeadlineIsPerRequest(t *testing.T) {
	p, _ := newPool(t, sandbox.Options{Size: 1, Deadline: 300 * time.Millisecond})
	start := time.Now()
	got, _ := batch(t, p, "sleep:150ms", "sleep:150ms", "sleep:150ms", "sleep:150ms")
	for i, d := range got {
		if d.err != nil || d.resp != "slept" {
			t.Fatalf("request %d: %q, %v", i, d.resp, d.err)
		}
	}
	t.Logf("4 × 150ms under a 300ms deadline in %v", time.Since(start))
	if st := p.Stats(); st.Kills() != 0 {
		t.Errorf("stats %+v", st)
	}
	// Each request's budget reaches its handler.
	got, _ = batchWith(t, p, func(i int) time.Duration { return time.Duration(i+1) * 100 * time.Millisecond }, "deadline", "deadline")
	for i, d := range got {
		left, err := time.ParseDuration(d.resp)
		if want := time.Duration(i+1) * 90 * time.Millisecond; err != nil || left > want || left < want-50*time.Millisecond {
			t.Errorf("request %d: handler deadline in %q (%v), want about %v", i, d.resp, d.err, want)
		}
	}
}

// A request that costs the worker fails with its own error and the requests after it with
// ErrNotRun, once it has run long enough for the worker to say it is running; the requests
// before it keep their responses. Alone or last, it gets its own error. Lost at once (the
// worker could not say which request was running), every unanswered request gets
// ErrUnfinished. No other request ever gets the loss's own error.
func TestBatchWorkerLoss(t *testing.T) {
	cases := []struct {
		name, hostile string
		opts          sandbox.Options
		want          error
		running       bool // the worker reports the hostile request before it is lost
	}{
		{"deadline", "spin", sandbox.Options{Deadline: 200 * time.Millisecond}, sandbox.ErrDeadline, true},
		{"slow memory", "alloc:4GiB", sandbox.Options{MemoryLimit: 128 << 20, Deadline: 4 * time.Second}, sandbox.ErrMemory, false},
		{"crash at once", "exit:3", sandbox.Options{}, sandbox.ErrCrashed, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Size = 1
			p, _ := newPool(t, c.opts)
			got, first := batch(t, p, "echo:a", "echo:b", c.hostile, "echo:c", "echo:d")
			for i, d := range got {
				switch {
				case i < 2 && errors.Is(d.err, sandbox.ErrUnfinished):
					// lost before the worker could write what it held
				case i < 2 && (d.err != nil || d.resp != "ab"[i:i+1]):
					t.Errorf("request %d, before the hostile one: %q, %v", i, d.resp, d.err)
				case i == 2 && !errors.Is(d.err, c.want) && !errors.Is(d.err, sandbox.ErrUnfinished):
					t.Errorf("hostile request: %v; want %v or ErrUnfinished", d.err, c.want)
				case i == 2 && c.running && !errors.Is(d.err, c.want):
					t.Errorf("hostile request: %v; want %v: the worker said it was running", d.err, c.want)
				case i > 2 && !errors.Is(d.err, sandbox.ErrNotRun) && !errors.Is(d.err, sandbox.ErrUnfinished):
					t.Errorf("request %d, after the hostile one: %v; want ErrNotRun or ErrUnfinished", i, d.err)
				case i != 2 && errors.Is(d.err, c.want):
					t.Errorf("request %d: %v matches the loss's error", i, d.err)
				}
				if i > 2 && errors.Is(got[2].err, c.want) != errors.Is(d.err, sandbox.ErrNotRun) {
					t.Errorf("request %d: %v, with %v for the hostile one", i, d.err, got[2].err)
				}
			}
			got, second := batch(t, p, "echo:a", c.hostile)
			if (got[0].resp != "a" && !errors.Is(got[0].err, sandbox.ErrUnfinished)) || !errors.Is(got[1].err, c.want) && !errors.Is(got[1].err, sandbox.ErrUnfinished) {
				t.Errorf("hostile request last: %+v; want its own %v", got, c.want)
			}
			if second == first {
				t.Errorf("the replacement worker has the lost one's ID %d", first)
			}
			got, third := batch(t, p, c.hostile)
			if !errors.Is(got[0].err, c.want) || third == second {
				t.Errorf("hostile request alone: %+v from worker %d (lost: %d); want %v", got, third, second, c.want)
			}
			got, _ = batch(t, p, "echo:e")
			if got[0].resp != "e" {
				t.Errorf("after the losses: %+v", got)
			}
		})
	}
}

func TestBatchLimits(t *testing.T) {
	p, _ := newPool(t, sandbox.Options{Size: 1, MaxRequestBytes: 1000})
	deliver := func(int, []byte, error) { t.Error("deliver called") }
	for name, reqs := range map[string][]sandbox.Request{
		"too many":  make([]sandbox.Request, sandbox.MaxBatch+1),
		"too large": {{Body: make([]byte, 600)}, {Body: make([]byte, 401)}},
	} {
		err := p.Batch(context.Background(), func(sandbox.WorkerID) []sandbox.Request { return reqs }, deliver)
		if !errors.Is(err, sandbox.ErrRequestTooLarge) {
			t.Errorf("%s: %v; want ErrRequestTooLarge", name, err)
		}
	}
	if err := p.Batch(context.Background(), func(sandbox.WorkerID) []sandbox.Request { return nil }, deliver); err != nil {
		t.Errorf("empty batch: %v", err)
	}
	got, _ := batch(t, p, "echo:"+strings.Repeat("x", 495), "echo:"+strings.Repeat("y", 495))
	if len(got[0].resp) != 495 || len(got[1].resp) != 495 {
		t.Errorf("a batch of exactly 1000 bytes: %+v", got)
	}
	p.Close()
	if err := p.Batch(context.Background(), func(sandbox.WorkerID) []sandbox.Request { return nil }, deliver); !errors.Is(err, sandbox.ErrClosed) {
		t.Errorf("closed pool: %v", err)
	}
}
