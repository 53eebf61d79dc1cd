package devices

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// CommandSpec is one command a device accepts, as the bridge's `commands`
// method lists it (README "Commands from the dashboard"). The page sends
// Name with Args as they are (Args set: a ready-made command such as "on"
// for the second relay), or with arguments the user filled in after
// Schema (Schema set). It never builds family topics or payloads itself.
type CommandSpec struct {
	// Name is the `command` method's name.
	Name string
	// Label is a short human label: "On", "Downlink".
	Label string
	// Output is the boolean metric the command switches ("state",
	// "switch:1.state"); empty for a command that is not an output's.
	Output string
	// Args are the fixed arguments to send (raw JSON); empty for none.
	Args json.RawMessage
	// Schema is the JSON Schema of the arguments the user supplies (raw
	// JSON); empty when the command takes no user input.
	Schema json.RawMessage
}

// CommandLister is implemented by families that can say which commands a
// device accepts, from what the bridge knows of it (its merged Reading,
// the topics it was heard on). Every listed command must encode without
// error through the family's Commander or StateCommander. Pure, like
// Decode.
type CommandLister interface {
	Commands(base string, state DeviceState) []CommandSpec
}

// switchVerbs are the family-neutral output commands, in display order.
var switchVerbs = [...]struct{ name, label, upper string }{
	{"on", "On", "ON"}, {"off", "Off", "OFF"}, {"toggle", "Toggle", "TOGGLE"},
}

// switchCommands lists on, off and toggle of one output. encode returns the
// command name and raw args for a verb (lower and upper case given).
func switchCommands(output string, encode func(verb, upper string) (string, json.RawMessage)) []CommandSpec {
	out := make([]CommandSpec, 0, len(switchVerbs))
	for _, v := range switchVerbs {
		name, args := encode(v.name, v.upper)
		out = append(out, CommandSpec{Name: name, Label: v.label, Output: output, Args: args})
	}
	return out
}

// plainSwitch encodes a verb as the command of that name without args.
func plainSwitch(verb, _ string) (string, json.RawMessage) { return verb, nil }

// booleanOutputs returns the device's boolean metrics that are the state
// of an output: "state" first, then "<instance>.state" by name.
func booleanOutputs(r Reading) []string {
	var out []string
	for k, v := range r.Metrics {
		if _, ok := v.(bool); !ok {
			continue
		}
		if k == "state" || strings.HasSuffix(k, ".state") {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == "state":
			return -1
		case b == "state":
			return 1
		}
		return strings.Compare(a, b)
	})
	return out
}

// instanceOf returns "l1" for "l1.state".
func instanceOf(output string) string { return strings.TrimSuffix(output, ".state") }

func rawJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v) // maps of strings and numbers: always encodable
	return b
}

// Commands implements CommandLister: on/off/toggle of the primary output,
// set {state_<endpoint>} for the other endpoints' outputs, and set/get of
// the attributes a dashboard may write.
func (z Zigbee2MQTT) Commands(_ string, state DeviceState) []CommandSpec {
	var out []CommandSpec
	for _, o := range booleanOutputs(state.Reading) {
		if o == "state" {
			out = append(out, switchCommands(o, plainSwitch)...)
			continue
		}
		key := "state_" + instanceOf(o)
		if !z2mCommandKey(key) {
			continue
		}
		out = append(out, switchCommands(o, func(_, upper string) (string, json.RawMessage) {
			return "set", rawJSON(map[string]string{key: upper})
		})...)
	}
	schema := rawJSON(map[string]any{
		"type": "object", "minProperties": 1,
		"description": "Attributes to write, e.g. {\"brightness\":128}; allowed: " + strings.Join(Z2MCommandKeys(), ", ") +
			" (each also with an endpoint suffix such as _l1)",
		"additionalProperties": map[string]any{"type": []string{"string", "number", "boolean", "object"}},
	})
	return append(out, CommandSpec{Name: "set", Label: "Set attributes", Schema: schema})
}

