package devices_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

func reason(t *testing.T, err error) string {
	t.Helper()
	var de *devices.DecodeError
	require.True(t, errors.As(err, &de), "want *DecodeError, have %v", err)
	return de.Reason
}

func TestCheckPayload(t *testing.T) {
	require.NoError(t, devices.CheckPayload([]byte(`{"a":[1,{"b":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}]}`)))
	require.NoError(t, devices.CheckPayload(nil))
	require.NoError(t, devices.CheckPayload([]byte(strings.Repeat("[", devices.MaxDepth))))
	require.Equal(t, devices.ReasonTooDeep, reason(t, devices.CheckPayload([]byte(strings.Repeat("[", devices.MaxDepth+1)))))
	require.Equal(t, devices.ReasonTooDeep, reason(t, devices.CheckPayload([]byte(strings.Repeat(`{"a":`, 100)))))
	// An escaped quote does not end a string: the brackets stay inside it.
	require.NoError(t, devices.CheckPayload([]byte(`{"a":"\"`+strings.Repeat("[", 100)+`"}`)))
	require.Equal(t, devices.ReasonTooLarge, reason(t, devices.CheckPayload(make([]byte, devices.MaxPayload+1))))
	require.Equal(t, devices.ReasonInvalidUTF8, reason(t, devices.CheckPayload([]byte("{\"a\":\"\xff\"}"))))
}

func TestCheckPayloadIsFastOnDeepNesting(t *testing.T) {
	p := bytes.Repeat([]byte("["), devices.MaxPayload)
	start := time.Now()
	require.Error(t, devices.CheckPayload(p))
	require.Less(t, time.Since(start), time.Second)
}

func TestVerdict(t *testing.T) {
	_, err := devices.Zigbee2MQTT{}.Decode("zigbee2mqtt", devices.Message{Topic: "zigbee2mqtt/x", Payload: []byte(`{"temperature":1e400}`)})
	v, r := devices.Verdict(err)
	require.Equal(t, "rejected", v)
	require.Equal(t, devices.ReasonInvalidNumber, r)
	_, err = devices.Zigbee2MQTT{}.Decode("zigbee2mqtt", devices.Message{Topic: "zigbee2mqtt/bridge/logging", Payload: []byte(`{"level":"info","message":"MQTT publish"}`)})
	v, _ = devices.Verdict(err)
	require.Equal(t, "ignored", v)
}

func TestTooManyFields(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; i < devices.MaxFields+1; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"f`)
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(`_`)
		b.WriteString(strings.Repeat("y", i/26))
		b.WriteString(`":1`)
	}
	b.WriteString("}")
	_, err := devices.Zigbee2MQTT{}.Decode("zigbee2mqtt", devices.Message{Topic: "zigbee2mqtt/x", Payload: []byte(b.String())})
	require.Equal(t, devices.ReasonTooLarge, reason(t, err))
}

func TestLongFieldName(t *testing.T) {
	p := `{"` + strings.Repeat("a", devices.MaxNameLen+1) + `":1}`
	_, err := devices.Zigbee2MQTT{}.Decode("zigbee2mqtt", devices.Message{Topic: "zigbee2mqtt/x", Payload: []byte(p)})
	require.Equal(t, devices.ReasonInvalidPayload, reason(t, err))
}
