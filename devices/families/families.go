// Package families lists every device family shipped with mqlive: the
// families of devices.Builtin and those that live in their own packages
// because they need code the devices package must not import (Sparkplug B
// and its generated protobuf types). The bridge and the simulator take
// their families from All.
//
// All returns new handler values on every call; stateful families
// (Sparkplug aliases) keep their state per returned value.
package families

import (
	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/sparkplug"
)

// All returns every shipped family, each at its defaults.
func All() []devices.Handler {
	return append(devices.Builtin(), sparkplug.New())
}
