package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// WorkerID identifies one worker process of a pool for the pool's lifetime. A replacement
// worker has a new ID, so a caller that keeps state per worker (what it has already sent to
// it) knows that a worker with an unknown ID has nothing.
type WorkerID uint64

// Request is one request of a batch.
type Request struct {
	Body []byte
	// Budget bounds the handler's context for this request (see Serve); zero or more than
	// Options.Deadline means Options.Deadline. The parent's kill is not affected: it comes
	// at Options.Deadline.
	Budget time.Duration
}

// Batch sends several requests to one worker in one round trip and reports each one's
// response through deliver, in order, as the responses arrive.
//
// Batch waits for an idle worker (as long as ctx allows; ctx has no other effect), then
// calls build with that worker's ID for the requests to send. build may be called again
// with another worker if the first one is found dead before it took the requests; it may
// return no requests, and then Batch returns nil at once. The requests' bodies must together
// fit in Options.MaxRequestBytes, and there may be at most MaxBatch of them.
//
// If Batch returns an error (ctx ended, the pool closed, the batch was too large, or workers
// kept dying before they could take it), deliver was never called and no request ran.
// Otherwise deliver was called exactly once for each request, from Batch's goroutine; resp
// is valid only during the call.
//
// The worker runs the requests in order. Each has Options.Deadline of its own, counted by
// the parent from the last response it received (plus a few milliseconds: the worker
// writes responses in groups). An error of a request is ErrPanic or ErrResponseTooLarge
// (the worker keeps serving), or comes from losing the worker. Then the request that was
// running gets ErrDeadline, ErrMemory or ErrCrashed as for Call, and the ones after it
// ErrNotRun, when the parent knows which one was running: the worker said so (it does once
// a request has run for a millisecond, writing the responses it held), or it was the only
// one not answered. Otherwise (the worker was lost within a millisecond of starting a
// request) every request not answered gets ErrUnfinished: any of them may have been the
// one that cost the worker, and a caller that wants to know sends them again alone.
// ErrClosed when the pool closed.
func (p *Pool) Batch(ctx context.Context, build func(WorkerID) []Request, deliver func(i int, resp []byte, err error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !p.enter() {
		return ErrClosed
	}
	defer p.wg.Done()
	var (
		w     *worker
		reqs  []Request
		start time.Time
	)
	for attempt := 1; ; attempt++ {
		var err error
		if w, err = p.acquire(ctx); err != nil {
			return err
		}
		reqs = build(WorkerID(w.id))
		if err := p.checkBatch(reqs); err != nil || len(reqs) == 0 {
			p.idle <- w
			return err
		}
		for i := range reqs {
			if b := reqs[i].Budget; b <= 0 || b > p.opts.Deadline {
				reqs[i].Budget = p.opts.Deadline
			}
		}
		start = time.Now()
		err = w.sendBatch(reqs, start.Add(p.opts.Deadline))
		if err == nil {
			break
		}
		if errors.Is(err, os.ErrDeadlineExceeded) { // it took part of the frame and stalled
			p.calls.Add(uint64(len(reqs)))
			p.unanswered(reqs, 0, false, p.deadlineKill(w, start, false), deliver)
			return nil
		}
		// The worker died while idle: it never saw the requests.
		if err := p.died(w, err); attempt == maxSendAttempts || errors.Is(err, ErrClosed) {
			return err
		}
	}
	p.calls.Add(uint64(len(reqs)))
	p.batches.Add(1)
	progress := start
	running := -1 // the request the worker said was running
	for i := 0; i < len(reqs); {
		// A request's deadline counts from the last response: statusRunning does not move it.
		status, body, o, err := w.next(context.Background(), progress.Add(p.opts.Deadline+batchSlack), true)
		if o != gotFrame {
			p.unanswered(reqs, i, running == i, p.lost(w, o, err, start, false), deliver)
			return nil
		}
		switch status {
		case statusRunning:
			running = i
			continue
		case statusOK:
			deliver(i, body, nil)
		case statusPanic:
			p.panics.Add(1)
			deliver(i, nil, fmt.Errorf("%w: %s", ErrPanic, body))
		case statusTooLarge:
			deliver(i, nil, fmt.Errorf("%w: %s", ErrResponseTooLarge, body))
		default:
			p.unanswered(reqs, i, false, p.protocolKill(w, fmt.Errorf("unexpected status %#x", status)), deliver)
			return nil
		}
		progress = w.lastRead // when the response arrived: no clock read per response
		i++
	}
	if w.rhi > w.rlo {
		// Every request was answered; the worker is not to be trusted any more.
		_ = p.protocolKill(w, errors.New("bytes after the last response frame"))
		return nil
	}
	p.idle <- w
	return nil
}

func (p *Pool) checkBatch(reqs []Request) error {
	if len(reqs) > MaxBatch {
		return fmt.Errorf("%w: %d requests, limit %d", ErrRequestTooLarge, len(reqs), MaxBatch)
	}
	size := 0
	for _, r := range reqs {
		size += len(r.Body)
	}
	if size > p.opts.MaxRequestBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrRequestTooLarge, size, p.opts.MaxRequestBytes)
	}
	return nil
}

// unanswered reports the loss of the worker, err, to the requests from i on. running tells
// that the worker said request i was running.
func (p *Pool) unanswered(reqs []Request, i int, running bool, err error, deliver func(int, []byte, error)) {
	if errors.Is(err, ErrClosed) {
		for ; i < len(reqs); i++ {
			deliver(i, nil, err)
		}
		return
	}
	if !running && len(reqs)-i > 1 {
		// %v, not %w: none of them may be taken for the one that cost the worker.
		err = fmt.Errorf("%w: %d of %d requests (%v)", ErrUnfinished, len(reqs)-i, len(reqs), err)
		for ; i < len(reqs); i++ {
			deliver(i, nil, err)
		}
		return
	}
	deliver(i, nil, err)
	notRun := fmt.Errorf("%w (a request before it cost the worker: %v)", ErrNotRun, err)
	for i++; i < len(reqs); i++ {
		deliver(i, nil, notRun)
	}
}
