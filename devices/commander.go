package devices

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidCommand marks a command a family refuses to encode: unknown
// name, bad arguments, or a device id that would address something other
// than one device. Nothing is published for it.
var ErrInvalidCommand = errors.New("devices: invalid command")

func invalidCommand(family, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidCommand, family, fmt.Sprintf(format, args...))
}

// commandDevice checks that device, put into a topic, names exactly that
// device: a valid topic fragment without wildcards, NUL or empty levels.
func commandDevice(family, device string) error {
	if err := ValidTopic(device); err != nil {
		return invalidCommand(family, "device: %v", err)
	}
	for rest := device; ; {
		level, next, more := cutLevel(rest)
		if level == "" {
			return invalidCommand(family, "device %q has an empty level", device)
		}
		if !more {
			return nil
		}
		rest = next
	}
}

// commandArgs parses a command's raw JSON arguments; empty means none.
func commandArgs(family string, args []byte) (any, error) {
	if len(bytes.TrimSpace(args)) == 0 {
		return nil, nil
	}
	v, err := decodeValue(args)
	if err != nil {
		return nil, invalidCommand(family, "args: %v", err)
	}
	return v, nil
}

// onOffCommand maps the family-neutral commands "on", "off" and "toggle".
func onOffCommand(name string) (string, bool) {
	switch strings.ToLower(name) {
	case "on":
		return "ON", true
	case "off":
		return "OFF", true
	case "toggle":
		return "TOGGLE", true
	}
	return "", false
}

func compactJSON(v any) []byte {
	b, _ := json.Marshal(v) // v came from decodeValue: always encodable
	return b
}
