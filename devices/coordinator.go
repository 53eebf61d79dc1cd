package devices

// Coordinator is implemented by families whose sources have a coordinator
// through which every other device of the source talks (Zigbee2MQTT's
// bridge, whose <base>/bridge/state is the availability of the whole
// Zigbee network). While the coordinator is offline nothing can be heard
// from the other devices: their last state is not current, but they are
// not known to be offline either, so the bridge shows them stale until it
// returns.
type Coordinator interface {
	// CoordinatorOnline reports whether r is the coordinator's
	// availability (ok) and, if so, whether the coordinator is online.
	CoordinatorOnline(r *Reading) (online, ok bool)
}
