package embedded

import (
	"strconv"
	"strings"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage"
	"github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/mochi-mqtt/server/v2/system"
)

// storageFile is the name of the bolt file inside Config.DataDir.
const storageFile = "broker.db"

// boltStore is mochi's bolt storage hook made safe to stop while the broker
// still runs hooks. mochi's Close stops hooks after waiting for client
// goroutines, but its event loop (expiry sweeps, $SYS ticks) and a client
// accepted during Close can still call a hook; the bolt hook sets its db to
// nil in Stop without synchronisation and would dereference it. Every
// writing callback takes mu for reading and is skipped once stopped; Stop
// takes it for writing. The Stored* readers run only inside Serve, which
// Broker never overlaps with Close.
type boltStore struct {
	*bolt.Hook
	mu      sync.RWMutex
	stopped bool
	stopErr error // the bolt close error, for Broker.Close
}

func newBoltStore() *boltStore { return &boltStore{Hook: new(bolt.Hook)} }

// do runs fn unless the store has been stopped.
func (s *boltStore) do(fn func()) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.stopped {
		fn()
	}
}

// Stop closes the bolt file, releasing its lock, once.
func (s *boltStore) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return s.stopErr
	}
	s.stopped = true
	s.stopErr = s.Hook.Stop()
	return s.stopErr
}

// err returns the error of Stop, once it has run.
func (s *boltStore) err() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.stopErr
}

// StoredInflightMessages returns the stored inflight messages with their
// packet ids. mochi v2.7.9's bolt hook stores an inflight message without
// its PacketID (its badger and pebble hooks keep it), so every restored
// message would be resent with packet id 0, which a client rejects
// ([MQTT-2.2.1-3]), and several would collide in the client's inflight
// map. The id survives at the end of the message's key,
// "IFM_<client>:<packet id>", which is the message's ID field.
func (s *boltStore) StoredInflightMessages() ([]storage.Message, error) {
	msgs, err := s.Hook.StoredInflightMessages()
	if err != nil {
		return nil, err
	}
	out := msgs[:0]
	for _, m := range msgs {
		if m.PacketID == 0 {
			i := strings.LastIndexByte(m.ID, ':')
			id, perr := strconv.ParseUint(m.ID[i+1:], 10, 16)
			if i < 0 || perr != nil || id == 0 {
				s.Log.Warn("dropping stored inflight message without a packet id", "key", m.ID, "client", m.Client)
				continue
			}
			m.PacketID = uint16(id)
		}
		out = append(out, m)
	}
	return out, nil
}

func (s *boltStore) OnSessionEstablished(cl *mqtt.Client, pk packets.Packet) {
	s.do(func() { s.Hook.OnSessionEstablished(cl, pk) })
}

func (s *boltStore) OnWillSent(cl *mqtt.Client, pk packets.Packet) {
	s.do(func() { s.Hook.OnWillSent(cl, pk) })
}

func (s *boltStore) OnDisconnect(cl *mqtt.Client, err error, expire bool) {
	s.do(func() { s.Hook.OnDisconnect(cl, err, expire) })
}

// persistent reports whether cl's session outlives its connection, as
// mochi decides when the client disconnects (the inverse of its expire).
// Subscriptions and inflight messages of other clients are dropped at
// disconnect and never restored, so they are not written: mochi's hook
// would write (and fsync) each of them, and never delete the
// subscriptions, which a restart would then revive for a client that no
// longer exists.
func persistent(cl *mqtt.Client) bool {
	if cl.Properties.ProtocolVersion == 5 {
		return cl.Properties.Props.SessionExpiryInterval > 0
	}
	return !cl.Properties.Clean
}

func (s *boltStore) OnSubscribed(cl *mqtt.Client, pk packets.Packet, reasonCodes []byte) {
	if persistent(cl) {
		s.do(func() { s.Hook.OnSubscribed(cl, pk, reasonCodes) })
	}
}

func (s *boltStore) OnUnsubscribed(cl *mqtt.Client, pk packets.Packet) {
	s.do(func() { s.Hook.OnUnsubscribed(cl, pk) })
}

func (s *boltStore) OnRetainMessage(cl *mqtt.Client, pk packets.Packet, r int64) {
	s.do(func() { s.Hook.OnRetainMessage(cl, pk, r) })
}

func (s *boltStore) OnQosPublish(cl *mqtt.Client, pk packets.Packet, sent int64, resends int) {
	if persistent(cl) {
		s.do(func() { s.Hook.OnQosPublish(cl, pk, sent, resends) })
	}
}

func (s *boltStore) OnQosComplete(cl *mqtt.Client, pk packets.Packet) {
	if persistent(cl) {
		s.do(func() { s.Hook.OnQosComplete(cl, pk) })
	}
}

func (s *boltStore) OnQosDropped(cl *mqtt.Client, pk packets.Packet) {
	if persistent(cl) {
		s.do(func() { s.Hook.OnQosDropped(cl, pk) })
	}
}

func (s *boltStore) OnSysInfoTick(sys *system.Info) {
	s.do(func() { s.Hook.OnSysInfoTick(sys) })
}

func (s *boltStore) OnRetainedExpired(filter string) {
	s.do(func() { s.Hook.OnRetainedExpired(filter) })
}

func (s *boltStore) OnClientExpired(cl *mqtt.Client) {
	s.do(func() { s.Hook.OnClientExpired(cl) })
}

var _ mqtt.Hook = (*boltStore)(nil)
