package wire

import (
	"strings"
	"testing"
)

func FuzzParseChannel(f *testing.F) {
	for _, seed := range []string{
		"devices", "monitor", "device:a", "user:u", "app:chat", "tag:site=hq", "tag:=", "tag:a",
		"device:", "devices:x", "thing:x", "device:a b", "device:#", "device:+", "device:\x00",
		"device:\x7f", "device:é", strings.Repeat("a", 201), "app:" + strings.Repeat("b", 196),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		ch, err := ParseChannel(name)
		if err != nil {
			return
		}
		checkRules(t, name)
		if ch.Name != name {
			t.Fatalf("name %q vs %q", ch.Name, name)
		}
		switch ch.Kind {
		case KindDevices, KindMonitor:
			if ch.Arg != "" || string(ch.Kind) != name {
				t.Fatalf("%q: %+v", name, ch)
			}
		case KindDevice, KindUser, KindApp:
			if ch.Arg == "" || string(ch.Kind)+":"+ch.Arg != name {
				t.Fatalf("%q: %+v", name, ch)
			}
		case KindTag:
			if ch.TagKey == "" || ch.TagValue == "" || "tag:"+ch.TagKey+"="+ch.TagValue != name || strings.Contains(ch.TagKey, "=") {
				t.Fatalf("%q: %+v", name, ch)
			}
		default:
			t.Fatalf("%q: unknown kind %q accepted", name, ch.Kind)
		}
	})
}

func FuzzEscapeID(f *testing.F) {
	for _, seed := range []string{"kitchen-th", "a/b", "a b", "küche", "100%", "%41", "a=b", "#+", "\x00", "\xff"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, id string) {
		esc := EscapeID(id)
		if got := UnescapeID(esc); got != id {
			t.Fatalf("round trip %q -> %q -> %q", id, esc, got)
		}
		if id == "" {
			return
		}
		for _, c := range []struct {
			name string
			kind Kind
		}{{DeviceChannel(id), KindDevice}, {TagChannel(id, id), KindTag}} {
			ch, err := ParseChannel(c.name)
			if len(c.name) > MaxChannelLen {
				if err == nil {
					t.Fatalf("accepted %d bytes", len(c.name))
				}
				continue
			}
			if err != nil {
				t.Fatalf("%q from %q: %v", c.name, id, err)
			}
			if ch.Kind != c.kind {
				t.Fatalf("%q: kind %q", c.name, ch.Kind)
			}
			checkRules(t, c.name)
			if c.kind == KindTag && (UnescapeID(ch.TagKey) != id || UnescapeID(ch.TagValue) != id) {
				t.Fatalf("%q splits into %q=%q", c.name, ch.TagKey, ch.TagValue)
			}
			if c.kind == KindDevice && UnescapeID(ch.Arg) != id {
				t.Fatalf("%q names %q", c.name, UnescapeID(ch.Arg))
			}
		}
	})
}

// checkRules fails unless name satisfies PROTOCOL.md "Channels": at most
// 200 bytes, printable ASCII, no whitespace, '#', '+' or NUL.
func checkRules(t *testing.T, name string) {
	t.Helper()
	if name == "" || len(name) > MaxChannelLen {
		t.Fatalf("accepted length %d", len(name))
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= 0x20 || c >= 0x7f || c == '#' || c == '+' {
			t.Fatalf("accepted %q with byte %q", name, c)
		}
	}
}
