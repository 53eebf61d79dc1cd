//go:build js && wasm

package main

import (
	"syscall/js"

	"github.com/mqlive/mqlive/wasm/client"
)

// emit hands one event to the JavaScript onEvent(type, payload) function. It
// runs on the actor goroutine; an exception thrown by the handler is
// logged and swallowed so that it cannot kill the runtime.
func emit(onEvent js.Value, e client.Event) {
	name, payload := eventJS(e)
	if name == "" {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			js.Global().Get("console").Call("error", "mqlive: event handler threw: "+panicText(r))
		}
	}()
	onEvent.Invoke(name, payload)
}

func eventJS(e client.Event) (string, js.Value) {
	o := object()
	switch e.Kind {
	case client.EvState:
		o.Set("from", e.From.String())
		o.Set("to", e.State.String())
		o.Set("state", e.State.String())
		o.Set("attempt", e.Attempt)
		o.Set("delayMs", e.DelayMs)
		o.Set("code", e.Code)
		o.Set("reason", e.Reason)
		return "state", o
	case client.EvSubState:
		o.Set("channel", e.Channel)
		o.Set("from", e.SubFrom.String())
		o.Set("to", e.SubState.String())
		o.Set("state", e.SubState.String())
		o.Set("code", e.Code)
		o.Set("reason", e.Reason)
		return "subscriptionState", o
	case client.EvConnected:
		return "connected", unwrap(e.Data)
	case client.EvDisconnected:
		o.Set("code", e.Code)
		o.Set("reason", e.Reason)
		return "disconnected", o
	case client.EvError:
		err := jsError(e.Err)
		if e.Channel != "" {
			// The server ended this subscription (an unsubscribed
			// notification): the facade forgets it.
			err.Set("channel", e.Channel)
		}
		return "error", err
	case client.EvPublication:
		return "publication", unwrap(e.Data) // the Publication object itself
	case client.EvSubscribed:
		o.Set("channel", e.Channel)
		o.Set("recovered", e.Recovered)
		o.Set("wasRecovering", e.WasRecovering)
		o.Set("recoveredCount", e.Count)
		o.Set("epoch", e.Epoch)
		o.Set("offset", e.Offset)
		o.Set("result", unwrap(e.Data))
		return "subscribed", o
	case client.EvGap:
		o.Set("channel", e.Channel)
		o.Set("lastEpoch", e.LastEpoch)
		o.Set("lastOffset", e.LastOffset)
		o.Set("epoch", e.Epoch)
		o.Set("firstOffset", e.Offset)
		return "gap", o
	case client.EvSubscribeError:
		o.Set("channel", e.Channel)
		o.Set("error", jsError(e.Err))
		return "subscribeError", o
	case client.EvLagged:
		o.Set("channel", e.Channel)
		o.Set("offset", e.Offset)
		return "lagged", o
	}
	return "", js.Undefined()
}
