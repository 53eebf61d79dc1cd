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
	if r.Level == slog.LevelError && r.Message == "failed to get data" && notFound(r) {
		// The bolt storage hook reports a key a new store does not hold
		// yet (the broker's $SYS info on the first start) as an error.
		r.Level = slog.LevelDebug
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

// notFound reports whether a record's error attribute says "key not found".
func notFound(r slog.Record) bool {
	found := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" && a.Value.String() == "key not found" {
			found = true
			return false
		}
		return true
	})
	return found
}
