package ws

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/valyala/fasthttp"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/cluster"
	"github.com/mqlive/mqlive/bridge/fanout"
	"github.com/mqlive/mqlive/bridge/hub"
	"github.com/mqlive/mqlive/bridge/metrics"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
)

// Commander executes a dashboard command (PROTOCOL.md "command"). It checks
// the identity's cmd permission itself, so that refused commands are
// counted and shown on the monitor channel like the others; errors of type
// *wire.Error go to the client as they are.
type Commander func(ctx context.Context, id *auth.Identity, p wire.CommandParams) error

// CommandLister answers the `commands` method: the commands a device
// accepts, listed by its family. Errors of type *wire.Error go to the
// client as they are.
type CommandLister func(ctx context.Context, id *auth.Identity, device string) (wire.CommandsResult, error)

// Config configures the server.
type Config struct {
	Node           string
	MaxFrameBytes  int           // default 65536
	PingInterval   time.Duration // default 25s
	ConnectTimeout time.Duration // default 10s
	WriteTimeout   time.Duration // default 10s
	MaxConnections int           // connected sessions per node; default 10000
	// MaxPending bounds the sockets of this node that are upgraded but have
	// not completed connect; they do not count against MaxConnections.
	// Default 1000.
	MaxPending int
	// MaxPendingPerAddress bounds them per client address (an IPv6
	// client by its /64); default 50.
	MaxPendingPerAddress int
	// TrustedProxies lists the proxies (addresses or CIDR prefixes) whose
	// X-Forwarded-For names the client address; empty: the peer address
	// is the client's, and X-Forwarded-For is ignored.
	TrustedProxies []string
	RequestRate    float64       // requests per second per connection; default 50
	RequestBurst   int           // default 100
	AllowedOrigins []string      // empty: any
	DrainTimeout   time.Duration // default 10s
	// TenantRequestRate is the requests per second all connections of a
	// tenant on this node share (a token bucket of TenantRequestBurst);
	// 0: no tenant limit. TenantRequestBurst defaults to twice the rate.
	TenantRequestRate  float64
	TenantRequestBurst int
	// MaxConnectionsPerUser bounds the connections of one user (sub) of a
	// tenant on this node; 0: no limit.
	MaxConnectionsPerUser int
	// MaxSubscriptions bounds the channels one connection subscribes;
	// default 128.
	MaxSubscriptions int

	Verifier *auth.Verifier
	Hub      *hub.Hub
	Store    state.Store
	Fanout   fanout.Fanout
	Presence cluster.Presence
	Control  cluster.Control // forced sign-out and revocation; nil: this node only
	Nodes    cluster.Nodes   // GET /api/v1/nodes; nil: none
	Metrics  *metrics.Metrics
	Command  Commander     // nil: commands are refused
	Commands CommandLister // nil: every device lists no commands
	Ready    func() error  // nil: always ready
	Static   fs.FS         // the dashboard; nil: none
	Gatherer http.Handler  // /metrics handler
	Logger   *slog.Logger
	// Routes, when set, adds routes of other packages (MQTT over
	// WebSocket) before the dashboard's catch-all.
	Routes func(fiber.Router)
}

