//go:build js && wasm

package main

import (
	"syscall/js"

	"github.com/mqlive/mqlive/wasm/client"
)

// newPromise creates a Promise synchronously and returns functions that
// settle it from any goroutine. The executor runs during Promise.New, so it
// is released right after (WASM.md §6.6).
func newPromise() (p js.Value, resolve func(any), reject func(error)) {
	var res, rej js.Value
	exec := js.FuncOf(func(_ js.Value, args []js.Value) any {
		res, rej = args[0], args[1]
		return nil
	})
	p = js.Global().Get("Promise").New(exec)
	exec.Release()
	resolve = func(v any) { res.Invoke(v) }
	reject = func(err error) { rej.Invoke(jsError(err)) }
	return p, resolve, reject
}

// jsError makes a JavaScript Error (never a bare string) carrying the
// protocol or client error code.
func jsError(err error) js.Value {
	e := js.Global().Get("Error").New(err.Error())
	if ce, ok := err.(*client.Error); ok {
		e.Set("code", ce.Code)
		e.Set("reason", ce.Message)
	}
	return e
}

// awaitString waits for v (a string or a Promise of one). It must run on a
// goroutine that is not inside a JavaScript callback (WASM.md §6.7); the
// client calls GetToken on a goroutine of its own.
func awaitString(v js.Value) (string, error) {
	if v.Type() == js.TypeString {
		return v.String(), nil
	}
	if v.Type() != js.TypeObject || v.Get("then").Type() != js.TypeFunction {
		return "", &client.Error{Code: client.ErrNoToken.Code, Message: "getToken must return a string or a Promise of one"}
	}
	type outcome struct {
		s   string
		err error
	}
	ch := make(chan outcome, 1)
	then := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- outcome{s: arg(args, 0).String()}
		return nil
	})
	catch := js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg, code := "getToken rejected", client.ErrNoToken.Code
		if e := arg(args, 0); e.Type() == js.TypeObject {
			if e.Get("message").Type() == js.TypeString {
				msg = e.Get("message").String()
			}
			// An UnauthorizedError (index.js), or any error marked
			// unauthorized: true, stops the client instead of retrying.
			if e.Get("unauthorized").Truthy() || e.Get("name").Type() == js.TypeString && e.Get("name").String() == "UnauthorizedError" {
				code = client.CodeUnauthorized
			}
		}
		ch <- outcome{err: &client.Error{Code: code, Message: msg}}
		return nil
	})
	v.Call("then", then, catch)
	o := <-ch
	then.Release()
	catch.Release()
	return o.s, o.err
}
