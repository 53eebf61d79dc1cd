package load

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"sync"
	"time"

	fastws "github.com/fasthttp/websocket"
	"github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/mqlive/mqlive/bridge/wire/protocol"
)

// The reference server is the yardstick of `mqlive-sim load --reference`:
// the minimal fan-out server on mqlive's own libraries that issue 10 and
// PERFORMANCE.md compare mqlive with. It has what any server on this stack
// must pay for (Fiber + gofiber/contrib/websocket sockets, an embedded
// mochi broker handing messages over in the process, a bounded queue and
// one writer goroutine per socket, one prepared frame per message) and
// nothing else: no tokens, tenants,
// Readings, history, recovery, limits or metrics. Measured by the same
// harness in the same sitting, it says how much of a figure is the machine
// and the harness, and how much is mqlive.
//
// It speaks the part of PROTOCOL.md the load generator uses: connect (any
// params), subscribe to a channel (result: its offset and a snapshot of
// its last payload), and message notifications whose data is the MQTT
// payload as it came. It is not a bridge: never point a dashboard at it.

const (
	// refQueue is each socket's queue, in frames. A full queue drops the
	// frame, which the load generator counts as a loss: the reference
	// never hides a slow path by buffering without bound.
	refQueue = 64
	// refReadBuffer is Fiber's read buffer, kept for a socket's life:
	// 2 KiB holds real upgrade headers (PERFORMANCE.md).
	refReadBuffer = 2048
	// refMaxFrame bounds a client frame; the generator's are ~300 bytes.
	refMaxFrame = 64 << 10
)

// ReferenceConfig says where the reference server listens.
type ReferenceConfig struct {
	HTTPAddr  string // WebSocket at /ws, readiness at /readyz
	MQTTAddr  string // the embedded broker's TCP listener
	PprofAddr string // optional loopback profiler, like mqlive's --pprof-addr
	// Base is the zigbee2mqtt base topic: <Base>/<device> becomes channel
	// device:<device>. Default "zigbee2mqtt".
	Base   string
	Logger *slog.Logger
}

// ServeReference runs the reference server until ctx ends, then closes the
// sockets, the subscriber and the broker.
func ServeReference(ctx context.Context, cfg ReferenceConfig) error {
	if cfg.Base == "" {
		cfg.Base = "zigbee2mqtt"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	for _, a := range []string{cfg.HTTPAddr, cfg.MQTTAddr, cfg.PprofAddr} {
		if a != "" && !isLoopback(a) {
			return fmt.Errorf("reference server: %q is not a loopback address", a)
		}
	}
	if cfg.HTTPAddr == "" || cfg.MQTTAddr == "" {
		return errors.New("reference server: an HTTP and an MQTT address are required")
	}

	broker := mqtt.New(&mqtt.Options{Logger: cfg.Logger, InlineClient: true})
	if err := broker.AddHook(new(auth.AllowHook), nil); err != nil {
		return err
	}
	if err := broker.AddListener(listeners.NewTCP(listeners.Config{ID: "tcp", Address: cfg.MQTTAddr})); err != nil {
		return fmt.Errorf("reference broker: %w", err)
	}
	ref := &reference{channels: map[string]*refChannel{}}
	// The broker hands messages over in the process (an inline
	// subscription, as mqlive's embedded broker does), not through a
	// subscriber's loopback connection: the reference pays only what
	// every server on this stack must.
	prefix := cfg.Base + "/"
	if err := broker.Subscribe(prefix+"+", 1, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		ref.publish("device:"+strings.TrimPrefix(pk.TopicName, prefix), pk.Payload)
	}); err != nil {
		return fmt.Errorf("reference broker: subscribe: %w", err)
	}
	if err := broker.Serve(); err != nil {
		return fmt.Errorf("reference broker: %w", err)
	}
	defer broker.Close()

	app := fiber.New(fiber.Config{DisableStartupMessage: true, ReadBufferSize: refReadBuffer})
	app.Get("/readyz", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusOK) })
	app.Get("/ws", websocket.New(ref.serve, websocket.Config{ReadBufferSize: 1024, WriteBufferSize: 1024}))
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	if cfg.PprofAddr != "" {
		pln, err := net.Listen("tcp", cfg.PprofAddr)
		if err != nil {
			ln.Close()
			return err
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		wg.Go(func() { _ = srv.Serve(pln) })
		defer srv.Close()
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// Shutdown waits for handlers; closing every socket ends them.
	ref.closeAll()
	if err := app.ShutdownWithTimeout(5 * time.Second); err != nil {
		return err
	}
	return <-served
}

// reference is the server's state: channels by name.
type reference struct {
	mu       sync.RWMutex
	channels map[string]*refChannel
	socks    sync.Map // *refSocket → struct{}, to close them at shutdown
}

// refChannel is one channel: its subscribers, its offset and its last
// payload (the subscribe snapshot, which the load generator's priming
// waits for).
type refChannel struct {
	mu     sync.Mutex
	subs   []*refSocket
	offset int64
	last   []byte
}

// refSocket is one WebSocket: a bounded queue its one writer drains.
type refSocket struct {
	conn *websocket.Conn
	// nc is the socket's connection, for closeAll: contrib/websocket
	// recycles conn once the handler returns, nc stays what it was.
	nc   net.Conn
	q    chan *fastws.PreparedMessage
	done chan struct{}
}

func (r *reference) channel(name string) *refChannel {
	r.mu.RLock()
	ch := r.channels[name]
	r.mu.RUnlock()
	if ch != nil {
		return ch
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if ch = r.channels[name]; ch == nil {
		ch = &refChannel{}
		r.channels[name] = ch
	}
	return ch
}

// publish builds the message frame once and queues it on every subscriber.
func (r *reference) publish(name string, payload []byte) {
	ch := r.channel(name)
	ch.mu.Lock()
	defer ch.mu.Unlock()
	ch.offset++
	ch.last = append(ch.last[:0], payload...)
	if len(ch.subs) == 0 {
		return
	}
	frame := make([]byte, 0, len(payload)+len(name)+96)
	frame = append(frame, `{"jsonrpc":"2.0","method":"`+protocol.MethodMessage+`","params":{"channel":`...)
	frame = strconv.AppendQuote(frame, name)
	frame = append(frame, `,"offset":`...)
	frame = strconv.AppendInt(frame, ch.offset, 10)
	if json.Valid(payload) {
		frame = append(frame, `,"data":`...)
		frame = append(frame, payload...)
	} else {
		frame = append(frame, `,"data":null`...)
	}
	frame = append(frame, "}}"...)
	pm, err := fastws.NewPreparedMessage(fastws.TextMessage, frame)
	if err != nil {
		return
	}
	for _, s := range ch.subs {
		select {
		case s.q <- pm:
		default: // full: dropped, and counted as lost by the generator
		}
	}
}

// serve is one socket's reader; its writer runs beside it.
func (r *reference) serve(c *websocket.Conn) {
	s := &refSocket{conn: c, nc: c.NetConn(), q: make(chan *fastws.PreparedMessage, refQueue), done: make(chan struct{})}
	r.socks.Store(s, struct{}{})
	c.SetReadLimit(refMaxFrame)
	var wg sync.WaitGroup
	wg.Go(s.write)
	var joined []*refChannel
	defer func() {
		for _, ch := range joined {
			ch.mu.Lock()
			for i, x := range ch.subs {
				if x == s {
					ch.subs = append(ch.subs[:i], ch.subs[i+1:]...)
					break
				}
			}
			ch.mu.Unlock()
		}
		close(s.done)
		wg.Wait()
		r.socks.Delete(s)
	}()
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			return
		}
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Channel string `json:"channel"`
			} `json:"params"`
		}
		if json.Unmarshal(b, &req) != nil || len(req.ID) == 0 {
			return
		}
		reply := `{"jsonrpc":"2.0","id":` + string(req.ID) + `,`
		switch req.Method {
		case protocol.MethodConnect:
			reply += `"result":{}}`
		case protocol.MethodSubscribe:
			ch := r.channel(req.Params.Channel)
			ch.mu.Lock()
			ch.subs = append(ch.subs, s)
			snapshot := "[]"
			if len(ch.last) > 0 && json.Valid(ch.last) {
				snapshot = "[" + string(ch.last) + "]"
			}
			reply += `"result":{"offset":` + strconv.FormatInt(ch.offset, 10) + `,"snapshot":` + snapshot + `}}`
			ch.mu.Unlock()
			joined = append(joined, ch)
		default:
			reply += `"error":{"code":` + strconv.Itoa(protocol.CodeMethodNotFound) + `,"message":"method not found"}}`
		}
		pm, err := fastws.NewPreparedMessage(fastws.TextMessage, []byte(reply))
		if err != nil {
			return
		}
		select {
		case s.q <- pm:
		case <-s.done:
			return
		}
	}
}

