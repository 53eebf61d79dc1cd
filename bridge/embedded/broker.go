package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/storage/bolt"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultListen is where the broker listens when Config.Listen is empty.
// Loopback, because without Config.Users the broker accepts anonymous
// clients.
const DefaultListen = "127.0.0.1:1883"

// DefaultMaxPacketSize bounds one MQTT packet when Config.MaxPacketSize is
// zero. Telemetry payloads are small; an unbounded limit would let one
// client make the broker buffer arbitrary amounts of memory.
const DefaultMaxPacketSize = 1 << 20

// maxClientWritesPending is how many packets may wait for one client's
// writer. mochi allocates that queue for every connection when it
// connects; its default of 8,192 costs 64 KiB per device connection, more
// than the device's whole state and history, for a queue a device that
// only publishes never uses. 1,024 (8 KiB) still absorbs a burst of a
// thousand messages to a subscriber (mqlive's own ingest included) on top
// of its socket buffers, past which a subscriber that does not read is
// behind anyway.
const maxClientWritesPending = 1024

// ErrAlreadyRun is returned by a second call to Run.
var ErrAlreadyRun = errors.New("embedded: broker already run")

// Config configures the embedded broker.
type Config struct {
	// Listen is the TCP address to listen on; "" means DefaultListen. Port 0
	// picks a free port (see Broker.Addr).
	Listen string
	// Logger receives the broker's logs; nil means slog.Default().
	Logger *slog.Logger
	// MaxPacketSize is the largest MQTT packet accepted, in bytes; 0 means
	// DefaultMaxPacketSize.
	MaxPacketSize uint32
	// MaxClients limits concurrent connections; 0 means unlimited.
	MaxClients int64
	// DataDir, when set, makes retained messages and the sessions of
	// clients that connect with clean session off (MQTT 3) or a session
	// expiry interval (MQTT 5) — their subscriptions and unacknowledged
	// QoS 1 and 2 messages — survive a restart: they are kept in
	// <DataDir>/broker.db (mochi's bolt storage hook), and the directory is
	// created with mode 0700 if missing. The file is locked while the
	// broker is open, so two brokers cannot share a DataDir; Close releases
	// it. "" (the default) keeps everything in memory only.
	DataDir string
	// Users are the clients allowed to connect, with their publish and
	// subscribe filters and tenant. Empty (the default) admits anonymous
	// clients from this machine only: the TCP listener is then bound to
	// loopback whatever host Listen names (the Mosquitto 2.0 rule), and a
	// ServeConn connection is admitted only from a loopback peer.
	Users []User
	// TenantTopics maps a tenant to the topic filters of its sources; a
	// User with a Tenant may publish and subscribe only within them.
	TenantTopics map[string][]string
	// Registerer receives the broker's access-control metrics; nil: not
	// registered.
	Registerer prometheus.Registerer
}

// Broker is a running embedded MQTT broker. Create it with New.
type Broker struct {
	srv *mqtt.Server
	ln  net.Listener
	log *slog.Logger
	// access authenticates clients and checks their topics.
	access *access
	// conns hands connections accepted elsewhere (MQTT over WebSocket)
	// to mochi.
	conns *connListener
	ran   chan struct{} // one slot: Run may be called once
	// store persists retained messages and sessions; nil without
	// Config.DataDir.
	store *boltStore

	// mu serialises mochi's Serve and Close, which must not interleave.
	mu     sync.Mutex
	closed chan struct{} // closed by Close
	done   bool          // Close already ran; guarded by mu
	// served: Serve has run (guarded by mu). Subscriptions made before
	// it wait in pending for their retained messages (inline.go).
	served     bool
	inlineSubs int // identifiers given out; guarded by mu
	pending    []inlineSub
}

