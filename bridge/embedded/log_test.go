package embedded

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMochiHandler(t *testing.T) {
	var buf bytes.Buffer
	inner := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})
	log := slog.New(mochiHandler{inner}).With("component", "mqtt_broker")

	log.Info("attached listener")
	log.Warn("", "error", "EOF")
	require.Empty(t, buf.String(), "routine records are Debug")

	log.Warn("real trouble")
	log.Error("worse")
	require.Contains(t, buf.String(), "real trouble")
	require.Contains(t, buf.String(), "worse")
	require.Contains(t, buf.String(), "component=mqtt_broker")

	buf.Reset()
	debug := slog.New(mochiHandler{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})})
	debug.WithGroup("g").Warn("", "error", "EOF")
	require.Contains(t, buf.String(), "level=DEBUG")
	require.Contains(t, buf.String(), "client connection ended without DISCONNECT")
	require.Contains(t, buf.String(), "g.error=EOF")
}

func TestFirstStartBoltMissIsNotAnError(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(mochiHandler{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})})
	log.Error("failed to get data", "hook", "bolt-db", "error", errors.New("key not found"), "key", "SYS")
	require.Empty(t, buf.String(), "a new store lacking the $SYS key is routine")
	log.Error("failed to get data", "hook", "bolt-db", "error", errors.New("disk I/O error"))
	require.Contains(t, buf.String(), "disk I/O error", "other storage errors stay errors")
}
