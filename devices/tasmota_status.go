package devices

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Tasmota's Status command replies on stat/<topic>/STATUS<n>
// (https://tasmota.github.io/docs/JSON-Status-Responses/ and
// https://tasmota.github.io/docs/Commands/#management, "Status"): each is an
// object of sections, one section per reply, and Status 0 sends them all in
// one message. Sections with device status are decoded:
//
//	Status     FriendlyName, DeviceName → attrs friendly_name, device_name
//	StatusPRM  Uptime → uptime, BootCount → boot_count, RestartReason → attr
//	StatusFWR  Version, Core, SDK, Hardware, BuildDateTime → attrs
//	StatusMEM  Heap → heap (kB)
//	StatusNET  Hostname, IPAddress, Mac → attrs hostname, ip_address, mac
//	StatusSNS  as tele/SENSOR (STATUS8 before 8.x, STATUS10 since)
//	StatusSTS  as tele/STATE (STATUS11)
//
// StatusLOG, StatusMQT, StatusTIM, StatusPTH, StatusSTK and any other
// section are skipped on purpose: logging and MQTT settings are
// configuration (StatusMQT names the broker user), StatusTIM is the clock
// the other sections' Time already carries. A reply whose sections are all
// skipped is ignored; one without any Status section is rejected.

// tasmotaStatusTopic reports whether sub is STATUS or STATUS<n>.
func tasmotaStatusTopic(sub string) bool {
	n, ok := strings.CutPrefix(sub, "STATUS")
	if !ok {
		return false
	}
	if n == "" {
		return true // Status without a number, and Status 0 before 6.x
	}
	if len(n) > 2 || (len(n) == 2 && n[0] == '0') {
		return false
	}
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return false
		}
	}
	return true
}

// status decodes a Status reply.
func (t Tasmota) status(r *Reading, p []byte) error {
	obj, err := decodeObject(p) // every check, numbers included, on the whole payload
	if err != nil {
		return err
	}
	// StatusSNS and StatusSTS are decoded again on their own so that their
	// key order (which sensor is primary) is kept.
	var raws map[string]json.RawMessage
	found, sections := false, 0
	for _, mb := range obj {
		if strings.HasPrefix(mb.key, "Status") {
			sections++
		}
		sec, isObj := mb.val.(map[string]any)
		var f func() error
		switch mb.key {
		case "Status":
			f = func() error { return tasmotaStatusMain(r, sec) }
		case "StatusPRM":
			f = func() error { return tasmotaStatusPRM(r, sec) }
		case "StatusFWR":
			f = func() error {
				return tasmotaStatusAttrs(r, sec, "Version", "version", "Core", "core", "SDK", "sdk",
					"Hardware", "hardware", "BuildDateTime", "build_date_time")
			}
		case "StatusMEM":
			f = func() error { return shellyOptional(r, "heap", sec["Heap"]) }
		case "StatusNET":
			f = func() error {
				return tasmotaStatusAttrs(r, sec, "Hostname", "hostname", "IPAddress", "ip_address", "Mac", "mac")
			}
		case "StatusSNS", "StatusSTS":
			f = func() error {
				if raws == nil {
					if err := json.Unmarshal(p, &raws); err != nil {
						return Reject(ReasonInvalidJSON, "%v", err)
					}
				}
				inner, err := decodeObject(raws[mb.key])
				if err != nil {
					return err
				}
				if mb.key == "StatusSNS" {
					return tasmotaSensor(r, inner)
				}
				return t.state(r, inner)
			}
		default:
			continue
		}
		if !isObj {
			return Reject(ReasonInvalidPayload, "%s is a JSON %s, want an object", mb.key, jsonKind(mb.val))
		}
		if err := f(); err != nil {
			return err
		}
		found = true
	}
	if sections == 0 {
		return Reject(ReasonInvalidPayload, "a Status reply without any Status section")
	}
	if !found {
		return fmt.Errorf("%w: tasmota status reply without device status", ErrIgnored)
	}
	return nil
}

// tasmotaStatusMain maps the Status section. FriendlyName is a string in
// releases before 6.x and a list (one per relay) since; the first names
// the device.
func tasmotaStatusMain(r *Reading, sec map[string]any) error {
	name := sec["FriendlyName"]
	if list, ok := name.([]any); ok && len(list) > 0 {
		name = list[0]
	}
	if s, ok := name.(string); ok && s != "" {
		if err := setAttr(r, "friendly_name", s); err != nil {
			return err
		}
	}
	return tasmotaStatusAttrs(r, sec, "DeviceName", "device_name")
}

// tasmotaStatusPRM maps StatusPRM: Uptime is "1 02:33:26" before 6.x and
// "1T02:33:26" since.
func tasmotaStatusPRM(r *Reading, sec map[string]any) error {
	if s, ok := sec["Uptime"].(string); ok {
		if sec, ok := parseTasmotaUptime(s); ok {
			if err := setMetric(r, "uptime", sec); err != nil {
				return err
			}
		}
	}
	if err := shellyOptional(r, "boot_count", sec["BootCount"]); err != nil {
		return err
	}
	return tasmotaStatusAttrs(r, sec, "RestartReason", "restart_reason")
}

// tasmotaStatusAttrs sets attr name for each present string field key,
// given as key, name pairs.
func tasmotaStatusAttrs(r *Reading, sec map[string]any, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if s, ok := sec[pairs[i]].(string); ok && s != "" {
			if err := setAttr(r, pairs[i+1], s); err != nil {
				return err
			}
		}
	}
	return nil
}
