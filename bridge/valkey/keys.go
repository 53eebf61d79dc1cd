package valkey

// keyNames names every key and pub/sub topic mqlive uses in Valkey; this
// file has the store's and the fan-out's, clusterkeys.go the backplane's.
// Every name starts with the prefix. A channel's meta hash, its stream and
// its topic share the hash tag {<tenant>:<channel>}, and a tenant's device
// hashes and device index share {<tenant>}, so that every script touches a
// single slot of a Valkey Cluster and a channel's publications are
// published on the shard that holds its stream.
//
// Tenant ids are [a-z0-9_] (checked by auth), so the tag closes right after
// the tenant for device keys; a channel name may contain '}', which then
// ends the tag early, but the meta, stream and topic of that channel still
// share the same tag (they share everything up to it). The prefix must not
// contain '{' or '}'.
type keyNames struct{ p string }

// newKeyNames returns the names under prefix ("" means "mqlive:").
func newKeyNames(prefix string) keyNames {
	if prefix == "" {
		prefix = clusterDefaultPrefix
	}
	return keyNames{p: prefix}
}

// topic is the sharded pub/sub channel of a channel: P{t:ch}.
func (k keyNames) topic(tenant, channel string) string {
	return k.p + "{" + tenant + ":" + channel + "}"
}

// meta is the hash of a channel's epoch and offset: P{t:ch}:m.
func (k keyNames) meta(tenant, channel string) string { return k.topic(tenant, channel) + ":m" }

// stream is the stream of a channel's publications, entry id
// "<offset>-1", fields t (unix ms) and d (data): P{t:ch}:s.
func (k keyNames) stream(tenant, channel string) string { return k.topic(tenant, channel) + ":s" }

// device is the hash of a device's merged state: P{t}:d:<id>.
func (k keyNames) device(tenant, id string) string { return k.p + "{" + tenant + "}:d:" + id }

// devices is the sorted set of a tenant's device ids, scored by when the
// device goes stale (unix µs; +inf when it never does or already is):
// P{t}:devs.
func (k keyNames) devices(tenant string) string { return k.p + "{" + tenant + "}:devs" }

// tenants is the set of tenants with devices: Ptenants (no tag; only
// SweepStale and DeviceCounts read it).
// channels is a tenant's channel index: a sorted set of channel names by
// creation time (unix ms), for the per-tenant channel limit.
func (k keyNames) channels(tenant string) string { return k.p + "{" + tenant + "}:chans" }

func (k keyNames) tenants() string { return k.p + "tenants" }

// tags counts a tenant's tag pairs: field "<key>\x00<value>", value the
// number of devices holding it; its length is what the tag channel limit
// bounds: P{t}:tags.
func (k keyNames) tags(tenant string) string { return k.p + "{" + tenant + "}:tags" }

// held maps the key of a source whose coordinator is offline to the
// coordinator's device id (state.SourceHolder): P{t}:held.
func (k keyNames) held(tenant string) string { return k.p + "{" + tenant + "}:held" }
