package sandbox

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

const (
	stderrLineMax  = 1 << 10  // longer lines are cut
	stderrWarnMax  = 8        // first lines logged at warn, the rest at debug
	stderrLogLimit = 16 << 10 // bytes logged per worker process; the rest are counted
)

// memoryMarkers are stderr texts of a Go process that ran out of memory: the runtime's
// fatal error under RLIMIT_AS, a failed mmap, a thread that could not be created.
var memoryMarkers = []string{
	"out of memory",
	"cannot allocate memory",
	"errno=12", // ENOMEM from the runtime's thread creation
	"pthread_create failed",
}

func hasMemoryMarker(line string) bool {
	for _, m := range memoryMarkers {
		if strings.Contains(line, m) {
			return true
		}
	}
	return false
}

// headlineRank rates how well a stderr line explains a worker's death; the first line of the
// highest rank becomes the headline: a memory error, then a fatal error or panic, then any
// line other than the worker's start-up notices.
func headlineRank(line string) int {
	switch {
	case hasMemoryMarker(line):
		return 3
	case strings.HasPrefix(line, "fatal error:"), strings.HasPrefix(line, "panic:"):
		return 2
	case strings.TrimSpace(line) == "", strings.HasPrefix(line, noticePrefix):
		return 0
	}
	return 1
}

// stderrSink receives a worker's stderr (os/exec copies the pipe into it), logs its lines
// with a size cap, and remembers what the parent needs to explain a death.
type stderrSink struct {
	log *slog.Logger

	mu        sync.Mutex
	line      []byte
	lines     int
	logged    int
	dropped   int
	first     string // the line that best explains a death (see headlineRank)
	firstRank int
	oomSeen   bool
	flushed   bool
	truncate  bool
}

// setLog replaces the logger (to add the process id once known).
func (s *stderrSink) setLog(l *slog.Logger) {
	s.mu.Lock()
	s.log = l
	s.mu.Unlock()
}

func (s *stderrSink) Write(b []byte) (int, error) {
	n := len(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			s.add(b)
			break
		}
		s.add(b[:i])
		s.emit()
		b = b[i+1:]
	}
	return n, nil
}

func (s *stderrSink) add(b []byte) {
	room := stderrLineMax - len(s.line)
	if len(b) > room {
		b = b[:room]
		s.truncate = true
	}
	s.line = append(s.line, b...)
}

func (s *stderrSink) emit() {
	line := string(s.line)
	s.line = s.line[:0]
	if s.truncate {
		line += "…"
		s.truncate = false
	}
	if hasMemoryMarker(line) {
		s.oomSeen = true
	}
	if r := headlineRank(line); r > s.firstRank {
		s.first, s.firstRank = line, r
		if len(s.first) > 200 {
			s.first = s.first[:200] + "…"
		}
	}
	if s.logged+len(line) > stderrLogLimit {
		s.dropped += len(line) + 1
		return
	}
	s.logged += len(line) + 1
	s.lines++
	level := slog.LevelWarn
	if s.lines > stderrWarnMax || strings.HasPrefix(line, noticePrefix) {
		// Start-up notices (an inherited descriptor closed) are routine, not trouble.
		level = slog.LevelDebug
	}
	s.log.Log(context.Background(), level, "sandbox worker stderr", "line", line)
}

// finish logs a last unterminated line and what the cap dropped, once, and returns whether
// the output showed memory exhaustion and its first line. Call it after the process has been
// waited for (os/exec has then copied all of stderr).
func (s *stderrSink) finish() (oom bool, first string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.flushed {
		s.flushed = true
		if len(s.line) > 0 {
			s.emit()
		}
		if s.dropped > 0 {
			s.log.Warn("sandbox worker stderr truncated", "dropped_bytes", s.dropped)
		}
	}
	return s.oomSeen, s.first
}
