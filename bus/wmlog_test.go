package bus

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
)

func TestWatermillLinesBelowTheLevelCostNothing(t *testing.T) {
	var out bytes.Buffer
	logger := newLevelledLogger(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo})), nil).
		With(watermill.LogFields{"subscriber": "engine"})
	fields := watermill.LogFields{"message_uuid": "m-1", "topic": "commands.propose_action"}
	if n := testing.AllocsPerRun(100, func() {
		logger.Trace("sending message", fields)
		logger.Debug("message handled", fields)
	}); n != 0 {
		t.Errorf("a Trace and a Debug line below the level allocate %v times, want 0", n)
	}
	logger.Info("router started", fields)
	logger.Trace("sending message", fields)
	if got := out.String(); !strings.Contains(got, "router started") || !strings.Contains(got, "subscriber=engine") || strings.Contains(got, "sending message") {
		t.Errorf("logged:\n%s", got)
	}

	out.Reset()
	verbose := newLevelledLogger(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: watermill.LevelTrace})), nil)
	verbose.Trace("sending message", fields)
	verbose.Debug("message handled", fields)
	if got := out.String(); !strings.Contains(got, "sending message") || !strings.Contains(got, "message handled") {
		t.Errorf("at trace level logged:\n%s", got)
	}
}
