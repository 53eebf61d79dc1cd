//go:build js && wasm

package main

import (
	"sync"
	"syscall/js"

	"github.com/mqlive/mqlive/wasm/client"
)

// version is reported in connect's "client" param.
const version = "mqlive-wasm/0.1.0"

// registry maps the numeric handles given to JavaScript to clients. The
// API funcs are created once and never released, so a late call after
// close cannot hit a released func (WASM.md §6.3); it finds no client and
// rejects instead.
type registry struct {
	mu      sync.Mutex
	next    int
	clients map[int]*client.Client
}

var reg = registry{clients: map[int]*client.Client{}}

func (r *registry) get(args []js.Value) *client.Client {
	if len(args) == 0 || args[0].Type() != js.TypeNumber {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.clients[args[0].Int()]
}

func main() {
	api := object()
	api.Set("version", version)
	fns := map[string]func(js.Value, []js.Value) any{
		"newClient":    newClient,
		"connect":      connect,
		"disconnect":   onClient(func(c *client.Client, _ []js.Value) any { c.Disconnect(); return nil }),
		"close":        closeClient,
		"reconnectNow": onClient(func(c *client.Client, _ []js.Value) any { c.ReconnectNow(); return nil }),
		"offline":      onClient(func(c *client.Client, _ []js.Value) any { c.Offline(); return nil }),
		"online":       onClient(func(c *client.Client, _ []js.Value) any { c.Online(); return nil }),
		"check":        onClient(func(c *client.Client, a []js.Value) any { c.Check(millis(arg(a, 0))); return nil }),
		"setHidden":    onClient(func(c *client.Client, a []js.Value) any { c.SetHidden(arg(a, 0).Truthy()); return nil }),
		"setToken":     onClient(func(c *client.Client, a []js.Value) any { c.SetToken(arg(a, 0).String()); return nil }),
		"subscribe":    subscribe,
		"unsubscribe":  request(func(c *client.Client, a []js.Value, d client.Done) { c.Unsubscribe(arg(a, 0).String(), d) }),
		"publish": request(func(c *client.Client, a []js.Value, d client.Done) {
			c.Publish(arg(a, 0).String(), jsValue{arg(a, 1)}, d)
		}),
		"history":  request(history),
		"presence": request(func(c *client.Client, a []js.Value, d client.Done) { c.Presence(arg(a, 0).String(), d) }),
		"ping":     request(func(c *client.Client, _ []js.Value, d client.Done) { c.Ping(d) }),
		"command": request(func(c *client.Client, a []js.Value, d client.Done) {
			c.Command(arg(a, 0).String(), arg(a, 1).String(), jsValue{arg(a, 2)}, d)
		}),
		"commands": request(func(c *client.Client, a []js.Value, d client.Done) { c.Commands(arg(a, 0).String(), d) }),
		"latency":  latencyFn,
	}
	for name, f := range fns {
		api.Set(name, js.FuncOf(guard(f)))
	}
	if ready := js.Global().Get("__mqliveReady"); ready.Type() == js.TypeFunction {
		ready.Invoke(api)
	} else {
		js.Global().Set("__mqlive", api)
	}
	select {} // main must never return
}

// guard turns a Go panic inside a JavaScript-callable function into a
// rejected Promise instead of killing the runtime (STYLE.md §15).
func guard(f func(js.Value, []js.Value) any) func(js.Value, []js.Value) any {
	return func(this js.Value, args []js.Value) (ret any) {
		defer func() {
			if r := recover(); r != nil {
				p, _, reject := newPromise()
				reject(&client.Error{Code: client.CodeInvalidParams, Message: panicText(r)})
				ret = p
			}
		}()
		return f(this, args)
	}
}

func panicText(r any) string {
	switch x := r.(type) {
	case error:
		return x.Error()
	case string:
		return x
	}
	return "internal error"
}

func arg(args []js.Value, i int) js.Value {
	if i < len(args) {
		return args[i]
	}
	return js.Undefined()
}

func object() js.Value { return js.Global().Get("Object").New() }

func onClient(f func(*client.Client, []js.Value) any) func(js.Value, []js.Value) any {
	return func(_ js.Value, args []js.Value) any {
		c := reg.get(args)
		if c == nil {
			return nil
		}
		return f(c, args[1:])
	}
}

// request wraps a client call with a Done into a function returning a
// Promise that settles from the actor goroutine.
func request(f func(*client.Client, []js.Value, client.Done)) func(js.Value, []js.Value) any {
	return func(_ js.Value, args []js.Value) any {
		p, resolve, reject := newPromise()
		c := reg.get(args)
		if c == nil {
			reject(client.ErrClosed)
			return p
		}
		f(c, args[1:], func(v client.Value, err error) {
			if err != nil {
				reject(err)
				return
			}
			resolve(unwrap(v))
		})
		return p
	}
}

func connect(_ js.Value, args []js.Value) any {
	p, resolve, reject := newPromise()
	c := reg.get(args)
	if c == nil {
		reject(client.ErrClosed)
		return p
	}
	c.Connect(func(err error) {
		if err != nil {
			reject(err)
			return
		}
		resolve(js.Undefined())
	})
	return p
}

func closeClient(_ js.Value, args []js.Value) any {
	c := reg.get(args)
	if c == nil {
		return nil
	}
	reg.mu.Lock()
	delete(reg.clients, args[0].Int())
	reg.mu.Unlock()
	c.Close()
	return nil
}

func subscribe(_ js.Value, args []js.Value) any {
	return request(func(c *client.Client, a []js.Value, d client.Done) {
		o := arg(a, 1)
		var opts client.SubscribeOptions
		if o.Type() == js.TypeObject {
			if m := o.Get("mode"); m.Type() == js.TypeString {
				opts.Mode = m.String()
			}
			if r := o.Get("maxRateHz"); r.Type() == js.TypeNumber {
				opts.MaxRateHz = r.Float()
			}
			opts.Since = position(o.Get("since"))
		}
		c.Subscribe(arg(a, 0).String(), opts, d)
	})(js.Undefined(), args)
}

func history(c *client.Client, a []js.Value, d client.Done) {
	o := arg(a, 1)
	var opts client.HistoryOptions
	if o.Type() == js.TypeObject {
		opts.Since = position(o.Get("since"))
		if u := o.Get("until"); u.Type() == js.TypeString {
			opts.Until = u.String()
		}
		if l := o.Get("limit"); l.Type() == js.TypeNumber {
			opts.Limit = l.Int()
		}
	}
	c.History(arg(a, 0).String(), opts, d)
}

func position(v js.Value) *client.Position {
	if v.Type() != js.TypeObject {
		return nil
	}
	return &client.Position{Epoch: v.Get("epoch").String(), Offset: int64(v.Get("offset").Float())}
}

// newClient(opts, onEvent) returns a numeric handle.
func newClient(_ js.Value, args []js.Value) any {
	o, onEvent := arg(args, 0), arg(args, 1)
	cfg := client.Config{
		URL:                o.Get("url").String(),
		Name:               version,
		Transport:          wsTransport{},
		Codec:              jsonCodec{},
		Clock:              jsClock{},
		MinReconnectDelay:  millis(o.Get("minReconnectDelay")),
		MaxReconnectDelay:  millis(o.Get("maxReconnectDelay")),
		Timeout:            millis(o.Get("timeout")),
		MaxServerPingDelay: millis(o.Get("maxServerPingDelay")),
	}
	if r := o.Get("reportInterval"); r.Type() == js.TypeNumber {
		// JavaScript's 0 means "do not report"; absent means the default.
		cfg.ReportInterval = int64(r.Float())
		if cfg.ReportInterval <= 0 {
			cfg.ReportInterval = -1
		}
	}
	if t := o.Get("token"); t.Type() == js.TypeString {
		cfg.Token = t.String()
	}
	if n := o.Get("name"); n.Type() == js.TypeString {
		cfg.Name = n.String()
	}
	if g := o.Get("getToken"); g.Type() == js.TypeFunction {
		cfg.GetToken = func() (string, error) { return awaitString(g.Invoke()) }
	}
	if onEvent.Type() == js.TypeFunction {
		cfg.OnEvent = func(e client.Event) { emit(onEvent, e) }
	}
	c, err := client.New(cfg)
	if err != nil {
		panic(err) // guard rejects
	}
	reg.mu.Lock()
	reg.next++
	id := reg.next
	reg.clients[id] = c
	reg.mu.Unlock()
	return id
}

func millis(v js.Value) int64 {
	if v.Type() != js.TypeNumber {
		return 0
	}
	return int64(v.Float())
}
