package bus

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
)

// levelledLogger is Watermill's slog adapter made to drop Debug and Trace lines before it
// builds them. Watermill logs a Trace line for every message it sends and handles, and its
// adapter turns the fields into attributes before slog asks whether the level is enabled:
// on a busy engine that was a twentieth of the process's CPU, for lines nobody reads.
type levelledLogger struct {
	watermill.LoggerAdapter
	slog *slog.Logger
}

func newLevelledLogger(logger *slog.Logger, mapping map[slog.Level]slog.Level) watermill.LoggerAdapter {
	return levelledLogger{LoggerAdapter: watermill.NewSlogLoggerWithLevelMapping(logger, mapping), slog: logger}
}

func (l levelledLogger) Debug(msg string, fields watermill.LogFields) {
	if l.slog.Enabled(context.Background(), slog.LevelDebug) {
		l.LoggerAdapter.Debug(msg, fields)
	}
}

func (l levelledLogger) Trace(msg string, fields watermill.LogFields) {
	if l.slog.Enabled(context.Background(), watermill.LevelTrace) {
		l.LoggerAdapter.Trace(msg, fields)
	}
}

func (l levelledLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	inner := l.LoggerAdapter.With(fields)
	return levelledLogger{LoggerAdapter: inner, slog: l.slog}
}
