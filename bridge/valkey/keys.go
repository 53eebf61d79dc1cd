package valkey

// storeKeys names the keys and pub/sub topics of the store and the fan-out.
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
type storeKeys struct{ p string }

// newStoreKeys returns the names under prefix ("" means "mqlive:").
func newStoreKeys(prefix string) storeKeys {
	if prefix == "" {
		prefix = clusterDefaultPrefix
	}
	return storeKeys{p: prefix}
}

// topic is the sharded pub/sub channel of a channel: P{t:ch}.
func (k storeKeys) topic(tenant, channel string) string {
	return k.p + "{" + tenant + ":" + channel + "}"
}

// meta is the hash of a channel's epoch and offset: P{t:ch}:m.
func (k storeKeys) meta(tenant, channel string) string { return k.topic(tenant, channel) + ":m" }

// stream is the stream of a channel's publications, entry id
// "<offset>-1", fields t (unix ms) and d (data): P{t:ch}:s.
func (k storeKeys) stream(tenant, channel string) string { return k.topic(tenant, channel) + ":s" }

// device is the hash of a device's merged state: P{t}:d:<id>.
func (k storeKeys) device(tenant, id string) string { return k.p + "{" + tenant + "}:d:" + id }

// devices is the sorted set of a tenant's device ids, scored by when the
// device goes stale (unix µs; +inf when it never does or already is):
// P{t}:devs.
func (k storeKeys) devices(tenant string) string { return k.p + "{" + tenant + "}:devs" }

// tenants is the set of tenants with devices: Ptenants (no tag; only
// SweepStale and DeviceCounts read it).
// channels is a tenant's channel index: a sorted set of channel names by
// creation time (unix ms), for the per-tenant channel limit.
func (k storeKeys) channels(tenant string) string { return k.p + "{" + tenant + "}:chans" }

func (k storeKeys) tenants() string { return k.p + "tenants" }

// tags counts a tenant's tag pairs: field "<key>\x00<value>", value the
// number of devices holding it; its length is what the tag channel limit
// bounds: P{t}:tags.
func (k storeKeys) tags(tenant string) string { return k.p + "{" + tenant + "}:tags" }
