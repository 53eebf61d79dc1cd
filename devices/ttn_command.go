package devices

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// CommandWithState implements StateCommander: LoRaWAN downlinks through The
// Things Stack's MQTT integration
// (https://www.thethingsindustries.com/docs/integrations/other-integrations/mqtt/#scheduling-downlinks):
//
//	downlink          <base>/<app>[@<tenant>]/devices/<device>/down/push
//	downlink_replace  <base>/<app>[@<tenant>]/devices/<device>/down/replace
//
// with args {"f_port":1..223,"frm_payload":"<base64>","priority":"NORMAL","confirmed":false}
// (priority and confirmed optional). The payload is
// {"downlinks":[{…}]}. The application and tenant come from the tags of
// the device's uplinks, so a device must have been heard before it can be
// commanded; a payload never chooses them.
func (t TTN) CommandWithState(base string, state DeviceState, name string, args []byte) (Message, error) {
	family := t.Family()
	device := state.Reading.Device
	if err := commandDevice(family, device); err != nil {
		return Message{}, err
	}
	var verb string
	switch name {
	case "downlink":
		verb = "push"
	case "downlink_replace":
		verb = "replace"
	default:
		return Message{}, invalidCommand(family, "unknown command %q (want downlink, downlink_replace)", name)
	}
	app := state.Reading.Tags["ttn_application"]
	if app == "" || strings.ContainsAny(device, "/+#") {
		return Message{}, invalidCommand(family, "device %q: its application is not known yet (no uplink heard)", device)
	}
	if tenant := state.Reading.Tags["ttn_tenant"]; tenant != "" {
		app += "@" + tenant
	}
	var d struct {
		FPort      *int   `json:"f_port"`
		FRMPayload string `json:"frm_payload"`
		Priority   string `json:"priority,omitempty"`
		Confirmed  bool   `json:"confirmed,omitempty"`
	}
	dec := json.NewDecoder(strings.NewReader(string(args)))
	dec.DisallowUnknownFields()
	if len(args) == 0 || dec.Decode(&d) != nil {
		return Message{}, invalidCommand(family, `args must be {"f_port":1..223,"frm_payload":"<base64>"}`)
	}
	// LoRaWAN 1.0.x §4.3.2: application FPorts are 1..223.
	if d.FPort == nil || *d.FPort < 1 || *d.FPort > 223 {
		return Message{}, invalidCommand(family, "f_port must be 1..223")
	}
	raw, err := base64.StdEncoding.DecodeString(d.FRMPayload)
	if err != nil || len(raw) == 0 || len(raw) > 242 {
		// 242 bytes is the largest LoRaWAN application payload (DR with N=242).
		return Message{}, invalidCommand(family, "frm_payload must be base64 of 1..242 bytes")
	}
	switch d.Priority {
	case "", "LOWEST", "LOW", "BELOW_NORMAL", "NORMAL", "ABOVE_NORMAL", "HIGH", "HIGHEST":
	default:
		return Message{}, invalidCommand(family, "priority %q is not a TTS priority", d.Priority)
	}
	if d.Priority == "" {
		d.Priority = "NORMAL"
	}
	payload, _ := json.Marshal(map[string]any{"downlinks": []any{d}})
	return Message{Topic: JoinBase(base, app+"/devices/"+device+"/down/"+verb), Payload: payload}, nil
}

var _ StateCommander = TTN{}
