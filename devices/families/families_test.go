package families

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

func TestAllFormOneRegistry(t *testing.T) {
	reg, err := devices.NewRegistry(All()...)
	require.NoError(t, err, "every family at its default base, without overlapping filters")
	require.Contains(t, reg.Families(), "sparkplug_b")
	require.Len(t, reg.Families(), len(devices.Builtin())+1)
}
