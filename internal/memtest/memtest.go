// Package memtest measures this process's resident memory for tests that bound what hostile
// input may cost: Linux's peak resident size (VmHWM), which a test resets before the work it
// measures, so that memory freed again afterwards still counts.
package memtest

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// ResetPeak starts a new measure of this process's peak resident size, and returns the
// resident size now.
func ResetPeak(tb testing.TB) int64 {
	tb.Helper()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		tb.Fatal(err)
	}
	return statusBytes(tb, "VmRSS:")
}

// Peak is this process's peak resident size since ResetPeak.
func Peak(tb testing.TB) int64 { return statusBytes(tb, "VmHWM:") }

func statusBytes(tb testing.TB, field string) int64 {
	tb.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb << 10
		}
	}
	tb.Fatalf("no %s in /proc/self/status", field)
	return 0
}
