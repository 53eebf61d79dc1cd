// Package valkey holds the cluster implementations of the bridge's seams
// on Valkey (or Redis 7+, wire-compatible) through valkey-go: the store
// (state.Store), the fan-out (fanout.Fanout) and the cluster backplane
// (presence, node registry, dedup, control, leases). Standalone, Sentinel
// and Cluster deployments share one code path: every key a script touches
// shares a hash tag, and pub/sub is sharded (SSUBSCRIBE/SPUBLISH), which a
// standalone Redis 7 serves too.
//
// # What is stored where
//
// P is the key prefix (Config.KeyPrefix, default "mqlive:").
//
//	P{<tenant>:<channel>}:m   hash: epoch, offset, bytes (data bytes in the stream)
//	                          (TTL StoreOptions.MetaTTL, refreshed on publish)
//	P{<tenant>:<channel>}:s   stream: id "<offset>-1", fields t (unix ms), d (data); oldest
//	                          entries trimmed past the channel's history size or
//	                          MaxChannelBytes, TTL HistoryTTL
//	P{<tenant>:<channel>}     sharded pub/sub topic of the channel
//	P{<tenant>}:d:<device>    hash: a device's merged state (id, fam, ts/tsn device time in
//	                          µs + ns, rcv, seen, sa, src, sk (owning source key), stale,
//	                          on/ots/otsn, topics, nf (number of m: and a: fields),
//	                          m:<metric> as JSON, a:<attr>, t:<tag>)
//	P{<tenant>}:tags          hash: "<key>\x00<value>" -> devices holding that tag pair;
//	                          its length is bounded by MaxTagChannels
//	P{<tenant>}:devs          sorted set of device ids, scored by when the device goes stale
//	                          (unix µs; +inf when it never does or already is)
//	P{<tenant>}:held          hash source key → coordinator id of the sources whose
//	                          coordinator is offline (state.SourceHolder)
//	Ptenants                  set of tenants with devices
//
// A publication is one script (EVALSHA, EVAL on NOSCRIPT): it creates a
// new random epoch when the meta hash is missing (expired, evicted,
// flushed; the stale stream is dropped with it), assigns the next offset,
// appends to the stream and SPUBLISHes "1 <epoch> <offset> <ms>\n<data>"
// on the channel's topic. One round trip, atomic, so every node agrees on
// order and offsets, and a client resuming with an epoch the store no
// longer has gets a snapshot, never a silent gap. Since and History are
// read-only scripts that read the meta and the stream in one step; no read
// path creates state.
//
// Device state merges in a script with the rules of the memory store
// (state.(*Tenant).Apply): a Reading older in device time changes neither
// metrics nor attrs; a device id belongs to the source key that created
// it; new fields past MaxDeviceFields and new tag pairs past
// MaxTagChannels are refused. SweepStale takes the devices whose score has passed,
// marks them stale and parks them at +inf until they speak again (they
// stay in the index, which also counts devices for the MaxDevices limit
// and DeviceCounts). HoldSource marks a held source's devices stale and
// parks them too (ZSCAN of the index, a script per batch); Apply keeps a
// held device stale and parked, and the release scores it anew.
//
// # Concurrency
//
// Store, Fanout and the backplane types are safe for concurrent use and
// share one valkey.Client, which they do not close. Store keeps no state in
// memory. Fanout runs one goroutine per subscribed channel, around
// valkey-go's Receive; messages of a channel reach Handler.Deliver in
// offset order, from that goroutine. Receive callbacks and pub/sub hooks
// never block: they decode the message and call Deliver, or, when a
// subscription is confirmed again after a lost connection or a slot
// migration, call Handler.Lost; so Handler methods must not block either
// (the hub only appends to bounded queues). Publications handed out are
// shared and immutable: their Data and Frame must not be modified, and
// Append/Publish keep the data slice they are given.
package valkey
