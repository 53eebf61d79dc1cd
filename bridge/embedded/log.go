package embedded

import (
	"context"
	"log/slog"
)

// mochiHandler adapts mochi's logging to a bridge's log: mochi reports its
// routine lifecycle (hooks added, listener attached, started, stopped) at
// Info, which here is Debug, and logs every client connection that ends
// without DISCONNECT as a Warn with an empty message. For IoT devices that
// is routine (power cuts, Wi-Fi drops, the simulator's churn) and the
// broker publishes their Will, so it becomes a Debug record with a message.
type mochiHandler struct{ inner slog.Handler }

func (h mochiHandler) Enabled(ctx context.Context, l slog.Level) bool {
	if l <= slog.LevelInfo {
		l = slog.LevelDebug
	}
	return h.inner.Enabled(ctx, l)
}

func (h mochiHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level <= slog.LevelInfo {
		r.Level = slog.LevelDebug
	}
	if r.Message == "" && r.Level == slog.LevelWarn {
		r.Message, r.Level = "client connection ended without DISCONNECT", slog.LevelDebug
	}
	if !h.inner.Enabled(ctx, r.Level) {
		return nil
	}
	return h.inner.Handle(ctx, r)
}

func (h mochiHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return mochiHandler{h.inner.WithAttrs(as)}
}

func (h mochiHandler) WithGroup(name string) slog.Handler {
	return mochiHandler{h.inner.WithGroup(name)}
}
