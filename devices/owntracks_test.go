package devices_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
	"github.com/mqlive/mqlive/devices/devicestest"
)

func TestOwnTracksConformance(t *testing.T) { devicestest.Run(t, devices.OwnTracks{}) }

func TestOwnTracksFixtures(t *testing.T) {
	devicestest.Fixtures(t, devices.OwnTracks{}, "testdata/owntracks")
}

func TestOwnTracksMapping(t *testing.T) {
	h := devices.OwnTracks{}
	r := decodeOne(t, h, "owntracks", "owntracks/jane/phone",
		`{"_type":"location","lat":48.1,"lon":11.5,"tst":1767322980,"bs":7,"conn":"x","SSID":"home","BSSID":"aa:bb","inregions":["Home","Garage"],"inrids":["r1"],"created_at":1767322990,"m":2,"_id":"a1b2","odometer":1234.5,"ign":true,"batt":null}`)
	require.Equal(t, map[string]any{"latitude": 48.1, "longitude": 11.5, "m": 2.0, "odometer": 1234.5, "ign": true}, r.Metrics)
	require.Equal(t, map[string]string{"battery_status": "7", "connection": "x", "ssid": "home", "bssid": "aa:bb", "inregions": "Garage,Home", "id": "a1b2"}, r.Attrs)
	require.Equal(t, int64(1767322980), r.TS.Unix(), "tst, the time of the fix, not created_at")
	require.Nil(t, r.Online, "a location says nothing about availability")

	// tst outside 2000..2200 or not a number: the receive time.
	r = decodeOne(t, h, "owntracks", "owntracks/jane/phone", `{"_type":"location","lat":1,"lon":2,"tst":0}`)
	require.Equal(t, received, r.TS)
	r = decodeOne(t, h, "owntracks", "owntracks/jane/phone", `{"_type":"location","lat":1,"lon":2,"tst":"soon"}`)
	require.Equal(t, received, r.TS)

	// lat and lon must be numbers; other elements that are not are skipped.
	_, why := decodeErr(t, h, "owntracks", "owntracks/jane/phone", `{"_type":"location","lat":"north","lon":2}`)
	require.Equal(t, devices.ReasonInvalidPayload, why)
	r = decodeOne(t, h, "owntracks", "owntracks/jane/phone", `{"_type":"location","lat":1,"lon":2,"batt":"full"}`)
	require.Equal(t, map[string]any{"latitude": 1.0, "longitude": 2.0}, r.Metrics)
	_, why = decodeErr(t, h, "owntracks", "owntracks/jane/phone", `{"_type":"location","lat":"1e400","lon":2}`)
	require.Equal(t, devices.ReasonInvalidNumber, why)

	// The lwt's tst is when the app connected: never the Reading's time.
	r = decodeOne(t, h, "owntracks", "owntracks/jane/phone", `{"_type":"lwt","tst":1380738247}`)
	require.Equal(t, received, r.TS)
	require.False(t, *r.Online)
}

func TestOwnTracksIdentity(t *testing.T) {
	h := devices.OwnTracks{}
	// The payload topic must be the real topic, base included; a null or a
	// number is no topic either.
	for _, topic := range []string{`"jane/phone"`, `"owntracks/jane/phone/"`, `null`, `1`, `"OWNTRACKS/jane/phone"`} {
		_, why := decodeErr(t, h, "owntracks", "owntracks/jane/phone", `{"_type":"location","lat":1,"lon":2,"topic":`+topic+`}`)
		require.Equal(t, devices.ReasonIdentityMismatch, why, topic)
	}
	r := decodeOne(t, h, "acme/ot", "acme/ot/jane/phone", `{"_type":"location","lat":1,"lon":2,"topic":"acme/ot/jane/phone"}`)
	require.Equal(t, "jane/phone", r.Device)
	// The identity check comes before the _type: an ignored type with a
	// foreign topic is still rejected and counted.
	_, why := decodeErr(t, h, "owntracks", "owntracks/jane/phone", `{"_type":"card","topic":"owntracks/john/phone"}`)
	require.Equal(t, devices.ReasonIdentityMismatch, why)
}

func TestOwnTracksTopics(t *testing.T) {
	h := devices.OwnTracks{}
	require.Equal(t, []string{"owntracks/#"}, h.Filters("owntracks"))
	require.Equal(t, []string{"#"}, h.Filters(""))
	r := decodeOne(t, h, "", "jane/phone", `{"_type":"location","lat":1,"lon":2}`)
	require.Equal(t, "jane/phone", r.Device)
	// Two levels are always user/device, even when the device is named
	// like a subtopic.
	r = decodeOne(t, h, "owntracks", "owntracks/jane/event", `{"_type":"location","lat":1,"lon":2}`)
	require.Equal(t, "jane/event", r.Device)

	_, why := decodeErr(t, h, "owntracks", "other/jane/phone", `{}`)
	require.Equal(t, devices.ReasonInvalidTopic, why)
	_, why = decodeErr(t, h, "owntracks", "owntracks//phone", `{"_type":"location","lat":1,"lon":2}`)
	require.Equal(t, devices.ReasonInvalidTopic, why)
	v, _ := decodeErr(t, h, "owntracks", "owntracks/jane/phone/status", `{"_type":"status"}`)
	require.Equal(t, "ignored", v)
	_, why = decodeErr(t, h, "owntracks", "owntracks/jane/phone", `{"_type":7}`)
	require.Equal(t, devices.ReasonInvalidPayload, why)
}

func TestOwnTracksSamplerAvailability(t *testing.T) {
	h := devices.OwnTracks{}
	_, ok := h.Availability("owntracks", "jane/phone", true)
	require.False(t, ok, "the apps send no birth message")
	m, ok := h.Availability("owntracks", "jane/phone", false)
	require.True(t, ok)
	require.Equal(t, "owntracks/jane/phone", m.Topic)
	require.JSONEq(t, `{"_type":"lwt","tst":1767225600}`, string(m.Payload))
}

func FuzzOwnTracks(f *testing.F) {
	for _, p := range devicestest.Hostile() {
		if len(p.Data) < 4096 {
			f.Add("owntracks/jane/phone", p.Data)
		}
	}
	f.Add("owntracks/jane/phone", []byte(`{"_type":"location","lat":48.1,"lon":11.5,"tst":1767322980,"bs":2,"conn":"w","inregions":["Home"],"p":101.2,"vel":"12"}`))
	f.Add("owntracks/jane/phone", []byte(`{"_type":"lwt","tst":1380738247}`))
	f.Add("owntracks/jane/phone", []byte(`{"_type":"location","lat":1,"lon":2,"topic":"owntracks/jane/phone"}`))
	f.Add("owntracks/a/b/c/event", []byte(`{"_type":"transition"}`))
	f.Add("owntracks//x", []byte(`{}`))
	f.Add("owntracks/jane/phone/event", []byte(`{"_type":"transition","event":"enter","desc":"Home","rid":7,"t":"c","tst":"1427634603"}`))
	f.Add("owntracks/jane/phone/beacon", []byte(`{"_type":"beacon","uuid":"x","major":1e400,"rssi":"-62","prox":9,"tst":-1}`))
	f.Add("owntracks/jane/phone", []byte(`{"_type":"transition","event":"leave","tst":1e30}`))
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		fuzzDecode(t, devices.OwnTracks{}, "owntracks", topic, payload)
	})
}
