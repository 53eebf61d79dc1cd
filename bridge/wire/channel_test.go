package wire

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseChannelKinds(t *testing.T) {
	cases := []struct {
		name string
		want Channel
	}{
		{"devices", Channel{Name: "devices", Kind: KindDevices}},
		{"monitor", Channel{Name: "monitor", Kind: KindMonitor}},
		{"device:kitchen-th", Channel{Name: "device:kitchen-th", Kind: KindDevice, Arg: "kitchen-th"}},
		{"device:a:b", Channel{Name: "device:a:b", Kind: KindDevice, Arg: "a:b"}},
		{"device:a%20b", Channel{Name: "device:a%20b", Kind: KindDevice, Arg: "a%20b"}},
		{"user:alice", Channel{Name: "user:alice", Kind: KindUser, Arg: "alice"}},
		{"app:chat", Channel{Name: "app:chat", Kind: KindApp, Arg: "chat"}},
		{"app:a=b", Channel{Name: "app:a=b", Kind: KindApp, Arg: "a=b"}},
		{"tag:site=hq", Channel{Name: "tag:site=hq", Kind: KindTag, Arg: "site=hq", TagKey: "site", TagValue: "hq"}},
		{"tag:k=v=w", Channel{Name: "tag:k=v=w", Kind: KindTag, Arg: "k=v=w", TagKey: "k", TagValue: "v=w"}},
		{"tag:floor=2%3D3", Channel{Name: "tag:floor=2%3D3", Kind: KindTag, Arg: "floor=2%3D3", TagKey: "floor", TagValue: "2%3D3"}},
		{"device:" + strings.Repeat("x", MaxChannelLen-len("device:")), Channel{Name: "device:" + strings.Repeat("x", MaxChannelLen-len("device:")), Kind: KindDevice, Arg: strings.Repeat("x", MaxChannelLen-len("device:"))}},
		{"app:~!\"$&'()*,-./;<>?@[\\]^_`{|}", Channel{Name: "app:~!\"$&'()*,-./;<>?@[\\]^_`{|}", Kind: KindApp, Arg: "~!\"$&'()*,-./;<>?@[\\]^_`{|}"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := ParseChannel(tc.name)
			require.NoError(t, err)
			require.Equal(t, tc.want, ch)
		})
	}
}

func TestParseChannelInvalid(t *testing.T) {
	cases := []struct{ why, name string }{
		{"empty", ""},
		{"too long", "device:" + strings.Repeat("x", MaxChannelLen-len("device:")+1)},
		{"way too long", "app:" + strings.Repeat("a", 10000)},
		{"space", "device:a b"},
		{"leading space", " devices"},
		{"trailing space", "devices "},
		{"tab", "device:a\tb"},
		{"newline", "devices\n"},
		{"carriage return", "device:a\rb"},
		{"hash", "device:a#"},
		{"plus", "device:a+b"},
		{"NUL", "device:a\x00b"},
		{"control", "device:a\x1bb"},
		{"DEL", "device:a\x7f"},
		{"latin1 byte", "device:\xe9"},
		{"unicode", "device:küche"},
		{"unknown kind", "things"},
		{"unknown kind with arg", "thing:x"},
		{"kind case matters", "Devices"},
		{"kind with colon only", ":x"},
		{"devices with arg", "devices:x"},
		{"devices with empty arg", "devices:"},
		{"monitor with arg", "monitor:x"},
		{"device missing id", "device:"},
		{"device no colon", "device"},
		{"user missing id", "user:"},
		{"user no colon", "user"},
		{"app missing name", "app:"},
		{"app no colon", "app"},
		{"tag no colon", "tag"},
		{"tag empty", "tag:"},
		{"tag no equals", "tag:site"},
		{"tag missing key", "tag:=hq"},
		{"tag missing value", "tag:site="},
		{"tag equals only", "tag:="},
	}
	for _, tc := range cases {
		t.Run(tc.why, func(t *testing.T) {
			_, err := ParseChannel(tc.name)
			require.Error(t, err)
			require.Less(t, len(err.Error()), 120, "errors do not echo long input")
		})
	}
}

