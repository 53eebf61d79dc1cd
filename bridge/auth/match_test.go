package auth

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/wire"
)

// TestSegmentPattern: a `*` right after a separator matches whole
// segments only; one after any other byte stays a prefix match, on
// purpose (match.go).
func TestSegmentPattern(t *testing.T) {
	id := &Identity{Chan: []string{"device:kitchen/*", "tag:site=*"}, Cmd: []string{"kitchen/*"}}
	require.True(t, id.CanSubscribe("device:kitchen/x"))
	require.True(t, id.CanSubscribe("device:kitchen/x/y"))
	require.False(t, id.CanSubscribe("device:kitchen_freezer"))
	require.False(t, id.CanSubscribe("device:kitchen"), "the segment form needs a segment after the separator")
	require.True(t, id.CanSubscribe("tag:site=hq"))
	require.False(t, id.CanSubscribe("tag:sites=hq"))
	require.True(t, id.CanCommand("kitchen/x"))
	require.False(t, id.CanCommand("kitchen_freezer"))
	require.False(t, id.CanCommand("kitchen"))

	prefix := &Identity{Chan: []string{"device:kitchen*"}, Cmd: []string{"kitchen*"}}
	for _, name := range []string{"kitchen", "kitchen_freezer", "kitchen/x"} {
		require.True(t, prefix.CanSubscribe(wire.DeviceChannel(name)), "prefix form grants %s (deliberate)", name)
		require.True(t, prefix.CanCommand(name), name)
	}
	require.False(t, prefix.CanSubscribe("device:kitche"))
}

// TestCanonicalForm: chan and cmd patterns are matched on the escaped
// channel form, so one pattern means the same device in both claims, and
// an alternative spelling of a name never matches.
func TestCanonicalForm(t *testing.T) {
	id := &Identity{Chan: []string{"device:living%20room", "device:a/*"}, Cmd: []string{"living%20room", "a/*"}}
	require.True(t, id.CanSubscribe(wire.DeviceChannel("living room")))
	require.True(t, id.CanCommand("living room"), "cmd is matched on the escaped id, like chan")
	require.False(t, id.CanCommand("living%20room"), "a device literally named living%20room is another device")
	require.True(t, id.CanCommand("a/b c"))

	// A non-canonical spelling of an allowed or disallowed channel is
	// never allowed.
	star := &Identity{Chan: []string{"device:k*", "*"}}
	require.False(t, star.CanSubscribe("device:%6Bitchen"))
	require.False(t, star.CanSubscribe("device:kitchen%2fx"))
	require.False(t, star.CanSubscribe("tag:site=h%71"))
	require.True(t, star.CanSubscribe("device:kitchen/x"))
	require.Equal(t, "device:kitchen", CanonicalChannel(mustParse(t, "device:%6Bitchen")))
	require.Equal(t, "tag:a%3Db=c", CanonicalChannel(mustParse(t, "tag:a%3db=c")))
}

func mustParse(t *testing.T, name string) wire.Channel {
	ch, err := wire.ParseChannel(name)
	require.NoError(t, err)
	return ch
}

func TestPatternsMustBeCanonical(t *testing.T) {
	for _, tc := range []struct {
		p      string
		device bool
		ok     bool
	}{
		{"device:kitchen-th", false, true},
		{"device:living%20room*", false, true},
		{"device:kitchen%2*", false, false}, // a dangling escape
		{"device:%6Bitchen", false, false},
		{"device:a%2Fb", false, false}, // '/' is not escaped
		{"tag:site=h*", false, true},
		{"tag:a%3db=c", false, false}, // lower-case hex
		{"app:my room", false, false},
		{"app:*", false, true},
		{"*", false, true},
		{"living%20room", true, true},
		{"living room", true, false},
		{"kitchen/*", true, true},
		{"a%*", true, false},
		{"*", true, true},
	} {
		err := checkPattern(tc.p, tc.device)
		require.Equal(t, tc.ok, err == nil, "%q (device %v): %v", tc.p, tc.device, err)
	}
}
