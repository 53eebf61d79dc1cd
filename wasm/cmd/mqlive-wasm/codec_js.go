//go:build js && wasm

package main

import (
	"syscall/js"

	"github.com/mqlive/mqlive/wasm/client"
)

// jsonCodec uses the JavaScript JSON object instead of encoding/json, which
// would add about 200 KB brotli to the binary (WASM.md §1). Parsed values
// stay JavaScript objects and reach the application without copying.
type jsonCodec struct{}

var jsonObj = js.Global().Get("JSON")

// Parse implements client.Codec. JSON.parse throws on bad input; that
// arrives here as a js.Error panic (WASM.md §6.5).
func (jsonCodec) Parse(text string) (v client.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, &client.Error{Code: -32700, Message: panicText(r)}
		}
	}()
	return jsValue{jsonObj.Call("parse", text)}, nil
}

// Stringify implements client.Codec.
func (jsonCodec) Stringify(v client.Value) (s string, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = "", &client.Error{Code: client.CodeInvalidParams, Message: panicText(r)}
		}
	}()
	jv, _ := v.(jsValue)
	out := jsonObj.Call("stringify", jv.v)
	if out.Type() != js.TypeString {
		return "", &client.Error{Code: client.CodeInvalidParams, Message: "value is not JSON-serialisable"}
	}
	return out.String(), nil
}

// jsValue is a client.Value over a JavaScript value.
type jsValue struct{ v js.Value }

var isArray = js.Global().Get("Array").Get("isArray")
var objectKeys = js.Global().Get("Object").Get("keys")

func (j jsValue) Kind() client.Kind {
	switch j.v.Type() {
	case js.TypeNull:
		return client.Null
	case js.TypeBoolean:
		return client.Bool
	case js.TypeNumber:
		return client.Number
	case js.TypeString:
		return client.String
	case js.TypeObject:
		if isArray.Invoke(j.v).Bool() {
			return client.Array
		}
		return client.Object
	}
	return client.Missing
}

func (j jsValue) Get(key string) client.Value {
	if j.v.Type() != js.TypeObject {
		return jsValue{js.Undefined()}
	}
	return jsValue{j.v.Get(key)}
}

func (j jsValue) Index(i int) client.Value {
	if j.Kind() != client.Array || i < 0 || i >= j.v.Length() {
		return jsValue{js.Undefined()}
	}
	return jsValue{j.v.Index(i)}
}

func (j jsValue) Len() int {
	if j.Kind() != client.Array {
		return 0
	}
	return j.v.Length()
}

func (j jsValue) Keys() []string {
	if j.Kind() != client.Object {
		return nil
	}
	ks := objectKeys.Invoke(j.v)
	out := make([]string, ks.Length())
	for i := range out {
		out[i] = ks.Index(i).String()
	}
	return out
}

func (j jsValue) Str() string {
	if j.v.Type() != js.TypeString {
		return ""
	}
	return j.v.String()
}

func (j jsValue) Float() float64 {
	if j.v.Type() != js.TypeNumber {
		return 0
	}
	return j.v.Float()
}

func (j jsValue) Truth() bool { return j.v.Type() == js.TypeBoolean && j.v.Bool() }

// unwrap returns the JavaScript value behind v (undefined for nil).
func unwrap(v client.Value) js.Value {
	if jv, ok := v.(jsValue); ok {
		return jv.v
	}
	return js.Undefined()
}