func TestEscapeIDRoundTrip(t *testing.T) {
	ids := []string{
		"kitchen-th", "", "a/b/c", "living room", "küche", "温度计", "100%", "%41", "%", "%%", "a=b", "==",
		"#", "+", "tab\there", "nl\n", "\x00", "\x7f\xff", "0x00158d0001a2b3c4", "already%20escaped",
		"ends with %2", "emoji 🌡️", "colon:ok", "tag:site=hq", strings.Repeat("é", 60),
	}
	for _, id := range ids {
		esc := EscapeID(id)
		require.Equal(t, id, UnescapeID(esc), "round trip of %q via %q", id, esc)
		for i := 0; i < len(esc); i++ {
			require.False(t, esc[i] <= 0x20 || esc[i] >= 0x7f || esc[i] == '#' || esc[i] == '+' || esc[i] == '=',
				"escaped %q has byte %q", esc, esc[i])
		}
		if id != "" {
			requireValid(t, DeviceChannel(id), KindDevice)
			requireValid(t, TagChannel(id, id), KindTag)
			requireValid(t, TagChannel("site", id), KindTag)
			requireValid(t, TagChannel(id, "hq"), KindTag)
		}
	}
}

func TestEscapeIDExamples(t *testing.T) {
	require.Equal(t, "kitchen-th", EscapeID("kitchen-th"))
	require.Equal(t, "a/b", EscapeID("a/b"))
	require.Equal(t, "living%20room", EscapeID("living room"))
	require.Equal(t, "100%25", EscapeID("100%"))
	require.Equal(t, "a%3Db", EscapeID("a=b"))
	require.Equal(t, "k%C3%BCche", EscapeID("küche"))
	require.Equal(t, "device:k%C3%BCche", DeviceChannel("küche"))
	require.Equal(t, "tag:fl%3Door=2%2B", TagChannel("fl=oor", "2+"))
}

func TestUnescapeIDMalformedKeptAsIs(t *testing.T) {
	for in, want := range map[string]string{
		"%":     "%",
		"%4":    "%4",
		"a%4":   "a%4",
		"%zz":   "%zz",
		"%4g":   "%4g",
		"%41":   "A",
		"%4a":   "J",
		"%%41":  "%A",
		"x%2":   "x%2",
		"plain": "plain",
	} {
		require.Equal(t, want, UnescapeID(in), "UnescapeID(%q)", in)
	}
}

func TestTagChannelSplitsBack(t *testing.T) {
	ch, err := ParseChannel(TagChannel("a=b", "c=d"))
	require.NoError(t, err)
	require.Equal(t, "a=b", UnescapeID(ch.TagKey))
	require.Equal(t, "c=d", UnescapeID(ch.TagValue))
}

// requireValid checks that name satisfies every rule of PROTOCOL.md
// "Channels" and that ParseChannel accepts it as kind; ids too long for a
// channel are the one exception the caller must bound.
func requireValid(t *testing.T, name string, kind Kind) {
	t.Helper()
	ch, err := ParseChannel(name)
	if len(name) > MaxChannelLen {
		require.Error(t, err)
		return
	}
	require.NoError(t, err, "%q", name)
	require.Equal(t, kind, ch.Kind)
	requireRules(t, name)
}

func requireRules(t *testing.T, name string) {
	t.Helper()
	require.NotEmpty(t, name)
	require.LessOrEqual(t, len(name), MaxChannelLen)
	for i := 0; i < len(name); i++ {
		c := name[i]
		require.True(t, c > 0x20 && c < 0x7f, "byte %q of %q is not printable ASCII", c, name)
		require.NotContains(t, "#+", string(c), "%q", name)
	}
}
