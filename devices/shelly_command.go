package devices

import (
	"encoding/json"
	"strconv"
	"strings"
)

// shellyRPCSource is the src of mqlive's RPC requests. A Gen2 device
// publishes its response to "<src>/rpc"; mqlive does not read responses
// (the resulting NotifyStatus is what the dashboard shows).
const shellyRPCSource = "mqlive"

// shellyMethods are the Gen2 RPC methods a dashboard may call
// (https://shelly-api-docs.shelly.cloud/gen2/ComponentsAndServices/Switch,
// …/Cover, …/Light), with the params each takes besides "id". Configuration,
// firmware, script and reboot methods are not reachable from a browser.
var shellyMethods = map[string][]string{
	"Switch.Set":         {"on", "toggle_after"},
	"Switch.Toggle":      nil,
	"Cover.Open":         {"duration"},
	"Cover.Close":        {"duration"},
	"Cover.Stop":         nil,
	"Cover.GoToPosition": {"pos"},
	"Light.Set":          {"on", "brightness", "transition_duration", "toggle_after"},
	"Light.Toggle":       nil,
}

// Command implements Commander.
//
//	on, off, toggle   Gen2: <prefix>/rpc {"id":N,"src":"mqlive","method":"Switch.Set","params":{"id":0,"on":true}}
//	                  (Switch.Toggle for toggle); args {"channel":n} picks switch:n
//	Switch.Set, Switch.Toggle, Cover.Open, Cover.Close, Cover.Stop,
//	Cover.GoToPosition, Light.Set, Light.Toggle
//	                  Gen2: <prefix>/rpc with args as params ({"id":0,"on":true})
//	relay             Gen1: <base>/<id>/relay/<n>/command on|off|toggle;
//	                  args "on" or {"channel":n,"turn":"on"}
//	roller            Gen1: <base>/<id>/roller/<n>/command open|close|stop, or
//	                  …/command/pos <0..100>; args "open", {"channel":n,"go":"stop"}
//	                  or {"channel":n,"pos":50}
//	announce, update  Gen1: <base>/<id>/command announce|update
//
// With base "", Gen1 commands go to shellies/<id>/… and Gen2 ones to
// <id>/rpc, where each generation listens by default.
func (s Shelly) Command(base, device, name string, args []byte) (Message, error) {
	family := s.Family()
	if err := commandDevice(family, device); err != nil {
		return Message{}, err
	}
	v, err := commandArgs(family, args)
	if err != nil {
		return Message{}, err
	}
	switch name {
	case "on", "off", "toggle":
		ch, err := shellyChannelArg(family, name, v)
		if err != nil {
			return Message{}, err
		}
		params := map[string]any{"id": json.Number(strconv.Itoa(ch))}
		method := "Switch.Toggle"
		if name != "toggle" {
			method = "Switch.Set"
			params["on"] = name == "on"
		}
		return shellyRequest(base, device, method, params), nil
	case "relay", "roller", "announce", "update":
		return shellyGen1Command(family, base, device, name, v)
	}
	allowed, ok := shellyMethods[name]
	if !ok {
		return Message{}, invalidCommand(family, "unknown command %q", name)
	}
	params, _ := v.(map[string]any)
	if v != nil && params == nil {
		return Message{}, invalidCommand(family, "%s takes a JSON object of params", name)
	}
	if params == nil {
		params = map[string]any{}
	}
	if _, ok := params["id"]; !ok {
		params["id"] = json.Number("0")
	}
	for k, pv := range params {
		if k == "id" {
			if _, err := shellyChannel(pv); err != nil {
				return Message{}, invalidCommand(family, "%s: id: %v", name, err)
			}
			continue
		}
		if !shellyContains(allowed, k) {
			return Message{}, invalidCommand(family, "%s takes no param %q", name, k)
		}
		switch pv.(type) {
		case bool, json.Number:
		default:
			return Message{}, invalidCommand(family, "%s: param %s must be a number or boolean", name, k)
		}
	}
	if name == "Switch.Set" {
		if _, ok := params["on"].(bool); !ok {
			return Message{}, invalidCommand(family, "Switch.Set needs a boolean \"on\"")
		}
	}
	return shellyRequest(base, device, name, params), nil
}

