package sandbox

import (
	"context"
	"errors"
	"testing"
	"time"
)

// A request's context behaves as context.WithTimeout's: Err is nil until the deadline and
// DeadlineExceeded after it, Done closes at the deadline, and ending the request cancels
// it for good.
func TestRequestContextIsATimeout(t *testing.T) {
	ctx := newRequestContext(time.Now().Add(time.Hour))
	if err := ctx.Err(); err != nil {
		t.Fatalf("Err before the deadline: %v", err)
	}
	if d, ok := ctx.Deadline(); !ok || time.Until(d) < 59*time.Minute {
		t.Fatalf("Deadline: %v, %v", d, ok)
	}
	done := ctx.Done()
	select {
	case <-done:
		t.Fatal("Done closed before the deadline")
	default:
	}
	ctx.finish(ctxCanceled)
	<-done
	if err := ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Err after the request ended: %v", err)
	}
	ctx.finish(ctxDeadline) // a late deadline changes nothing
	if err := ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Err after a late deadline: %v", err)
	}

	// Polled past its deadline without anyone waiting on Done.
	ctx = newRequestContext(time.Now().Add(-time.Millisecond))
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err past the deadline: %v", err)
	}
	<-ctx.Done() // made after the end: already closed

	// Waited on: Done closes at the deadline by itself, and a derived context follows.
	ctx = newRequestContext(time.Now().Add(20 * time.Millisecond))
	child, cancel := context.WithCancel(ctx)
	defer cancel()
	<-child.Done()
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err after Done closed: %v", err)
	}
	if err := child.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("child's Err: %v", err)
	}
}
