package client

import "github.com/mqlive/mqlive/bridge/wire/protocol"

// actor holds all of a Client's state. Every method runs on the actor
// goroutine (Client.run); timers and transport callbacks re-enter through
// Client.post and are checked against gen, so late events are dropped.
type actor struct {
	c       *Client
	cfg     *Config
	state   State
	want    bool // the application asked to be connected
	stopped bool // Close: the actor exits after this batch
	offline bool // the page is offline: no dial until Online
	hidden  bool // the page is hidden: the client's watchdog never gives up
	gen     uint64
	conn    Conn
	opened  bool // the current conn fired Open
	attempt int
	token   string

	nextID  int64
	pending map[int64]*pending
	unsent  []*pending // user requests made while not connected

	subs    map[string]*sub
	waiters []func(error)

	// Cancel functions of the pending timers; nil when not armed.
	connectTimer   func()
	reconnectTimer func()
	pingTimer      func()
	refreshTimer   func()
	reportTimer    func()
	lastRecv       int64 // ms, Clock.Now of the last inbound frame
	lastPing       int64 // ms, Clock.Now of the last ping sent
	pingInterval   int64 // ms, from the connect result

	lat latencyState
}

type pending struct {
	id     int64
	method string
	frame  string // the rendered request
	params string // an application request's params, until transmit
	done   Done
	// stopTimer cancels an application request's timeout.
	stopTimer func()
	sent      bool
	sentAt    float64 // fine clock when written: a ping's round trip
}

func (a *actor) init(c *Client) {
	a.c = c
	a.cfg = &c.cfg
	a.token = c.cfg.Token
	a.pending = make(map[int64]*pending)
	a.subs = make(map[string]*sub)
}

func (a *actor) emit(e Event) { a.cfg.OnEvent(e) }

// setState moves the client to s and emits the transition. Staying
// connecting is reported only when it schedules a new attempt (delayMs > 0
// or a code), not for the dial that follows.
func (a *actor) setState(s State, code int, reason string, delayMs int64) {
	from := a.state
	a.state = s
	if from == s && delayMs == 0 && code == 0 && reason == "" {
		return
	}
	a.emit(Event{Kind: EvState, From: from, State: s, Attempt: a.attempt, DelayMs: delayMs, Code: code, Reason: reason})
}

// setSubState moves subscription s to st and emits the transition.
func (a *actor) setSubState(s *sub, st SubState, code int, reason string) {
	from := s.state
	if from == st {
		return
	}
	s.state = st
	a.emit(Event{Kind: EvSubState, Channel: s.channel, SubFrom: from, SubState: st, Code: code, Reason: reason})
}

// isUnauthorized reports whether GetToken said the user is not allowed (an
// *Error with code 4001): the client stops instead of retrying.
func isUnauthorized(err error) bool {
	e, ok := err.(*Error)
	return ok && e.Code == CodeUnauthorized
}

// after runs f on the actor after d unless the generation moved on.
func (a *actor) after(ms int64, f func()) func() {
	gen := a.gen
	return a.cfg.Clock.AfterFunc(ms, func() {
		a.c.post(func() {
			if a.gen == gen {
				f()
			}
		})
	})
}

func stop(cancel *func()) {
	if *cancel != nil {
		(*cancel)()
		*cancel = nil
	}
}

// ---- connection lifecycle ----

func (a *actor) connect(done func(error)) {
	if a.stopped || a.state == StateClosed {
		if done != nil {
			done(ErrClosed)
		}
		return
	}
	if a.state == StateConnected {
		if done != nil {
			done(nil)
		}
		return
	}
	if done != nil {
		a.waiters = append(a.waiters, done)
	}
	if a.want {
		return // already connecting or waiting to reconnect
	}
	a.want = true
	a.attempt = 0
	if a.offline {
		return // Online dials
	}
	a.dial()
}

