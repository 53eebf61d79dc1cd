package webhook

import "time"

// DeviceData is the data of device.online, device.offline and
// device.stale events.
type DeviceData struct {
	Device string            `json:"device"`
	Family string            `json:"family,omitempty"`
	Online *bool             `json:"online,omitempty"`
	Stale  bool              `json:"stale"`
	TS     time.Time         `json:"ts"`
	Tags   map[string]string `json:"tags,omitempty"`
}

// CommandData is the data of a command.result event: a dashboard command
// and whether the bridge sent it to the broker.
type CommandData struct {
	Device  string `json:"device"`
	Command string `json:"command"`
	User    string `json:"user"`
	Family  string `json:"family"`
	Topic   string `json:"topic,omitempty"`
	// Outcome is "sent", "refused" (permission, unknown device or bad
	// arguments) or "failed" (the broker could not be reached).
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
}
