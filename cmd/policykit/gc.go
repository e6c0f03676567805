package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Go's collector runs, by default, each time the heap doubles over what is live. An engine
// deciding hundreds of actions a second allocates fast and keeps little, so at that pace
// the collector took an eighth of the process's CPU, and on a busy machine its assists
// slowed every decision. Unless the operator says otherwise (GOGC, GOMEMLIMIT), the server
// lets the heap grow to five times what is live, and, in a container with a memory limit,
// keeps under four fifths of that limit, where the collector works harder instead.
const defaultGCPercent = 400

// cgroupMemoryMax is where a container's memory limit is read (cgroup v2).
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// tuneGC applies the defaults above where getenv names no setting of its own.
func tuneGC(getenv func(string) string, logger *slog.Logger) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	if getenv("GOMEMLIMIT") != "" {
		return
	}
	b, err := os.ReadFile(cgroupMemoryMax)
	if err != nil {
		return // not in a cgroup v2 container: no limit to keep under
	}
	if limit, ok := memoryLimit(string(b)); ok {
		debug.SetMemoryLimit(limit / 5 * 4)
		logger.Debug("memory limit from the container", "limit_bytes", limit, "soft_limit_bytes", limit/5*4)
	}
}

// memoryLimit parses memory.max: a number of bytes, or "max" for none.
func memoryLimit(s string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil && n > 0
}