// New binds the listener and prepares the broker; call Run to serve.
func New(cfg Config) (*Broker, error) {
	addr := cfg.Listen
	if addr == "" {
		addr = DefaultListen
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "mqtt_broker")
	acc, err := newAccess(cfg.Users, cfg.TenantTopics, cfg.Registerer)
	if err != nil {
		return nil, err
	}
	if len(cfg.Users) == 0 {
		if local := loopbackOnly(addr); local != addr {
			log.Warn(fmt.Sprintf("embedded MQTT broker has no mqtt.users, so it listens on loopback only: %s instead of %s; to accept devices from the network, add mqtt.users (hash each password with `mqlive passwd`)", local, addr))
			addr = local
		}
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("embedded broker: listen %s: port already in use; choose another with mqtt.listen in the config file, MQLIVE_MQTT_LISTEN or --mqtt-listen (\"127.0.0.1:0\" picks a free port): %w", addr, err)
		}
		return nil, fmt.Errorf("embedded broker: listen %s: %w", addr, err)
	}

	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = cfg.MaxPacketSize
	if caps.MaximumPacketSize == 0 {
		caps.MaximumPacketSize = DefaultMaxPacketSize
	}
	if cfg.MaxClients > 0 {
		caps.MaximumClients = cfg.MaxClients
	}
	caps.MaximumClientWritesPending = maxClientWritesPending
	srv := mqtt.New(&mqtt.Options{
		Capabilities: caps,
		Logger:       slog.New(mochiHandler{log.Handler()}),
		// $SYS topics are refreshed on this interval (seconds); nobody
		// here reads them often, so keep the housekeeping cheap.
		SysTopicResendInterval: 30,
		// The bridge publishes commands from the process (Publish);
		// mochi publishes them as its inline client.
		InlineClient: true,
	})
	if err := srv.AddHook(acc, nil); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("embedded broker: auth hook: %w", err)
	}
	var store *boltStore
	if cfg.DataDir != "" {
		if store, err = openStore(srv, cfg.DataDir); err != nil {
			_ = ln.Close()
			return nil, err
		}
	}
	// mochi's TCP listener binds inside Serve; wrapping our own listener
	// makes a port clash fail here, synchronously.
	if err := srv.AddListener(listeners.NewNet("tcp", ln)); err != nil {
		_ = ln.Close()
		if store != nil {
			_ = store.Stop()
		}
		return nil, fmt.Errorf("embedded broker: add listener: %w", err)
	}
	conns := newConnListener()
	if err := srv.AddListener(conns); err != nil {
		_ = ln.Close()
		if store != nil {
			_ = store.Stop()
		}
		return nil, fmt.Errorf("embedded broker: add listener: %w", err)
	}
	return &Broker{srv: srv, ln: ln, log: log, access: acc, conns: conns, store: store, ran: make(chan struct{}, 1), closed: make(chan struct{})}, nil
}

// openStore creates dir and opens <dir>/broker.db as srv's storage hook.
// mochi reads it back in Serve.
func openStore(srv *mqtt.Server, dir string) (*boltStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded broker: data dir: %w", err)
	}
	path := filepath.Join(dir, storageFile)
	store := newBoltStore()
	// Without bbolt options mochi's hook waits 250 ms for the file lock
	// another broker holds, then fails: a second broker on the same
	// DataDir fails at start instead of hanging.
	if err := srv.AddHook(store, &bolt.Options{Path: path}); err != nil {
		return nil, fmt.Errorf("embedded broker: open %s (locked by another broker, or not a broker data file?): %w", path, err)
	}
	return store, nil
}

// Addr returns the address the broker listens on, with the real port.
func (b *Broker) Addr() string { return b.ln.Addr().String() }

// URL returns the broker's address as an MQTT client URL, e.g.
// "tcp://127.0.0.1:41883". An unspecified listen host (":0", "0.0.0.0",
// "[::]") is reported as 127.0.0.1 so that the URL is dialable from this
// machine.
func (b *Broker) URL() string {
	host, port, err := net.SplitHostPort(b.Addr())
	if err != nil {
		return "tcp://" + b.Addr()
	}
	// A wildcard listener on Linux is dual-stack, so IPv4 loopback reaches
	// it whether it was "0.0.0.0" or "[::]".
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "tcp://" + net.JoinHostPort(host, port)
}

