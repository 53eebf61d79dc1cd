package client

import "github.com/mqlive/mqlive/bridge/wire/protocol"

// frame renders one JSON-RPC 2.0 request (PROTOCOL.md: one object per text
// frame; ping has no params).
func frame(id int64, method string, params *obj) string {
	f := newObj().str("jsonrpc", "2.0").int("id", id).str("method", method)
	if params != nil {
		f.sub("params", params)
	}
	return f.String()
}

// send writes an internal request (connect, subscribe, ping, refresh) on
// the current connection. It has no timer of its own: the connect timer and
// the ping watchdog bound it, and a lost connection fails it.
func (a *actor) send(method string, params *obj, done Done) {
	if a.conn == nil || !a.opened {
		done(nil, ErrConnectionLost)
		return
	}
	a.nextID++
	p := &pending{id: a.nextID, method: method, done: done, sent: true}
	p.frame = frame(p.id, method, params)
	a.pending[p.id] = p
	a.stamp(p)
	_ = a.conn.Send(p.frame) // a broken conn reports close; teardown fails p
}

// stamp notes when a request goes on the wire; ping replies turn that into
// a round trip for the clock offset estimate.
func (a *actor) stamp(p *pending) {
	if p.method == protocol.MethodPing {
		p.sentAt = nowFine(a.cfg.Clock)
		a.lastPing = a.cfg.Clock.Now()
	}
}

// enqueue takes an application request: sent now when connected, else held
// until the next connect. Either way it fails after Config.Timeout.
func (a *actor) enqueue(method string, params *obj, done Done) {
	p := &pending{method: method, done: done}
	if params != nil {
		p.params = params.String() // the frame is rendered once the id is known
	}
	p.stopTimer = a.cfg.Clock.AfterFunc(a.cfg.Timeout, func() { a.c.post(func() { a.expire(p) }) })
	if a.state == StateConnected {
		a.transmit(p)
		return
	}
	if !a.want {
		p.stopTimer()
		done(nil, ErrDisconnected)
		return
	}
	a.unsent = append(a.unsent, p)
}

// transmit sends a held application request on the current connection.
func (a *actor) transmit(p *pending) {
	a.nextID++
	p.id = a.nextID
	p.sent = true
	a.pending[p.id] = p
	f := newObj().str("jsonrpc", "2.0").int("id", p.id).str("method", p.method)
	if p.params != "" {
		f.raw("params", p.params)
	}
	p.frame = f.String()
	a.stamp(p)
	_ = a.conn.Send(p.frame)
}

// expire fails a request whose timer fired, wherever it still waits.
func (a *actor) expire(p *pending) {
	if p.sent {
		if a.pending[p.id] != p {
			return // answered or failed already
		}
		delete(a.pending, p.id)
	} else {
		i := indexOf(a.unsent, p)
		if i < 0 {
			return
		}
		a.unsent = append(a.unsent[:i], a.unsent[i+1:]...)
	}
	p.done(nil, ErrTimeout)
}

func indexOf(ps []*pending, p *pending) int {
	for i, q := range ps {
		if q == p {
			return i
		}
	}
	return -1
}

func (a *actor) onMessage(gen uint64, text string) {
	if gen != a.gen {
		return
	}
	a.lastRecv = a.cfg.Clock.Now()
	v, err := a.cfg.Codec.Parse(text)
	if err != nil || v.Kind() != Object {
		a.emit(Event{Kind: EvError, Err: &Error{Code: ErrBadReply.Code, Message: "unparsable frame from server"}})
		return
	}
	if id := v.Get("id"); id.Kind() == Number {
		a.onReply(int64(id.Float()), v)
		return
	}
	params := v.Get("params")
	switch method := str(v, "method"); method {
	case protocol.MethodMessage:
		a.onPublication(params)
	case protocol.MethodLagged:
		a.onLagged(params)
	case protocol.MethodUnsubscribed:
		a.onUnsubscribed(params)
	case protocol.MethodDisconnect:
		code, _ := num(params, "code")
		reconnect := true
		if r := params.Get("reconnect"); r.Kind() == Bool {
			reconnect = r.Truth()
		}
		a.teardown(ErrConnectionLost)
		a.handleEnd(int(code), str(params, "reason"), reconnect)
	case "":
		// A reply without a usable id: -32700 answers carry "id": null.
		if e := v.Get("error"); e.Kind() == Object {
			a.emit(Event{Kind: EvError, Err: rpcError(e)})
		}
	default:
		a.emit(Event{Kind: EvError, Err: &Error{Code: ErrBadReply.Code, Message: "unknown notification " + method}})
	}
}

func (a *actor) onReply(id int64, v Value) {
	p, ok := a.pending[id]
	if !ok {
		return // expired or from before a teardown
	}
	delete(a.pending, id)
	if p.stopTimer != nil {
		p.stopTimer()
	}
	if e := v.Get("error"); e.Kind() == Object {
		p.done(nil, rpcError(e))
		return
	}
	if p.method == protocol.MethodPing {
		a.onPong(p.sentAt, v.Get("result"))
	}
	p.done(v.Get("result"), nil)
}