func (c *Config) defaults() {
	if c.MaxFrameBytes <= 0 {
		c.MaxFrameBytes = 64 << 10
	}
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 10 * time.Second
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = 10000
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 1000
	}
	if c.MaxPendingPerAddress <= 0 {
		c.MaxPendingPerAddress = 50
	}
	if c.RequestRate <= 0 {
		c.RequestRate = 50
	}
	if c.RequestBurst <= 0 {
		c.RequestBurst = 100
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 10 * time.Second
	}
	if c.TenantRequestRate > 0 && c.TenantRequestBurst <= 0 {
		c.TenantRequestBurst = max(1, int(2*c.TenantRequestRate))
	}
	if c.MaxSubscriptions <= 0 {
		c.MaxSubscriptions = DefaultMaxSubscriptions
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// writeBuffers is shared by every WebSocket of the process.
var writeBuffers sync.Pool

// Server is the bridge's HTTP and WebSocket server.
type Server struct {
	cfg      Config
	app      *fiber.App
	ln       net.Listener
	draining atomic.Bool
	// pending counts upgrades admitted and not yet connected (or ended),
	// perAddr the same per client address; connected counts sockets that
	// completed connect, the ones MaxConnections bounds.
	pending   atomic.Int64
	connected atomic.Int64
	addrMu    sync.Mutex
	perAddr   map[netip.Prefix]int
	// admitted maps an upgraded socket's network connection to its
	// admission until the socket's handler claims it (or it expires);
	// guarded by addrMu. Fiber's locals would carry it too, but
	// contrib/websocket copies them into a map each socket keeps for its
	// whole life (about 300 bytes of every idle socket).
	admitted map[net.Conn]*admission
	trusted  []netip.Prefix
	// installed is set by Install once the backplane fields of cfg are
	// in place; the WebSocket and admin routes refuse requests until then,
	// and the atomic makes the fields visible to every later request.
	installed atomic.Bool
	// connMu orders conns.Add against conns.Wait: once drain has set
	// stopped, no new connection is counted (sync.WaitGroup forbids an Add
	// racing a Wait on a zero counter).
	connMu   sync.Mutex
	stopped  bool
	conns    sync.WaitGroup
	nextID   atomic.Uint64
	idPrefix string
	// limits are the per-tenant and per-user limits (tenant_limits.go).
	limits *tenantLimits
	// requests answers the sockets' requests (requests.go).
	requests *requestPool
	// okRequests and recoveries cache metric series by label
	// (cachedCounter).
	okRequests, recoveries sync.Map
	// writers write for the sockets with something to send (pool.go);
	// Run stops them.
	writers writerPool
	// keep pings the sockets and times them out (keepalive.go); Run
	// sweeps it.
	keep *wheel
}

// DefaultMaxSubscriptions is Config.MaxSubscriptions' default, Centrifugo's
// client_channel_limit.
const DefaultMaxSubscriptions = 128

// New binds addr synchronously (":0" picks a free port) and prepares the
// routes. A taken port fails here, with a message that says how to choose
// another.
func New(addr string, cfg Config) (*Server, error) {
	cfg.defaults()
	// No TCP keepalive on accepted sockets: WebSockets are pinged every
	// PingInterval and dropped after two silent ones, plain HTTP is
	// bounded by IdleTimeout, so kernel probes (15 s by default) would
	// never be what finds a dead peer; turning them on costs four
	// setsockopt calls per accepted socket (issue 10, W3's connect rate).
	ln, err := (&net.ListenConfig{KeepAlive: -1}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		if errors.Is(err, errAddrInUse()) || strings.Contains(err.Error(), "address already in use") {
			return nil, fmt.Errorf("http: %s is already in use; choose another with http.addr in the config file, MQLIVE_HTTP_ADDR or --http-addr (e.g. --http-addr :8081)", addr)
		}
		return nil, fmt.Errorf("http: listen %s: %w", addr, err)
	}
	trusted, err := parsePrefixes(cfg.TrustedProxies)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("http: trusted proxies: %w", err)
	}
	s := &Server{cfg: cfg, ln: ln, idPrefix: randomID(4), perAddr: make(map[netip.Prefix]int), admitted: make(map[net.Conn]*admission), trusted: trusted,
		limits:   newTenantLimits(cfg.TenantRequestRate, cfg.TenantRequestBurst, cfg.MaxConnectionsPerUser),
		requests: newRequestPool(max(16, 4*runtime.GOMAXPROCS(0)))}
	s.keep = newWheel(cfg.PingInterval, cfg.ConnectTimeout, s.expireAdmissions)
	if cfg.Store != nil {
		s.Install(singleNode(cfg))
	}
	s.app = fiber.New(fiber.Config{
		DisableStartupMessage: true,
		// ReadBufferSize also bounds a request's headers: 4 KiB takes a
		// browser upgrade with a few KiB of cookies. ReduceMemoryUsage
		// gives the buffer back once a request is read when nothing else
		// waits in it, which is what an upgrade looks like (the client
		// sends no frame before the 101), so a WebSocket does not keep
		// it for its whole life (PERFORMANCE.md §3: 4 KiB per socket).
		ReadBufferSize:    4096,
		ReduceMemoryUsage: true,
		BodyLimit:         1 << 20,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorHandler: func(c *fiber.Ctx, err error) error {
			code := fiber.StatusInternalServerError
			var fe *fiber.Error
			if errors.As(err, &fe) {
				code = fe.Code
			}
			return c.Status(code).SendString(err.Error() + "\n")
		},
	})
	s.routes()
	return s, nil
}

// Backplane is what the server needs from the backplane.
type Backplane struct {
	Store    state.Store
	Fanout   fanout.Fanout
	Presence cluster.Presence
	Control  cluster.Control
	Nodes    cluster.Nodes
}