func shellyContains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// shellyRequest builds a Gen2 request frame. Its id is a hash of the request,
// so Command stays pure; Shelly only echoes it in the response.
func shellyRequest(base, device, method string, params map[string]any) Message {
	p := compactJSON(params) // sorted keys: deterministic
	frame := struct {
		ID     uint32          `json:"id"`
		Src    string          `json:"src"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}{shellyHash(method+string(p)) % 1000000, shellyRPCSource, method, p}
	b, _ := json.Marshal(frame) // strings and a valid RawMessage: always encodable
	return Message{Topic: shellyPrefix(base, device, false) + "/rpc", Payload: b}
}

// shellyChannel reads a channel number 0..99.
func shellyChannel(v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, shellyErr("want a channel number")
	}
	i, err := strconv.Atoi(string(n))
	if err != nil || i < 0 || i > 99 {
		return 0, shellyErr("channel " + string(n) + " is not 0..99")
	}
	return i, nil
}

type shellyErr string

func (e shellyErr) Error() string { return string(e) }

// shellyChannelArg reads the optional {"channel":n} of on/off/toggle.
func shellyChannelArg(family, name string, v any) (int, error) {
	if v == nil {
		return 0, nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return 0, invalidCommand(family, "%s takes no args or {\"channel\":n}", name)
	}
	ch := 0
	for k, cv := range obj {
		if k != "channel" {
			return 0, invalidCommand(family, "%s takes no arg %q", name, k)
		}
		var err error
		if ch, err = shellyChannel(cv); err != nil {
			return 0, invalidCommand(family, "%s: %v", name, err)
		}
	}
	return ch, nil
}

// shellyGen1Command encodes the Gen1 commands. Gen1 ids are one topic
// level.
func shellyGen1Command(family, base, device, name string, v any) (Message, error) {
	if strings.IndexByte(device, '/') >= 0 {
		return Message{}, invalidCommand(family, "device %q: a Gen1 id is one topic level", device)
	}
	prefix := shellyPrefix(base, device, true)
	switch name {
	case "announce", "update":
		if v != nil {
			return Message{}, invalidCommand(family, "%s takes no args", name)
		}
		return Message{Topic: prefix + "/command", Payload: []byte(name)}, nil
	}
	verbs := map[string][]string{"relay": {"on", "off", "toggle"}, "roller": {"open", "close", "stop"}}[name]
	key := map[string]string{"relay": "turn", "roller": "go"}[name]
	ch, verb, pos := 0, "", ""
	switch v := v.(type) {
	case string:
		verb = v
	case map[string]any:
		for k, av := range v {
			var err error
			switch {
			case k == "channel":
				ch, err = shellyChannel(av)
			case k == key:
				s, _ := av.(string)
				if verb = s; s == "" {
					err = shellyErr(key + " must be a string")
				}
			case k == "pos" && name == "roller":
				p, ok := av.(json.Number)
				i, aerr := strconv.Atoi(string(p))
				if !ok || aerr != nil || i < 0 || i > 100 {
					err = shellyErr("pos must be 0..100")
				}
				pos = string(p)
			default:
				err = shellyErr("unknown arg " + strconv.Quote(k))
			}
			if err != nil {
				return Message{}, invalidCommand(family, "%s: %v", name, err)
			}
		}
	default:
		return Message{}, invalidCommand(family, "%s takes a string or an object", name)
	}
	topic := prefix + "/" + name + "/" + strconv.Itoa(ch) + "/command"
	switch {
	case pos != "" && verb == "":
		return Message{Topic: topic + "/pos", Payload: []byte(pos)}, nil
	case pos == "" && shellyContains(verbs, verb):
		return Message{Topic: topic, Payload: []byte(verb)}, nil
	}
	return Message{}, invalidCommand(family, "%s takes one of %s (or pos for roller)", name, strings.Join(verbs, ", "))
}

// CommandWithState implements StateCommander: on, off and toggle go to a
// Gen1 device's relay topic ("shellies/<id>/relay/<n>/command", payload
// on|off|toggle) when the device was heard on Gen1 topics, and as Gen2 RPC
// otherwise.
func (s Shelly) CommandWithState(base string, state DeviceState, name string, args []byte) (Message, error) {
	device := state.Reading.Device
	if shellySpeaksGen1(base, state.Topics) {
		switch name {
		case "on", "off", "toggle":
			v, err := commandArgs(s.Family(), args)
			if err != nil {
				return Message{}, err
			}
			ch, err := shellyChannelArg(s.Family(), name, v)
			if err != nil {
				return Message{}, err
			}
			relayArgs, _ := json.Marshal(map[string]any{"channel": ch, "turn": name})
			return s.Command(base, device, "relay", relayArgs)
		}
	}
	return s.Command(base, device, name, args)
}

// shellySpeaksGen1 reports whether the newest of topics that tells the
// generation apart is a Gen1 one. "online" exists in both generations.
func shellySpeaksGen1(base string, topics []string) bool {
	for _, t := range topics {
		_, kind, _, err := shellyTopic(base, t)
		if err != nil {
			continue
		}
		switch kind {
		case shellyGen1:
			return true
		case shellyRPCKind, shellyStatus:
			return false
		}
	}
	return false
}

var _ StateCommander = Shelly{}