// write is the socket's one writer.
func (s *refSocket) write() {
	for {
		select {
		case pm := <-s.q:
			if err := s.conn.WritePreparedMessage(pm); err != nil {
				s.conn.Close()
				return
			}
		case <-s.done:
			return
		}
	}
}

// closeAll closes every socket, which ends its reader and writer.
func (r *reference) closeAll() {
	r.socks.Range(func(k, _ any) bool {
		_ = k.(*refSocket).nc.Close()
		return true
	})
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ReferenceCommand is the argument that makes mqlive-sim (or a test
// binary whose TestMain calls RunReference) serve the reference server.
const ReferenceCommand = "reference"

// RunReference parses the reference server's flags (what startReference
// passes, and what `mqlive-sim reference` documents) and serves until ctx
// ends.
func RunReference(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("mqlive-sim "+ReferenceCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg ReferenceConfig
	fs.StringVar(&cfg.HTTPAddr, "http-addr", "127.0.0.1:8090", "loopback host:port of the WebSocket (/ws) and /readyz")
	fs.StringVar(&cfg.MQTTAddr, "mqtt-listen", "127.0.0.1:1893", "loopback host:port of the embedded MQTT broker")
	fs.StringVar(&cfg.PprofAddr, "pprof-addr", "", "loopback host:port of the profiler (/debug/pprof/); empty: off")
	fs.StringVar(&cfg.Base, "base", "zigbee2mqtt", "zigbee2mqtt base topic: <base>/<device> is channel device:<device>")
	fs.Usage = func() {
		fmt.Fprint(stderr, `mqlive-sim reference serves the reference server of mqlive-sim load
--reference: a minimal fan-out server on mqlive's own libraries (Fiber,
gofiber/contrib/websocket, an embedded mochi broker; a bounded queue and
one writer per socket, one prepared frame per message; no auth, history or
limits). It is a yardstick for measurements on the same machine, not a
bridge.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("mqlive-sim %s: unexpected argument %q", ReferenceCommand, fs.Arg(0))
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return ServeReference(ctx, cfg)
}