// Install sets the backplane and opens the WebSocket and admin routes. It
// is called once, before or after Run starts (a cluster node serves
// /readyz while it waits for Valkey).
func (s *Server) Install(b Backplane) {
	s.cfg.Store, s.cfg.Fanout, s.cfg.Presence, s.cfg.Control, s.cfg.Nodes = b.Store, b.Fanout, b.Presence, b.Control, b.Nodes
	s.installed.Store(true)
}

// singleNode completes a Config that names only a memory store (tests and
// embedders of one node) with a memory fan-out wired to the hub and a
// memory presence.
func singleNode(cfg Config) Backplane {
	b := Backplane{Store: cfg.Store, Fanout: cfg.Fanout, Presence: cfg.Presence, Control: cfg.Control, Nodes: cfg.Nodes}
	if mem, ok := cfg.Store.(*state.Memory); ok && b.Fanout == nil {
		f := fanout.NewMemory(mem, cfg.Hub)
		cfg.Hub.SetUpstream(f)
		b.Fanout = f
	}
	if b.Presence == nil {
		b.Presence = cluster.NewMemoryPresence()
	}
	return b
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

func (s *Server) routes() {
	s.app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok\n") })
	s.app.Get("/readyz", func(c *fiber.Ctx) error {
		if s.draining.Load() {
			return c.Status(fiber.StatusServiceUnavailable).SendString("draining\n")
		}
		if s.cfg.Ready != nil {
			if err := s.cfg.Ready(); err != nil {
				return c.Status(fiber.StatusServiceUnavailable).SendString("not ready: " + err.Error() + "\n")
			}
		}
		if s.installed.Load() && s.cfg.Nodes != nil {
			if nodes, err := s.cfg.Nodes.List(c.Context()); err == nil {
				return c.SendString("ready\npeers: " + strconv.Itoa(len(nodes)) + "\n")
			}
		}
		return c.SendString("ready\n")
	})
	if s.cfg.Gatherer != nil {
		s.app.Get("/metrics", adaptor.HTTPHandler(s.cfg.Gatherer))
	}
	s.adminRoutes()
	s.app.Use("/ws", s.admit)
	s.app.Get("/ws", websocket.New(s.serveConn, websocket.Config{
		Subprotocols: []string{wire.Subprotocol},
		Origins:      s.cfg.AllowedOrigins,
		// Client frames are requests of a few hundred bytes; a bigger
		// one is read through, so 512 bytes is enough buffer to keep per
		// socket. Writes bypass the library's buffer (frameWriter).
		ReadBufferSize: 512, WriteBufferSize: 4096,
		// Idle sockets hold no write buffer: one is taken from the pool
		// only while a frame is written (PERFORMANCE.md "idle anatomy").
		WriteBufferPool:  &writeBuffers,
		HandshakeTimeout: 10 * time.Second,
		RecoverHandler: func(c *websocket.Conn) {
			if r := recover(); r != nil {
				s.cfg.Logger.Error("ws handler panic", "panic", r)
				_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(wire.CloseInternal, "internal error"), time.Now().Add(time.Second))
			}
		},
	}))
	if s.cfg.Routes != nil {
		s.cfg.Routes(s.app)
	}
	if s.cfg.Static != nil {
		s.app.Use("/", compress.New(), filesystem.New(filesystem.Config{
			Root:   http.FS(s.cfg.Static),
			Index:  "index.html",
			MaxAge: 0,
		}))
	}
}

// admit runs before the upgrade: only WebSocket upgrades, the mqlive.v1
// subprotocol when subprotocols are offered, the node's connection limit
// and the limits on sockets that have not connected yet, per node and per
// client address. Refusals are plain HTTP with a one-line reason.
func (s *Server) admit(c *fiber.Ctx) error {
	if !websocket.IsWebSocketUpgrade(c) {
		return c.Status(fiber.StatusUpgradeRequired).SendString("expected a WebSocket upgrade\n")
	}
	if offered := c.Get("Sec-WebSocket-Protocol"); offered != "" && !offersProtocol(offered) {
		s.reject("subprotocol")
		return c.Status(fiber.StatusBadRequest).SendString("unsupported subprotocol: offer " + wire.Subprotocol + "\n")
	}
	if s.draining.Load() {
		s.reject("draining")
		return c.Status(fiber.StatusServiceUnavailable).SendString("node is draining; reconnect to another node\n")
	}
	if !s.installed.Load() {
		s.reject("backplane")
		return c.Status(fiber.StatusServiceUnavailable).SendString("node is starting: its backplane is not reachable yet; retry\n")
	}
	if s.connected.Load() >= int64(s.cfg.MaxConnections) {
		s.reject("limit")
		return c.Status(fiber.StatusServiceUnavailable).SendString("connection limit reached\n")
	}
	a, reason := s.admitPending(s.clientAddr(c))
	if a == nil {
		s.reject(reason)
		return c.Status(fiber.StatusServiceUnavailable).SendString("too many connections waiting to authenticate; retry later\n")
	}
	trimForUpgrade(&c.Request().Header)
	err := c.Next()
	if c.Response().StatusCode() != fiber.StatusSwitchingProtocols {
		a.release() // the upgrade was refused (origin, handshake)
		return err
	}
	a.upgrade = c.Context() // claim drops its request and response
	a.nc = c.Context().Conn()
	// serveConn runs on its own goroutine once the 101 is written, and
	// never when writing it fails: an admission no socket claims expires
	// (expireAdmissions, on the keep-alive wheel's sweeps).
	a.expires = mono() + s.cfg.ConnectTimeout
	s.addrMu.Lock()
	s.admitted[a.nc] = a
	s.addrMu.Unlock()
	return err
}

