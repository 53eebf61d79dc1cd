package sparkplug

import (
	"strings"

	"github.com/mqlive/mqlive/devices"
)

// Message types of the Sparkplug B topic namespace (Sparkplug 3.0 §4.1.1):
//
//	<namespace>/<group_id>/<message_type>/<edge_node_id>[/<device_id>]
//	<namespace>/STATE/<host_id>                       (host application state)
const (
	typeNBIRTH = "NBIRTH"
	typeNDEATH = "NDEATH"
	typeNDATA  = "NDATA"
	typeNCMD   = "NCMD"
	typeDBIRTH = "DBIRTH"
	typeDDEATH = "DDEATH"
	typeDDATA  = "DDATA"
	typeDCMD   = "DCMD"
	typeSTATE  = "STATE"
)

// topic is a parsed Sparkplug topic below the base (namespace).
type topic struct {
	group, kind, edge, device string
}

// isDevice reports whether the message is about a device rather than its
// edge node.
func (t topic) isDevice() bool { return t.kind[0] == 'D' }

// id is the device id READINGS.md gives Sparkplug: group/edge for an edge
// node, group/edge/device for a device. Topic levels never contain '/', so
// the id splits back unambiguously.
func (t topic) id() string {
	if t.isDevice() {
		return t.group + "/" + t.edge + "/" + t.device
	}
	return t.group + "/" + t.edge
}

// parseTopic splits a topic below base. ok is false for a host STATE topic
// (to be ignored); err is set for a topic that is not Sparkplug.
func parseTopic(base, name string) (t topic, state bool, err error) {
	rest, ok := devices.TrimBase(base, name)
	if !ok {
		return t, false, devices.Reject(devices.ReasonInvalidTopic, "topic %q is not below base %q", name, base)
	}
	levels := strings.Split(rest, "/")
	if levels[0] == typeSTATE && len(levels) == 2 {
		// Sparkplug 3.0 host STATE: <namespace>/STATE/<host_id>
		// (tck-id-host-topic-phid-birth-message); not device status.
		return t, true, nil
	}
	if len(levels) < 3 || len(levels) > 4 {
		return t, false, devices.Reject(devices.ReasonInvalidTopic, "topic %q is not <group>/<type>/<edge>[/<device>] below %q", name, base)
	}
	for _, l := range levels {
		if l == "" {
			return t, false, devices.Reject(devices.ReasonInvalidTopic, "topic %q has an empty level", name)
		}
	}
	t = topic{group: levels[0], kind: levels[1], edge: levels[2]}
	switch t.kind {
	case typeNBIRTH, typeNDEATH, typeNDATA, typeNCMD:
		if len(levels) != 3 {
			return t, false, devices.Reject(devices.ReasonInvalidTopic, "%s topic %q has a device level", t.kind, name)
		}
	case typeDBIRTH, typeDDEATH, typeDDATA, typeDCMD:
		if len(levels) != 4 {
			return t, false, devices.Reject(devices.ReasonInvalidTopic, "%s topic %q has no device level", t.kind, name)
		}
		t.device = levels[3]
	default:
		return t, false, devices.Reject(devices.ReasonInvalidTopic, "topic %q: %q is not a Sparkplug message type", name, t.kind)
	}
	return t, false, nil
}

// splitID parses a device id (group/edge or group/edge/device) for the
// Sampler and the Commander.
func splitID(id string) (group, edge, device string, ok bool) {
	parts := strings.Split(id, "/")
	if len(parts) < 2 || len(parts) > 3 {
		return "", "", "", false
	}
	for _, p := range parts {
		if p == "" || strings.ContainsAny(p, "+#\x00") {
			return "", "", "", false
		}
	}
	if len(parts) == 3 {
		device = parts[2]
	}
	return parts[0], parts[1], device, true
}
