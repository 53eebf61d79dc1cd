package bridge

import "github.com/mqlive/mqlive/devices"

// HandleMessage runs the ingest pipeline for one MQTT message as if the
// broker had delivered it, so benchmarks can drive delivery without an
// MQTT round trip per message.
func HandleMessage(b *Bridge, m devices.Message) { b.handleMessage(m) }

// IngestMessage hands a message to the ingest pipeline as the MQTT client
// does: on a cluster node with ingest workers it is queued to its lane.
func IngestMessage(b *Bridge, m devices.Message) { b.ingestMessage(m) }

// Lanes is the number of ingest lanes b runs (0: the MQTT client's
// goroutine).
func Lanes(b *Bridge) int {
	if b.lanes == nil {
		return 0
	}
	return len(b.lanes.ls)
}

// LaneKey exposes laneKey.
func LaneKey(topic, base string) string { return laneKey(topic, base) }