// dial starts one connection attempt, fetching a token first when needed.
func (a *actor) dial() {
	stop(&a.reconnectTimer)
	a.gen++
	a.opened = false
	a.setState(StateConnecting, 0, "", 0)
	a.connectTimer = a.after(a.cfg.Timeout, func() {
		a.teardown(ErrConnectionLost)
		a.retry(0, "connect timeout")
	})
	if a.token != "" {
		a.open()
		return
	}
	if a.cfg.GetToken == nil {
		a.stop(ErrNoToken, CodeUnauthorized, "no token")
		return
	}
	gen, get := a.gen, a.cfg.GetToken
	go func() {
		tok, err := get()
		a.c.post(func() {
			if a.gen != gen {
				return
			}
			if isUnauthorized(err) {
				a.emit(Event{Kind: EvError, Err: err})
				reason := "get token: unauthorized"
				if m := err.(*Error).Message; m != "" {
					reason = "get token: " + m
				}
				a.stop(&Error{Code: CodeUnauthorized, Message: reason}, CodeUnauthorized, reason)
				return
			}
			if err != nil || tok == "" {
				msg := "empty token"
				if err != nil {
					msg = err.Error()
				}
				a.emit(Event{Kind: EvError, Err: &Error{Code: ErrNoToken.Code, Message: "get token: " + msg}})
				a.teardown(ErrConnectionLost)
				a.retry(0, "get token failed")
				return
			}
			a.token = tok
			a.open()
		})
	}()
}

func (a *actor) open() {
	a.conn = a.cfg.Transport.Dial(a.cfg.URL, []string{Protocol}, connHandler{c: a.c, gen: a.gen})
}

func (a *actor) onOpen(gen uint64) {
	if gen != a.gen || a.conn == nil {
		return
	}
	a.opened = true
	a.lastRecv = a.cfg.Clock.Now()
	p := newObj().str("token", a.token).str("client", a.cfg.Name)
	a.send(protocol.MethodConnect, p, a.onConnectReply)
}

func (a *actor) onConnectReply(res Value, err error) {
	if err == ErrConnectionLost {
		return // torn down meanwhile; the connect timer or close decides
	}
	if err != nil {
		e, _ := err.(*Error)
		a.teardown(ErrConnectionLost)
		a.handleEnd(e.Code, e.Message, true)
		return
	}
	stop(&a.connectTimer)
	a.attempt = 0
	a.pingInterval = 25 * Second
	if ms, ok := num(res, "ping_interval_ms"); ok && ms > 0 {
		a.pingInterval = int64(ms)
	}
	a.lastRecv = a.cfg.Clock.Now()
	// Ping at once, before the subscribe replies and snapshots queue up on
	// the wire, so that the clock offset for latency measurement is known
	// early and from a clean round trip.
	a.lat.est.reset()
	a.lat.unsupported = false
	a.send(protocol.MethodPing, nil, func(Value, error) {})
	a.armPing()
	a.armRefresh(str(res, "expires_at"))
	a.armReport()
	a.setState(StateConnected, 0, "", 0)
	a.emit(Event{Kind: EvConnected, Data: res})
	ws := a.waiters
	a.waiters = nil
	for _, w := range ws {
		w(nil)
	}
	for _, s := range a.sortedSubs() {
		a.sendSubscribe(s)
	}
	un := a.unsent
	a.unsent = nil
	for _, p := range un {
		a.transmit(p)
	}
}

func (a *actor) onTransportError(gen uint64, msg string) {
	if gen != a.gen {
		return
	}
	a.emit(Event{Kind: EvError, Err: &Error{Code: ErrConnectionLost.Code, Message: "transport: " + msg}})
	if !a.opened {
		// A dial that failed: browsers follow with close(1006), Node 20's
		// WebSocket never does (WASM.md §4.2), so do not wait for it.
		a.teardown(ErrConnectionLost)
		a.retry(1006, msg)
	}
}

func (a *actor) onClosed(gen uint64, code int, reason string) {
	if gen != a.gen {
		return
	}
	a.teardownWith(ErrConnectionLost, code, reason)
	a.handleEnd(code, reason, true)
}

// handleEnd decides what follows the end of a connection (PROTOCOL.md close
// codes): stop for 4001/4003 or a disconnect without reconnect, refresh the
// token for 4010, otherwise back off and reconnect.
func (a *actor) handleEnd(code int, reason string, reconnect bool) {
	switch {
	case code == CodeUnauthorized || code == CodePermissionDenied:
		a.stop(&Error{Code: code, Message: reason}, code, reason)
	case code == CodeTokenExpired:
		if a.cfg.GetToken == nil {
			a.stop(&Error{Code: code, Message: reason}, code, reason)
			return
		}
		a.token = "" // dial fetches a fresh one
		a.retry(code, reason)
	case !reconnect:
		a.stop(&Error{Code: code, Message: reason}, code, reason)
	default:
		a.retry(code, reason)
	}
}

