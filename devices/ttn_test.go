package devices_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

func TestTTNConformance(t *testing.T) { devicestest.Run(t, devices.TTN{}) }

func TestTTNFixtures(t *testing.T) {
	devicestest.Fixtures(t, devices.TTN{}, "testdata/ttn")
}

// ttnUp wraps an uplink_message in the identity of dev1 in app1@ttn.
func ttnUp(uplink string) string {
	return `{"end_device_ids":{"device_id":"dev1","application_ids":{"application_id":"app1"}},"uplink_message":` + uplink + `}`
}

func TestTTNDecodedPayload(t *testing.T) {
	h := devices.TTN{}
	// Formatter output: canonical names (any case), aliases, pass-through,
	// nested objects, strings, booleans, nulls and arrays.
	r := decodeOne(t, h, "v3", "v3/app1@ttn/devices/dev1/up", ttnUp(`{"f_port":2,"decoded_payload":{
		"Temperature":21.5,"rh":48,"battery_level":97,"lux":310,"pm2_5":4,"TempC_DS":19.25,
		"door":"open","motion":true,"gps":{"lat":52.1,"lon":5.2},"samples":[1,2],"missing":null,
		"rssi":-80}, "rx_metadata":[{"gateway_ids":{"gateway_id":"far"},"rssi":-118,"snr":-7.5},
		{"gateway_ids":{"gateway_id":"near"},"rssi":-61,"snr":9.25},{"gateway_ids":{"gateway_id":"near-2"},"rssi":-61,"snr":3}]}`))
	require.Equal(t, map[string]any{
		"f_port": 2.0, "temperature": 21.5, "humidity": 48.0, "battery": 97.0, "illuminance": 310.0,
		"pm25": 4.0, "ds18b20.temperature": 19.25, "motion": true, "gps.lat": 52.1, "gps.lon": 5.2,
		"gateways": 3.0, "rssi": -61.0, "snr": 9.25, "decoded.rssi": -80.0,
	}, r.Metrics)
	require.Equal(t, map[string]string{"door": "open", "gateway_id": "near"}, r.Attrs)
	require.Equal(t, map[string]string{"ttn_application": "app1", "ttn_tenant": "ttn"}, r.Tags)
	require.Nil(t, r.Online, "an uplink says nothing about availability")
	require.Equal(t, received, r.TS, "no received_at: the bridge's time")

	// An alias never overwrites the canonical name it maps to.
	r = decodeOne(t, h, "v3", "v3/app1@ttn/devices/dev1/up", ttnUp(`{"decoded_payload":{"temp":20,"temperature":21,"lat":"n/a"}}`))
	require.Equal(t, map[string]any{"temperature": 21.0, "temp": 20.0}, r.Metrics)
	require.Equal(t, map[string]string{"lat": "n/a"}, r.Attrs)

	// channel_rssi when rssi is absent; numbers out of range are rejected.
	r = decodeOne(t, h, "v3", "v3/app1@ttn/devices/dev1/up", ttnUp(`{"rx_metadata":[{"channel_rssi":-90}],"settings":{"data_rate":{"fsk":{"bit_rate":50000}},"frequency":868100000}}`))
	require.Equal(t, map[string]any{"gateways": 1.0, "rssi": -90.0, "bit_rate": 50000.0, "frequency": 868100000.0}, r.Metrics)
	_, why := decodeErr(t, h, "v3", "v3/app1@ttn/devices/dev1/up", ttnUp(`{"settings":{"frequency":"1e400"}}`))
	require.Equal(t, devices.ReasonInvalidNumber, why)
}

func TestTTNTimestamps(t *testing.T) {
	h := devices.TTN{}
	// The Network Server's received_at when the Application Server's is absent.
	r := decodeOne(t, h, "v3", "v3/app1@ttn/devices/dev1/up", ttnUp(`{"received_at":"2026-05-06T07:08:00.5Z","f_cnt":9}`))
	require.Equal(t, "2026-05-06T07:08:00.5Z", r.TS.Format("2006-01-02T15:04:05.999999999Z07:00"))
	// A garbage received_at falls back to the receive time.
	r = decodeOne(t, h, "v3", "v3/app1@ttn/devices/dev1/up",
		`{"end_device_ids":{"device_id":"dev1","application_ids":{"application_id":"app1"}},"received_at":"yesterday","uplink_message":{}}`)
	require.Equal(t, received, r.TS)
}

