package client

// Transport opens WebSocket connections (RFC 6455). The browser build wraps
// the JavaScript WebSocket; package nativews wraps fasthttp/websocket.
type Transport interface {
	// Dial starts opening a connection to url offering the subprotocols. It
	// must not block: the outcome arrives through h. Exactly one of
	// h.Open or h.Closed/h.Error follows, then messages, then h.Closed.
	Dial(url string, protocols []string, h ConnHandler) Conn
}

// Conn is one connection returned by Transport.Dial.
type Conn interface {
	// Send writes one text frame. It must not block for long; an error
	// means the connection is broken and a close event will follow.
	Send(text string) error
	// Close starts the closing handshake, or abandons a dial in progress.
	// The transport may still report events afterwards; the client drops
	// them (it tags every connection with a generation number).
	Close(code int, reason string)
}

// ConnHandler receives a connection's events. Its methods never block: they
// only queue the event for the client's actor goroutine.
type ConnHandler interface {
	Open()
	Message(text string)
	// Error reports a transport failure. Before Open it means the dial
	// failed (Node 20's WebSocket fires error but never close on a refused
	// connection: WASM.md §4.2).
	Error(msg string)
	Closed(code int, reason string)
}

// connHandler tags a connection's events with the generation that dialled
// it, so that late events of an abandoned socket are dropped (WASM.md §6.4).
type connHandler struct {
	c   *Client
	gen uint64
}

func (h connHandler) Open() { h.c.post(func() { h.c.a.onOpen(h.gen) }) }

func (h connHandler) Message(text string) { h.c.post(func() { h.c.a.onMessage(h.gen, text) }) }

func (h connHandler) Error(msg string) { h.c.post(func() { h.c.a.onTransportError(h.gen, msg) }) }

func (h connHandler) Closed(code int, reason string) {
	h.c.post(func() { h.c.a.onClosed(h.gen, code, reason) })
}