// retry schedules the next dial after the backoff delay.
func (a *actor) retry(code int, reason string) {
	if !a.want || a.offline {
		return
	}
	d := Backoff(a.attempt, a.cfg.MinReconnectDelay, a.cfg.MaxReconnectDelay, a.cfg.Rand)
	a.attempt++
	a.setState(StateConnecting, code, reason, d)
	a.reconnectTimer = a.after(d, a.dial)
}

func (a *actor) reconnectNow() {
	if a.want && a.state == StateConnecting && a.reconnectTimer != nil {
		a.dial()
	}
}

// teardown drops the current connection: it bumps the generation so its
// late events are ignored, stops the timers and fails the requests that
// were sent on it with why.
func (a *actor) teardown(why *Error) { a.teardownWith(why, why.Code, why.Message) }

// teardownWith is teardown; code and reason (the close that ended the
// connection) go with the subscriptions' subscribed -> subscribing.
func (a *actor) teardownWith(why *Error, code int, reason string) {
	a.gen++
	if a.conn != nil {
		a.conn.Close(1000, "")
		a.conn = nil
	}
	a.opened = false
	stop(&a.connectTimer)
	stop(&a.pingTimer)
	stop(&a.refreshTimer)
	stop(&a.reconnectTimer)
	stop(&a.reportTimer)
	for id, p := range a.pending {
		delete(a.pending, id)
		if p.stopTimer != nil {
			p.stopTimer()
		}
		p.done(nil, why)
	}
	for _, s := range a.sortedSubs() {
		s.subscribed = false
		a.setSubState(s, SubSubscribing, code, reason)
	}
}

// stop ends the session without reconnecting.
func (a *actor) stop(err *Error, code int, reason string) {
	a.stopTo(StateDisconnected, err, code, reason)
}

// stopTo is stop, ending in state to (disconnected, or closed by Close).
func (a *actor) stopTo(to State, err *Error, code int, reason string) {
	a.want = false
	if a.state == StateConnected || a.state == StateConnecting {
		a.teardown(err)
	}
	a.failWaiting(err)
	a.setState(to, code, reason, 0)
	a.emit(Event{Kind: EvDisconnected, Code: code, Reason: reason, Err: err})
}

// failWaiting fails the requests and Connect callbacks waiting for a
// connection.
func (a *actor) failWaiting(err *Error) {
	for _, p := range a.unsent {
		if p.stopTimer != nil {
			p.stopTimer()
		}
		p.done(nil, err)
	}
	a.unsent = nil
	ws := a.waiters
	a.waiters = nil
	for _, w := range ws {
		w(err)
	}
}

func (a *actor) disconnect(err *Error, code int, reason string) {
	if a.state == StateDisconnected && a.want {
		// Offline, waiting for Online: forget the wish to connect.
		a.want = false
		a.failWaiting(err)
		a.emit(Event{Kind: EvDisconnected, Code: code, Reason: reason, Err: err})
		return
	}
	if a.state == StateDisconnected || a.state == StateClosed {
		return
	}
	a.stop(err, code, reason)
}

func (a *actor) close() {
	if a.state != StateClosed {
		for _, s := range a.sortedSubs() {
			delete(a.subs, s.channel)
			a.setSubState(s, SubUnsubscribed, 1000, "client closed")
			s.fail(ErrClosed)
		}
		if a.state == StateDisconnected && !a.want {
			a.setState(StateClosed, 1000, "client closed", 0)
		} else {
			a.stopTo(StateClosed, ErrClosed, 1000, "client closed")
		}
	}
	a.stopped = true
}

// ---- liveness ----