func TestTTNIdentity(t *testing.T) {
	h := devices.TTN{}
	for name, tc := range map[string]struct{ topic, ids, reason string }{
		"tenant_id_differs":                   {"v3/app1@ttn/devices/dev1/up", `{"device_id":"dev1","application_ids":{"application_id":"app1","tenant_id":"other"}}`, devices.ReasonIdentityMismatch},
		"tenant_in_payload_open_source_topic": {"v3/app1/devices/dev1/up", `{"device_id":"dev1","application_ids":{"application_id":"app1@ttn"}}`, devices.ReasonIdentityMismatch},
		"device_case_differs":                 {"v3/app1@ttn/devices/dev1/up", `{"device_id":"DEV1","application_ids":{"application_id":"app1"}}`, devices.ReasonIdentityMismatch},
		"device_id_not_a_string":              {"v3/app1@ttn/devices/dev1/up", `{"device_id":1,"application_ids":{"application_id":"app1"}}`, devices.ReasonInvalidPayload},
		"no_application":                      {"v3/app1@ttn/devices/dev1/join", `{"device_id":"dev1"}`, devices.ReasonInvalidPayload},
		"two_tenants_in_topic":                {"v3/app1@a@b/devices/dev1/up", `{"device_id":"dev1","application_ids":{"application_id":"app1"}}`, devices.ReasonInvalidTopic},
	} {
		t.Run(name, func(t *testing.T) {
			v, why := decodeErr(t, h, "v3", tc.topic, `{"end_device_ids":`+tc.ids+`,"uplink_message":{}}`)
			require.Equal(t, "rejected", v)
			require.Equal(t, tc.reason, why)
		})
	}
	// The payload may name the application with its tenant when it agrees.
	r := decodeOne(t, h, "v3", "v3/app1@ttn/devices/dev1/up",
		`{"end_device_ids":{"device_id":"dev1","application_ids":{"application_id":"app1@ttn","tenant_id":"ttn"}},"uplink_message":{}}`)
	require.Equal(t, "dev1", r.Device)
}

func TestTTNTopics(t *testing.T) {
	h := devices.TTN{}
	require.Equal(t, []string{"v3/+/devices/+/#"}, h.Filters("v3"))
	require.Equal(t, []string{"acme/ttn/v3/+/devices/+/#"}, h.Filters("acme/ttn/v3"))
	r := decodeOne(t, h, "acme/ttn/v3", "acme/ttn/v3/app1@ttn/devices/dev1/up", ttnUp(`{"f_cnt":3}`))
	require.Equal(t, "dev1", r.Device)

	_, why := decodeErr(t, h, "v3", "other/app1@ttn/devices/dev1/up", ttnUp(`{}`))
	require.Equal(t, devices.ReasonInvalidTopic, why)
	_, why = decodeErr(t, h, "v3", "v3/app1@ttn/gateways/gtw1/up", ttnUp(`{}`))
	require.Equal(t, devices.ReasonInvalidTopic, why)
	v, _ := decodeErr(t, h, "v3", "v3/app1@ttn/devices/dev1/up/normalized", `{}`)
	require.Equal(t, "ignored", v, "events this family does not know are valid TTS traffic")
	v, _ = decodeErr(t, h, "v3", "v3/app1@ttn/devices/dev1/up", ``)
	require.Equal(t, "ignored", v)
}

func TestTTNSamplerAvailability(t *testing.T) {
	h := devices.TTN{}
	_, ok := h.Availability("v3", "dev1", false)
	require.False(t, ok, "TTS has no offline message")
	m, ok := h.Availability("v3", "dev1", true)
	require.True(t, ok)
	require.Equal(t, "v3/mqlive-sim@ttn/devices/dev1/join", m.Topic)
}

