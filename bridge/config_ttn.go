package bridge

import "github.com/mqlive/mqlive/devices"

// ttnTenants checks a source's ttn_tenants: only family ttn takes them,
// and each must be a The Things Stack tenant id.
func (v *validator) ttnTenants(key string, s SourceConfig) {
	if len(s.TTNTenants) == 0 {
		return
	}
	if s.Family != "ttn" {
		v.addf(key+".ttn_tenants", "only family ttn takes ttn_tenants; remove them")
		return
	}
	if _, err := devices.NewTTN(devices.TTNConfig{Tenants: s.TTNTenants}); err != nil {
		v.addf(key+".ttn_tenants", "%v; write the tenant ids of your TTS topics, e.g. [\"acme\"] for v3/app1@acme/devices/…", err)
	}
}