// ServeConn serves one MQTT client on c, a connection accepted outside the
// broker's TCP listener (an upgraded WebSocket), with the same sessions and
// access control as TCP clients, until the client disconnects or the broker
// closes. It closes c before it returns. A connection handed over while the
// broker is starting waits until it serves; after Close, ServeConn fails
// with ErrNotServing.
func (b *Broker) ServeConn(c net.Conn) error { return b.conns.serve(c) }

// CloseConns disconnects the clients ServeConn serves (mochi sends them a
// DISCONNECT where the protocol allows) and refuses new ones, and returns
// once their ServeConn calls have returned, so that the server which
// accepted those connections can shut down before the broker; TCP clients
// are not touched.
func (b *Broker) CloseConns() { b.conns.Close(b.disconnect) }

// disconnect disconnects the clients of a listener, or every client for "",
// except mochi's inline client (it has no connection). It lists them with
// Clients.GetAll, not mochi's GetByListener: that one read-locks the
// client map twice, and a client that connects or leaves in between
// deadlocks the whole broker (mochi issue 488; it hung this package's
// tests and benchmarks at shutdown).
func (b *Broker) disconnect(listener string) {
	for _, cl := range b.srv.Clients.GetAll() {
		if cl.Net.Inline || cl.Closed() || (listener != "" && cl.Net.Listener != listener) {
			continue
		}
		_ = b.srv.DisconnectClient(cl, packets.ErrServerShuttingDown)
	}
}

// loopbackOnly returns addr with its host replaced by 127.0.0.1 unless it
// already names a loopback address or localhost.
func loopbackOnly(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr // net.Listen reports it
	}
	if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" {
		return addr
	}
	return net.JoinHostPort("127.0.0.1", port)
}

// Run serves MQTT clients until ctx is done or Close is called, then closes
// the broker and returns nil. It may be called once; a second call returns
// ErrAlreadyRun.
func (b *Broker) Run(ctx context.Context) error {
	select {
	case b.ran <- struct{}{}:
	default:
		return ErrAlreadyRun
	}
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return nil
	}
	err := b.srv.Serve()
	pending := b.pending
	b.pending, b.served = nil, err == nil
	b.mu.Unlock()
	if err != nil {
		_ = b.Close()
		return fmt.Errorf("embedded broker: serve: %w", err)
	}
	for _, s := range pending {
		b.replayRetained(s)
	}
	b.log.Info("mqtt broker listening", "addr", b.Addr(), "url", b.URL(), "users", len(b.access.users), "anonymous", len(b.access.users) == 0)
	select {
	case <-ctx.Done():
	case <-b.closed:
	}
	return b.Close()
}

// Close stops the listener, disconnects every client, waits for their
// goroutines to end and closes the storage file of Config.DataDir, so that
// a new Broker may open the same DataDir at once. It is idempotent and makes
// a running Run return.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return nil
	}
	b.done = true
	close(b.closed)
	// No new clients, then none left, before mochi's Close: its own pass
	// over each listener's clients uses GetByListener (see disconnect),
	// which is safe only while no client comes or goes. A client accepted
	// just before the listener closed may join after a pass, hence the
	// passes until every client goroutine has ended.
	_ = b.ln.Close()
	b.conns.Close(b.disconnect)
	gone := make(chan struct{})
	go func() { b.srv.Listeners.ClientsWg.Wait(); close(gone) }()
	for stopped := false; !stopped; {
		b.disconnect("")
		select {
		case <-gone:
			stopped = true
		case <-time.After(50 * time.Millisecond):
		}
	}
	// mochi's Close also closes our listener, so a Broker that was never
	// Run still releases its port, and stops the hooks (the store among
	// them) after its clients are gone.
	if err := b.srv.Close(); err != nil {
		return fmt.Errorf("embedded broker: close: %w", err)
	}
	if b.store != nil {
		// mochi logs a hook's Stop error at debug level only.
		if err := b.store.Stop(); err != nil {
			return fmt.Errorf("embedded broker: close %s: %w", storageFile, err)
		}
	}
	return nil
}