// armPing runs the application-level watchdog: browsers hide WebSocket
// pings from scripts, so a half-open TCP connection shows only as silence.
// Every half ping interval the client pings when it heard nothing for that
// long, and gives up when it heard nothing for interval + slack. It also
// pings at least once per interval on a busy connection, because every
// ping reply re-estimates the clock offset that latency measurement uses,
// and clocks drift.
func (a *actor) armPing() {
	tick := a.pingInterval / 2
	if tick < 100*Millisecond {
		tick = 100 * Millisecond
	}
	a.pingTimer = a.after(tick, func() {
		switch watchdog(a.cfg.Clock.Now()-a.lastRecv, a.pingInterval, a.cfg.MaxServerPingDelay) {
		case watchDead:
			if a.hidden {
				// A hidden tab's timers are throttled (to once a minute in
				// Chromium), so this timer's silence says little: the
				// server's WebSocket pings, which the browser answers,
				// decide. Keep probing; Check runs when the page shows.
				a.send(protocol.MethodPing, nil, func(Value, error) {})
				break
			}
			a.teardown(ErrConnectionLost)
			a.retry(0, "no traffic from server")
			return
		case watchPing:
			a.send(protocol.MethodPing, nil, func(Value, error) {})
		default:
			if a.cfg.Clock.Now()-a.lastPing >= a.pingInterval {
				a.send(protocol.MethodPing, nil, func(Value, error) {})
			}
		}
		a.armPing()
	})
}

// ---- page lifecycle ----

// goOffline drops the connection and stops retrying until goOnline; the
// wish to be connected (and Connect's waiters) survive.
func (a *actor) goOffline() {
	if a.offline || a.state == StateClosed {
		return
	}
	a.offline = true
	if !a.want {
		return
	}
	a.teardownWith(ErrConnectionLost, 0, "offline")
	a.attempt = 0
	a.setState(StateDisconnected, 0, "offline", 0)
}

// goOnline dials at once, without backoff, when the client wants to be
// connected.
func (a *actor) goOnline() {
	if !a.offline {
		a.reconnectNow()
		return
	}
	a.offline = false
	if a.want && a.state == StateDisconnected {
		a.attempt = 0
		a.dial()
	}
}

// check looks at the connection at once, e.g. when the page shows again
// or wakes from sleep: a connection silent for longer than two ping
// intervals (plus sleptMs the Clock may not have seen) is dead and
// replaced at once; a client waiting in backoff dials at once.
func (a *actor) check(sleptMs int64) {
	if a.offline || !a.want {
		return
	}
	switch a.state {
	case StateConnected:
		if a.cfg.Clock.Now()-a.lastRecv+sleptMs > 2*a.pingInterval {
			a.teardown(ErrConnectionLost)
			a.attempt = 0
			a.setState(StateConnecting, 0, "no traffic from server", 0)
			a.dial()
		}
	case StateConnecting:
		a.reconnectNow()
	}
}

type watchAction uint8

const (
	watchOK watchAction = iota
	watchPing
	watchDead
)

// watchdog decides from the time since the last inbound frame.
func watchdog(silence, interval, slack int64) watchAction {
	switch {
	case silence > interval+slack:
		return watchDead
	case silence >= interval/2:
		return watchPing
	}
	return watchOK
}

// armRefresh refreshes the token ahead of expires_at when GetToken can.
func (a *actor) armRefresh(expiresAt string) {
	if a.cfg.GetToken == nil || expiresAt == "" {
		return
	}
	exp := parseTime(expiresAt)
	if exp == 0 {
		return
	}
	a.refreshTimer = a.after(refreshDelay(exp-a.cfg.Clock.Now()), func() {
		gen, get := a.gen, a.cfg.GetToken
		go func() {
			tok, err := get()
			a.c.post(func() {
				if a.gen != gen {
					return
				}
				if isUnauthorized(err) {
					a.emit(Event{Kind: EvError, Err: err})
					reason := "get token: " + err.(*Error).Message
					a.stop(&Error{Code: CodeUnauthorized, Message: reason}, CodeUnauthorized, reason)
					return
				}
				if err != nil || tok == "" {
					return // the server closes 4010 at expiry; dial refetches
				}
				a.token = tok
				a.send(protocol.MethodRefresh, newObj().str("token", tok), func(res Value, err error) {
					if err == nil {
						a.armRefresh(str(res, "expires_at"))
					}
				})
			})
		}()
	})
}

// refreshDelay is when to refresh a token that expires in ttl: at 90% of
// it, but no later than a minute before and no sooner than a second.
func refreshDelay(ttl int64) int64 {
	d := ttl - ttl/10
	if ttl-d < Minute {
		d = ttl - Minute
	}
	if d < Second {
		d = Second
	}
	return d
}
