package bootstrap

import (
	"fmt"
	"log/slog"

	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"
	"go.uber.org/zap/zapcore"

	"github.com/chatd/chatd/internal/adapters/telemetry"
)

// NewLogger builds the process logger: JSON for production, console for a
// developer's terminal.
func NewLogger(level, format string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	var cfg zap.Config
	if format == "console" {
		cfg = zap.NewDevelopmentConfig()
		cfg.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
	} else {
		cfg = zap.NewProductionConfig()
		cfg.EncoderConfig.TimeKey = "time"
		cfg.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.DisableStacktrace = lvl > zapcore.DebugLevel
	return cfg.Build()
}

// newSlogLogger is the process logger for the code that logs through slog
// (the use cases): the same zap core, and a record logged with a context
// that holds a span carries its trace_id and span_id.
func newSlogLogger(l *zap.Logger) *slog.Logger {
	return slog.New(telemetry.WithTraceIDs(zapslog.NewHandler(l.Core())))
}
