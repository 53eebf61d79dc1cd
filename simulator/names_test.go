package simulator

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDeviceNamesDeterministicAndDistinct(t *testing.T) {
	for _, fam := range []string{"zigbee2mqtt", "tasmota", "other"} {
		a := deviceNames(fam, 50, 42)
		require.Equal(t, a, deviceNames(fam, 50, 42), fam)
		require.NotEqual(t, a, deviceNames(fam, 50, 43), fam)
		seen := map[string]bool{}
		for _, n := range a {
			require.False(t, seen[n], "duplicate %q", n)
			seen[n] = true
			require.False(t, strings.ContainsAny(n, "+#\x00"), n)
		}
	}
}

func TestDeviceNamesShapes(t *testing.T) {
	z := deviceNames("zigbee2mqtt", 1, 7)
	require.Contains(t, z[0], " ")
	require.Contains(t, z[0], "/")
	for _, n := range deviceNames("zigbee2mqtt", 30, 7) {
		require.NotRegexp(t, `/\d+$`, n, "zigbee2mqtt reserves /<digits> for endpoints")
	}
	tas := regexp.MustCompile(`^tasmota_[0-9A-F]{6}$`)
	for _, n := range deviceNames("tasmota", 30, 7) {
		require.Regexp(t, tas, n)
	}
	for _, n := range deviceNames("other", 5, 7) {
		require.NotContains(t, n, "/")
		require.NotContains(t, n, " ")
	}
}