func FuzzTTN(f *testing.F) {
	for _, p := range devicestest.Hostile() {
		if len(p.Data) < 4096 {
			f.Add("v3/app1@ttn/devices/dev1/up", p.Data)
		}
	}
	f.Add("v3/app1@ttn/devices/dev1/up", []byte(ttnUp(`{"f_port":2,"decoded_payload":{"t":1,"x":{"y":[1]}},"rx_metadata":[{"rssi":-50,"snr":1},7],"settings":{"frequency":"868100000"}}`)))
	f.Add("v3/app1@ttn/devices/dev1/join", []byte(`{"end_device_ids":{"device_id":"dev1","application_ids":{"application_id":"app1"}}}`))
	f.Add("v3/app1/devices/dev1/down/push", []byte(`{"downlinks":[]}`))
	f.Add("v3/@/devices//up", []byte(`{}`))
	// Vendor keys (alias.go): Dragino, CayenneLPP channels and GPS, and
	// the registry location fallback.
	f.Add("v3/app1@ttn/devices/dev1/up", []byte(ttnUp(`{"decoded_payload":{"BatV":3.05,"TempC_SHT":23.45,"temperature_3":1,"temperature_03":2,"presence_1":"x","gps_1":{"latitude":"1"},"gps_2":[1],"luminosity_999":1},"locations":{"user":{"latitude":1e400,"longitude":2}}}`)))
	f.Add("v3/app1@acme/devices/dev1/up", []byte(ttnUp(`{"f_cnt":1}`)))
	acme, err := devices.NewTTN(devices.TTNConfig{Tenants: []string{"acme"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		fuzzDecode(t, devices.TTN{}, "v3", topic, payload)
		fuzzDecode(t, acme, "v3", topic, payload)
	})
}

// TestTTNTenants: a source that names its TTS tenants takes their
// uplinks and drops every other tenant's, and the Open Source edition's
// untenanted topics, with the reason foreign_tenant. Topics and payloads
// are the data-formats page's uplink
// (https://www.thethingsindustries.com/docs/integrations/data-formats/)
// on the MQTT Server's v3/<app-id>@<tenant-id>/devices/<device-id>/up
// (https://www.thethingsindustries.com/docs/integrations/other-integrations/mqtt/).
func TestTTNTenants(t *testing.T) {
	h, err := devices.NewTTN(devices.TTNConfig{Tenants: []string{"acme", "globex", "acme"}})
	require.NoError(t, err)
	require.Equal(t, []string{"acme", "globex"}, h.Tenants())
	r := decodeOne(t, h, "v3", "v3/app1@acme/devices/dev1/up", ttnUp(`{"f_cnt":3}`))
	require.Equal(t, map[string]string{"ttn_application": "app1", "ttn_tenant": "acme"}, r.Tags)
	for _, topic := range []string{
		"v3/app1@ttn/devices/dev1/up",       // another tenant on the same broker
		"v3/app1@acme-2/devices/dev1/up",    // a prefix is not the tenant
		"v3/app1/devices/dev1/up",           // the Open Source edition: no tenant
		"v3/app1@ttn/devices/dev1/join",     // every event, not only uplinks
		"v3/app1@ttn/devices/dev1/down/ack", // even those that would be ignored
	} {
		v, why := decodeErr(t, h, "v3", topic, ttnUp(`{"f_cnt":3}`))
		require.Equal(t, "rejected", v, topic)
		require.Equal(t, devices.ReasonForeignTenant, why, topic)
	}
	// Without tenants every tenant is accepted, as before.
	r = decodeOne(t, devices.TTN{}, "v3", "v3/app1@ttn/devices/dev1/up", ttnUp(`{"f_cnt":3}`))
	require.Equal(t, "dev1", r.Device)

	for _, bad := range [][]string{{""}, {"Acme"}, {"-acme"}, {"acme-"}, {"ac me"}, {"a@b"}, {strings.Repeat("a", 37)}} {
		_, err := devices.NewTTN(devices.TTNConfig{Tenants: bad})
		require.Error(t, err, "%q", bad)
	}
}
