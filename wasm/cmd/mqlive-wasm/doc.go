//go:build js && wasm

// Command mqlive-wasm is the browser (and Node) build of the mqlive SDK:
// package client compiled to GOOS=js GOARCH=wasm, plus the syscall/js glue
// in this directory (a WebSocket transport, a codec on the JavaScript JSON
// object, and Promise bridging). The ESM facade in sdk-js loads it.
//
// At start, main hands an API object to globalThis.__mqliveReady (or, when
// that is not a function, stores it as globalThis.__mqlive) and then blocks
// forever: JavaScript calls into Go funcs fail once main returns (WASM.md §6.8).
//
// Concurrency contract: every JavaScript-callable function returns at once;
// it only queues work for the client's actor goroutine (WASM.md §6.1).
// Results are delivered by resolving Promises and by calling the onEvent
// function from the actor goroutine; exceptions thrown by that function are
// caught and logged, never allowed to unwind into Go.
package main
