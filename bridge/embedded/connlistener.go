package embedded

import (
	"errors"
	"log/slog"
	"net"
	"sync"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// connListenerID names the listener of ServeConn's connections in mochi
// (a client's Listener field, and the set Close disconnects).
const connListenerID = "handed-over"

// ErrNotServing is returned by ServeConn before Run has started the broker
// or after Close.
var ErrNotServing = errors.New("embedded broker: not serving")

// connListener is a mochi listener with no socket of its own: ServeConn
// hands it connections another server accepted (upgraded WebSockets), and
// it passes them to mochi's establish callback like a TCP listener does.
type connListener struct {
	mu        sync.Mutex
	establish listeners.EstablishFn // set by Serve; nil before
	// serving is closed by Serve, stopped by Close: a connection handed
	// over while mochi is still starting waits for one of them.
	serving, stopped chan struct{}
	closed           bool
	conns            map[net.Conn]struct{}
	// active counts serve calls in progress; Close waits for them, so
	// that none is still adding itself to mochi's client WaitGroup when
	// mochi waits on it.
	active sync.WaitGroup
}

func newConnListener() *connListener {
	return &connListener{conns: make(map[net.Conn]struct{}), serving: make(chan struct{}), stopped: make(chan struct{})}
}

func (l *connListener) ID() string              { return connListenerID }
func (l *connListener) Address() string         { return "" }
func (l *connListener) Protocol() string        { return "handed-over" }
func (l *connListener) Init(*slog.Logger) error { return nil }
func (l *connListener) Serve(establish listeners.EstablishFn) {
	l.mu.Lock()
	l.establish = establish
	l.mu.Unlock()
	close(l.serving)
}

// Close refuses new connections, disconnects the clients (mochi sends them
// a DISCONNECT where the protocol allows), closes connections that have not
// completed CONNECT, and waits until every serve call has returned.
func (l *connListener) Close(closeClients listeners.CloseFn) {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.stopped)
	}
	l.mu.Unlock()
	closeClients(connListenerID)
	l.mu.Lock()
	for c := range l.conns {
		_ = c.Close()
	}
	l.mu.Unlock()
	l.active.Wait()
}

func (l *connListener) serve(c net.Conn) error {
	select {
	case <-l.serving:
	case <-l.stopped:
	}
	l.mu.Lock()
	if l.closed || l.establish == nil {
		l.mu.Unlock()
		_ = c.Close()
		return ErrNotServing
	}
	establish := l.establish
	l.conns[c] = struct{}{}
	l.active.Add(1)
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
		_ = c.Close()
		l.active.Done()
	}()
	return establish(connListenerID, c)
}
