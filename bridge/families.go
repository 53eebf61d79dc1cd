package bridge

import (
	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/families"
)

// Families lists every device family this build of the bridge can ingest:
// the families of devices.Builtin plus those that live in their own
// packages. The configurable json family is created per source and is not
// listed.
func Families() []devices.Handler {
	return families.All()
}
