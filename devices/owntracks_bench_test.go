package devices_test

import (
	"testing"

	"github.com/mqlive/mqlive/devices"
)

func BenchmarkOwnTracksDecode(b *testing.B) { benchDecode(b, devices.OwnTracks{}, "owntracks") }