// trimForUpgrade drops the request headers the upgrade does not read,
// once admit has read what it needs (X-Forwarded-For). contrib/websocket
// copies every header, and every cookie parsed, into maps that the
// socket keeps for its whole life, though nothing reads them (serveConn
// uses none): a browser's upgrade, with its user agent, languages,
// caches and cookies, left 1 KiB and more in them per idle socket, and a
// dozen allocations per upgrade (issue 10, W3). The upgrade reads
// Connection, Upgrade, Origin and the Sec-WebSocket-* headers; Host is
// kept for the library's same-origin check, should its origin check
// change.
func trimForUpgrade(h *fasthttp.RequestHeader) {
	// First, so that the cookies are never parsed (VisitAll would).
	h.Del(fiber.HeaderCookie)
	// Bounded by the headers there are: a header Del could not remove
	// would otherwise be found again and again.
	for range h.Len() + 1 {
		var drop []byte
		h.VisitAll(func(key, _ []byte) {
			if drop == nil && !upgradeReads(key) {
				drop = key
			}
		})
		if drop == nil {
			return
		}
		h.DelBytes(drop) // copies the key before it deletes
	}
}

// upgradeReads says whether the WebSocket upgrade reads a header.
func upgradeReads(key []byte) bool {
	const sec = "Sec-WebSocket-"
	if len(key) > len(sec) && strings.EqualFold(string(key[:len(sec)]), sec) {
		return true
	}
	switch {
	case strings.EqualFold(string(key), fiber.HeaderConnection),
		strings.EqualFold(string(key), fiber.HeaderUpgrade),
		strings.EqualFold(string(key), fiber.HeaderOrigin),
		strings.EqualFold(string(key), fiber.HeaderHost):
		return true
	}
	return false
}

// admissionOf takes the admission of an upgraded socket out of admitted,
// or returns nil (it expired, or the socket was not admitted).
func (s *Server) admissionOf(c *websocket.Conn) *admission {
	nc := c.NetConn()
	// fasthttp hands the library a wrapper of the connection it accepted.
	if u, ok := nc.(interface{ UnsafeConn() net.Conn }); ok {
		nc = u.UnsafeConn()
	}
	s.addrMu.Lock()
	defer s.addrMu.Unlock()
	a := s.admitted[nc]
	delete(s.admitted, nc)
	return a
}

// admission is an upgrade's place under the pending limits, held from
// admit until its socket connects or ends.
type admission struct {
	srv      *Server
	addr     netip.Prefix // the client's, as perAddr counts it
	claimed  atomic.Bool  // by serveConn, or by expireAdmissions
	released atomic.Bool
	expires  time.Duration // mono(); guarded by Server.addrMu
	// upgrade is the upgrade's fasthttp request context, until claim.
	upgrade *fasthttp.RequestCtx
	nc      net.Conn // the upgraded socket, its key in Server.admitted
}

// admitPending takes a place for a new socket from addr, or returns the
// reject reason.
func (s *Server) admitPending(addr netip.Prefix) (*admission, string) {
	if s.pending.Add(1) > int64(s.cfg.MaxPending) {
		s.pending.Add(-1)
		return nil, "pending"
	}
	s.addrMu.Lock()
	if s.perAddr[addr] >= s.cfg.MaxPendingPerAddress {
		s.addrMu.Unlock()
		s.pending.Add(-1)
		return nil, "pending_address"
	}
	s.perAddr[addr]++
	s.addrMu.Unlock()
	return &admission{srv: s, addr: addr}, ""
}

