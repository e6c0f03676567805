package main

import (
	"log/slog"
	"runtime/debug"
	"testing"
)

func TestTuneGCKeepsTheOperatorsSetting(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)

	tuneGC(func(k string) string { return map[string]string{"GOGC": "150", "GOMEMLIMIT": "1GiB"}[k] }, slog.New(slog.DiscardHandler))
	if got := debug.SetGCPercent(100); got != 100 {
		t.Fatalf("with GOGC set, the collector's percent became %d", got)
	}
	tuneGC(func(string) string { return "" }, slog.New(slog.DiscardHandler))
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Fatalf("with nothing set, the collector's percent is %d, want %d", got, defaultGCPercent)
	}
}

func TestMemoryLimit(t *testing.T) {
	for in, want := range map[string]int64{"536870912\n": 536870912, "max\n": 0, "": 0, "-1": 0} {
		got, ok := memoryLimit(in)
		if got != want && ok || ok != (want > 0) {
			t.Errorf("memoryLimit(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
}
