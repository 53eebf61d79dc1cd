// Package mqttws serves MQTT over WebSocket on the bridge's HTTP server, at
// /mqtt, for clients that cannot open a TCP socket (browsers, MQTT.js) or
// that reach the node through a port-443 proxy only.
//
// The route only upgrades the request: the WebSocket, wrapped as a net.Conn
// over binary frames (Conn), is handed to the embedded broker, which serves
// it like a TCP client, with the same sessions (a client id resumes its
// session whichever transport it comes back on) and the same access control
// (mqtt.users). The upgrade must offer the "mqtt" subprotocol, as the MQTT
// standard requires of MQTT over WebSocket [MQTT-6.0.0-3]; otherwise the
// request gets HTTP 400 with a one-line reason.
//
// Without mqtt.users the broker admits anonymous clients from this machine
// only; a WebSocket counts as from this machine when its peer is loopback,
// it carries no X-Forwarded-For or Forwarded header (a proxy on this
// machine would make every client look local), and, when it comes from a
// browser, its Origin is the page's own host (any web page could otherwise
// make a local browser publish).
//
// Concurrency: the handler runs one goroutine per connection (the one Fiber
// hijacked the request on) for as long as the MQTT client stays connected.
// Conn is safe for one reader and concurrent writers, deadline setters and
// Close.
package mqttws
