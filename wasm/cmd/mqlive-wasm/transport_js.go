//go:build js && wasm

package main

import (
	"syscall/js"

	"github.com/mqlive/mqlive/wasm/client"
)

// wsTransport opens connections with the JavaScript WebSocket (the browser's,
// or Node's with --experimental-websocket).
type wsTransport struct{}

type wsConn struct {
	ws    js.Value
	funcs []js.Func
	done  bool
}

// Dial implements client.Transport. A constructor that throws (a bad URL,
// no WebSocket in this runtime) is reported as a dial error.
func (wsTransport) Dial(url string, protocols []string, h client.ConnHandler) client.Conn {
	c := &wsConn{}
	defer func() {
		if r := recover(); r != nil {
			c.done = true
			h.Error(panicText(r))
		}
	}()
	ctor := js.Global().Get("WebSocket")
	if ctor.Type() != js.TypeFunction {
		panic("no global WebSocket (Node 20 needs --experimental-websocket)")
	}
	protos := js.Global().Get("Array").New(len(protocols))
	for i, p := range protocols {
		protos.SetIndex(i, p)
	}
	c.ws = ctor.New(url, protos)
	// Every handler only queues the event: JavaScript is paused while a Go
	// callback runs (WASM.md §6.1).
	c.on("onopen", func(js.Value) { h.Open() })
	c.on("onmessage", func(e js.Value) {
		if d := e.Get("data"); d.Type() == js.TypeString {
			h.Message(d.String())
		}
	})
	c.on("onerror", func(js.Value) { h.Error("websocket error") })
	c.on("onclose", func(e js.Value) { h.Closed(e.Get("code").Int(), e.Get("reason").String()) })
	return c
}

func (c *wsConn) on(name string, f func(js.Value)) {
	fn := js.FuncOf(func(_ js.Value, args []js.Value) any {
		f(arg(args, 0))
		return nil
	})
	c.funcs = append(c.funcs, fn)
	c.ws.Set(name, fn)
}

// Send implements client.Conn.
func (c *wsConn) Send(text string) (err error) {
	if c.done || c.ws.Get("readyState").Int() != 1 {
		return client.ErrConnectionLost
	}
	defer func() {
		if r := recover(); r != nil {
			err = client.ErrConnectionLost
		}
	}()
	c.ws.Call("send", text)
	return nil
}

// Close implements client.Conn: it detaches the handlers first and only then
// releases the funcs, so a late event cannot call a released function
// (WASM.md §6.3).
func (c *wsConn) Close(code int, reason string) {
	if c.done {
		return
	}
	c.done = true
	for _, name := range []string{"onopen", "onmessage", "onerror", "onclose"} {
		c.ws.Set(name, js.Null())
	}
	func() {
		defer func() { _ = recover() }() // close() throws on a bad code
		if rs := c.ws.Get("readyState").Int(); rs == 0 || rs == 1 {
			c.ws.Call("close", code, reason)
		}
	}()
	for _, f := range c.funcs {
		f.Release()
	}
	c.funcs = nil
}
