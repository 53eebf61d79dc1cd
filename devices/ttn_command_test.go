package devices_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

func TestTTNDownlinks(t *testing.T) {
	tt := devices.TTN{}
	st := devices.DeviceState{Reading: devices.Reading{Device: "eui-70b3d57ed0000001",
		Tags: map[string]string{"ttn_application": "my-app", "ttn_tenant": "ttn"}}}
	m, err := tt.CommandWithState("v3", st, "downlink", []byte(`{"f_port":15,"frm_payload":"vu8="}`))
	require.NoError(t, err)
	require.Equal(t, "v3/my-app@ttn/devices/eui-70b3d57ed0000001/down/push", m.Topic)
	require.JSONEq(t, `{"downlinks":[{"f_port":15,"frm_payload":"vu8=","priority":"NORMAL"}]}`, string(m.Payload))
	m, err = tt.CommandWithState("v3", st, "downlink_replace", []byte(`{"f_port":1,"frm_payload":"AQ==","priority":"HIGH","confirmed":true}`))
	require.NoError(t, err)
	require.Equal(t, "v3/my-app@ttn/devices/eui-70b3d57ed0000001/down/replace", m.Topic)
	require.JSONEq(t, `{"downlinks":[{"f_port":1,"frm_payload":"AQ==","priority":"HIGH","confirmed":true}]}`, string(m.Payload))

	for _, args := range []string{``, `{"f_port":0,"frm_payload":"AQ=="}`, `{"f_port":224,"frm_payload":"AQ=="}`,
		`{"f_port":1,"frm_payload":"not base64"}`, `{"f_port":1,"frm_payload":""}`, `{"f_port":1,"frm_payload":"AQ==","topic":"x"}`,
		`{"f_port":1,"frm_payload":"AQ==","priority":"URGENT"}`} {
		_, err := tt.CommandWithState("v3", st, "downlink", []byte(args))
		require.ErrorIs(t, err, devices.ErrInvalidCommand, args)
	}
	_, err = tt.CommandWithState("v3", devices.DeviceState{Reading: devices.Reading{Device: "x"}}, "downlink", []byte(`{"f_port":1,"frm_payload":"AQ=="}`))
	require.ErrorIs(t, err, devices.ErrInvalidCommand, "no uplink heard yet")
	_, err = tt.CommandWithState("v3", st, "reboot", nil)
	require.ErrorIs(t, err, devices.ErrInvalidCommand)
}
