package sandbox_test

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/policykit-go/policykit/sandbox"
)

func reportLatencies(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))].Nanoseconds()) / 1e3 }
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs/op")
}

// BenchmarkCall: one caller, echo of a 1 KiB payload.
func BenchmarkCall(b *testing.B) {
	p, _ := newPool(b, sandbox.Options{Size: 2})
	req := append([]byte("echo:"), bytes.Repeat([]byte{'x'}, 1024)...)
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.SetBytes(int64(len(req)))
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		resp, err := p.Call(ctx, req)
		lat = append(lat, time.Since(start))
		if err != nil || len(resp) != 1024 {
			b.Fatalf("%d bytes, %v", len(resp), err)
		}
	}
	reportLatencies(b, lat)
}

// BenchmarkCallWithCancelContext: the same with a cancellable context carrying a deadline.
func BenchmarkCallWithCancelContext(b *testing.B) {
	p, _ := newPool(b, sandbox.Options{Size: 2})
	req := append([]byte("echo:"), bytes.Repeat([]byte{'x'}, 1024)...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := p.Call(ctx, req); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	reportLatencies(b, lat)
}

// BenchmarkCallParallel: callers on every P against two workers.
func BenchmarkCallParallel(b *testing.B) {
	p, _ := newPool(b, sandbox.Options{Size: 2})
	req := append([]byte("echo:"), bytes.Repeat([]byte{'x'}, 1024)...)
	var mu sync.Mutex
	var lat []time.Duration
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			start := time.Now()
			if _, err := p.Call(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	reportLatencies(b, lat)
}

// BenchmarkRestart: a deadline kill and the replacement's start-up (process exec plus
// handshake), measured from the kill until the pool is full again.
func BenchmarkRestart(b *testing.B) {
	p, _ := newPool(b, sandbox.Options{Size: 1, Deadline: time.Millisecond})
	for b.Loop() {
		if _, err := p.Call(context.Background(), []byte("spin")); err == nil {
			b.Fatal("spin returned")
		}
		for p.Stats().Idle == 0 {
			time.Sleep(50 * time.Microsecond)
		}
	}
}
