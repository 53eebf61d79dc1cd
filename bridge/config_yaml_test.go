package bridge

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSuggest(t *testing.T) {
	keys := []string{"addr", "max_frame_bytes", "ping_interval", "queue_size"}
	require.Equal(t, "addr", suggest("adr", keys))
	require.Equal(t, "addr", suggest("Addr", keys))
	require.Equal(t, "ping_interval", suggest("ping-interval", keys))
	require.Equal(t, "queue_size", suggest("queuesize", keys))
	require.Empty(t, suggest("foo", keys))
	require.Empty(t, suggest("", keys))
}

func TestEditDistance(t *testing.T) {
	require.Equal(t, 0, editDistance("abc", "abc"))
	require.Equal(t, 1, editDistance("abc", "abd"))
	require.Equal(t, 3, editDistance("", "abc"))
	require.Equal(t, 2, editDistance("feilds", "fields"))
}

// FuzzDecodeYAML: no input file may panic the loader, and whatever it
// accepts must survive ApplyDefaults and Validate without panicking.
func FuzzDecodeYAML(f *testing.F) {
	for _, s := range []string{
		"",
		"dev: true\nhttp: {addr: ':1'}\n",
		"sources:\n  - {family: json, json: {pattern: 'a/{device}', availability: {pattern: 'a/{device}/av'}}}\n",
		"http: &a {addr: x}\nmqtt: *a\n",
		"sources: [{<<: {family: x}, tags: {a: b}}]",
		"state: {history_ttl: 1h, max_devices: 1e3}",
		"a: &a [*a]",
		"- 1\n- 2",
		"http:\n  ping_interval: !!int 5",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Config
		if err := decodeYAML("fuzz.yaml", data, &c); err != nil {
			require.NotEmpty(t, err.Error())
			return
		}
		c.ApplyDefaults()
		_ = c.Validate()
	})
}