// Commands implements CommandLister: on/off/toggle of the primary relay
// and Power<n> ON/OFF/TOGGLE of relay n ≥ 2.
func (t Tasmota) Commands(_ string, state DeviceState) []CommandSpec {
	var out []CommandSpec
	for _, o := range booleanOutputs(state.Reading) {
		if o == "state" {
			out = append(out, switchCommands(o, plainSwitch)...)
			continue
		}
		n, ok := strings.CutPrefix(instanceOf(o), "power")
		if i, err := strconv.Atoi(n); !ok || err != nil || i < 2 || i > 32 {
			continue
		}
		out = append(out, switchCommands(o, func(_, upper string) (string, json.RawMessage) {
			return "Power" + n, rawJSON(upper)
		})...)
	}
	return out
}

// Commands implements CommandLister: on/off/toggle of each switch (Gen2)
// or relay (Gen1) output with its channel; CommandWithState picks the
// generation's message.
func (s Shelly) Commands(_ string, state DeviceState) []CommandSpec {
	var out []CommandSpec
	for _, o := range booleanOutputs(state.Reading) {
		ch := 0
		if o != "state" {
			inst := instanceOf(o)
			kind, n, ok := strings.Cut(inst, ":")
			i, err := strconv.Atoi(n)
			if !ok || err != nil || i < 0 || (kind != "switch" && kind != "relay") {
				continue // an input, not an output
			}
			ch = i
		}
		args := rawJSON(map[string]int{"channel": ch})
		out = append(out, switchCommands(o, func(verb, _ string) (string, json.RawMessage) { return verb, args })...)
	}
	return out
}

// Commands implements CommandLister: on/off/toggle of the switch the device
// reports as its state.
func (e ESPHome) Commands(_ string, state DeviceState) []CommandSpec {
	if _, ok := state.Reading.Metrics["state"].(bool); !ok {
		return nil
	}
	return switchCommands("state", plainSwitch)
}

// Commands implements CommandLister: on/off when the device announced
// exactly one settable boolean property, and set of any settable one.
func (h *Homie) Commands(base string, state DeviceState) []CommandSpec {
	var out []CommandSpec
	device := state.Reading.Device
	if !homieID(device) {
		return nil
	}
	if _, _, err := h.onlySwitch(base, device); err == nil {
		for _, v := range switchVerbs[:2] {
			out = append(out, CommandSpec{Name: v.name, Label: v.label})
		}
	}
	schema := rawJSON(map[string]any{
		"type": "object", "required": []string{"node", "property", "value"}, "additionalProperties": false,
		"properties": map[string]any{
			"node":     map[string]any{"type": "string", "title": "Node"},
			"property": map[string]any{"type": "string", "title": "Property (announced settable)"},
			"value":    map[string]any{"type": []string{"string", "number", "boolean"}, "title": "Value"},
		},
	})
	return append(out, CommandSpec{Name: "set", Label: "Set property", Schema: schema})
}

// ttnDownlinkSchema describes the args of downlink and downlink_replace.
var ttnDownlinkSchema = rawJSON(map[string]any{
	"type": "object", "required": []string{"f_port", "frm_payload"}, "additionalProperties": false,
	"properties": map[string]any{
		"f_port":      map[string]any{"type": "integer", "minimum": 1, "maximum": 223, "title": "FPort"},
		"frm_payload": map[string]any{"type": "string", "contentEncoding": "base64", "title": "Payload (base64)"},
		"priority": map[string]any{"title": "Priority",
			"enum": []string{"LOWEST", "LOW", "BELOW_NORMAL", "NORMAL", "ABOVE_NORMAL", "HIGH", "HIGHEST"}},
		"confirmed": map[string]any{"type": "boolean", "title": "Confirmed"},
	},
})

// Commands implements CommandLister: downlinks, once an uplink told the
// device's application.
func (t TTN) Commands(_ string, state DeviceState) []CommandSpec {
	if state.Reading.Tags["ttn_application"] == "" {
		return nil
	}
	return []CommandSpec{
		{Name: "downlink", Label: "Queue downlink", Schema: ttnDownlinkSchema},
		{Name: "downlink_replace", Label: "Replace downlink queue", Schema: ttnDownlinkSchema},
	}
}

var (
	_ CommandLister = Zigbee2MQTT{}
	_ CommandLister = Tasmota{}
	_ CommandLister = Shelly{}
	_ CommandLister = ESPHome{}
	_ CommandLister = (*Homie)(nil)
	_ CommandLister = TTN{}
)