// claim is called by the socket's handler; false means the admission
// expired first.
//
// It also drops the upgrade's request and response. fasthttp keeps the
// RequestCtx of a hijacked connection until the socket's handler returns,
// that is for the socket's whole life, but nothing reads them any more:
// contrib/websocket copied the headers, locals and query before
// upgrading, and the handler runs only once the 101 is written (fasthttp
// starts it after its last use of the context, so this goroutine owns
// it). Their parsed headers, URI and header buffers are about 1.5 KiB of
// every idle socket (issue 10, W3). Zero values are fasthttp's own fresh
// state, which it resets again before reusing the context.
func (a *admission) claim() bool {
	if ctx := a.upgrade; ctx != nil {
		a.upgrade = nil
		ctx.Request = fasthttp.Request{}
		ctx.Response = fasthttp.Response{}
	}
	return a.claimed.CompareAndSwap(false, true)
}

// release gives the place back; only the first call counts.
func (a *admission) release() {
	if !a.released.CompareAndSwap(false, true) {
		return
	}
	s := a.srv
	s.pending.Add(-1)
	s.addrMu.Lock()
	if n := s.perAddr[a.addr] - 1; n > 0 {
		s.perAddr[a.addr] = n
	} else {
		delete(s.perAddr, a.addr)
	}
	s.addrMu.Unlock()
}

// Pending is the number of sockets upgraded (or being upgraded) that have
// not completed connect.
func (s *Server) Pending() int { return int(s.pending.Load()) }

// clientAddr is the address the per-address limit counts: the peer, or,
// when the peer is a trusted proxy, the nearest address in
// X-Forwarded-For that is not one (read from the right: the left part is
// whatever the client wrote). IPv6 clients are counted by their /64, which
// one host usually holds whole. A prefix rather than its text: the map
// of counts hashes it without a string made per upgrade.
func (s *Server) clientAddr(c *fiber.Ctx) netip.Prefix {
	ip, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	ip = ip.Unmap()
	if len(s.trusted) > 0 && s.isTrusted(ip) {
		hdrs := c.Request().Header.PeekAll(fiber.HeaderXForwardedFor)
	walk:
		for i := len(hdrs) - 1; i >= 0; i-- {
			parts := strings.Split(string(hdrs[i]), ",")
			for j := len(parts) - 1; j >= 0; j-- {
				hop, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
				if err != nil {
					break walk // unparsable: the last trusted hop is the client
				}
				ip = hop.Unmap()
				if !s.isTrusted(ip) {
					break walk
				}
			}
		}
	}
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p
	}
	return netip.PrefixFrom(ip, ip.BitLen())
}

func (s *Server) isTrusted(ip netip.Addr) bool {
	for _, p := range s.trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// parsePrefixes reads addresses and CIDR prefixes.
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, v := range list {
		v = strings.TrimSpace(v)
		if strings.Contains(v, "/") {
			p, err := netip.ParsePrefix(v)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, err
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

func (s *Server) reject(reason string) {
	if m := s.cfg.Metrics; m != nil {
		m.Rejected.WithLabelValues(reason).Inc()
	}
}

func offersProtocol(header string) bool {
	// strings.Split would allocate on every upgrade.
	for p := range strings.SplitSeq(header, ",") {
		if strings.TrimSpace(p) == wire.Subprotocol {
			return true
		}
	}
	return false
}

// Run serves until ctx ends, then drains: new upgrades are refused, every
// client is told 1001 in waves spread over the drain period (so they do
// not all reconnect at once), and the server shuts down.
func (s *Server) Run(ctx context.Context) error {
	defer s.writers.stop()
	defer s.startKeepalive()()
	errc := make(chan error, 1)
	go func() { errc <- s.app.Listener(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http: %w", err)
	case <-ctx.Done():
	}
	s.drain()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.app.ShutdownWithContext(sctx)
	<-errc
	s.requests.close(sctx)
	return err
}

func (s *Server) drain() {
	s.draining.Store(true)
	sessions := s.cfg.Hub.Sessions()
	const waves = 10
	period := s.cfg.DrainTimeout / 2
	for i := 0; i < waves && len(sessions) > 0; i++ {
		n := (len(sessions) + waves - i - 1) / (waves - i)
		for _, sess := range sessions[:n] {
			sess.Close(wire.CloseGoingAway, "node draining", true)
		}
		sessions = sessions[n:]
		if len(sessions) > 0 {
			time.Sleep(period / waves)
		}
	}
	s.connMu.Lock()
	s.stopped = true
	s.connMu.Unlock()
	done := make(chan struct{})
	go func() { s.conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.cfg.DrainTimeout / 2):
		s.cfg.Logger.Warn("drain timeout: closing remaining connections")
	}
}
